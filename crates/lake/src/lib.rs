//! The data lake: every `purchase.created` event, exactly once, as
//! hive-partitioned Parquet on a local folder or S3-compatible storage.
//!
//! Module map:
//! - [`config`]: [`LakeConfig`] (`LAKE_URL`, `LAKE_ROLL_SECONDS`,
//!   `LAKE_ROLL_EVENTS`, `LAKE_CONSUMER_NAME`; S3 settings from `AWS_*`).
//! - [`store`]: [`LakeStore`], the object store (local folder or S3) chosen
//!   by `LAKE_URL`.
//! - [`parquet_file`]: the file layout (`purchases/date=…/branch=…/part-….parquet`),
//!   the Arrow schema and the Parquet encoding.
//! - [`seqset`]: [`SeqSet`], sets of stream sequences as ranges.
//! - [`ledger`]: the intent log in the analytics database (`lake_progress`,
//!   `lake_batches`) and the sink's advisory lock.
//! - [`sink`]: the loop: pull, roll, record, write, mark done, acknowledge.
//! - [`metrics`]: the sink's Prometheus text for `/metrics`.
//! - [`service`]: `supermarket serve lake-sink`, the sink as its own
//!   service (`/health`, `/ready`, `/metrics` on `LAKE_SINK_ADDR`), so a
//!   lake failure never stops the read models.
//!
//! # How events land exactly once
//!
//! The sink is a durable JetStream pull consumer (`LAKE_CONSUMER_NAME`,
//! default `lake`) on the purchases stream, beside the analytics consumer.
//! JetStream delivers at least once; object storage has no transactions.
//! So the sink keeps an intent log in the analytics database and makes
//! every write repeatable:
//!
//! 1. **Roll.** It gathers messages until `LAKE_ROLL_EVENTS` are held or
//!    `LAKE_ROLL_SECONDS` have passed since the first one arrived. Each
//!    message is known by its *stream sequence* (from the JetStream
//!    metadata), which is stable across redeliveries.
//! 2. **Record.** It commits a `lake_batches` row in state `writing` with
//!    the exact set of sequences (an `int8multirange`) and the object names.
//!    Names are derived from the batch only: `part-<first seq>-<last seq>`
//!    inside the partition folder. Batches never share a sequence, so they
//!    never share a first sequence, so they never share a name.
//! 3. **Write.** One Parquet file per partition per roll, each put whole (an
//!    S3 PUT is atomic; the local store writes a temporary file and renames
//!    it). Putting a name again replaces it.
//! 4. **Done.** One transaction marks the batch `done` and adds its
//!    sequences to `lake_progress.done`.
//! 5. **Acknowledge** every delivery of the roll.
//!
//! A crash (even SIGKILL) at any point leaves one of these states:
//! before 2, nothing was written and the unacknowledged messages come back;
//! between 2 and 4, the batch is `writing`, and at start-up the sink reads
//! *exactly its sequences* back from the stream by sequence number and puts
//! the same files under the same names, replacing any partial attempt, then
//! marks it done; after 4, the redelivered messages are in the done set and
//! are acknowledged without being written. Redeliveries may arrive out of
//! order or after newer messages: the done set is a set of sequences, not a
//! single high-water mark, so gaps are handled. Messages that are not valid
//! `purchase.created` events are logged, counted in `lake_batches.skipped`,
//! and acknowledged.
//!
//! # One sink at a time
//!
//! The sink takes a PostgreSQL advisory lock (keyed by its consumer name)
//! on a connection it keeps for its whole life and on which it records
//! every step. A second process started with the same name stands by, idle,
//! and takes over when the first one's connection goes. A sink that loses
//! its connection loses the lock and can no longer record anything, so that
//! attempt stops; files it may still put belong to a batch the next attempt
//! (or the standby) redoes identically. [`run_sink`] then starts over after
//! a pause, as a restarted process would: a database or broker restart costs
//! a pause, not the process.
//!
//! The progress is tied to the stream's creation time: if the stream is
//! deleted and recreated, its sequences restart at 1 and the sink refuses
//! to start (the message says how to reset) rather than skip or overwrite.
//!
//! Partitions use the UTC date of `purchased_at`; the schema is described
//! in [`parquet_file`].

pub mod config;
pub mod ledger;
pub mod metrics;
pub mod parquet_file;
pub mod seqset;
pub mod service;
pub mod sink;
pub mod store;

pub use config::LakeConfig;
pub use metrics::Metrics;
pub use seqset::SeqSet;
pub use sink::run_sink_on;
pub use store::LakeStore;

use std::sync::Arc;
use std::time::{Duration, Instant};

use supermarket_storage::backoff::Backoff;
use tokio_util::sync::CancellationToken;

/// First pause before the sink starts over after a failure; it doubles
/// while failures repeat, up to [`MAX_RESTART_PAUSE`].
const FIRST_RESTART_PAUSE: Duration = Duration::from_millis(250);
const MAX_RESTART_PAUSE: Duration = Duration::from_secs(30);
/// An attempt that ran this long before failing counts as healthy: the next
/// pause is the first one again.
const HEALTHY_RUN: Duration = Duration::from_secs(60);

/// Runs the lake sink until `shutdown` is cancelled: opens the lake named by
/// `LAKE_URL`, waits for the sink's lock, finishes any batch a previous run
/// left unfinished, then writes rolls of events. On shutdown it writes the
/// roll in hand and returns `Ok`.
///
/// When an attempt fails (the analytics database or NATS restarted, the
/// connection holding the lock dropped, the object store failed), the sink
/// starts over after a pause, exactly as a restarted process would: its
/// state lives in the intent log and the stream, so nothing is lost or
/// written twice, and the process
/// keeps running. Only an error no retry can fix is returned: a lake that
/// cannot be opened, or a stream that is not the one the lake's progress
/// was made on ([`ledger::StreamMismatch`]).
pub async fn run_sink(
    config: LakeConfig,
    nats: supermarket_events::NatsArgs,
    analytics: deadpool_postgres::Pool,
    metrics: Arc<Metrics>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let lake = LakeStore::open(&config.lake_url)?;
    let mut backoff = Backoff::new(FIRST_RESTART_PAUSE, MAX_RESTART_PAUSE);
    loop {
        let started = Instant::now();
        let error = match run_sink_on(
            config.clone(),
            lake.clone(),
            nats.clone(),
            analytics.clone(),
            metrics.clone(),
            shutdown.clone(),
        )
        .await
        {
            Ok(()) => return Ok(()),
            Err(error) if error.downcast_ref::<ledger::StreamMismatch>().is_some() => {
                return Err(error);
            }
            Err(error) => error,
        };
        if started.elapsed() >= HEALTHY_RUN {
            backoff.reset();
        }
        metrics
            .restarts
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        tracing::error!(error = format!("{error:#}"), sink = %config.consumer_name,
            retry_in_ms = backoff.pause().as_millis() as u64, "the lake sink failed; starting it over");
        if !backoff.wait(&shutdown).await {
            return Ok(());
        }
    }
}
