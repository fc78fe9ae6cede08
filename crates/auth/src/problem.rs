//! The problem documents of access control, built with http-kit's
//! [`Problem`] like every other answer of the services.

use std::time::Duration;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use supermarket_http::Problem;

/// A problem answer with the given status, type slug, title and detail.
pub fn problem(status: StatusCode, slug: &str, title: &str, detail: &str) -> Response {
    Problem::new(status, slug, title)
        .with_detail(detail)
        .into_response()
}

/// 401: no credentials, or credentials that match no role.
pub fn unauthorized(detail: &str) -> Response {
    let mut response = problem(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "Authentication required",
        detail,
    );
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"supermarket\""),
    );
    response
}

/// 403: valid credentials of a role that may not do this.
pub fn forbidden(detail: &str) -> Response {
    problem(
        StatusCode::FORBIDDEN,
        "forbidden",
        "Not allowed for this role",
        detail,
    )
}

/// 429: too many failed attempts from this client; `retry_after` in seconds.
pub fn too_many_attempts(retry_after: u64) -> Response {
    Problem::new(
        StatusCode::TOO_MANY_REQUESTS,
        "too-many-attempts",
        "Too many failed authentication attempts",
    )
    .with_detail(format!("Wait {retry_after} s before trying again."))
    .with_retry_after(Duration::from_secs(retry_after))
    .into_response()
}
