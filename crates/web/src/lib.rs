//! The two web pages, served from files embedded in the binary (no build
//! step, no CDN: they work offline and from a fresh clone). This crate holds
//! the pages only; the services mount them.
//!
//! Module map:
//! - [`pos_router`]: the cashier POS at `/pos` (cashier role) and its assets
//!   under `/pos/…` (open). Mounted by the purchases service.
//! - [`dashboard_router`]: the owner dashboard at `/dashboard` (owner role)
//!   and its assets under `/dashboard/…` (open), including the vendored
//!   Chart.js (`assets/vendor/`, version and licence there). Mounted by the
//!   analytics API.
//!
//! Each of those services also mounts the login routes (`/login`, `/auth/…`);
//! sessions are signed, not stored, so a login on either is valid on both.
//!
//! The pages call same-origin APIs: `/api/v1/products`, `/api/v1/branches`,
//! `/api/v1/purchases` (POS; the purchases service answers all three);
//! `/unique-customers`, `/loyal-customers`, `/top-products`,
//! `/api/v1/analytics/…` (dashboard; the analytics API); `/auth/…` (both).
//! Behind nginx (deploy/nginx) `/pos`, `/login` and `/auth/…` go to the
//! purchases service, `/dashboard` to the analytics API, `/` to the POS.

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use supermarket_auth::{Auth, Role, require};

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
        let cache = if self.immutable {
            "public, max-age=86400"
        } else {
            "no-cache"
        };
        (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(self.content_type),
                ),
                (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
                (
                    header::X_CONTENT_TYPE_OPTIONS,
                    HeaderValue::from_static("nosniff"),
                ),
            ],
            self.body,
        )
            .into_response()
    }
}

const HTML: &str = "text/html; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";

const COMMON_CSS: Asset = Asset {
    body: include_bytes!("../assets/common.css"),
    content_type: CSS,
    immutable: false,
};
const POS_HTML: Asset = Asset {
    body: include_bytes!("../assets/pos.html"),
    content_type: HTML,
    immutable: false,
};
const POS_CSS: Asset = Asset {
    body: include_bytes!("../assets/pos.css"),
    content_type: CSS,
    immutable: false,
};
const POS_JS: Asset = Asset {
    body: include_bytes!("../assets/pos.js"),
    content_type: JS,
    immutable: false,
};
const DASHBOARD_HTML: Asset = Asset {
    body: include_bytes!("../assets/dashboard.html"),
    content_type: HTML,
    immutable: false,
};
const DASHBOARD_CSS: Asset = Asset {
    body: include_bytes!("../assets/dashboard.css"),
    content_type: CSS,
    immutable: false,
};
const DASHBOARD_JS: Asset = Asset {
    body: include_bytes!("../assets/dashboard.js"),
    content_type: JS,
    immutable: false,
};
const CHART_JS: Asset = Asset {
    body: include_bytes!("../assets/vendor/chart.umd.min.js"),
    content_type: JS,
    immutable: true,
};

fn serve(asset: Asset) -> axum::routing::MethodRouter {
    get(move || async move { asset })
}

/// `/pos` (cashier or owner; a browser without a session is sent to
/// `/login`) and its open assets `/pos/common.css`, `/pos/pos.css`, `/pos/pos.js`.
pub fn pos_router(auth: &Auth) -> Router {
    let page = Router::new()
        .route("/pos", serve(POS_HTML))
        .route_layer(require(auth, Role::Cashier));
    Router::new()
        .merge(page)
        .route("/pos/common.css", serve(COMMON_CSS))
        .route("/pos/pos.css", serve(POS_CSS))
        .route("/pos/pos.js", serve(POS_JS))
}

/// `/dashboard` (owner only) and its open assets under `/dashboard/`.
pub fn dashboard_router(auth: &Auth) -> Router {
    let page = Router::new()
        .route("/dashboard", serve(DASHBOARD_HTML))
        .route_layer(require(auth, Role::Owner));
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
        for path in [
            "/dashboard/common.css",
            "/dashboard/dashboard.css",
            "/dashboard/dashboard.js",
            "/dashboard/vendor/chart.umd.min.js",
        ] {
            assert!(
                dashboard.contains(path),
                "dashboard.html should load {path}"
            );
        }
    }
}
