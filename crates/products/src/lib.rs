//! The Products service: the catalog (products with exact prices) and the
//! branches, read from the OLTP database.
//!
//! Module map:
//! - [`views`]: the JSON shapes [`ProductView`](views::ProductView) (`price_cents`
//!   and a decimal-string `price`) and [`BranchView`](views::BranchView),
//!   reused by the purchases service.
//! - [`api`]: handlers for `GET /api/v1/products`, `GET /api/v1/products/{id}`,
//!   `GET /api/v1/branches`, and the OpenAPI document.
//! - this file: [`Config`], [`router`], [`Application`] (bind + serve) and [`run`].
//!
//! The catalog is tiny (ten products), so every request reads it from the
//! database: answers are always current, with no cache to invalidate.

pub mod api;
pub mod views;

use std::net::SocketAddr;

use axum::Router;
use supermarket_http::{Readiness, health, openapi, with_standard_layers};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use utoipa::OpenApi;

pub use api::AppState;

/// Requests to this service carry no body; keep the limit small.
const BODY_LIMIT: usize = 4 * 1024;

/// Settings of this service: flags that also read the environment.
#[derive(clap::Args, Debug, Clone)]
pub struct Config {
    /// Address to listen on.
    #[arg(
        long = "addr",
        env = "PRODUCTS_ADDR",
        value_name = "PRODUCTS_ADDR",
        default_value = "0.0.0.0:8002"
    )]
    pub addr: SocketAddr,
    #[command(flatten)]
    pub database: supermarket_storage::DatabaseArgs,
}

/// The whole router: API, `/health`, `/ready`, `/openapi.json`, `/docs`,
/// with request ids and problem documents for unknown paths.
pub fn router(state: AppState) -> Router {
    let pool = state.pool.clone();
    let readiness = Readiness::new(move || {
        let pool = pool.clone();
        async move { supermarket_storage::pool::check(&pool).await }
    });
    let router = api::api_routes(state)
        .merge(health::routes(readiness))
        .merge(openapi::routes(api::ApiDoc::openapi()));
    with_standard_layers(router, BODY_LIMIT)
}

/// A bound, ready-to-serve service (port 0 in tests).
pub struct Application {
    listener: TcpListener,
    router: Router,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Application> {
        let pool = supermarket_storage::pool::pool(
            &config.database.database_url,
            "DATABASE_URL",
            usize::from(config.database.db_pool_size),
        )?;
        let listener = supermarket_http::bind(config.addr, "PRODUCTS_ADDR").await?;
        supermarket_storage::pool::wait_until_answers(
            &pool,
            "DATABASE_URL",
            config.database.db_wait(),
        )
        .await?;
        Ok(Application {
            listener,
            router: router(AppState { pool }),
        })
    }

    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        tracing::info!(addr = %self.listener.local_addr()?, "products service listening");
        supermarket_http::serve(self.listener, self.router, shutdown).await
    }
}

pub async fn run(config: Config, shutdown: CancellationToken) -> anyhow::Result<()> {
    Application::build(config)
        .await?
        .run_until_stopped(shutdown)
        .await
}
