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
//!
//! Module map:
//! - `batches`: [`Consumer`], taking batches from the pull subscription,
//!   applying and acknowledging them, reporting them in progress meanwhile,
//!   and the test-only stop points.
//! - this file: [`Config`], [`ConsumerArgs`], [`Application`] and [`run`].

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use supermarket_http::{Readiness, Service};
use tokio_util::sync::CancellationToken;

use crate::metrics::Metrics;
use crate::timezone::StoreTimeZone;

mod batches;

pub use batches::Consumer;
#[cfg(feature = "test-stops")]
pub use batches::Stop;

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

/// Builds the service: [`Application::build`] binds its address, waits for
/// its dependencies and gives the [`Service`] to run (port 0 in tests: see
/// [`Service::port`]).
pub struct Application;

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Service> {
        let service = Service::bind("analytics consumer", config.addr, "CONSUMER_ADDR").await?;
        let pool = config.analytics.pool().await?;
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
        let nats_ready =
            Readiness::immediate(move || supermarket_events::check_connected(&nats_client));
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
