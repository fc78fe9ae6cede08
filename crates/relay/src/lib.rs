//! The outbox relay (`supermarket serve relay`): publishes the OLTP outbox
//! to NATS JetStream, at least once, deduplicated by event id.
//!
//! Module map:
//! - [`publisher`]: one batch = claim rows (`FOR UPDATE SKIP LOCKED`), read
//!   the purchases, publish with bounded acks in flight, delete, commit.
//! - [`wakeup`]: `LISTEN outbox` as a prompt wake-up (polling is the fallback).
//! - [`metrics`]: Prometheus text for `/metrics`.
//! - this file: [`Config`], [`Application`] (HTTP `/health`, `/ready`,
//!   `/metrics` plus the relay loop) and [`run`].

pub mod metrics;
pub mod publisher;
pub mod wakeup;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use supermarket_http::{Readiness, Service};
use supermarket_storage::backoff::Backoff;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

pub use metrics::Metrics;
pub use publisher::Publisher;

/// Settings of this service: flags that also read the environment.
#[derive(clap::Args, Debug, Clone)]
pub struct Config {
    /// Address of the health and metrics endpoints.
    #[arg(
        long = "addr",
        env = "RELAY_ADDR",
        value_name = "RELAY_ADDR",
        default_value = "0.0.0.0:8003"
    )]
    pub addr: SocketAddr,
    #[command(flatten)]
    pub database: supermarket_storage::DatabaseArgs,
    #[command(flatten)]
    pub nats: supermarket_events::NatsArgs,
    /// Largest number of outbox rows claimed, published and deleted in one transaction.
    #[arg(long = "relay-batch-size", env = "RELAY_BATCH_SIZE", value_name = "RELAY_BATCH_SIZE", default_value_t = 500,
          value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub batch_size: u32,
    /// Largest number of JetStream acks awaited at once.
    #[arg(long = "relay-max-in-flight", env = "RELAY_MAX_IN_FLIGHT", value_name = "RELAY_MAX_IN_FLIGHT", default_value_t = 1000,
          value_parser = clap::value_parser!(u32).range(1..=5_000))]
    pub max_in_flight: u32,
    /// Polling interval in milliseconds, the fallback when a notification is missed.
    #[arg(long = "relay-poll-ms", env = "RELAY_POLL_MS", value_name = "RELAY_POLL_MS", default_value_t = 500,
          value_parser = clap::value_parser!(u64).range(10..=60_000))]
    pub poll_ms: u64,
}

/// Builds the service: [`Application::build`] binds its address, waits for
/// its dependencies and gives the [`Service`] to run (port 0 in tests: see
/// [`Service::port`]).
pub struct Application;

impl Application {
    /// Binds the listener, opens the database pool and NATS, and makes sure
    /// the stream exists.
    pub async fn build(config: Config) -> anyhow::Result<Service> {
        let service = Service::bind("relay", config.addr, "RELAY_ADDR").await?;
        let pool = config.database.pool().await?;
        let (_, js) = supermarket_events::connect_waiting(&config.nats).await?;
        supermarket_events::ensure_stream(&js, &config.nats).await?;
        let publisher = Arc::new(Publisher::new(
            pool,
            js,
            config.nats.clone(),
            config.batch_size,
            config.max_in_flight,
            Arc::new(Metrics::default()),
        ));
        tracing::info!(stream = %config.nats.stream, batch_size = config.batch_size, "relay ready");

        let wake = Arc::new(Notify::new());
        let database_url = config.database.database_url.clone();
        let listener_wake = wake.clone();
        let poll = Duration::from_millis(config.poll_ms);
        let looping = publisher.clone();
        let scraped = publisher.clone();
        let service = service
            .with_routes(Router::new(), readiness(publisher.clone()), 1024)
            .with_metrics(move || {
                let publisher = scraped.clone();
                async move { metrics_text(&publisher).await }
            })
            .with_task("outbox notifications", move |stop| async move {
                wakeup::listen(database_url, listener_wake, stop).await;
                Ok(())
            })
            .with_task("relay loop", move |stop| async move {
                relay_loop(looping, wake, poll, stop).await;
                Ok(())
            });
        Ok(service)
    }
}

/// `supermarket serve relay`.
pub async fn run(config: Config, shutdown: CancellationToken) -> anyhow::Result<()> {
    Application::build(config)
        .await?
        .run_until_stopped(shutdown)
        .await
}

/// Publishes batches until `shutdown`: back to back while a backlog lasts,
/// otherwise on a notification or after `poll`.
pub async fn relay_loop(
    publisher: Arc<Publisher>,
    wake: Arc<Notify>,
    poll: Duration,
    shutdown: CancellationToken,
) {
    // At most a second apart: an attempt costs one connection try, and a
    // longer pause would outlast a database or broker restart by that much.
    let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(1));
    while !shutdown.is_cancelled() {
        match publisher.publish_batch().await {
            Ok(rows) if rows >= publisher.batch_size() => backoff.reset(),
            Ok(_) => {
                backoff.reset();
                tokio::select! {
                    () = wake.notified() => {}
                    () = tokio::time::sleep(poll) => {}
                    () = shutdown.cancelled() => {}
                }
            }
            Err(error) if !publisher.broker_connected() => {
                // Nothing can be published until the client is back: wait for
                // that rather than for a backoff that would outlast it.
                tracing::warn!(
                    error = format!("{error:#}"),
                    "outbox batch failed: NATS is not connected; rows stay until it is back"
                );
                tokio::select! {
                    () = publisher.broker_reconnected() => {}
                    () = shutdown.cancelled() => {}
                }
            }
            Err(error) => {
                tracing::warn!(
                    error = format!("{error:#}"),
                    retry_in_ms = backoff.pause().as_millis() as u64,
                    "outbox batch failed; rows stay for a retry"
                );
                backoff.wait(&shutdown).await;
            }
        }
    }
    tracing::info!("relay loop stopped");
}

/// Ready while NATS is connected and the outbox can be read.
fn readiness(publisher: Arc<Publisher>) -> Readiness {
    Readiness::new(move || {
        let publisher = publisher.clone();
        async move {
            if !publisher.broker_connected() {
                anyhow::bail!("NATS is not connected");
            }
            publisher.backlog().await.map(|_| ())
        }
    })
}

/// The Prometheus text: the publisher's counters and the outbox backlog.
async fn metrics_text(publisher: &Publisher) -> String {
    let backlog = match publisher.backlog().await {
        Ok(backlog) => Some(backlog),
        Err(error) => {
            tracing::warn!(
                error = format!("{error:#}"),
                "cannot read the outbox backlog for /metrics"
            );
            None
        }
    };
    publisher.metrics().render(backlog)
}
