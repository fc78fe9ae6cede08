//! Redoing the batch that was being written when the sink stopped.

use anyhow::Context;
use async_nats::jetstream::{self, stream::Stream as JetStream};
use futures_util::{StreamExt, TryStreamExt};
use object_store::path::Path;
use tokio_util::sync::CancellationToken;

use super::roll::write_files;
use crate::ledger::{BatchRecord, Ledger};
use crate::parquet_file::{self, Row};
use crate::seqset::SeqSet;
use crate::store::LakeStore;

/// Stream reads in flight while redoing an unfinished batch.
const REDO_CONCURRENCY: usize = 64;

/// Finishes the batch that was being written when the sink stopped: its
/// events are read again from the stream, by sequence, so the same files
/// come out under the same names, replacing any partial attempt. `Ok(false)`
/// if shutdown came first.
pub(super) async fn redo(
    lake: &LakeStore,
    stream: &JetStream,
    ledger: &mut Ledger,
    batch: BatchRecord,
    done: &mut SeqSet,
    shutdown: &CancellationToken,
) -> anyhow::Result<bool> {
    tracing::info!(
        first_seq = batch.first_seq(),
        last_seq = batch.last_seq(),
        events = batch.events,
        "redoing the lake batch that was being written when the sink stopped"
    );
    let fetched: Vec<Option<Row>> = futures_util::stream::iter(batch.seqs.iter())
        .map(|seq| async move {
            match stream.get_raw_message(seq).await {
                Ok(message) => Ok(match supermarket_events::decode(&message.payload) {
                    Ok(event) => Some(Row { seq, event }),
                    Err(error) => {
                        tracing::error!(%error, seq, "not a readable purchase event: left out of the lake");
                        None
                    }
                }),
                Err(error) if error.kind() == jetstream::stream::RawMessageErrorKind::NoMessageFound => {
                    tracing::warn!(seq, "an event of the unfinished batch is no longer in the stream");
                    Ok(None)
                }
                Err(error) => Err(error).with_context(|| format!("cannot read stream sequence {seq} again")),
            }
        })
        .buffered(REDO_CONCURRENCY)
        .try_collect()
        .await?;
    // The same rows as the first attempt: the events this batch claimed,
    // first copy of each.
    let claimed = ledger.claimed_events(batch.first_seq()).await?;
    let (rows, _) = parquet_file::first_copies(fetched.into_iter().flatten());
    let rows: Vec<Row> = rows
        .into_iter()
        .filter(|row| claimed.contains(&row.event.event_id))
        .collect();
    let events = rows.len();
    let files = parquet_file::files(batch.first_seq(), batch.last_seq(), rows);
    let record = BatchRecord {
        seqs: batch.seqs.clone(),
        objects: files.iter().map(|(path, _)| path.clone()).collect(),
        events: i32::try_from(events).unwrap_or(i32::MAX),
        skipped: batch.skipped + (batch.events - i32::try_from(events).unwrap_or(i32::MAX)).max(0),
    };
    // Files of the first attempt that this one no longer produces (their
    // events left the stream meanwhile) would hold stale rows.
    let gone: Vec<&Path> = batch
        .objects
        .iter()
        .filter(|path| !record.objects.contains(path))
        .collect();
    if !gone.is_empty() || record.objects != batch.objects {
        ledger.rewrite(&record).await?;
        for path in gone {
            lake.delete(path).await?;
        }
    }
    if !write_files(lake, files, shutdown).await? {
        return Ok(false);
    }
    ledger.finish(&record).await?;
    done.union_with(&record.seqs);
    tracing::info!(
        first_seq = record.first_seq(),
        last_seq = record.last_seq(),
        events = record.events,
        "unfinished lake batch redone"
    );
    Ok(true)
}
