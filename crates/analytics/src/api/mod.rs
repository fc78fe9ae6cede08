//! The analytics API (`supermarket serve analytics-api`): reads only the
//! read models, each answer a few indexed rows.
//!
//! The original contract (`/`, `/health`, `/unique-customers`,
//! `/loyal-customers`, `/top-products`) keeps its exact paths and shapes;
//! richer reports live under `/api/v1/analytics/`. [`router`] builds the
//! whole service in one place so that access control or a dashboard page
//! can be layered onto it.
//!
//! Module map:
//! - this module: the settings ([`Config`]), the shared [`AppState`], the
//!   [`router`] and its data [`routes`], the bound [`Application`] and
//!   [`run`], and the OpenAPI document ([`ApiDoc`]).
//! - `params`: the query parameters, their parsing and validation (paging,
//!   date ranges, days, customer id prefixes).
//! - `legacy`: the original endpoints `/`, `/unique-customers`,
//!   `/loyal-customers`, `/top-products`.
//! - `reports`: the `/api/v1/analytics/*` reports.
//! - `plumbing`: what every handler goes through: pooled connections,
//!   cached statements, and the problem documents of database and
//!   parameter errors.

// Handlers return http-kit's `ApiError`, a full problem document; these
// responses are built once per request, so its size does not matter.
#![allow(clippy::result_large_err)]

mod legacy;
mod params;
mod plumbing;
mod reports;

use std::net::SocketAddr;

use axum::Router;
use axum::routing::get;
use supermarket_http::{Problem, Readiness, Service};
use supermarket_storage::Pool;
use tokio_util::sync::CancellationToken;
use utoipa::OpenApi;

use crate::timezone::StoreTimeZone;

pub use legacy::{
    LoyalCustomer, LoyalCustomers, ServiceInfo, TopProduct, TopProducts, UniqueCustomers,
};
pub use params::{Day, LoyalQuery, Paging, SalesRange, prefix_bounds};
pub use reports::{
    BranchDay, BranchHour, CustomerSummary, Freshness, Kpis, LoyalEntry, LoyalPage, Today,
};

/// Requests carry no body.
const BODY_LIMIT: usize = 4 * 1024;

/// Settings of this service: flags that also read the environment.
#[derive(clap::Args, Debug, Clone)]
pub struct Config {
    /// Address to listen on.
    #[arg(
        long = "addr",
        env = "ANALYTICS_ADDR",
        value_name = "ANALYTICS_ADDR",
        default_value = "0.0.0.0:8001"
    )]
    pub addr: SocketAddr,
    #[command(flatten)]
    pub analytics: supermarket_storage::AnalyticsDatabaseArgs,
    /// Purchases that make a customer loyal.
    #[arg(long = "loyal-min-purchases", env = "LOYAL_MIN_PURCHASES", value_name = "LOYAL_MIN_PURCHASES", default_value_t = 3,
          value_parser = clap::value_parser!(i64).range(1..=1_000_000))]
    pub loyal_min_purchases: i64,
    #[command(flatten)]
    pub time_zone: StoreTimeZone,
    #[command(flatten)]
    pub auth: supermarket_auth::AuthConfig,
}

#[derive(Clone)]
pub struct AppState {
    pub pool: Pool,
    pub loyal_min_purchases: i64,
    pub time_zone: StoreTimeZone,
}

/// The whole API: the analytics data (owner credentials), the owner
/// dashboard at `/dashboard` and the login routes, plus the open `/`,
/// `/openapi.json` and `/docs`. The [`Service`] adds `/health`, `/ready`
/// and the standard layers (request ids, problem documents for unknown paths).
pub fn router(state: AppState, auth: &supermarket_auth::Auth) -> Router {
    routes(state)
        .route_layer(supermarket_auth::require(
            auth,
            supermarket_auth::Role::Owner,
        ))
        .route("/", get(legacy::service_info))
        .merge(auth.routes())
        .merge(supermarket_web::dashboard_router(auth))
        .merge(supermarket_http::openapi::routes(openapi_document()))
}

/// The data routes alone (no `/`, health, docs, access control or standard
/// layers): everything here is owner data.
pub fn routes(state: AppState) -> Router {
    Router::new()
        .route("/unique-customers", get(legacy::unique_customers))
        .route("/loyal-customers", get(legacy::loyal_customers))
        .route("/top-products", get(legacy::top_products))
        .route("/api/v1/analytics/kpis", get(reports::kpis))
        .route("/api/v1/analytics/sales/daily", get(reports::daily_sales))
        .route("/api/v1/analytics/sales/hourly", get(reports::hourly_sales))
        .route("/api/v1/analytics/customers/{id}", get(reports::customer))
        .route(
            "/api/v1/analytics/loyal-customers",
            get(reports::loyal_customers_page),
        )
        .route("/api/v1/analytics/freshness", get(reports::freshness))
        .with_state(state)
}

/// Builds the service: [`Application::build`] binds its address, waits for
/// its dependencies and gives the [`Service`] to run (port 0 in tests: see
/// [`Service::port`]).
pub struct Application;

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Service> {
        let auth = supermarket_auth::Auth::from_config(&config.auth)?;
        let service = Service::bind("analytics API", config.addr, "ANALYTICS_ADDR").await?;
        let pool = config.analytics.pool().await?;
        let readiness = Readiness::postgres(pool.clone());
        let state = AppState {
            pool,
            loyal_min_purchases: config.loyal_min_purchases,
            time_zone: config.time_zone,
        };
        let service = service.with_routes(router(state, &auth), readiness, BODY_LIMIT);
        Ok(service)
    }
}

/// `supermarket serve analytics-api`.
pub async fn run(config: Config, shutdown: CancellationToken) -> anyhow::Result<()> {
    Application::build(config)
        .await?
        .run_until_stopped(shutdown)
        .await
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Supermarket analytics API",
        description = "Read-only reports from the analytics read models."
    ),
    paths(
        legacy::service_info,
        legacy::unique_customers,
        legacy::loyal_customers,
        legacy::top_products,
        reports::kpis,
        reports::daily_sales,
        reports::hourly_sales,
        reports::customer,
        reports::loyal_customers_page,
        reports::freshness
    ),
    components(schemas(
        ServiceInfo,
        UniqueCustomers,
        LoyalCustomers,
        LoyalCustomer,
        TopProducts,
        TopProduct,
        Kpis,
        Today,
        BranchDay,
        BranchHour,
        CustomerSummary,
        LoyalPage,
        LoyalEntry,
        Freshness,
        Problem
    ))
)]
pub struct ApiDoc;

/// The served document: [`ApiDoc`] with the owner's bearer token on every
/// operation but `/` (a cashier's token is refused with 403).
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    let mut document = ApiDoc::openapi();
    supermarket_http::openapi::require_bearer(&mut document, "owner", &["/"], true);
    document
}
