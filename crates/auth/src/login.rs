//! The login page and the session routes, to merge into a service's router:
//!
//! - `GET /login`: a small form (token, hidden `next`).
//! - `POST /auth/login`: form (`token`, `next`) → session cookie and 303 to
//!   `next`; JSON `{"token"}` → cookie and `{"role"}`. Failures cost an
//!   attempt of the client's bucket (429 once it is empty).
//! - `POST /auth/logout`: clears the cookie, 303 to `/login`.
//! - `GET /auth/whoami`: `{"mode","role"}` for the pages' header.

use axum::Router;
use axum::extract::{Form, FromRequest, Json, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use crate::credentials::{Auth, Credentials, Role};
use crate::limiter::client_ip;
use crate::{problem, session};

impl Auth {
    /// `/login`, `/auth/login`, `/auth/logout`, `/auth/whoami` (all open).
    pub fn routes(&self) -> Router {
        Router::new()
            .route("/login", get(login_page))
            .route("/auth/login", post(login))
            .route("/auth/logout", post(logout))
            .route("/auth/whoami", get(whoami))
            .with_state(self.clone())
    }
}

#[derive(Deserialize, Default)]
struct LoginInput {
    #[serde(default)]
    token: String,
    #[serde(default)]
    next: Option<String>,
}

#[derive(Deserialize, Default)]
struct PageQuery {
    next: Option<String>,
    error: Option<String>,
}

/// Only a local absolute path may be a redirect target (no `//host`, no scheme).
fn safe_next(next: Option<&str>, role: Option<Role>) -> String {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.contains('\\')
                && !path.starts_with("/login") =>
        {
            path.to_owned()
        }
        _ => match role {
            Some(Role::Owner) => "/dashboard".to_owned(),
            _ => "/pos".to_owned(),
        },
    }
}

fn behind_tls(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|proto| proto.eq_ignore_ascii_case("https"))
}

async fn login_page(State(auth): State<Auth>, Query(query): Query<PageQuery>) -> Html<String> {
    let message = match (auth.is_open(), query.error.as_deref()) {
        (true, _) => "Access control is off (AUTH_MODE=open): no token is needed.",
        (false, Some("invalid")) => "That token is not valid.",
        (false, Some("limited")) => "Too many failed attempts: wait a minute and try again.",
        _ => "",
    };
    Html(render_page(
        &safe_next(query.next.as_deref(), None),
        message,
    ))
}

async fn login(State(auth): State<Auth>, request: Request) -> Response {
    let headers = request.headers().clone();
    let ip = client_ip(&request);
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"));
    let input = if is_json {
        match Json::<LoginInput>::from_request(request, &()).await {
            Ok(Json(input)) => input,
            Err(rejection) => return unreadable_login(rejection.status(), &rejection.body_text()),
        }
    } else {
        match Form::<LoginInput>::from_request(request, &()).await {
            Ok(Form(input)) => input,
            Err(rejection) => return unreadable_login(rejection.status(), &rejection.body_text()),
        }
    };
    let next = input.next.as_deref();
    if auth.is_open() {
        return if is_json {
            Json(serde_json::json!({"mode": "open", "role": null})).into_response()
        } else {
            Redirect::to(&safe_next(next, None)).into_response()
        };
    }
    if let Err(wait) = auth.limiter().check(ip) {
        tracing::warn!(client_ip = %ip, retry_after = wait, "login refused: too many failed attempts");
        let mut response = problem::too_many_attempts(wait);
        if !is_json {
            let page = render_page(
                &safe_next(next, None),
                "Too many failed attempts: wait a minute and try again.",
            );
            let mut page = (StatusCode::TOO_MANY_REQUESTS, Html(page)).into_response();
            if let Some(retry) = response.headers_mut().remove(header::RETRY_AFTER) {
                page.headers_mut().insert(header::RETRY_AFTER, retry);
            }
            response = page;
        }
        return response;
    }
    let Some(role) = auth.role_of_token(input.token.trim()) else {
        auth.limiter().record_failure(ip);
        tracing::warn!(client_ip = %ip, "login failed: unknown token");
        return if is_json {
            problem::unauthorized("That token matches no role.")
        } else {
            (
                StatusCode::UNAUTHORIZED,
                Html(render_page(
                    &safe_next(next, None),
                    "That token is not valid.",
                )),
            )
                .into_response()
        };
    };
    let Some(value) = auth.issue_session(role) else {
        return problem::unauthorized("Sessions are unavailable.");
    };
    tracing::info!(client_ip = %ip, role = role.as_str(), "session opened");
    let cookie = session::set_cookie(&value, behind_tls(&headers));
    let mut response = if is_json {
        Json(serde_json::json!({"role": role})).into_response()
    } else {
        Redirect::to(&safe_next(next, Some(role))).into_response()
    };
    if let Ok(cookie) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
}

/// A login body that could not be read: 413 when it is over the service's
/// body limit (as every other endpoint answers), else 400.
fn unreadable_login(status: StatusCode, detail: &str) -> Response {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        problem::problem(
            status,
            "body-too-large",
            "Request body too large",
            "the request body exceeds this endpoint's size limit",
        )
    } else {
        problem::problem(
            StatusCode::BAD_REQUEST,
            "bad-login-request",
            "Malformed login request",
            detail,
        )
    }
}

async fn logout(headers: HeaderMap) -> Response {
    let mut response = Redirect::to("/login").into_response();
    if let Ok(cookie) = HeaderValue::from_str(&session::clear_cookie(behind_tls(&headers))) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
}

async fn whoami(State(auth): State<Auth>, headers: HeaderMap) -> Response {
    if auth.is_open() {
        return Json(serde_json::json!({"mode": "open", "role": null})).into_response();
    }
    // A cookie only: checking a bearer token here would be an unlimited oracle.
    let mut cookie_only = HeaderMap::new();
    if let Some(cookie) = headers.get(header::COOKIE) {
        cookie_only.insert(header::COOKIE, cookie.clone());
    }
    let role = match auth.credentials(&cookie_only) {
        Credentials::Valid(role) => Some(role),
        _ => None,
    };
    Json(serde_json::json!({"mode": "tokens", "role": role})).into_response()
}

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn render_page(next: &str, message: &str) -> String {
    let message = if message.is_empty() {
        String::new()
    } else {
        format!(
            "<p class=\"msg\" role=\"alert\">{}</p>",
            escape_html(message)
        )
    };
    LOGIN_PAGE
        .replace("{{next}}", &escape_html(next))
        .replace("{{message}}", &message)
}

const LOGIN_PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in · Supermarket</title>
<style>
  :root { color-scheme: light; font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
  body { margin: 0; min-height: 100vh; display: grid; place-items: center; background: #f3f5f8; color: #1d2733; }
  form { background: #fff; padding: 2rem 2.25rem; border-radius: 14px; box-shadow: 0 8px 30px rgba(20,40,80,.12); width: min(92vw, 380px); }
  h1 { margin: 0 0 .25rem; font-size: 1.4rem; }
  p.hint { margin: 0 0 1.25rem; color: #5b6b7c; font-size: .95rem; }
  label { display: block; font-weight: 600; margin-bottom: .4rem; }
  input[type=password] { width: 100%; box-sizing: border-box; font-size: 1.05rem; padding: .7rem .8rem; border: 1px solid #c7d0db; border-radius: 8px; }
  button { margin-top: 1rem; width: 100%; font-size: 1.05rem; padding: .75rem; border: 0; border-radius: 8px; background: #1f6feb; color: #fff; font-weight: 600; cursor: pointer; }
  button:hover { background: #1a5fd0; }
  .msg { background: #fdecec; color: #a11d1d; padding: .6rem .8rem; border-radius: 8px; }
</style>
</head>
<body>
<form method="post" action="/auth/login">
  <h1>Supermarket</h1>
  <p class="hint">Sign in with your cashier or owner token.</p>
  {{message}}
  <label for="token">Access token</label>
  <input id="token" name="token" type="password" autocomplete="current-password" autofocus required>
  <input type="hidden" name="next" value="{{next}}">
  <button type="submit">Sign in</button>
</form>
</body>
</html>
"#;
