//! Request ids: every request gets one, every log line of it carries it.
//!
//! The id is taken from the `X-Request-Id` header when the client (or a proxy
//! such as nginx) sends a sane one, otherwise a UUID is generated. It is
//! returned in the `X-Request-Id` response header, recorded as the
//! `request_id` field of a span wrapping the whole request (so the JSON log
//! lines of the handler include it), and made available to
//! [`Problem`](crate::Problem) responses through a task-local.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

pub static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The id of the current request, also inserted as a request extension.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestId(pub String);

/// What the middleware knows of the request being served.
#[derive(Debug)]
pub struct RequestContext {
    pub id: String,
    pub path: String,
}

tokio::task_local! {
    static CONTEXT: Arc<RequestContext>;
}

/// The current request, when called while the middleware serves one.
pub fn current() -> Option<Arc<RequestContext>> {
    CONTEXT.try_with(Arc::clone).ok()
}

/// Accepts client ids of 1 to 128 visible ASCII characters; anything else
/// (empty, control characters, huge) is replaced to keep logs clean.
fn acceptable(id: &str) -> bool {
    (1..=128).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_graphic())
}

/// The middleware (`axum::middleware::from_fn(request_id::middleware)`).
/// Also logs one line per request with status and latency: `info` for
/// success and client errors, `error` for 5xx.
pub async fn middleware(mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = request
        .headers()
        .get(&X_REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .filter(|id| acceptable(id))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let path = request.uri().path().to_owned();
    // An `error`-level span so its fields appear even when only warnings and
    // errors are logged (a span below the filter level is not recorded).
    let span =
        tracing::error_span!("request", request_id = %id, method = %request.method(), path = %path);
    request.extensions_mut().insert(RequestId(id.clone()));
    let context = Arc::new(RequestContext {
        id: id.clone(),
        path,
    });
    let mut response = CONTEXT
        .scope(context, next.run(request))
        .instrument(span.clone())
        .await;
    let status = response.status().as_u16();
    let latency_us = started.elapsed().as_micros() as u64;
    span.in_scope(|| {
        if status >= 500 {
            tracing::error!(status, latency_us, "request finished");
        } else {
            tracing::info!(status, latency_us, "request finished");
        }
    });
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(X_REQUEST_ID.clone(), value);
    }
    response
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_sane_ids_are_kept() {
        assert!(super::acceptable("abc-123"));
        assert!(!super::acceptable(""));
        assert!(!super::acceptable("a b"));
        assert!(!super::acceptable(&"x".repeat(129)));
    }
}
