//! Connection pools and single connections.

use std::time::Duration;

use anyhow::Context;
use deadpool_postgres::{Manager, ManagerConfig, PoolError, RecyclingMethod};
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, NoTls};

use crate::startup::retry_startup;

pub use deadpool_postgres::Pool;

/// Parses a PostgreSQL URL, naming the setting when it is malformed.
pub fn parse_url(url: &str, setting: &str) -> anyhow::Result<tokio_postgres::Config> {
    url.parse::<tokio_postgres::Config>()
        .with_context(|| format!("{setting} is not a valid PostgreSQL URL"))
}

/// How long a caller waits for a pooled connection before giving up (an API
/// answers 503 then): every pool has the same bounds, set here once.
pub const CONNECTION_WAIT: Duration = Duration::from_secs(2);
/// How long opening a new connection, or checking a returned one, may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A pool of up to `size` connections. Connections are opened lazily; call
/// [`wait_until_answers`] at start, [`check`] for readiness. Getting a
/// connection fails with `PoolError::Timeout` after [`CONNECTION_WAIT`].
pub fn pool(url: &str, setting: &str, size: usize) -> anyhow::Result<Pool> {
    let mut config = parse_url(url, setting)?;
    if config.get_application_name().is_none() {
        config.application_name("supermarket");
    }
    let manager = Manager::from_config(
        config,
        NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(size)
        .runtime(deadpool_postgres::Runtime::Tokio1)
        .wait_timeout(Some(CONNECTION_WAIT))
        .create_timeout(Some(CONNECT_TIMEOUT))
        .recycle_timeout(Some(CONNECT_TIMEOUT))
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
    open(&config)
        .await
        .with_context(|| format!("cannot connect to the database at {setting}"))
}

/// [`connect`] at a program's start: retries for up to `wait` while the
/// database does not answer yet (see [`retry_startup`]). A malformed URL, an
/// authentication failure or a missing database fails at once.
pub async fn connect_waiting(url: &str, setting: &str, wait: Duration) -> anyhow::Result<Client> {
    let config = parse_url(url, setting)?;
    retry_startup("database", setting, wait, waiting_cannot_fix, || {
        open(&config)
    })
    .await
}

/// Waits at a program's start, for up to `wait`, until the pool's database
/// runs a trivial query; fails at once like [`connect_waiting`].
pub async fn wait_until_answers(pool: &Pool, setting: &str, wait: Duration) -> anyhow::Result<()> {
    retry_startup("database", setting, wait, waiting_cannot_fix, || {
        check(pool)
    })
    .await
}

async fn open(config: &tokio_postgres::Config) -> anyhow::Result<Client> {
    let (client, connection) = config.connect(NoTls).await?;
    tokio::spawn(async move {
        if let Err(error) = connection.await {
            tracing::warn!(%error, "database connection closed");
        }
    });
    Ok(client)
}

/// Whether the server refused us for a reason that outlives any wait: bad
/// credentials (28P01, 28000: also a role or `pg_hba.conf` entry that does
/// not exist) or a database that does not exist (3D000). A server that is
/// starting answers 57P03 instead, which is retried.
fn waiting_cannot_fix(error: &anyhow::Error) -> bool {
    const FOR_GOOD: [SqlState; 3] = [
        SqlState::INVALID_PASSWORD,
        SqlState::INVALID_AUTHORIZATION_SPECIFICATION,
        SqlState::INVALID_CATALOG_NAME,
    ];
    error.chain().any(|cause| {
        let postgres = match cause.downcast_ref::<PoolError>() {
            Some(PoolError::Backend(backend)) => Some(backend),
            _ => cause.downcast_ref::<tokio_postgres::Error>(),
        };
        postgres
            .and_then(tokio_postgres::Error::code)
            .is_some_and(|code| FOR_GOOD.contains(code))
    })
}
