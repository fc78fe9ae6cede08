//! Database settings, read from flags or the environment.

use clap::Args;

/// The OLTP database (purchases, catalog, outbox).
#[derive(Args, Clone, Debug)]
pub struct DatabaseArgs {
    /// PostgreSQL URL of the transactional database, e.g.
    /// postgres://user:password@host:5432/supermarket
    #[arg(long = "database-url", env = "DATABASE_URL", value_name = "DATABASE_URL", hide_env_values = true)]
    pub database_url: String,

    /// Largest number of pooled connections to the OLTP database.
    #[arg(long = "db-pool-size", env = "DB_POOL_SIZE", value_name = "DB_POOL_SIZE", default_value_t = 16,
          value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub db_pool_size: u16,
}

/// The analytics database (read models), separate from OLTP.
#[derive(Args, Clone, Debug)]
pub struct AnalyticsDatabaseArgs {
    /// PostgreSQL URL of the analytics database (read models).
    #[arg(long = "analytics-database-url", env = "ANALYTICS_DATABASE_URL", value_name = "ANALYTICS_DATABASE_URL",
          hide_env_values = true)]
    pub analytics_database_url: String,

    /// Largest number of pooled connections to the analytics database.
    #[arg(long = "analytics-db-pool-size", env = "ANALYTICS_DB_POOL_SIZE", value_name = "ANALYTICS_DB_POOL_SIZE",
          default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub analytics_db_pool_size: u16,
}
