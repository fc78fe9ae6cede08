//! The read-model side of the consumer: [`Consumer`] takes batches from the
//! pull subscription, applies each in one transaction and acknowledges it,
//! reporting its messages in progress meanwhile.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use anyhow::Context as _;
use async_nats::jetstream::AckKind;
use async_nats::jetstream::consumer::pull;
use chrono::{DateTime, Utc};
use futures_util::{FutureExt as _, StreamExt as _};
use supermarket_storage::Pool;
use supermarket_storage::backoff::Backoff;
use tokio_util::sync::CancellationToken;

use super::ConsumerArgs;
use crate::apply::{Applied, Incoming, apply_batch};
use crate::metrics::Metrics;
use crate::timezone::StoreTimeZone;

#[cfg(not(feature = "test-stops"))]
use stops::Stop;
#[cfg(feature = "test-stops")]
pub use stops::Stop;

mod stops {
    /// Where processing a batch stops. Only tests use anything but
    /// [`Stop::Never`], to reproduce a process dying at that point. Public
    /// only with the `test-stops` feature, which this crate's own tests turn on.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Stop {
        Never,
        #[cfg_attr(not(feature = "test-stops"), allow(dead_code))]
        BeforeCommit,
        #[cfg_attr(not(feature = "test-stops"), allow(dead_code))]
        AfterCommitBeforeAck,
    }
}

/// The read-model side of the consumer: a pull subscription and the pool.
pub struct Consumer {
    pool: Pool,
    messages: pull::Stream,
    batch_size: usize,
    time_zone: &'static str,
    metrics: Arc<Metrics>,
    /// How often the messages of a batch in hand are reported in progress.
    progress_every: Duration,
}

impl Consumer {
    /// Opens the stream (creating it if needed) and the durable consumer.
    pub async fn start(
        pool: Pool,
        js: &async_nats::jetstream::Context,
        nats: &supermarket_events::NatsArgs,
        args: &ConsumerArgs,
        time_zone: &StoreTimeZone,
        metrics: Arc<Metrics>,
    ) -> anyhow::Result<Consumer> {
        let stream = supermarket_events::ensure_stream(js, nats).await?;
        let settings = supermarket_events::DurableSettings {
            name: args.name.clone(),
            filter_subject: nats.all_subjects(),
            ack_wait: Duration::from_secs(args.ack_wait_secs),
            max_ack_pending: args.max_ack_pending,
        };
        let consumer = supermarket_events::durable_pull_consumer(&stream, &settings).await?;
        let messages = consumer
            .stream()
            .max_messages_per_batch(args.batch_size as usize)
            .heartbeat(Duration::from_secs(5))
            .expires(Duration::from_secs(30))
            .messages()
            .await
            .context("cannot start pulling events")?;
        // Three progress acks per ack wait: one lost or late still leaves
        // the server two before it would redeliver.
        let progress_every = settings.ack_wait / 3;
        Ok(Consumer {
            pool,
            messages,
            batch_size: args.batch_size as usize,
            time_zone: time_zone.name(),
            metrics,
            progress_every,
        })
    }

    /// Waits up to `wait` for a first message, then takes the ones already
    /// received, up to the batch size. Empty when nothing came.
    pub async fn next_batch(
        &mut self,
        wait: Duration,
    ) -> anyhow::Result<Vec<async_nats::jetstream::Message>> {
        let mut batch = Vec::new();
        match tokio::time::timeout(wait, self.messages.next()).await {
            Err(_) => return Ok(batch),
            Ok(None) => anyhow::bail!("the JetStream pull subscription ended"),
            Ok(Some(Err(error))) => {
                // Missed heartbeats and similar hiccups: the stream recovers by itself.
                tracing::warn!(%error, "pull consumer hiccup");
                return Ok(batch);
            }
            Ok(Some(Ok(message))) => batch.push(message),
        }
        while batch.len() < self.batch_size {
            match self.messages.next().now_or_never() {
                Some(Some(Ok(message))) => batch.push(message),
                _ => break,
            }
        }
        Ok(batch)
    }

    /// Applies and acknowledges one batch.
    pub async fn process(
        &self,
        batch: &[async_nats::jetstream::Message],
    ) -> anyhow::Result<Applied> {
        self.process_stopping(batch, Stop::Never).await
    }

    /// [`process`](Consumer::process), stopping at `stop` (tests).
    #[cfg(feature = "test-stops")]
    pub async fn process_until(
        &self,
        batch: &[async_nats::jetstream::Message],
        stop: Stop,
    ) -> anyhow::Result<Applied> {
        self.process_stopping(batch, stop).await
    }

    async fn process_stopping(
        &self,
        batch: &[async_nats::jetstream::Message],
        stop: Stop,
    ) -> anyhow::Result<Applied> {
        if batch.is_empty() {
            return Ok(Applied::default());
        }
        let incoming: Vec<Incoming> = batch.iter().map(incoming).collect::<anyhow::Result<_>>()?;
        let mut client = self
            .pool
            .get()
            .await
            .context("no analytics database connection (ANALYTICS_DATABASE_URL)")?;
        let tx = client.transaction().await?;
        let applied = apply_batch(&tx, self.time_zone, &incoming).await?;
        if stop == Stop::BeforeCommit {
            return Ok(Applied::default());
        }
        tx.commit()
            .await
            .context("cannot commit the analytics batch")?;
        self.metrics
            .last_commit_unix_ms
            .store(Utc::now().timestamp_millis().max(0) as u64, Relaxed);
        self.metrics
            .events_applied
            .fetch_add(applied.new_events as u64, Relaxed);
        self.metrics
            .duplicates
            .fetch_add(applied.duplicates as u64, Relaxed);
        self.metrics
            .dead_letters
            .fetch_add(applied.dead_letters as u64, Relaxed);
        self.metrics.observe_batch(batch.len() as u64);
        if stop == Stop::AfterCommitBeforeAck {
            return Ok(applied);
        }
        for message in batch {
            // A lost ack only means a redelivery, which changes nothing.
            if let Err(error) = message.ack().await {
                tracing::warn!(%error, "cannot acknowledge an event; it will be redelivered and ignored");
            }
        }
        tracing::debug!(
            messages = batch.len(),
            new_events = applied.new_events,
            duplicates = applied.duplicates,
            "batch applied"
        );
        Ok(applied)
    }

    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Applies batches until `shutdown`.
    pub async fn run(mut self, shutdown: CancellationToken) -> anyhow::Result<()> {
        while !shutdown.is_cancelled() {
            let batch = tokio::select! {
                batch = self.next_batch(Duration::from_secs(1)) => batch?,
                () = shutdown.cancelled() => break,
            };
            if batch.is_empty() {
                continue;
            }
            let applied = in_progress(
                &batch,
                self.progress_every,
                self.apply_until_done(&batch, &shutdown),
            )
            .await;
            if !applied {
                // Unacknowledged: the server redelivers them to whoever runs next.
                break;
            }
        }
        tracing::info!("analytics consumer stopped");
        Ok(())
    }

    /// Applies and acknowledges `batch`, retrying (with backoff) while the
    /// database fails rather than waiting for the server's redelivery.
    /// `false` if shutdown came first.
    async fn apply_until_done(
        &self,
        batch: &[async_nats::jetstream::Message],
        shutdown: &CancellationToken,
    ) -> bool {
        // At most a second apart: a longer pause would outlast a database
        // restart by that much.
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(1));
        loop {
            match self.process(batch).await {
                Ok(_) => return true,
                Err(error) => {
                    self.metrics.errors.fetch_add(1, Relaxed);
                    tracing::warn!(
                        error = format!("{error:#}"),
                        retry_in_ms = backoff.pause().as_millis() as u64,
                        "cannot apply a batch; retrying"
                    );
                    if !backoff.wait(shutdown).await {
                        return false;
                    }
                }
            }
        }
    }
}

/// Runs `work` on a batch, telling the server every `every` that its
/// messages are still being worked on, so that it does not hand them to
/// another consumer while a slow transaction or a database outage holds
/// them here. (If this process dies, the reports stop and the server
/// redelivers after the ack wait.)
async fn in_progress<F: std::future::Future>(
    batch: &[async_nats::jetstream::Message],
    every: Duration,
    work: F,
) -> F::Output {
    let mut work = std::pin::pin!(work);
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            output = &mut work => return output,
            _ = ticker.tick() => {
                for message in batch {
                    // A lost report only risks a redelivery, which changes nothing.
                    if let Err(error) = message.ack_with(AckKind::Progress).await {
                        tracing::debug!(%error, "cannot report an event in progress");
                    }
                }
            }
        }
    }
}

fn incoming(message: &async_nats::jetstream::Message) -> anyhow::Result<Incoming> {
    let info = message
        .info()
        .map_err(|e| anyhow::anyhow!("a message without JetStream metadata: {e}"))?;
    let nanos = info.published.unix_timestamp_nanos();
    let published_at =
        DateTime::<Utc>::from_timestamp_nanos(i64::try_from(nanos).unwrap_or(i64::MAX));
    Ok(Incoming {
        stream_sequence: info.stream_sequence,
        subject: message.subject.to_string(),
        payload: message.payload.clone(),
        published_at,
    })
}
