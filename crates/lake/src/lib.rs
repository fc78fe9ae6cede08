//! The data lake: raw purchase events as hive-partitioned Parquet.
//!
//! Module map:
//! - [`config`]: [`LakeConfig`] (`LAKE_URL`, `LAKE_ROLL_SECONDS`,
//!   `LAKE_ROLL_EVENTS`, `LAKE_CONSUMER_NAME`).
//!
//! (Being built: the sink below only waits for shutdown.)

pub mod config;

pub use config::LakeConfig;

use tokio_util::sync::CancellationToken;

/// Runs the lake sink until `shutdown` is cancelled.
pub async fn run_sink(
    config: LakeConfig,
    nats: supermarket_events::NatsArgs,
    analytics: deadpool_postgres::Pool,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let _ = (&config, &nats, &analytics);
    shutdown.cancelled().await;
    Ok(())
}
