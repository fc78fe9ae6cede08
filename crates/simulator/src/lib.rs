//! Cashier traffic simulator. (Being built.)

/// Settings of `supermarket simulate`.
#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// Base URL of the purchases service, e.g. http://127.0.0.1:8000
    #[arg(long, env = "SIMULATE_TARGET", default_value = "http://127.0.0.1:8000")]
    pub target: String,
    /// Purchases per second to attempt.
    #[arg(long, default_value_t = 50)]
    pub rate: u32,
    /// How long to run, in seconds.
    #[arg(long, default_value_t = 10)]
    pub duration: u64,
    /// Requests in flight at most.
    #[arg(long, default_value_t = 32)]
    pub concurrency: u32,
}

pub async fn run(_args: Args, _shutdown: tokio_util::sync::CancellationToken) -> anyhow::Result<()> {
    anyhow::bail!("not built yet")
}
