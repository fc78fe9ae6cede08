//! The analytics consumer (`supermarket serve analytics-consumer`): a
//! durable JetStream pull consumer that keeps the read models. (The data
//! lake has its own durable consumer and process: `serve lake-sink`.)
//!
//! Loop: wait for a message, take whatever else is already buffered (up to
//! the batch size: batches grow under load, a lone event is applied at
//! once), apply the batch in one transaction ([`crate::apply`]), commit,
//! then acknowledge every message of the batch. A failing database makes
//! the loop retry the same batch (with backoff) rather than wait for the
//! server's redelivery; while a batch is in hand its messages are reported
//! in progress, so the ack wait can stay short: it is how long the events a
//! crashed consumer held wait before they are delivered again.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use anyhow::Context as _;
use async_nats::jetstream::AckKind;
use async_nats::jetstream::consumer::pull;
use axum::Router;
use chrono::{DateTime, Utc};
use futures_util::{FutureExt as _, StreamExt as _};
use supermarket_http::{Readiness, Service};
use supermarket_storage::Pool;
use supermarket_storage::backoff::Backoff;
use tokio_util::sync::CancellationToken;

use crate::apply::{Applied, Incoming, apply_batch};
use crate::metrics::Metrics;
use crate::timezone::StoreTimeZone;

/// Settings of this service: flags that also read the environment.
#[derive(clap::Args, Debug, Clone)]
pub struct Config {
    /// Address of the health and metrics endpoints.
    #[arg(
        long = "addr",
        env = "CONSUMER_ADDR",
        value_name = "CONSUMER_ADDR",
        default_value = "0.0.0.0:8004"
    )]
    pub addr: SocketAddr,
    #[command(flatten)]
    pub analytics: supermarket_storage::AnalyticsDatabaseArgs,
    #[command(flatten)]
    pub nats: supermarket_events::NatsArgs,
    #[command(flatten)]
    pub consumer: ConsumerArgs,
    #[command(flatten)]
    pub time_zone: StoreTimeZone,
}

/// The JetStream consumer's settings.
#[derive(clap::Args, Debug, Clone)]
pub struct ConsumerArgs {
    /// Durable consumer name; instances with the same name share the events.
    #[arg(
        long = "analytics-consumer-name",
        env = "ANALYTICS_CONSUMER_NAME",
        value_name = "ANALYTICS_CONSUMER_NAME",
        default_value = "analytics"
    )]
    pub name: String,
    /// Largest number of events applied in one transaction.
    #[arg(long = "analytics-batch-size", env = "ANALYTICS_BATCH_SIZE", value_name = "ANALYTICS_BATCH_SIZE", default_value_t = 1000,
          value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub batch_size: u32,
    /// Seconds before the server redelivers an unacknowledged event. This is
    /// how long the events a crashed consumer held wait before another one
    /// gets them, so it bounds the analytics lag after a crash; a batch
    /// being applied (or retried) is kept alive with progress acks, so a
    /// slow batch is not redelivered meanwhile.
    #[arg(long = "analytics-ack-wait-secs", env = "ANALYTICS_ACK_WAIT_SECS", value_name = "ANALYTICS_ACK_WAIT_SECS",
          default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub ack_wait_secs: u64,
    /// Largest number of delivered but unacknowledged events.
    #[arg(long = "analytics-max-ack-pending", env = "ANALYTICS_MAX_ACK_PENDING", value_name = "ANALYTICS_MAX_ACK_PENDING",
          default_value_t = 20_000, value_parser = clap::value_parser!(i64).range(1..=1_000_000))]
    pub max_ack_pending: i64,
}

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

/// Builds the service: [`Application::build`] binds its address, waits for
/// its dependencies and gives the [`Service`] to run (port 0 in tests: see
/// [`Service::port`]).
pub struct Application;

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Service> {
        let service = Service::bind("analytics consumer", config.addr, "CONSUMER_ADDR").await?;
        let analytics = &config.analytics;
        let pool = supermarket_storage::pool::pool(
            &analytics.analytics_database_url,
            "ANALYTICS_DATABASE_URL",
            usize::from(analytics.analytics_db_pool_size),
        )?;
        supermarket_storage::pool::wait_until_answers(
            &pool,
            "ANALYTICS_DATABASE_URL",
            analytics.analytics_db_wait(),
        )
        .await?;
        let (nats_client, js) = supermarket_events::connect_waiting(&config.nats).await?;
        let metrics = Arc::new(Metrics::default());
        let consumer = Consumer::start(
            pool.clone(),
            &js,
            &config.nats,
            &config.consumer,
            &config.time_zone,
            metrics.clone(),
        )
        .await?;
        let nats_ready = Readiness::new(move || {
            let client = nats_client.clone();
            async move { supermarket_events::check_connected(&client) }
        });
        let readiness = nats_ready.and(Readiness::postgres(pool));
        let service = service
            .with_routes(Router::new(), readiness, 1024)
            .with_metrics(move || {
                let metrics = metrics.clone();
                async move { metrics.render() }
            })
            .with_task("consumer loop", move |stop| consumer.run(stop));
        Ok(service)
    }
}

/// `supermarket serve analytics-consumer`.
pub async fn run(config: Config, shutdown: CancellationToken) -> anyhow::Result<()> {
    Application::build(config)
        .await?
        .run_until_stopped(shutdown)
        .await
}
