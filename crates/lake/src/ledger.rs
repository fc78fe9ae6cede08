//! The lake's intent log in the analytics database (`lake_progress`,
//! `lake_batches`): which stream sequences are in the lake, and the one
//! batch, if any, that was being written when the sink stopped.
//!
//! Every statement runs on one connection taken out of the pool for good,
//! the one holding the sink's advisory lock: if that connection dies, the
//! lock goes with it and so does this sink's ability to record anything, so
//! a sink that lost the lock can never mark a batch done.

use std::collections::HashSet;

use anyhow::{Context, anyhow, bail};
use object_store::path::Path;
use uuid::Uuid;

use crate::parquet_file::{self, Files, Row};
use crate::seqset::SeqSet;

/// A batch as recorded before its objects are written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchRecord {
    /// Exactly the stream sequences of the batch (undecodable messages included).
    pub seqs: SeqSet,
    /// Object paths under the lake root.
    pub objects: Vec<Path>,
    pub events: i32,
    pub skipped: i32,
}

impl BatchRecord {
    pub fn first_seq(&self) -> u64 {
        self.seqs.first().unwrap_or(0)
    }

    pub fn last_seq(&self) -> u64 {
        self.seqs.last().unwrap_or(0)
    }
}

/// The stream is not the one the lake's progress was made on (it was
/// deleted and created again, so its sequence numbers start over). Retrying
/// cannot help: a person has to decide what to do with the lake. The error
/// [`Ledger::load`] returns carries this marker under its explanation.
#[derive(Debug)]
pub struct StreamMismatch;

impl std::fmt::Display for StreamMismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the stream's sequence numbers started over")
    }
}

impl std::error::Error for StreamMismatch {}

/// What the log says at start-up.
#[derive(Debug)]
pub struct Progress {
    pub done: SeqSet,
    pub writing: Option<BatchRecord>,
}

pub struct Ledger {
    client: deadpool_postgres::ClientWrapper,
    sink: String,
}

fn to_i64(seq: u64) -> anyhow::Result<i64> {
    i64::try_from(seq).context("stream sequence beyond the bigint range")
}

fn count(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

fn to_u64(value: i64) -> anyhow::Result<u64> {
    u64::try_from(value).context("negative stream sequence in the lake tables")
}

/// The set's ranges as two arrays (starts, exclusive ends), the form the
/// SQL below turns into an `int8multirange`.
fn range_arrays(set: &SeqSet) -> anyhow::Result<(Vec<i64>, Vec<i64>)> {
    let mut starts = Vec::new();
    let mut ends = Vec::new();
    for (start, end) in set.ranges() {
        starts.push(to_i64(start)?);
        ends.push(to_i64(end)?);
    }
    Ok((starts, ends))
}

const MULTIRANGE_FROM_ARRAYS: &str = "(SELECT coalesce(range_agg(int8range(s, e)), '{}'::int8multirange) FROM unnest($2::int8[], $3::int8[]) AS r(s, e))";

impl Ledger {
    /// Takes a connection out of `pool` for this sink's lifetime.
    pub async fn connect(pool: &deadpool_postgres::Pool, sink: &str) -> anyhow::Result<Ledger> {
        let object = pool
            .get()
            .await
            .context("cannot connect to the analytics database (ANALYTICS_DATABASE_URL)")?;
        // Detached: the advisory lock is tied to this session, which must
        // end with the sink rather than go back to the pool still locked.
        let client = deadpool_postgres::Object::take(object);
        Ok(Ledger {
            client,
            sink: sink.to_owned(),
        })
    }

    /// Tries to become the one running lake sink of this name.
    pub async fn try_lock(&self) -> anyhow::Result<bool> {
        let row = self
            .client
            .query_one(
                "SELECT pg_try_advisory_lock(hashtext('supermarket-lake'), hashtext($1))",
                &[&self.sink],
            )
            .await
            .context("cannot take the lake sink's advisory lock")?;
        Ok(row.get(0))
    }

    /// Reads the progress of this sink, creating it on first run. Refuses to
    /// go on if the stream is not the one the progress was made on: a
    /// recreated stream numbers its messages from 1 again, and the lake
    /// would skip them and overwrite old files.
    pub async fn load(&mut self, stream: &str, stream_created: &str) -> anyhow::Result<Progress> {
        self.client
            .execute(
                "INSERT INTO lake_progress (sink, stream, stream_created) VALUES ($1, $2, $3) ON CONFLICT (sink) DO NOTHING",
                &[&self.sink, &stream, &stream_created],
            )
            .await
            .context("cannot record the lake's progress row")?;
        let row = self
            .client
            .query_one(
                "SELECT stream, stream_created FROM lake_progress WHERE sink = $1",
                &[&self.sink],
            )
            .await
            .context("cannot read the lake's progress")?;
        let (known_stream, known_created): (String, String) = (row.get(0), row.get(1));
        if known_stream != stream || known_created != stream_created {
            let explanation = anyhow!(
                "the lake sink {sink:?} has progress on stream {known_stream:?} created {known_created}, \
                 but the stream is now {stream:?} created {stream_created}: its sequence numbers are not comparable. \
                 Move the lake's files away and delete the sink's rows (DELETE FROM lake_events WHERE sink = '{sink}'; \
                 DELETE FROM lake_batches WHERE sink = '{sink}'; DELETE FROM lake_progress WHERE sink = '{sink}') to start over, or use another LAKE_CONSUMER_NAME",
                sink = self.sink
            );
            return Err(anyhow::Error::new(StreamMismatch).context(explanation));
        }
        let done = self.ranges("SELECT lower(r), upper(r) FROM lake_progress p, unnest(p.done) r WHERE p.sink = $1", None).await?;

        let writing = self
            .client
            .query_opt(
                "SELECT first_seq, objects, events, skipped FROM lake_batches WHERE sink = $1 AND state = 'writing'",
                &[&self.sink],
            )
            .await
            .context("cannot read the lake's unfinished batch")?;
        let writing = match writing {
            None => None,
            Some(row) => {
                let first_seq: i64 = row.get(0);
                let seqs = self
                    .ranges(
                        "SELECT lower(r), upper(r) FROM lake_batches b, unnest(b.seqs) r WHERE b.sink = $1 AND b.first_seq = $2",
                        Some(first_seq),
                    )
                    .await?;
                let objects = row
                    .get::<_, Vec<String>>(1)
                    .iter()
                    .map(|object| {
                        Path::parse(object)
                            .with_context(|| format!("bad object path {object:?} in lake_batches"))
                    })
                    .collect::<anyhow::Result<Vec<Path>>>()?;
                Some(BatchRecord {
                    seqs,
                    objects,
                    events: row.get(2),
                    skipped: row.get(3),
                })
            }
        };
        Ok(Progress { done, writing })
    }

    async fn ranges(&self, sql: &str, first_seq: Option<i64>) -> anyhow::Result<SeqSet> {
        let rows = match first_seq {
            None => self.client.query(sql, &[&self.sink]).await,
            Some(first_seq) => self.client.query(sql, &[&self.sink, &first_seq]).await,
        }
        .context("cannot read the lake's sequence ranges")?;
        let mut set = SeqSet::new();
        for row in rows {
            set.insert_range(to_u64(row.get(0))?, to_u64(row.get(1))?);
        }
        Ok(set)
    }

    /// Step 1 of a batch: in one transaction, claims the batch's event ids
    /// (dropping rows whose event another batch already holds, and repeats
    /// inside the batch), then records the batch's sequences and object
    /// names in state 'writing'. Returns the record and the files to write.
    /// `unreadable` counts the batch's messages that were not events.
    pub async fn begin(
        &mut self,
        seqs: SeqSet,
        rows: Vec<Row>,
        unreadable: usize,
    ) -> anyhow::Result<(BatchRecord, Files)> {
        let first_seq = seqs.first().context("an empty lake batch")?;
        let last_seq = seqs.last().context("an empty lake batch")?;
        let (rows, repeats) = parquet_file::first_copies(rows);
        let ids: Vec<Uuid> = rows.iter().map(|row| row.event.event_id).collect();
        let (starts, ends) = range_arrays(&seqs)?;
        let transaction = self
            .client
            .transaction()
            .await
            .context("cannot start recording a lake batch")?;
        transaction
            .execute(
                "INSERT INTO lake_events (sink, event_id, first_seq) SELECT $1, id, $2 FROM unnest($3::uuid[]) AS id \
                 ON CONFLICT (sink, event_id) DO NOTHING",
                &[&self.sink, &to_i64(first_seq)?, &ids],
            )
            .await
            .context("cannot claim the lake batch's event ids")?;
        let elsewhere: HashSet<Uuid> = transaction
            .query(
                "SELECT event_id FROM lake_events WHERE sink = $1 AND event_id = ANY($3::uuid[]) AND first_seq <> $2",
                &[&self.sink, &to_i64(first_seq)?, &ids],
            )
            .await
            .context("cannot read which events are already in the lake")?
            .iter()
            .map(|row| row.get(0))
            .collect();
        let before = rows.len();
        let rows: Vec<Row> = rows
            .into_iter()
            .filter(|row| !elsewhere.contains(&row.event.event_id))
            .collect();
        let left_out = unreadable + repeats + (before - rows.len());
        if left_out > unreadable {
            tracing::info!(
                first_seq,
                copies = left_out - unreadable,
                "repeated events left out of the lake"
            );
        }
        let files = parquet_file::files(first_seq, last_seq, rows);
        let record = BatchRecord {
            seqs,
            objects: files.iter().map(|(path, _)| path.clone()).collect(),
            events: count(files.iter().map(|(_, rows)| rows.len()).sum()),
            skipped: count(left_out),
        };
        let objects: Vec<&str> = record.objects.iter().map(|path| path.as_ref()).collect();
        transaction
            .execute(
                &format!(
                    "INSERT INTO lake_batches (sink, first_seq, last_seq, seqs, objects, events, skipped, state) \
                     VALUES ($1, $4, $5, {MULTIRANGE_FROM_ARRAYS}, $6, $7, $8, 'writing')"
                ),
                &[
                    &self.sink,
                    &starts,
                    &ends,
                    &to_i64(first_seq)?,
                    &to_i64(last_seq)?,
                    &objects,
                    &record.events,
                    &record.skipped,
                ],
            )
            .await
            .context("cannot record a lake batch before writing it")?;
        transaction
            .commit()
            .await
            .context("cannot commit a lake batch's record")?;
        Ok((record, files))
    }

    /// The event ids that the batch starting at `first_seq` claimed.
    pub async fn claimed_events(&self, first_seq: u64) -> anyhow::Result<HashSet<Uuid>> {
        let rows = self
            .client
            .query(
                "SELECT event_id FROM lake_events WHERE sink = $1 AND first_seq = $2",
                &[&self.sink, &to_i64(first_seq)?],
            )
            .await
            .context("cannot read the event ids of an unfinished lake batch")?;
        Ok(rows.iter().map(|row| row.get(0)).collect())
    }

    /// Replaces the object list of an unfinished batch (a redo may find
    /// fewer events if the stream lost some meanwhile).
    pub async fn rewrite(&mut self, batch: &BatchRecord) -> anyhow::Result<()> {
        let objects: Vec<&str> = batch.objects.iter().map(|path| path.as_ref()).collect();
        self.client
            .execute(
                "UPDATE lake_batches SET objects = $3, events = $4, skipped = $5 \
                 WHERE sink = $1 AND first_seq = $2 AND state = 'writing'",
                &[
                    &self.sink,
                    &to_i64(batch.first_seq())?,
                    &objects,
                    &batch.events,
                    &batch.skipped,
                ],
            )
            .await
            .context("cannot update an unfinished lake batch")?;
        Ok(())
    }

    /// The last step before acknowledging: the batch is done and its
    /// sequences join the set already in the lake, in one transaction.
    pub async fn finish(&mut self, batch: &BatchRecord) -> anyhow::Result<()> {
        let (starts, ends) = range_arrays(&batch.seqs)?;
        let first_seq = to_i64(batch.first_seq())?;
        let transaction = self
            .client
            .transaction()
            .await
            .context("cannot start the lake's commit")?;
        let updated = transaction
            .execute(
                "UPDATE lake_batches SET state = 'done', done_at = now() WHERE sink = $1 AND first_seq = $2 AND state = 'writing'",
                &[&self.sink, &first_seq],
            )
            .await
            .context("cannot mark a lake batch done")?;
        if updated != 1 {
            bail!("lake batch starting at stream sequence {first_seq} was not in state 'writing'");
        }
        transaction
            .execute(
                &format!(
                    "UPDATE lake_progress SET done = done + {MULTIRANGE_FROM_ARRAYS}, updated_at = now() WHERE sink = $1"
                ),
                &[&self.sink, &starts, &ends],
            )
            .await
            .context("cannot advance the lake's progress")?;
        transaction
            .commit()
            .await
            .context("cannot commit the lake's progress")?;
        Ok(())
    }
}
