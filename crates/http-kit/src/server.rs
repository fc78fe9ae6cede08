//! Binding, the standard layers, and serving with graceful shutdown.

use std::net::SocketAddr;

use anyhow::Context;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::serve::ListenerExt;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::problem::Problem;
use crate::request_id;

/// Binds `addr`, naming the setting that gave it when that fails.
pub async fn bind(addr: SocketAddr, setting: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr} (set by {setting})"))
}

/// Adds what every service router needs, outermost first: request ids and
/// the access log line, a body-size limit of `body_limit` bytes (enforced by
/// the [`Json`](crate::Json) extractor as a 413 problem), and problem
/// documents for unknown paths (404) and wrong methods (405).
pub fn with_standard_layers(router: Router, body_limit: usize) -> Router {
    router
        .fallback(|| async {
            Problem::new(StatusCode::NOT_FOUND, "not-found", "Not found")
                .with_detail("no resource at this path")
        })
        .method_not_allowed_fallback(|| async {
            Problem::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "Method not allowed",
            )
            .with_detail("this path does not accept this method")
        })
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(axum::middleware::from_fn(request_id::middleware))
}

/// Serves `router` on `listener` until `shutdown` is cancelled, then stops
/// accepting connections and waits for in-flight requests to finish.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    // Small JSON answers: don't let Nagle's algorithm delay them.
    let listener = listener.tap_io(|stream| {
        let _ = stream.set_nodelay(true);
    });
    // Connection info gives handlers and layers the peer address (the
    // failed-login limiter keys on the client's IP).
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown.cancelled_owned())
    .await
    .context("HTTP server failed")
}
