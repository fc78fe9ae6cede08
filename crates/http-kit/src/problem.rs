//! RFC 9457 problem details (`application/problem+json`) and the error type
//! every handler returns.
//!
//! [`Problem`] is the wire document. [`ApiError`] is what handlers return:
//! client mistakes carry their problem, server faults carry the cause, which
//! is logged and never shown to the client.

use std::time::Duration;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::request_id;

/// The media type of problem documents.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// An RFC 9457 problem document.
///
/// `type` is a relative URI such as `/problems/unknown-product`; clients
/// branch on it, while `title` is its human summary and `detail` explains this
/// occurrence. Extension members (`errors`, `retry_after_seconds`, ...) are
/// flattened into the top-level object. `instance` is filled with the request
/// path and a `request_id` member is added when the response is built inside
/// the request-id middleware.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Problem {
    /// A URI reference naming the kind of problem, e.g. `/problems/unknown-product`.
    #[serde(rename = "type")]
    pub type_uri: String,
    /// A short summary of the kind of problem.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong in this occurrence, for a human.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The request path this problem occurred on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// Extension members (e.g. `errors`, `request_id`).
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub extensions: Map<String, Value>,
    /// Seconds the client should wait before retrying (sent as `Retry-After`).
    #[serde(skip)]
    pub retry_after: Option<Duration>,
}

impl Problem {
    /// A problem of kind `/problems/<slug>`.
    pub fn new(status: StatusCode, slug: &str, title: impl Into<String>) -> Problem {
        Problem {
            type_uri: format!("/problems/{slug}"),
            title: title.into(),
            status: status.as_u16(),
            detail: None,
            instance: None,
            extensions: Map::new(),
            retry_after: None,
        }
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> Problem {
        self.detail = Some(detail.into());
        self
    }

    /// Adds an extension member, such as `errors` or `product`.
    pub fn with_extension(mut self, name: &str, value: impl Into<Value>) -> Problem {
        self.extensions.insert(name.to_owned(), value.into());
        self
    }

    /// Sets a `Retry-After` header on the response (seconds, rounded up).
    pub fn with_retry_after(mut self, after: Duration) -> Problem {
        self.retry_after = Some(after);
        self
    }

    pub fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    // Common kinds, shared by every service.

    pub fn not_found(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::NOT_FOUND, "not-found", "Resource not found").with_detail(detail)
    }

    pub fn internal() -> Problem {
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal server error",
        )
        .with_detail("the server failed to handle this request; it has been logged")
    }

    pub fn unavailable(detail: impl Into<String>, retry_after: Duration) -> Problem {
        Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "Service temporarily unavailable",
        )
        .with_detail(detail)
        .with_retry_after(retry_after)
    }
}

impl IntoResponse for Problem {
    fn into_response(mut self) -> Response {
        if let Some(context) = request_id::current() {
            if self.instance.is_none() {
                self.instance = Some(context.path.clone());
            }
            self.extensions
                .entry("request_id")
                .or_insert_with(|| Value::String(context.id.clone()));
        }
        let status = self.status_code();
        let retry_after = self.retry_after;
        let body = match serde_json::to_vec(&self) {
            Ok(body) => body,
            // Serializing strings and a JSON map cannot fail; keep a body anyway.
            Err(_) => b"{\"type\":\"/problems/internal\",\"title\":\"Internal server error\",\"status\":500}".to_vec(),
        };
        let mut response = (
            status,
            [(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON))],
            body,
        )
            .into_response();
        if let Some(after) = retry_after {
            let seconds = after.as_secs() + u64::from(after.subsec_nanos() > 0);
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
        }
        response
    }
}

/// What a handler returns on failure.
///
/// - [`ApiError::Problem`]: a client-facing problem, sent as is.
/// - [`ApiError::Unavailable`]: a dependency (the database) is down: 503 with
///   `Retry-After`; the cause is logged at `warn`.
/// - [`ApiError::Internal`]: a bug or an unexpected failure: the cause is
///   logged at `error` and the client gets a generic 500 problem that reveals
///   nothing of the internals.
#[derive(Debug)]
pub enum ApiError {
    Problem(Problem),
    Unavailable {
        cause: anyhow::Error,
        retry_after: Duration,
    },
    Internal(anyhow::Error),
}

impl ApiError {
    pub fn unavailable(cause: impl Into<anyhow::Error>) -> ApiError {
        ApiError::Unavailable {
            cause: cause.into(),
            retry_after: Duration::from_secs(1),
        }
    }
}

impl From<Problem> for ApiError {
    fn from(problem: Problem) -> ApiError {
        ApiError::Problem(problem)
    }
}

/// A database error anywhere in the chain is classified as in
/// [`database`](crate::database) (503 when retrying can work); anything else
/// is an internal error.
impl From<anyhow::Error> for ApiError {
    fn from(error: anyhow::Error) -> ApiError {
        if crate::database::chain_is_transient(&error) {
            ApiError::unavailable(error)
        } else {
            ApiError::Internal(error)
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::Problem(problem) => problem.into_response(),
            ApiError::Unavailable { cause, retry_after } => {
                tracing::warn!(
                    error = format!("{cause:#}"),
                    "dependency unavailable, answering 503"
                );
                Problem::unavailable(
                    "a dependency of this service is unreachable; retry shortly",
                    retry_after,
                )
                .into_response()
            }
            ApiError::Internal(cause) => {
                tracing::error!(error = format!("{cause:#}"), "request failed");
                Problem::internal().into_response()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_the_rfc_members_and_flattens_extensions() {
        let problem = Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown-product",
            "Unknown product",
        )
        .with_detail("unknown product `caviar`")
        .with_extension("product", "caviar");
        let json = serde_json::to_value(&problem).unwrap();
        assert_eq!(json["type"], "/problems/unknown-product");
        assert_eq!(json["status"], 422);
        assert_eq!(json["product"], "caviar");
        assert!(json.get("instance").is_none());
    }

    #[tokio::test]
    async fn internal_errors_hide_their_cause() {
        let response = ApiError::Internal(anyhow::anyhow!("password=hunter2 connection refused"))
            .into_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(response.headers()[header::CONTENT_TYPE], PROBLEM_JSON);
        let body = axum::body::to_bytes(response.into_body(), 4096)
            .await
            .unwrap();
        let text = String::from_utf8(body.to_vec()).unwrap();
        assert!(!text.contains("hunter2"), "{text}");
    }

    #[tokio::test]
    async fn unavailable_sets_retry_after() {
        let response = ApiError::unavailable(anyhow::anyhow!("db down")).into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[header::RETRY_AFTER], "1");
    }
}
