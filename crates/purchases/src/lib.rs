//! The Purchases service: the only writer of purchases.
//!
//! A sale is validated and priced against an in-memory catalog (no database
//! round trip), then handed to the group-commit writer, which stores many
//! purchases per statement — purchase, items and outbox row atomically —
//! and answers each request once its batch is durable.
//!
//! Module map:
//! - [`request`]: request bodies (`POST /api/v1/purchases`, seed-compatible
//!   `POST /purchase`), item parsing, validation into a
//!   [`Purchase`](supermarket_domain::Purchase), problem documents for each
//!   rule, the `Idempotency-Key` header and the request hash.
//! - [`catalog`]: [`CatalogCache`](catalog::CatalogCache), refreshed on
//!   `LISTEN catalog` notifications with a periodic poll as fallback.
//! - [`writer`]: [`Writer`](writer::Writer), group commit with several writer
//!   tasks, idempotency conflicts and per-row isolation.
//! - [`receipt`]: the [`Receipt`](receipt::Receipt) answered for a purchase.
//! - [`api`]: handlers and the OpenAPI document.
//! - this file: [`Config`], [`router`], [`Application`] and [`run`].

pub mod api;
pub mod catalog;
pub mod receipt;
pub mod request;
pub mod writer;

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use supermarket_auth::{Auth, Role};
use supermarket_http::{Readiness, Service, openapi};
use supermarket_web::CatalogOrigin;
use tokio_util::sync::CancellationToken;

pub use api::AppState;
use catalog::CatalogCache;
use writer::{Writer, WriterSettings};

/// Largest request body: a basket is a few hundred bytes.
pub const BODY_LIMIT: usize = 16 * 1024;

/// Settings of this service: flags that also read the environment.
#[derive(clap::Args, Debug, Clone)]
pub struct Config {
    /// Address to listen on.
    #[arg(
        long = "addr",
        env = "PURCHASES_ADDR",
        value_name = "PURCHASES_ADDR",
        default_value = "0.0.0.0:8000"
    )]
    pub addr: SocketAddr,
    #[command(flatten)]
    pub database: supermarket_storage::DatabaseArgs,
    /// Most purchases stored by one statement.
    #[arg(long = "batch-max", env = "PURCHASES_BATCH_MAX", value_name = "PURCHASES_BATCH_MAX", default_value_t = 512,
          value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub batch_max: u32,
    /// Milliseconds a writer waits for more purchases after the first of a
    /// batch (0: take what is queued; batches still grow under load).
    #[arg(long = "batch-wait-ms", env = "PURCHASES_BATCH_WAIT_MS", value_name = "PURCHASES_BATCH_WAIT_MS", default_value_t = 0,
          value_parser = clap::value_parser!(u64).range(0..=1000))]
    pub batch_wait_ms: u64,
    /// Writer tasks, each with its own database connection (on top of DB_POOL_SIZE).
    #[arg(long = "writers", env = "PURCHASES_WRITERS", value_name = "PURCHASES_WRITERS", default_value_t = 4,
          value_parser = clap::value_parser!(u16).range(1..=64))]
    pub writers: u16,
    /// Seconds between catalog reloads when no change notification arrives.
    #[arg(long = "catalog-refresh-secs", env = "PURCHASES_CATALOG_REFRESH_SECS", value_name = "PURCHASES_CATALOG_REFRESH_SECS",
          default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub catalog_refresh_secs: u64,
    /// Where the POS page's browser reads the catalog (the products
    /// service's origin, e.g. http://127.0.0.1:8002) when it is not on the
    /// page's own origin; empty behind the edge, which serves both on one origin.
    #[arg(
        long = "pos-catalog-url",
        env = "POS_CATALOG_URL",
        value_name = "POS_CATALOG_URL",
        default_value = ""
    )]
    pub pos_catalog_url: CatalogOrigin,
    #[command(flatten)]
    pub auth: supermarket_auth::AuthConfig,
}

impl Config {
    /// Settings for tests and tools: `database_url`, port 0, defaults.
    pub fn for_database(database_url: &str) -> Config {
        Config {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            database: supermarket_storage::DatabaseArgs::new(database_url, 8),
            batch_max: 512,
            batch_wait_ms: 0,
            writers: 4,
            catalog_refresh_secs: 30,
            pos_catalog_url: CatalogOrigin::default(),
            auth: supermarket_auth::AuthConfig {
                auth_mode: supermarket_auth::AuthMode::Open,
                ..Default::default()
            },
        }
    }

    fn writer_settings(&self) -> WriterSettings {
        WriterSettings {
            batch_max: self.batch_max as usize,
            batch_wait: Duration::from_millis(self.batch_wait_ms),
            writers: usize::from(self.writers),
            ..WriterSettings::default()
        }
    }
}

/// The whole router: the API (cashier credentials), the POS page at `/pos`
/// (reading the catalog from `catalog`, or its own origin) and the login
/// routes, plus the open `/`, `/openapi.json` and `/docs`.
/// The [`Service`] adds `/health`, `/ready` (database reachable) and the
/// standard layers (request ids, a 16 KiB body limit, problem documents).
pub fn router(state: AppState, auth: &Auth, catalog: &CatalogOrigin) -> Router {
    api::api_routes(state)
        .route_layer(supermarket_auth::require(auth, Role::Cashier))
        .route("/", get(api::index))
        .merge(auth.routes())
        .merge(supermarket_web::pos_router(auth, catalog))
        .merge(openapi::routes(api::openapi_document()))
}

/// Builds the service: [`Application::build`] binds its address, waits for
/// its dependencies and gives the [`Service`] to run (port 0 in tests: see
/// [`Service::port`]).
pub struct Application;

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Service> {
        let auth = Auth::from_config(&config.auth)?;
        let url = &config.database.database_url;
        let service = Service::bind("purchases", config.addr, "PURCHASES_ADDR").await?;
        let pool = config.database.pool().await?;
        // Writers get connections of their own, beside the handlers' pool.
        let write_pool =
            supermarket_storage::pool::pool(url, "DATABASE_URL", usize::from(config.writers))?;
        // The database answers, but its tables may still be on their way (a
        // `migrate` and `load` running beside us): the catalog load has its own patience.
        let catalog = CatalogCache::load(&pool, Duration::from_secs(30)).await?;
        let (writer, writer_tasks) = Writer::start(write_pool, config.writer_settings());
        let refresh = (catalog.clone(), pool.clone(), url.clone());
        let refresh_every = Duration::from_secs(config.catalog_refresh_secs);
        let readiness = Readiness::postgres(pool.clone());
        let router = router(
            AppState {
                catalog,
                writer,
                pool,
            },
            &auth,
            &config.pos_catalog_url,
        );
        let service = service
            .with_routes(router, readiness, BODY_LIMIT)
            .with_task("catalog refresh", move |stop| async move {
                let (cache, pool, url) = refresh;
                catalog::keep_fresh(cache, pool, url, refresh_every, stop).await;
                Ok(())
            })
            // The HTTP server holds every `Writer` handle: once it has
            // finished the requests in flight, the queue closes and the
            // writers store what is left in it, then end.
            .with_task("writers", |_| async move {
                writer_tasks.join().await;
                Ok(())
            });
        Ok(service)
    }
}

/// `supermarket serve purchases`.
pub async fn run(config: Config, shutdown: CancellationToken) -> anyhow::Result<()> {
    Application::build(config)
        .await?
        .run_until_stopped(shutdown)
        .await
}
