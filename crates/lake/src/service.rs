//! `supermarket serve lake-sink`: the lake sink as a service of its own.
//!
//! The sink has its own durable consumer and its own progress (the intent
//! log in the analytics database), so it needs nothing from the read-model
//! consumer; in its own process a lake failure (a full disk, a refused S3
//! key) stops only the lake, never the read models. Same shape as every
//! service: [`Config`], [`Application`] (a [`Service`]) and [`run`].

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use supermarket_http::{Readiness, Service};
use tokio_util::sync::CancellationToken;

use crate::{LakeConfig, LakeStore, Metrics};

/// Settings of this service: flags that also read the environment.
#[derive(clap::Args, Debug, Clone)]
pub struct Config {
    /// Address of the health and metrics endpoints.
    #[arg(
        long = "addr",
        env = "LAKE_SINK_ADDR",
        value_name = "LAKE_SINK_ADDR",
        default_value = "0.0.0.0:8005"
    )]
    pub addr: SocketAddr,
    #[command(flatten)]
    pub analytics: supermarket_storage::AnalyticsDatabaseArgs,
    #[command(flatten)]
    pub nats: supermarket_events::NatsArgs,
    #[command(flatten)]
    pub lake: LakeConfig,
}

/// Builds the service: [`Application::build`] binds its address, waits for
/// its dependencies and gives the [`Service`] to run (port 0 in tests: see
/// [`Service::port`]).
pub struct Application;

impl Application {
    /// Binds the listener, checks `LAKE_URL` opens, and waits for the
    /// analytics database and NATS (the sink's loop reconnects by itself
    /// after that).
    pub async fn build(config: Config) -> anyhow::Result<Service> {
        let service = Service::bind("lake sink", config.addr, "LAKE_SINK_ADDR").await?;
        // A malformed LAKE_URL stops the start, naming it.
        LakeStore::open(&config.lake.lake_url)?;
        let pool = config.analytics.pool().await?;
        let (nats_client, _) = supermarket_events::connect_waiting(&config.nats).await?;
        let nats_ready =
            Readiness::immediate(move || supermarket_events::check_connected(&nats_client));
        let readiness = nats_ready.and(Readiness::postgres(pool.clone()));
        let metrics = Arc::new(Metrics::default());
        let scraped = metrics.clone();
        let Config { lake, nats, .. } = config;
        let service = service
            .with_routes(Router::new(), readiness, 1024)
            .with_metrics(move || {
                let metrics = scraped.clone();
                async move { metrics.render() }
            })
            .with_task("lake sink", move |stop| {
                crate::run_sink(lake, nats, pool, metrics, stop)
            });
        Ok(service)
    }
}

/// `supermarket serve lake-sink`.
pub async fn run(config: Config, shutdown: CancellationToken) -> anyhow::Result<()> {
    Application::build(config)
        .await?
        .run_until_stopped(shutdown)
        .await
}
