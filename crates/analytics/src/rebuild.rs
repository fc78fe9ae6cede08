//! `supermarket analytics rebuild`: recomputes every read model from scratch.

/// Settings of the rebuild.
#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    #[command(flatten)]
    pub database: supermarket_storage::DatabaseArgs,
    #[command(flatten)]
    pub analytics: supermarket_storage::AnalyticsDatabaseArgs,
}

pub async fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("not built yet")
}
