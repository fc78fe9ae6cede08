//! [`require`]: the layer that guards a sub-router with a role.
//!
//! ```ignore
//! let owner_only = Router::new().route("/top-products", get(top)).layer(supermarket_auth::require(&auth, Role::Owner));
//! ```
//!
//! Answers: 401 problem (no or unknown credentials; a browser asking for a
//! page is sent to `/login` instead), 403 problem (valid credentials of a role
//! that may not), 429 problem with `Retry-After` (too many failed attempts
//! from this client IP).

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::http::{Method, Request, header};
use axum::response::{IntoResponse, Redirect, Response};
use tower::{Layer, Service};

use crate::credentials::{Auth, Credentials, Principal, Role};
use crate::limiter::client_ip;
use crate::problem;

/// A layer letting through only callers whose role satisfies `role`
/// (everyone when access control is off).
pub fn require(auth: &Auth, role: Role) -> RequireLayer {
    RequireLayer {
        auth: auth.clone(),
        role,
    }
}

#[derive(Clone, Debug)]
pub struct RequireLayer {
    auth: Auth,
    role: Role,
}

impl<S> Layer<S> for RequireLayer {
    type Service = Require<S>;

    fn layer(&self, inner: S) -> Require<S> {
        Require {
            inner,
            auth: self.auth.clone(),
            role: self.role,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Require<S> {
    inner: S,
    auth: Auth,
    role: Role,
}

impl<S> Service<Request<Body>> for Require<S>
where
    S: Service<Request<Body>, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<Body>) -> Self::Future {
        // The service that was polled ready is the one that must be called.
        let ready = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, ready);
        let auth = self.auth.clone();
        let required = self.role;
        Box::pin(async move {
            if auth.is_open() {
                return inner.call(request).await;
            }
            let bearer = request.headers().contains_key(header::AUTHORIZATION);
            let ip = client_ip(&request);
            if bearer && let Err(wait) = auth.limiter().check(ip) {
                tracing::warn!(client_ip = %ip, path = %request.uri().path(), retry_after = wait, "authentication refused: too many failed attempts");
                return Ok(problem::too_many_attempts(wait));
            }
            match auth.credentials(request.headers()) {
                Credentials::Missing if wants_page(&request) => {
                    Ok(Redirect::to(&login_url(&request)).into_response())
                }
                Credentials::Missing => Ok(problem::unauthorized(
                    "Send `Authorization: Bearer <token>`, or log in at /login.",
                )),
                Credentials::Invalid => {
                    auth.limiter().record_failure(ip);
                    tracing::warn!(client_ip = %ip, path = %request.uri().path(), "authentication failed: unknown bearer token");
                    Ok(problem::unauthorized("The bearer token matches no role."))
                }
                Credentials::Valid(role) if !role.satisfies(required) => {
                    tracing::info!(role = role.as_str(), required = required.as_str(), path = %request.uri().path(), "access denied for role");
                    Ok(problem::forbidden(&format!(
                        "This needs the {} role; these credentials are a {}'s.",
                        required.as_str(),
                        role.as_str()
                    )))
                }
                Credentials::Valid(role) => {
                    request.extensions_mut().insert(Principal { role });
                    inner.call(request).await
                }
            }
        })
    }
}

/// A browser navigating to a page (rather than a script calling an API).
fn wants_page(request: &Request<Body>) -> bool {
    (request.method() == Method::GET || request.method() == Method::HEAD)
        && request
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|accept| accept.contains("text/html"))
}

fn login_url(request: &Request<Body>) -> String {
    let next = request
        .uri()
        .path_and_query()
        .map(|pq| pq.as_str())
        .unwrap_or("/");
    format!("/login?next={}", percent_encode(next))
}

/// Percent-encodes everything but unreserved characters and `/`.
pub(crate) fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}
