//! The lake sink: a durable pull consumer that writes rolls of events as
//! Parquet files, recording each roll in the [`Ledger`] before and after.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use async_nats::jetstream::{self, Message, stream::Stream as JetStream};
use futures_util::{StreamExt, TryStreamExt};
use object_store::path::Path;
use supermarket_events::NatsArgs;
use supermarket_storage::backoff::Backoff;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::LakeConfig;
use crate::ledger::{BatchRecord, Ledger};
use crate::metrics::Metrics;
use crate::parquet_file::{self, Row};
use crate::seqset::SeqSet;
use crate::store::LakeStore;

/// How often a standby sink checks whether the active one is gone.
const STANDBY_RETRY: Duration = Duration::from_secs(2);
/// Messages requested from the server per pull.
const PULL_BATCH: usize = 1_000;
/// Stream reads in flight while redoing an unfinished batch.
const REDO_CONCURRENCY: usize = 64;

/// A roll being gathered: the messages by stream sequence.
#[derive(Default)]
struct Roll {
    /// Every sequence of the roll, decodable or not.
    seqs: SeqSet,
    rows: BTreeMap<u64, Row>,
    /// Messages that are not purchase events.
    unreadable: usize,
    /// Every delivery to acknowledge once the roll is done (a redelivery of
    /// a message already in the roll is acknowledged too).
    deliveries: Vec<Message>,
}

impl Roll {
    fn is_empty(&self) -> bool {
        self.seqs.is_empty()
    }

    fn len(&self) -> u64 {
        self.seqs.len()
    }
}

/// Runs the sink on an opened lake until `shutdown` (see [`crate::run_sink`]).
pub async fn run_sink_on(
    config: LakeConfig,
    lake: LakeStore,
    nats: NatsArgs,
    analytics: deadpool_postgres::Pool,
    metrics: Arc<Metrics>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let Some(mut ledger) = take_the_lock(&config, &analytics, &shutdown).await? else {
        return Ok(());
    };
    let (client, js) = supermarket_events::connect(&nats).await?;
    let stream = supermarket_events::ensure_stream(&js, &nats).await?;
    let created = stream_created(&js, &nats.stream).await?;
    let progress = ledger.load(&nats.stream, &created).await?;
    let mut done = progress.done;
    tracing::info!(lake = %lake.url(), sink = %config.consumer_name, stream = %nats.stream,
        events_in_lake = done.len(), "lake sink started");

    if let Some(batch) = progress.writing
        && !redo(&lake, &stream, &mut ledger, batch, &mut done, &shutdown).await?
    {
        return Ok(());
    }

    let roll_seconds = Duration::from_secs(config.roll_seconds);
    let roll_events = config.roll_events;
    let consumer = fresh_consumer(&stream, &config, &nats, &done).await?;
    let mut messages = consumer
        .stream()
        .max_messages_per_batch(PULL_BATCH.min(usize::try_from(roll_events).unwrap_or(PULL_BATCH)))
        .messages()
        .await
        .context("cannot start pulling from the lake's consumer")?;

    loop {
        let (roll, stopping) =
            gather(&mut messages, &done, roll_seconds, roll_events, &shutdown).await?;
        if !roll.is_empty() {
            let deliveries =
                write_roll(&lake, &mut ledger, roll, &mut done, &metrics, &shutdown).await?;
            match deliveries {
                Some(deliveries) => acknowledge(&deliveries).await,
                // Shut down while the object store was failing: the batch
                // stays 'writing' and is redone at the next start.
                None => break,
            }
        }
        if stopping {
            break;
        }
    }
    client
        .flush()
        .await
        .context("cannot flush the last acknowledgements to NATS")?;
    tracing::info!(sink = %config.consumer_name, "lake sink stopped");
    Ok(())
}

/// Waits until this sink holds the advisory lock; `None` on shutdown.
async fn take_the_lock(
    config: &LakeConfig,
    analytics: &deadpool_postgres::Pool,
    shutdown: &CancellationToken,
) -> anyhow::Result<Option<Ledger>> {
    let ledger = Ledger::connect(analytics, &config.consumer_name).await?;
    let mut announced = false;
    loop {
        if ledger.try_lock().await? {
            return Ok(Some(ledger));
        }
        if !announced {
            tracing::info!(sink = %config.consumer_name, "another lake sink of this name is running: standing by");
            announced = true;
        }
        tokio::select! {
            () = shutdown.cancelled() => return Ok(None),
            () = tokio::time::sleep(STANDBY_RETRY) => {}
        }
    }
}

/// Recreates the sink's durable consumer so it starts at the first
/// sequence not yet in the lake. The done set in PostgreSQL is the truth;
/// the consumer's own state is disposable, and a fresh one redelivers at
/// once what a crashed sink held unacknowledged instead of after its ack
/// wait. It also applies changed roll settings.
async fn fresh_consumer(
    stream: &JetStream,
    config: &LakeConfig,
    nats: &NatsArgs,
    done: &SeqSet,
) -> anyhow::Result<jetstream::consumer::PullConsumer> {
    let name = &config.consumer_name;
    match stream.delete_consumer(name).await {
        Ok(_) => {}
        Err(error)
            if matches!(error.kind(), jetstream::stream::ConsumerErrorKind::JetStream(ref js)
                if js.error_code() == jetstream::ErrorCode::CONSUMER_NOT_FOUND) => {}
        Err(error) => {
            return Err(error)
                .with_context(|| format!("cannot reset the lake's consumer {name:?}"));
        }
    }
    let start = done.first_missing();
    let roll_seconds = Duration::from_secs(config.roll_seconds);
    let consumer_config = jetstream::consumer::pull::Config {
        durable_name: Some(name.clone()),
        description: Some("data lake sink (purchase.created -> Parquet)".to_owned()),
        deliver_policy: if start <= 1 {
            jetstream::consumer::DeliverPolicy::All
        } else {
            jetstream::consumer::DeliverPolicy::ByStartSequence {
                start_sequence: start,
            }
        },
        ack_policy: jetstream::consumer::AckPolicy::Explicit,
        // A message waits up to one roll in memory, then for its file to
        // be written: redelivering it sooner would only add skips.
        ack_wait: roll_seconds * 2 + Duration::from_secs(30),
        // A roll holds its messages unacknowledged: the server must let a
        // whole roll (plus the next pull) be outstanding.
        max_ack_pending: i64::try_from(config.roll_events.saturating_add(PULL_BATCH as u64 * 2))
            .unwrap_or(i64::MAX),
        filter_subject: nats.all_subjects(),
        ..Default::default()
    };
    stream
        .create_consumer(consumer_config)
        .await
        .with_context(|| format!("cannot create the lake's consumer {name:?}"))
}

/// The stream's creation time as the server states it: it identifies this
/// incarnation of the stream (sequence numbers restart with a new one).
async fn stream_created(js: &jetstream::Context, stream: &str) -> anyhow::Result<String> {
    let info: serde_json::Value = js
        .request(format!("STREAM.INFO.{stream}"), &serde_json::json!({}))
        .await
        .with_context(|| format!("cannot read the information of stream {stream:?}"))?;
    info.get("created")
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned)
        .with_context(|| {
            format!("the information of stream {stream:?} has no creation time: {info}")
        })
}

/// Gathers one roll: waits for a first new message, then takes messages
/// until the roll holds `roll_events` or `roll_seconds` have passed since
/// that first message. Messages already in the lake are acknowledged and
/// dropped. Returns the roll and whether shutdown was requested.
async fn gather(
    messages: &mut jetstream::consumer::pull::Stream,
    done: &SeqSet,
    roll_seconds: Duration,
    roll_events: u64,
    shutdown: &CancellationToken,
) -> anyhow::Result<(Roll, bool)> {
    let mut roll = Roll::default();
    let mut deadline: Option<Instant> = None;
    while roll.len() < roll_events {
        let next = tokio::select! {
            () = shutdown.cancelled() => return Ok((roll, true)),
            () = sleep_until(deadline) => break,
            next = messages.next() => next,
        };
        let message = match next {
            Some(Ok(message)) => message,
            Some(Err(error)) => {
                // The client re-issues pulls after transient errors (a
                // missed heartbeat, a server restart); a deleted consumer
                // or stream ends the iterator below.
                tracing::warn!(%error, "error while pulling lake events");
                // Pause so that a broker outage does not spin this loop.
                tokio::select! {
                    () = shutdown.cancelled() => return Ok((roll, true)),
                    () = tokio::time::sleep(Duration::from_millis(250)) => {}
                }
                continue;
            }
            None => anyhow::bail!(
                "the lake's consumer stopped delivering (consumer or stream deleted?)"
            ),
        };
        let seq = match message.info() {
            Ok(info) => info.stream_sequence,
            Err(error) => {
                tracing::warn!(%error, subject = %message.subject, "a message without JetStream metadata: ignored");
                continue;
            }
        };
        if done.contains(seq) {
            // Already in the lake: the sink stopped between writing and
            // acknowledging it.
            if let Err(error) = message.ack().await {
                tracing::warn!(%error, seq, "cannot acknowledge a message already in the lake");
            }
            continue;
        }
        if !roll.seqs.contains(seq) {
            roll.seqs.insert(seq);
            match supermarket_events::decode(&message.payload) {
                Ok(event) => {
                    roll.rows.insert(seq, Row { seq, event });
                }
                Err(error) => {
                    tracing::error!(%error, seq, subject = %message.subject,
                        "not a readable purchase event: left out of the lake");
                    roll.unreadable += 1;
                }
            }
        }
        roll.deliveries.push(message);
        deadline.get_or_insert_with(|| Instant::now() + roll_seconds);
    }
    Ok((roll, false))
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// Writes a gathered roll: record, write, mark done. Returns the deliveries
/// to acknowledge, or `None` if shutdown came while writes kept failing.
async fn write_roll(
    lake: &LakeStore,
    ledger: &mut Ledger,
    roll: Roll,
    done: &mut SeqSet,
    metrics: &Metrics,
    shutdown: &CancellationToken,
) -> anyhow::Result<Option<Vec<Message>>> {
    let started = Instant::now();
    let (record, files) = ledger
        .begin(
            roll.seqs,
            roll.rows.into_values().collect(),
            roll.unreadable,
        )
        .await?;
    if !write_files(lake, files, shutdown).await? {
        return Ok(None);
    }
    ledger.finish(&record).await?;
    done.union_with(&record.seqs);
    metrics.observe_roll(&record);
    tracing::info!(
        first_seq = record.first_seq(),
        last_seq = record.last_seq(),
        events = record.events,
        skipped = record.skipped,
        files = record.objects.len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "lake roll written"
    );
    Ok(Some(roll.deliveries))
}

/// Encodes and puts every file, retrying failed puts with a growing pause
/// (the object store may be briefly unreachable). `Ok(false)` if shutdown
/// came first.
async fn write_files(
    lake: &LakeStore,
    files: Vec<(Path, Vec<Row>)>,
    shutdown: &CancellationToken,
) -> anyhow::Result<bool> {
    for (path, rows) in files {
        // The object store may be briefly unreachable: retry with a growing pause.
        let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(30));
        let encoded = tokio::task::spawn_blocking(move || parquet_file::encode(&rows)).await;
        // Encoding decoded events into our own schema does not fail: if it
        // does, it would again, so it stops the sink rather than retrying.
        let bytes = encoded
            .context("the lake's encoding task failed")?
            .with_context(|| format!("cannot encode {path}"))?;
        loop {
            match lake.put(&path, bytes.clone()).await {
                Ok(()) => break,
                Err(error) => {
                    tracing::warn!(error = format!("{error:#}"), %path, retry_in_ms = backoff.pause().as_millis() as u64,
                        "cannot write a lake file: retrying");
                    if !backoff.wait(shutdown).await {
                        return Ok(false);
                    }
                }
            }
        }
    }
    Ok(true)
}

/// Acknowledges every delivery of a written roll. A lost ack only means a
/// redelivery, which the done set turns into a skip.
async fn acknowledge(deliveries: &[Message]) {
    for message in deliveries {
        if let Err(error) = message.ack().await {
            tracing::warn!(%error, "cannot acknowledge a lake event; it will be redelivered and skipped");
        }
    }
}

/// Finishes the batch that was being written when the sink stopped: its
/// events are read again from the stream, by sequence, so the same files
/// come out under the same names, replacing any partial attempt. `Ok(false)`
/// if shutdown came first.
async fn redo(
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
