//! A fresh pair of databases (OLTP and analytics) per test.

use anyhow::Context;
use tokio_postgres::Client;

use supermarket_storage::{migrate, pool};

/// The admin URL: the server every test database is created on.
pub fn admin_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// Two new databases, migrated, named `test_<suffix>` and
/// `test_<suffix>_analytics`. They are dropped when this value is dropped.
pub struct TestDatabases {
    pub oltp_url: String,
    pub analytics_url: String,
    names: Vec<String>,
}

impl TestDatabases {
    pub async fn new() -> TestDatabases {
        Self::try_new()
            .await
            .expect("cannot create the test databases: is PostgreSQL running? (see DATABASE_URL)")
    }

    async fn try_new() -> anyhow::Result<TestDatabases> {
        let admin = admin_url();
        let client = pool::connect(&admin, "DATABASE_URL").await?;
        let suffix = crate::unique_suffix();
        let oltp = format!("test_{suffix}");
        let analytics = format!("test_{suffix}_analytics");
        for name in [&oltp, &analytics] {
            client
                .batch_execute(&format!("CREATE DATABASE {name}"))
                .await
                .with_context(|| format!("CREATE DATABASE {name}"))?;
        }
        let databases = TestDatabases {
            oltp_url: with_database(&admin, &oltp)?,
            analytics_url: with_database(&admin, &analytics)?,
            names: vec![oltp, analytics],
        };
        migrate::oltp(&mut databases.oltp().await).await?;
        migrate::analytics(&mut databases.analytics().await).await?;
        Ok(databases)
    }

    /// A new connection to the OLTP database.
    pub async fn oltp(&self) -> Client {
        pool::connect(&self.oltp_url, "DATABASE_URL")
            .await
            .expect("connect to the test OLTP database")
    }

    /// A new connection to the analytics database.
    pub async fn analytics(&self) -> Client {
        pool::connect(&self.analytics_url, "ANALYTICS_DATABASE_URL")
            .await
            .expect("connect to the test analytics database")
    }

    /// Runs a query that returns one bigint, on OLTP: handy for counts.
    pub async fn oltp_count(&self, sql: &str) -> i64 {
        self.oltp()
            .await
            .query_one(sql, &[])
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .get(0)
    }

    /// [`oltp_count`](Self::oltp_count) with `$1, $2, ...` parameters.
    pub async fn oltp_count_with(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> i64 {
        self.oltp()
            .await
            .query_one(sql, params)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .get(0)
    }

    /// Runs a query that returns one bigint, on analytics.
    pub async fn analytics_count(&self, sql: &str) -> i64 {
        self.analytics()
            .await
            .query_one(sql, &[])
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .get(0)
    }
}

impl Drop for TestDatabases {
    fn drop(&mut self) {
        // Drop the databases on a separate thread with its own runtime: Drop
        // cannot await, and the test's runtime may be shutting down.
        let names = std::mem::take(&mut self.names);
        let admin = admin_url();
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async move {
                let client = pool::connect(&admin, "DATABASE_URL").await.ok()?;
                for name in names {
                    let _ = client
                        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .await;
                }
                Some(())
            })
        })
        .join();
    }
}

/// The same server URL with another database name (storage's helper, here
/// for the tests and benchmarks that reach it through the test kit).
pub use supermarket_storage::with_database;
