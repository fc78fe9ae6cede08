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
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use supermarket_http::Readiness;
use supermarket_storage::startup::retry_startup;
use tokio::net::TcpListener;
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

/// A relay with its HTTP listener bound, ready to run.
pub struct Application {
    listener: TcpListener,
    port: u16,
    config: Config,
    publisher: Arc<Publisher>,
}

impl Application {
    /// Binds the listener, opens the database pool and NATS, and makes sure
    /// the stream exists.
    pub async fn build(config: Config) -> anyhow::Result<Application> {
        let listener = supermarket_http::bind(config.addr, "RELAY_ADDR").await?;
        let port = listener.local_addr()?.port();
        let pool = supermarket_storage::pool::pool(
            &config.database.database_url,
            "DATABASE_URL",
            usize::from(config.database.db_pool_size),
        )?;
        supermarket_storage::pool::wait_until_answers(
            &pool,
            "DATABASE_URL",
            config.database.db_wait(),
        )
        .await?;
        let (_, js) = retry_startup(
            "NATS server",
            "NATS_URL",
            config.nats.nats_wait(),
            supermarket_events::connect_error_is_permanent,
            || supermarket_events::connect(&config.nats),
        )
        .await?;
        supermarket_events::ensure_stream(&js, &config.nats).await?;
        let publisher = Arc::new(Publisher::new(
            pool,
            js,
            config.nats.clone(),
            config.batch_size,
            config.max_in_flight,
            Arc::new(Metrics::default()),
        ));
        Ok(Application {
            listener,
            port,
            config,
            publisher,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn publisher(&self) -> Arc<Publisher> {
        self.publisher.clone()
    }

    /// Runs the relay loop and the HTTP endpoints until `shutdown`.
    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let wake = Arc::new(Notify::new());
        let listener_task = tokio::spawn(wakeup::listen(
            self.config.database.database_url.clone(),
            wake.clone(),
            shutdown.clone(),
        ));
        let poll = Duration::from_millis(self.config.poll_ms);
        let relay_task = tokio::spawn(relay_loop(
            self.publisher.clone(),
            wake,
            poll,
            shutdown.clone(),
        ));
        let router = router(self.publisher.clone());
        tracing::info!(port = self.port, stream = %self.config.nats.stream, batch_size = self.config.batch_size, "relay started");
        let served = supermarket_http::serve(self.listener, router, shutdown.clone()).await;
        shutdown.cancel();
        let _ = relay_task.await;
        let _ = listener_task.await;
        served
    }
}

/// `supermarket serve relay`.
pub async fn run(config: Config, shutdown: CancellationToken) -> anyhow::Result<()> {
    supermarket_http::telemetry::init();
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
    let mut backoff = Duration::from_millis(100);
    while !shutdown.is_cancelled() {
        match publisher.publish_batch().await {
            Ok(rows) if rows >= publisher.batch_size() => continue,
            Ok(_) => {
                backoff = Duration::from_millis(100);
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
                    retry_in_ms = backoff.as_millis() as u64,
                    "outbox batch failed; rows stay for a retry"
                );
                tokio::select! {
                    () = tokio::time::sleep(backoff) => {}
                    () = shutdown.cancelled() => {}
                }
                // At most a second apart: an attempt costs one connection
                // try, and a longer pause would outlast a database or broker
                // restart by that much.
                backoff = (backoff * 2).min(Duration::from_secs(1));
            }
        }
    }
    tracing::info!("relay loop stopped");
}

fn router(publisher: Arc<Publisher>) -> Router {
    let ready_publisher = publisher.clone();
    let readiness = Readiness::new(move || {
        let publisher = ready_publisher.clone();
        async move {
            if !publisher.broker_connected() {
                anyhow::bail!("NATS is not connected");
            }
            publisher.backlog().await.map(|_| ())
        }
    });
    let router = Router::new()
        .route("/metrics", get(metrics_text))
        .with_state(publisher)
        .merge(supermarket_http::health::routes(readiness));
    supermarket_http::with_standard_layers(router, 1024)
}

async fn metrics_text(State(publisher): State<Arc<Publisher>>) -> impl IntoResponse {
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
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        publisher.metrics().render(backlog),
    )
}
