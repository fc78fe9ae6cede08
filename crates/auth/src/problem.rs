//! RFC 9457 problem+json answers for access control.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// A problem answer with the given status, type slug, title and detail.
pub fn problem(status: StatusCode, slug: &str, title: &str, detail: &str) -> Response {
    let body = serde_json::json!({
        "type": format!("/problems/{slug}"),
        "title": title,
        "status": status.as_u16(),
        "detail": detail,
    });
    let mut response = (status, body.to_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    response
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
    let mut response = problem(
        StatusCode::TOO_MANY_REQUESTS,
        "too-many-attempts",
        "Too many failed authentication attempts",
        &format!("Wait {retry_after} s before trying again."),
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
    response
}
