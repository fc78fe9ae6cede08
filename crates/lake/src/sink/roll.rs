//! One roll: gathering messages from the pull consumer until the roll is
//! full or old enough, then recording, writing and marking it done.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Context;
use async_nats::jetstream::{self, Message};
use futures_util::StreamExt;
use object_store::path::Path;
use supermarket_storage::backoff::Backoff;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::ledger::Ledger;
use crate::metrics::Metrics;
use crate::parquet_file::{self, Row};
use crate::seqset::SeqSet;
use crate::store::LakeStore;

/// A roll being gathered: the messages by stream sequence.
#[derive(Default)]
pub(super) struct Roll {
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
    pub(super) fn is_empty(&self) -> bool {
        self.seqs.is_empty()
    }

    fn len(&self) -> u64 {
        self.seqs.len()
    }
}

/// Gathers one roll: waits for a first new message, then takes messages
/// until the roll holds `roll_events` or `roll_seconds` have passed since
/// that first message. Messages already in the lake are acknowledged and
/// dropped. Returns the roll and whether shutdown was requested.
pub(super) async fn gather(
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
pub(super) async fn write_roll(
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
pub(super) async fn write_files(
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
