//! The subcommands and what each runs.

use std::process::ExitCode;

use clap::{Args, Subcommand};
use supermarket_storage::{AnalyticsDatabaseArgs, DatabaseArgs, migrate, pool};

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Apply the migrations of the OLTP (DATABASE_URL) and analytics
    /// (ANALYTICS_DATABASE_URL) databases. Safe to re-run.
    Migrate(MigrateArgs),
    /// Load branches, products and historical purchases from CSV files
    /// (by default the repository's data/ files).
    Load(supermarket_loader::LoadArgs),
    /// Run one service of the system.
    #[command(subcommand)]
    Serve(Serve),
    /// Send realistic cashier traffic to the purchases service.
    Simulate(supermarket_simulator::Args),
    /// Analytics maintenance.
    #[command(subcommand)]
    Analytics(Analytics),
    /// Run the whole system on this machine without Docker: local PostgreSQL
    /// and nats-server, databases, migrations, data, every service.
    Up(crate::up::UpArgs),
}

#[derive(Subcommand, Debug)]
pub enum Serve {
    /// The product catalog API (PRODUCTS_ADDR, default 0.0.0.0:8002).
    Products(supermarket_products::Config),
    /// The purchases API, the only writer of purchases, with the cashier POS
    /// page at /pos and the login routes (PURCHASES_ADDR, default 0.0.0.0:8000).
    Purchases(supermarket_purchases::Config),
    /// The outbox relay to NATS JetStream (RELAY_ADDR for health and metrics).
    Relay(supermarket_relay::Config),
    /// The analytics consumer: the read models (CONSUMER_ADDR for health and metrics).
    AnalyticsConsumer(supermarket_analytics::consumer::Config),
    /// The data lake sink: raw events as Parquet (LAKE_SINK_ADDR for health and metrics).
    LakeSink(supermarket_lake::service::Config),
    /// The analytics API, with the owner dashboard at /dashboard and the
    /// login routes (ANALYTICS_ADDR, default 0.0.0.0:8001).
    AnalyticsApi(supermarket_analytics::api::Config),
}

#[derive(Subcommand, Debug)]
pub enum Analytics {
    /// Recompute every read model from scratch.
    Rebuild(supermarket_analytics::rebuild::Args),
}

#[derive(Args, Debug)]
pub struct MigrateArgs {
    #[command(flatten)]
    oltp: DatabaseArgs,
    #[command(flatten)]
    analytics: AnalyticsDatabaseArgs,
}

impl Command {
    pub async fn run(self) -> anyhow::Result<ExitCode> {
        match self {
            Command::Migrate(args) => {
                let mut oltp = pool::connect_waiting(
                    &args.oltp.database_url,
                    "DATABASE_URL",
                    args.oltp.db_wait(),
                )
                .await?;
                let applied = migrate::oltp(&mut oltp).await?;
                let mut analytics = pool::connect_waiting(
                    &args.analytics.analytics_database_url,
                    "ANALYTICS_DATABASE_URL",
                    args.analytics.analytics_db_wait(),
                )
                .await?;
                let applied_analytics = migrate::analytics(&mut analytics).await?;
                println!(
                    "migrated: {applied} new OLTP migration(s), {applied_analytics} new analytics migration(s)"
                );
                Ok(ExitCode::SUCCESS)
            }
            Command::Load(args) => supermarket_loader::run(args).await,
            Command::Serve(service) => {
                let shutdown = supermarket_http::shutdown::on_signal();
                match service {
                    Serve::Products(config) => supermarket_products::run(config, shutdown).await?,
                    Serve::Purchases(config) => {
                        supermarket_purchases::run(config, shutdown).await?
                    }
                    Serve::Relay(config) => supermarket_relay::run(config, shutdown).await?,
                    Serve::AnalyticsConsumer(config) => {
                        supermarket_analytics::consumer::run(config, shutdown).await?
                    }
                    Serve::AnalyticsApi(config) => {
                        supermarket_analytics::api::run(config, shutdown).await?
                    }
                    Serve::LakeSink(config) => {
                        supermarket_lake::service::run(config, shutdown).await?
                    }
                }
                Ok(ExitCode::SUCCESS)
            }
            Command::Simulate(args) => {
                supermarket_simulator::run(args, supermarket_http::shutdown::on_signal()).await?;
                Ok(ExitCode::SUCCESS)
            }
            Command::Up(args) => crate::up::run(args).await,
            Command::Analytics(Analytics::Rebuild(args)) => {
                supermarket_analytics::rebuild::run(args).await?;
                Ok(ExitCode::SUCCESS)
            }
        }
    }
}
