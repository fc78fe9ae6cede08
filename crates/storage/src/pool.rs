//! Connection pools and single connections.

use anyhow::Context;
use deadpool_postgres::{Manager, ManagerConfig, RecyclingMethod};
use tokio_postgres::{Client, NoTls};

pub use deadpool_postgres::Pool;

/// Parses a PostgreSQL URL, naming the setting when it is malformed.
pub fn parse_url(url: &str, setting: &str) -> anyhow::Result<tokio_postgres::Config> {
    url.parse::<tokio_postgres::Config>()
        .with_context(|| format!("{setting} is not a valid PostgreSQL URL"))
}

/// A pool of up to `size` connections. Connections are opened lazily; call
/// [`check`] to fail fast when the database is unreachable.
pub fn pool(url: &str, setting: &str, size: usize) -> anyhow::Result<Pool> {
    let mut config = parse_url(url, setting)?;
    if config.get_application_name().is_none() {
        config.application_name("supermarket");
    }
    let manager = Manager::from_config(config, NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
    Pool::builder(manager)
        .max_size(size)
        .build()
        .with_context(|| format!("cannot build a connection pool for {setting}"))
}

/// Takes one connection from the pool and runs a trivial query.
pub async fn check(pool: &Pool) -> anyhow::Result<()> {
    let client = pool.get().await?;
    client.simple_query("SELECT 1").await?;
    Ok(())
}

/// Opens one connection outside any pool (for migrations, COPY, LISTEN).
/// The connection's driver runs on a spawned task until the client is dropped.
pub async fn connect(url: &str, setting: &str) -> anyhow::Result<Client> {
    let config = parse_url(url, setting)?;
    let (client, connection) = config
        .connect(NoTls)
        .await
        .with_context(|| format!("cannot connect to the database at {setting}"))?;
    tokio::spawn(async move {
        if let Err(error) = connection.await {
            tracing::warn!(%error, "database connection closed");
        }
    });
    Ok(client)
}
