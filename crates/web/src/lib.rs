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
//! The pages call same-origin APIs: `/api/v1/purchases` (POS; the purchases
//! service), `/api/v1/products` and `/api/v1/branches` (POS; the products
//! service, the one source of the catalog: on another origin when the page is
//! served without the edge, see [`CatalogOrigin`]);
//! `/unique-customers`, `/loyal-customers`, `/top-products`,
//! `/api/v1/analytics/…` (dashboard; the analytics API); `/auth/…` (both).
//! Behind nginx (deploy/nginx) `/pos`, `/login` and `/auth/…` go to the
//! purchases service, `/dashboard` to the analytics API, `/` to the POS.

use axum::Router;
use axum::body::Bytes;
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
        self.with_body(Bytes::from_static(self.body))
    }
}

impl Asset {
    /// This asset's headers with `body` (a page filled in at start).
    fn with_body(self, body: Bytes) -> Response {
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
            body,
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

/// Where the POS page's browser reads the catalog: its own origin (behind
/// the nginx edge, the default) or the products service's origin when the
/// page is served without the edge: `http[s]://host[:port]`, no path. Parsed
/// once, from `POS_CATALOG_URL`; empty means the page's own origin.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CatalogOrigin(Option<String>);

impl std::str::FromStr for CatalogOrigin {
    type Err = String;

    fn from_str(text: &str) -> Result<CatalogOrigin, String> {
        if text.trim().is_empty() {
            return Ok(CatalogOrigin::default());
        }
        let refuse =
            || format!("`{text}` is not an origin like http://127.0.0.1:8002 (scheme, host, port)");
        let uri: axum::http::Uri = text.trim_end_matches('/').parse().map_err(|_| refuse())?;
        let scheme = uri.scheme_str().ok_or_else(refuse)?;
        let authority = uri.authority().ok_or_else(refuse)?;
        let bare = matches!(uri.path(), "" | "/") && uri.query().is_none();
        if !matches!(scheme, "http" | "https") || !bare || authority.as_str().contains('@') {
            return Err(refuse());
        }
        Ok(CatalogOrigin(Some(format!("{scheme}://{authority}"))))
    }
}

impl CatalogOrigin {
    /// The origin, or `""` for the page's own.
    pub fn as_str(&self) -> &str {
        self.0.as_deref().unwrap_or_default()
    }
}

/// The POS page, with the catalog's origin in its `catalog-origin` meta tag
/// (empty: the page's own origin).
fn pos_html(catalog: &CatalogOrigin) -> String {
    let html = std::str::from_utf8(POS_HTML.body).expect("pos.html is UTF-8");
    // An origin holds no quote or angle bracket (the parse refuses them);
    // escaping anyway keeps the attribute closed whatever it holds.
    let escaped = catalog
        .as_str()
        .replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;");
    html.replacen(
        r#"<meta name="catalog-origin" content="">"#,
        &format!(r#"<meta name="catalog-origin" content="{escaped}">"#),
        1,
    )
}

/// `/pos` (cashier or owner; a browser without a session is sent to
/// `/login`) and its open assets `/pos/common.css`, `/pos/pos.css`, `/pos/pos.js`.
/// `catalog`: where the page reads the catalog.
pub fn pos_router(auth: &Auth, catalog: &CatalogOrigin) -> Router {
    let html = Bytes::from(pos_html(catalog));
    let page = Router::new()
        .route(
            "/pos",
            get(move || {
                let html = html.clone();
                async move { POS_HTML.with_body(html) }
            }),
        )
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

    #[test]
    fn a_catalog_origin_is_scheme_host_and_port_only() {
        use super::CatalogOrigin;
        let parsed: CatalogOrigin = "http://127.0.0.1:8002/".parse().unwrap();
        assert_eq!(parsed.as_str(), "http://127.0.0.1:8002");
        let tls: CatalogOrigin = "https://catalog.example".parse().unwrap();
        assert_eq!(tls.as_str(), "https://catalog.example");
        let unset: CatalogOrigin = "".parse().unwrap();
        assert_eq!(
            unset,
            CatalogOrigin::default(),
            "empty: the page's own origin"
        );
        assert_eq!(unset.as_str(), "");
        for refused in [
            "127.0.0.1:8002",
            "ftp://127.0.0.1",
            "http://127.0.0.1:8002/api",
            "http://127.0.0.1:8002?x=1",
            "http://user@127.0.0.1:8002",
            "javascript:alert(1)",
            "http://a\"><script>",
        ] {
            let error = refused.parse::<CatalogOrigin>().unwrap_err();
            assert!(error.contains("is not an origin"), "{refused}: {error}");
        }
    }

    #[test]
    fn the_pos_page_names_the_catalog_origin_it_was_given() {
        let origin: super::CatalogOrigin = "http://127.0.0.1:8002".parse().unwrap();
        let page = super::pos_html(&origin);
        assert!(page.contains(r#"<meta name="catalog-origin" content="http://127.0.0.1:8002">"#));
        let same_origin = super::pos_html(&super::CatalogOrigin::default());
        assert!(same_origin.contains(r#"<meta name="catalog-origin" content="">"#));
    }
}
