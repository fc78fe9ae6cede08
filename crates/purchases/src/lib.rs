//! The Purchases service: the only writer of purchases.
//! (Being built.)

use std::net::SocketAddr;

use tokio_util::sync::CancellationToken;

/// Settings of this service: flags that also read the environment.
#[derive(clap::Args, Debug, Clone)]
pub struct Config {
    /// Address to listen on.
    #[arg(long = "addr", env = "PURCHASES_ADDR", value_name = "PURCHASES_ADDR", default_value = "0.0.0.0:8000")]
    pub addr: SocketAddr,
    #[command(flatten)]
    pub database: supermarket_storage::DatabaseArgs,
}

pub async fn run(_config: Config, _shutdown: CancellationToken) -> anyhow::Result<()> {
    anyhow::bail!("not built yet")
}
