//! The Products service: the catalog (products with exact prices) and the
//! branches, read from the OLTP database.
//!
//! Module map:
//! - [`views`]: the JSON shapes [`ProductView`](views::ProductView) (`price_cents`
//!   and a decimal-string `price`) and [`BranchView`](views::BranchView).
//! - [`api`]: handlers for `GET /api/v1/products`, `GET /api/v1/products/{id}`,
//!   `GET /api/v1/branches`, and the OpenAPI document.
//! - this file: [`Config`], [`router`], [`Application`] (a
//!   [`Service`](supermarket_http::Service)) and [`run`].
//!
//! The catalog is tiny (ten products), so every request reads it from the
//! database: answers are always current, with no cache to invalidate. This
//! is the one place the catalog is served (the purchases service keeps a
//! copy to price baskets with, but does not serve it).
//!
//! The catalog is public, so any origin may read it (CORS `*`, GET only, no
//! credentials): a POS page served without the edge reads it across origins.

pub mod api;
pub mod views;

use std::net::SocketAddr;

use axum::Router;
use axum::http::Method;
use supermarket_http::{Readiness, Service, openapi};
use tokio_util::sync::CancellationToken;
use tower_http::cors::{self, CorsLayer};
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

impl Config {
    /// Settings for tests and tools: `database_url`, port 0 on loopback, a small pool.
    pub fn for_database(database_url: &str) -> Config {
        Config {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            database: supermarket_storage::DatabaseArgs::new(database_url, 2),
        }
    }
}

/// The API and its OpenAPI document (`/openapi.json`, `/docs`); the
/// [`Service`] adds `/health`, `/ready` and the standard layers.
pub fn router(state: AppState) -> Router {
    let any_origin = CorsLayer::new()
        .allow_origin(cors::Any)
        .allow_methods([Method::GET]);
    api::api_routes(state)
        .layer(any_origin)
        .merge(openapi::routes(api::ApiDoc::openapi()))
}

/// Builds the service: [`Application::build`] binds its address, waits for
/// its dependencies and gives the [`Service`] to run (port 0 in tests: see
/// [`Service::port`]).
pub struct Application;

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Service> {
        let service = Service::bind("products", config.addr, "PRODUCTS_ADDR").await?;
        let pool = config.database.pool().await?;
        let readiness = Readiness::postgres(pool.clone());
        let service = service.with_routes(router(AppState { pool }), readiness, BODY_LIMIT);
        Ok(service)
    }
}

/// `supermarket serve products`.
pub async fn run(config: Config, shutdown: CancellationToken) -> anyhow::Result<()> {
    Application::build(config)
        .await?
        .run_until_stopped(shutdown)
        .await
}
