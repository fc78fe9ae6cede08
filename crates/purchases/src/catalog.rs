//! The in-memory catalog: branches and products, so that validating and
//! pricing a basket needs no database round trip.
//!
//! Loaded at start, then reloaded when PostgreSQL sends a `catalog`
//! notification (the V1 schema's triggers send one on any change to products
//! or branches) and, as a fallback for a lost notification or a dropped
//! listening connection, on a fixed period.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::Context;
use supermarket_domain::{Branches, Catalog};
use supermarket_storage::Pool;
use tokio::sync::mpsc;
use tokio_postgres::{AsyncMessage, NoTls};
use tokio_util::sync::CancellationToken;

/// One consistent view of the catalog.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub branches: Branches,
    pub catalog: Catalog,
}

/// The current snapshot, swapped whole on refresh. Readers clone an `Arc`
/// under a read lock held for nanoseconds.
#[derive(Clone, Debug, Default)]
pub struct CatalogCache {
    current: Arc<RwLock<Arc<Snapshot>>>,
}

impl CatalogCache {
    pub fn new(snapshot: Snapshot) -> CatalogCache {
        CatalogCache {
            current: Arc::new(RwLock::new(Arc::new(snapshot))),
        }
    }

    pub fn snapshot(&self) -> Arc<Snapshot> {
        match self.current.read() {
            Ok(guard) => Arc::clone(&guard),
            // A writer panicked mid-swap; the Arc inside is still whole.
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    fn replace(&self, snapshot: Snapshot) {
        let snapshot = Arc::new(snapshot);
        match self.current.write() {
            Ok(mut guard) => *guard = snapshot,
            Err(poisoned) => *poisoned.into_inner() = snapshot,
        }
    }

    /// Reads branches and products from the database and swaps them in.
    pub async fn reload(&self, pool: &Pool) -> anyhow::Result<()> {
        let client = pool.get().await?;
        let branches = supermarket_storage::oltp::catalog::load_branches(&**client).await?;
        let catalog = supermarket_storage::oltp::catalog::load_catalog(&**client).await?;
        tracing::debug!(
            branches = branches.len(),
            products = catalog.len(),
            "catalog loaded"
        );
        self.replace(Snapshot { branches, catalog });
        Ok(())
    }

    /// Loads the catalog, retrying for up to `patience` while the database
    /// comes up (services may start before it).
    pub async fn load(pool: &Pool, patience: Duration) -> anyhow::Result<CatalogCache> {
        let cache = CatalogCache::default();
        let deadline = tokio::time::Instant::now() + patience;
        loop {
            match cache.reload(pool).await {
                Ok(()) => return Ok(cache),
                Err(error) if tokio::time::Instant::now() < deadline => {
                    tracing::warn!(
                        error = format!("{error:#}"),
                        "cannot load the catalog yet, retrying"
                    );
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                Err(error) => {
                    return Err(
                        error.context("cannot load the catalog from the database at DATABASE_URL")
                    );
                }
            }
        }
    }
}

/// A dedicated connection that `LISTEN`s on `channel`; each notification
/// becomes a unit message. The receiver ends when the connection does.
/// `channel` is written into the statement (LISTEN takes no parameters): a
/// `&'static str`, an identifier from the code, never input.
async fn listen(
    url: &str,
    channel: &'static str,
) -> anyhow::Result<(tokio_postgres::Client, mpsc::UnboundedReceiver<()>)> {
    let config = supermarket_storage::pool::parse_url(url, "DATABASE_URL")?;
    let (client, mut connection) = config
        .connect(NoTls)
        .await
        .context("cannot open the LISTEN connection")?;
    let (sender, receiver) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        // Polling for messages is also what drives the connection.
        loop {
            match std::future::poll_fn(|cx| connection.poll_message(cx)).await {
                Some(Ok(AsyncMessage::Notification(_))) => {
                    if sender.send(()).is_err() {
                        break;
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(error)) => {
                    tracing::warn!(%error, "catalog LISTEN connection failed");
                    break;
                }
                None => break,
            }
        }
    });
    client.batch_execute(&format!("LISTEN {channel}")).await?;
    Ok((client, receiver))
}

/// Keeps `cache` current until `shutdown`: reloads on every `catalog`
/// notification and every `poll` period; reconnects the listener when it
/// drops.
pub async fn keep_fresh(
    cache: CatalogCache,
    pool: Pool,
    url: String,
    poll: Duration,
    shutdown: CancellationToken,
) {
    let mut ticker = tokio::time::interval(poll);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker.tick().await;
    loop {
        let mut listener = match listen(&url, "catalog").await {
            Ok(listener) => Some(listener),
            Err(error) => {
                tracing::warn!(
                    error = format!("{error:#}"),
                    "cannot listen for catalog changes; polling only until reconnected"
                );
                None
            }
        };
        // Anything may have changed while we were not listening.
        if let Err(error) = cache.reload(&pool).await {
            tracing::warn!(error = format!("{error:#}"), "catalog refresh failed");
        }
        loop {
            let notified = async {
                match listener.as_mut() {
                    Some((_, receiver)) => receiver.recv().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = shutdown.cancelled() => return,
                message = notified => {
                    if message.is_none() {
                        tracing::warn!("catalog LISTEN connection closed, reconnecting");
                        break;
                    }
                    if let Some((_, receiver)) = listener.as_mut() {
                        // One reload covers a burst of notifications.
                        while receiver.try_recv().is_ok() {}
                    }
                    match cache.reload(&pool).await {
                        Ok(()) => tracing::info!("catalog reloaded after a change notification"),
                        Err(error) => tracing::warn!(error = format!("{error:#}"), "catalog refresh failed"),
                    }
                }
                _ = ticker.tick() => {
                    if let Err(error) = cache.reload(&pool).await {
                        tracing::warn!(error = format!("{error:#}"), "periodic catalog refresh failed");
                    }
                    if listener.is_none() {
                        break;
                    }
                }
            }
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}
