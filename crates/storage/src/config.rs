//! Database settings, read from flags or the environment.

use anyhow::Context;
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

/// The same server URL (`postgres://user[:pw]@host[:port]/db[?params]`) with
/// another database name: `supermarket up`, the tests and the benchmarks
/// reach the databases they create through the server URL they were given.
pub fn with_database(url: &str, database: &str) -> anyhow::Result<String> {
    let (base, params) = match url.split_once('?') {
        Some((base, params)) => (base, Some(params)),
        None => (url, None),
    };
    let scheme_end = base.find("://").context("the server URL must be a postgres:// URL")? + 3;
    let path_start = base[scheme_end..].find('/').map(|i| i + scheme_end).unwrap_or(base.len());
    let mut out = format!("{}/{}", &base[..path_start], database);
    if let Some(params) = params {
        out.push('?');
        out.push_str(params);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn with_database_replaces_the_database_name_only() {
        assert_eq!(super::with_database("postgres://u@h:5432/postgres", "x").unwrap(), "postgres://u@h:5432/x");
        assert_eq!(super::with_database("postgres://u@h", "x").unwrap(), "postgres://u@h/x");
        assert_eq!(super::with_database("postgres://u@h:5432", "x").unwrap(), "postgres://u@h:5432/x");
        assert_eq!(super::with_database("postgres://u@h/db?sslmode=disable", "x").unwrap(), "postgres://u@h/x?sslmode=disable");
        assert_eq!(super::with_database("postgres://u:p@h/db?sslmode=disable", "x").unwrap(), "postgres://u:p@h/x?sslmode=disable");
        assert!(super::with_database("host=h user=u", "x").is_err());
    }
}
