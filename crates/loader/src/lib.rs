//! Loads branches, products and historical purchases from CSV files.
//! (Being built: see issue 2.)

use std::process::ExitCode;

/// Settings of `supermarket load`.
#[derive(clap::Args, Debug)]
pub struct LoadArgs {
    #[command(flatten)]
    pub database: supermarket_storage::DatabaseArgs,
}

pub async fn run(_args: LoadArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("the loader is not built yet")
}
