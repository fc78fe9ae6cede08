//! The two web pages, served from files embedded in the binary (no build
//! step, no CDN: they work offline and from a fresh clone).
//!
//! Module map:
//! - [`pos_router`]: the cashier POS at `/pos` (cashier role) and its assets
//!   under `/pos/…` (open).
//! - [`dashboard_router`]: the owner dashboard at `/dashboard` (owner role)
//!   and its assets under `/dashboard/…` (open), including the vendored
//!   Chart.js (`assets/vendor/`, version and licence there).
//!
//! - [`Config`], [`Application`], [`run`]: the pages and the login routes as
//!   a service of their own (`supermarket serve web`, WEB_ADDR, default
//!   0.0.0.0:8005), which nginx puts on the same origin as the APIs.
//!
//! The pages call same-origin APIs: `/api/v1/products`, `/api/v1/branches`,
//! `/api/v1/purchases` (POS); `/unique-customers`, `/loyal-customers`,
//! `/top-products`, `/api/v1/analytics/…` (dashboard); `/auth/…` (both).
//! Behind nginx those paths go to their services; a service serving a page
//! directly must answer the paths its page calls.

use std::net::SocketAddr;

use anyhow::Context as _;
use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use supermarket_auth::{Auth, AuthConfig, Role, require};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Settings of the pages service: flags that also read the environment.
#[derive(clap::Args, Debug, Clone)]
pub struct Config {
    /// Address to listen on.
    #[arg(long = "addr", env = "WEB_ADDR", value_name = "WEB_ADDR", default_value = "0.0.0.0:8005")]
    pub addr: SocketAddr,
    #[command(flatten)]
    pub auth: AuthConfig,
}

/// Both pages, the login routes, `/` (to the POS), `/health` and `/ready`.
pub fn router(auth: &Auth) -> Router {
    let router = Router::new()
        .route("/", get(|| async { Redirect::to("/pos") }))
        .merge(pos_router(auth))
        .merge(dashboard_router(auth))
        .merge(auth.routes())
        .merge(supermarket_http::health::routes(supermarket_http::Readiness::always()));
    supermarket_http::with_standard_layers(router, 16 * 1024)
}

/// A bound pages service (port 0 in tests).
pub struct Application {
    listener: TcpListener,
    router: Router,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Application> {
        let auth = Auth::from_config(&config.auth)?;
        let listener = supermarket_http::bind(config.addr, "WEB_ADDR").await?;
        Ok(Application { listener, router: router(&auth) })
    }

    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        tracing::info!(port = self.port(), "web pages started");
        // With the peer address, failed logins are limited per client IP.
        let service = self.router.into_make_service_with_connect_info::<SocketAddr>();
        axum::serve(self.listener, service).with_graceful_shutdown(shutdown.cancelled_owned()).await.context("web server failed")
    }
}

/// `supermarket serve web`.
pub async fn run(config: Config, shutdown: CancellationToken) -> anyhow::Result<()> {
    supermarket_http::telemetry::init();
    Application::build(config).await?.run_until_stopped(shutdown).await
}

/// One embedded file: its bytes and media type.
#[derive(Clone, Copy)]
struct Asset {
    body: &'static [u8],
    content_type: &'static str,
    /// Vendored files never change under one name; our own files may change
    /// with each release, so they are revalidated.
    immutable: bool,
}

impl IntoResponse for Asset {
    fn into_response(self) -> Response {
        let cache = if self.immutable { "public, max-age=86400" } else { "no-cache" };
        (
            [
                (header::CONTENT_TYPE, HeaderValue::from_static(self.content_type)),
                (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
                (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
            ],
            self.body,
        )
            .into_response()
    }
}

const HTML: &str = "text/html; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";

const COMMON_CSS: Asset = Asset { body: include_bytes!("../assets/common.css"), content_type: CSS, immutable: false };
const POS_HTML: Asset = Asset { body: include_bytes!("../assets/pos.html"), content_type: HTML, immutable: false };
const POS_CSS: Asset = Asset { body: include_bytes!("../assets/pos.css"), content_type: CSS, immutable: false };
const POS_JS: Asset = Asset { body: include_bytes!("../assets/pos.js"), content_type: JS, immutable: false };
const DASHBOARD_HTML: Asset = Asset { body: include_bytes!("../assets/dashboard.html"), content_type: HTML, immutable: false };
const DASHBOARD_CSS: Asset = Asset { body: include_bytes!("../assets/dashboard.css"), content_type: CSS, immutable: false };
const DASHBOARD_JS: Asset = Asset { body: include_bytes!("../assets/dashboard.js"), content_type: JS, immutable: false };
const CHART_JS: Asset = Asset { body: include_bytes!("../assets/vendor/chart.umd.min.js"), content_type: JS, immutable: true };

fn serve(asset: Asset) -> axum::routing::MethodRouter {
    get(move || async move { asset })
}

/// `/pos` (cashier or owner; a browser without a session is sent to
/// `/login`) and its open assets `/pos/common.css`, `/pos/pos.css`, `/pos/pos.js`.
pub fn pos_router(auth: &Auth) -> Router {
    let page = Router::new().route("/pos", serve(POS_HTML)).route_layer(require(auth, Role::Cashier));
    Router::new()
        .merge(page)
        .route("/pos/common.css", serve(COMMON_CSS))
        .route("/pos/pos.css", serve(POS_CSS))
        .route("/pos/pos.js", serve(POS_JS))
}

/// `/dashboard` (owner only) and its open assets under `/dashboard/`.
pub fn dashboard_router(auth: &Auth) -> Router {
    let page = Router::new().route("/dashboard", serve(DASHBOARD_HTML)).route_layer(require(auth, Role::Owner));
    Router::new()
        .merge(page)
        .route("/dashboard/common.css", serve(COMMON_CSS))
        .route("/dashboard/dashboard.css", serve(DASHBOARD_CSS))
        .route("/dashboard/dashboard.js", serve(DASHBOARD_JS))
        .route("/dashboard/vendor/chart.umd.min.js", serve(CHART_JS))
}

#[cfg(test)]
mod tests {
    #[test]
    fn pages_reference_only_assets_that_are_served() {
        let pos = std::str::from_utf8(super::POS_HTML.body).unwrap();
        for path in ["/pos/common.css", "/pos/pos.css", "/pos/pos.js"] {
            assert!(pos.contains(path), "pos.html should load {path}");
        }
        let dashboard = std::str::from_utf8(super::DASHBOARD_HTML.body).unwrap();
        for path in ["/dashboard/common.css", "/dashboard/dashboard.css", "/dashboard/dashboard.js", "/dashboard/vendor/chart.umd.min.js"] {
            assert!(dashboard.contains(path), "dashboard.html should load {path}");
        }
    }
}
