//! Database settings, read from flags or the environment.

use std::time::Duration;

use anyhow::Context;
use clap::Args;

use crate::startup::DEFAULT_WAIT_SECS;

/// The OLTP database (purchases, catalog, outbox).
#[derive(Args, Clone, Debug)]
pub struct DatabaseArgs {
    /// PostgreSQL URL of the transactional database, e.g.
    /// postgres://user:password@host:5432/supermarket
    #[arg(
        long = "database-url",
        env = "DATABASE_URL",
        value_name = "DATABASE_URL",
        hide_env_values = true
    )]
    pub database_url: String,

    /// Largest number of pooled connections to the OLTP database.
    #[arg(long = "db-pool-size", env = "DB_POOL_SIZE", value_name = "DB_POOL_SIZE", default_value_t = 16,
          value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub db_pool_size: u16,

    /// Seconds a program waits at start for the OLTP database to answer
    /// before giving up (0: one attempt). Under `docker compose up` the
    /// programs can start before PostgreSQL accepts connections.
    #[arg(long = "db-wait-secs", env = "DB_WAIT_SECS", value_name = "DB_WAIT_SECS", default_value_t = DEFAULT_WAIT_SECS,
          value_parser = clap::value_parser!(u64).range(0..=3600))]
    pub db_wait_secs: u64,
}

impl DatabaseArgs {
    /// Settings for tests and tools: the default start-up wait.
    pub fn new(database_url: impl Into<String>, db_pool_size: u16) -> DatabaseArgs {
        DatabaseArgs {
            database_url: database_url.into(),
            db_pool_size,
            db_wait_secs: DEFAULT_WAIT_SECS,
        }
    }

    /// How long to wait at start for the database to answer (`DB_WAIT_SECS`).
    /// The pool of `DB_POOL_SIZE` connections to `DATABASE_URL`, once the
    /// database answers (waiting up to `DB_WAIT_SECS` at start).
    pub async fn pool(&self) -> anyhow::Result<crate::Pool> {
        let pool = crate::pool::pool(
            &self.database_url,
            "DATABASE_URL",
            usize::from(self.db_pool_size),
        )?;
        crate::pool::wait_until_answers(&pool, "DATABASE_URL", self.db_wait()).await?;
        Ok(pool)
    }

    pub fn db_wait(&self) -> Duration {
        Duration::from_secs(self.db_wait_secs)
    }
}

/// The analytics database (read models), separate from OLTP.
#[derive(Args, Clone, Debug)]
pub struct AnalyticsDatabaseArgs {
    /// PostgreSQL URL of the analytics database (read models).
    #[arg(
        long = "analytics-database-url",
        env = "ANALYTICS_DATABASE_URL",
        value_name = "ANALYTICS_DATABASE_URL",
        hide_env_values = true
    )]
    pub analytics_database_url: String,

    /// Largest number of pooled connections to the analytics database.
    #[arg(long = "analytics-db-pool-size", env = "ANALYTICS_DB_POOL_SIZE", value_name = "ANALYTICS_DB_POOL_SIZE",
          default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub analytics_db_pool_size: u16,

    /// Seconds a program waits at start for the analytics database to
    /// answer before giving up (0: one attempt).
    #[arg(long = "analytics-db-wait-secs", env = "ANALYTICS_DB_WAIT_SECS", value_name = "ANALYTICS_DB_WAIT_SECS",
          default_value_t = DEFAULT_WAIT_SECS, value_parser = clap::value_parser!(u64).range(0..=3600))]
    pub analytics_db_wait_secs: u64,
}

impl AnalyticsDatabaseArgs {
    /// Settings for tests and tools: the default start-up wait.
    pub fn new(
        analytics_database_url: impl Into<String>,
        analytics_db_pool_size: u16,
    ) -> AnalyticsDatabaseArgs {
        AnalyticsDatabaseArgs {
            analytics_database_url: analytics_database_url.into(),
            analytics_db_pool_size,
            analytics_db_wait_secs: DEFAULT_WAIT_SECS,
        }
    }

    /// How long to wait at start for the database to answer (`ANALYTICS_DB_WAIT_SECS`).
    /// The pool of `ANALYTICS_DB_POOL_SIZE` connections to
    /// `ANALYTICS_DATABASE_URL`, once the database answers (waiting up to
    /// `ANALYTICS_DB_WAIT_SECS` at start).
    pub async fn pool(&self) -> anyhow::Result<crate::Pool> {
        let pool = crate::pool::pool(
            &self.analytics_database_url,
            "ANALYTICS_DATABASE_URL",
            usize::from(self.analytics_db_pool_size),
        )?;
        crate::pool::wait_until_answers(&pool, "ANALYTICS_DATABASE_URL", self.analytics_db_wait())
            .await?;
        Ok(pool)
    }

    pub fn analytics_db_wait(&self) -> Duration {
        Duration::from_secs(self.analytics_db_wait_secs)
    }
}

/// The same server URL (`postgres://user[:pw]@host[:port]/db[?params]`) with
/// another database name: `supermarket up`, the tests and the benchmarks
/// reach the databases they create through the server URL they were given.
pub fn with_database(url: &str, database: &str) -> anyhow::Result<String> {
    let (base, params) = match url.split_once('?') {
        Some((base, params)) => (base, Some(params)),
        None => (url, None),
    };
    let scheme_end = base
        .find("://")
        .context("the server URL must be a postgres:// URL")?
        + 3;
    let path_start = base[scheme_end..]
        .find('/')
        .map(|i| i + scheme_end)
        .unwrap_or(base.len());
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
        assert_eq!(
            super::with_database("postgres://u@h:5432/postgres", "x").unwrap(),
            "postgres://u@h:5432/x"
        );
        assert_eq!(
            super::with_database("postgres://u@h", "x").unwrap(),
            "postgres://u@h/x"
        );
        assert_eq!(
            super::with_database("postgres://u@h:5432", "x").unwrap(),
            "postgres://u@h:5432/x"
        );
        assert_eq!(
            super::with_database("postgres://u@h/db?sslmode=disable", "x").unwrap(),
            "postgres://u@h/x?sslmode=disable"
        );
        assert_eq!(
            super::with_database("postgres://u:p@h/db?sslmode=disable", "x").unwrap(),
            "postgres://u:p@h/x?sslmode=disable"
        );
        assert!(super::with_database("host=h user=u", "x").is_err());
    }
}
