//! The access-control contract, exercised through a real axum router with
//! tower's `oneshot`: 401/403/429 problems, owner ⊇ cashier, sessions.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, DefaultBodyLimit};
use axum::http::{Request, StatusCode, header};
use axum::routing::get;
use http_body_util::BodyExt;
use supermarket_auth::{Auth, AuthConfig, AuthMode, Role, require};
use tower::ServiceExt;

const OWNER: &str = "owner-token-for-tests-0001";
const CASHIER: &str = "cashier-token-for-tests-01";

fn auth() -> Auth {
    let config = AuthConfig {
        owner_token: Some(OWNER.into()),
        cashier_token: Some(CASHIER.into()),
        auth_mode: AuthMode::Tokens,
    };
    Auth::from_config(&config).expect("valid settings")
}

fn app(auth: &Auth) -> Router {
    let owner = Router::new()
        .route("/owner", get(|| async { "owner data" }))
        .layer(require(auth, Role::Owner));
    let cashier = Router::new()
        .route("/cashier", get(|| async { "till" }))
        .layer(require(auth, Role::Cashier));
    Router::new()
        .route("/health", get(|| async { "ok" }))
        .merge(owner)
        .merge(cashier)
        .merge(auth.routes())
}

fn get_with(path: &str, authorization: Option<&str>) -> Request<Body> {
    let mut builder = Request::get(path);
    if let Some(value) = authorization {
        builder = builder.header(header::AUTHORIZATION, value);
    }
    builder.body(Body::empty()).unwrap()
}

fn from_ip(mut request: Request<Body>, ip: [u8; 4]) -> Request<Body> {
    request
        .extensions_mut()
        .insert(ConnectInfo(SocketAddr::from((ip, 40000))));
    request
}

async fn json(response: axum::response::Response) -> serde_json::Value {
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&bytes)))
}

#[tokio::test]
async fn open_paths_need_no_credentials() {
    let response = app(&auth())
        .oneshot(get_with("/health", None))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let response = app(&auth())
        .oneshot(get_with("/login", None))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn missing_credentials_get_a_401_problem() {
    let response = app(&auth())
        .oneshot(get_with("/cashier", None))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "application/problem+json"
    );
    assert!(response.headers().contains_key(header::WWW_AUTHENTICATE));
    let body = json(response).await;
    assert_eq!(body["status"], 401);
    assert_eq!(body["type"], "/problems/unauthorized");
}

#[tokio::test]
async fn a_browser_without_a_session_is_sent_to_the_login_page() {
    let request = Request::get("/owner?x=1")
        .header(header::ACCEPT, "text/html,*/*")
        .body(Body::empty())
        .unwrap();
    let response = app(&auth()).oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        response.headers()[header::LOCATION],
        "/login?next=/owner%3Fx%3D1"
    );
}

#[tokio::test]
async fn roles_are_enforced_and_the_owner_can_do_cashier_things() {
    let app = app(&auth());
    let cases = [
        ("/cashier", CASHIER, StatusCode::OK),
        ("/cashier", OWNER, StatusCode::OK),
        ("/owner", OWNER, StatusCode::OK),
        ("/owner", CASHIER, StatusCode::FORBIDDEN),
        (
            "/owner",
            "wrong-token-xxxxxxxxxxxx",
            StatusCode::UNAUTHORIZED,
        ),
    ];
    for (path, token, expected) in cases {
        let response = app
            .clone()
            .oneshot(get_with(path, Some(&format!("Bearer {token}"))))
            .await
            .unwrap();
        assert_eq!(response.status(), expected, "{path} with {token}");
        if expected == StatusCode::FORBIDDEN {
            let body = json(response).await;
            assert_eq!(body["type"], "/problems/forbidden");
        }
    }
}

#[tokio::test]
async fn failed_attempts_are_rate_limited_per_client_ip() {
    let auth = auth().with_failure_limit(3, Duration::from_secs(60));
    let app = app(&auth);
    let attacker = [203, 0, 113, 5];
    for _ in 0..3 {
        let response = app
            .clone()
            .oneshot(from_ip(
                get_with("/cashier", Some("Bearer guess-xxxxxxxxxxxxxx")),
                attacker,
            ))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    // Even the right token is refused now: otherwise guessing would go on.
    let response = app
        .clone()
        .oneshot(from_ip(
            get_with("/cashier", Some(&format!("Bearer {CASHIER}"))),
            attacker,
        ))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = response.headers()[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after));
    assert_eq!(json(response).await["status"], 429);
    // The login form is limited by the same bucket.
    let login = Request::post("/auth/login")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(format!(r#"{{"token":"{CASHIER}"}}"#)))
        .unwrap();
    assert_eq!(
        app.clone()
            .oneshot(from_ip(login, attacker))
            .await
            .unwrap()
            .status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    // Another client is not affected.
    let response = app
        .clone()
        .oneshot(from_ip(
            get_with("/cashier", Some(&format!("Bearer {CASHIER}"))),
            [198, 51, 100, 9],
        ))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_form_login_opens_a_session_cookie_that_grants_the_role() {
    let app = app(&auth());
    let form = format!("token={CASHIER}&next=%2Fcashier");
    let request = Request::post("/auth/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header("x-forwarded-proto", "https")
        .body(Body::from(form))
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[header::LOCATION], "/cashier");
    let set_cookie = response.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_owned();
    for attribute in ["HttpOnly", "SameSite=Strict", "Secure", "Path=/"] {
        assert!(
            set_cookie.contains(attribute),
            "{set_cookie} lacks {attribute}"
        );
    }
    let cookie = set_cookie.split(';').next().unwrap().to_owned();

    let with_cookie = |path: &str| {
        Request::get(path)
            .header(header::COOKIE, cookie.clone())
            .body(Body::empty())
            .unwrap()
    };
    assert_eq!(
        app.clone()
            .oneshot(with_cookie("/cashier"))
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        app.clone()
            .oneshot(with_cookie("/owner"))
            .await
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN
    );
    let whoami = json(
        app.clone()
            .oneshot(with_cookie("/auth/whoami"))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(whoami["role"], "cashier");

    // A session opened by another process with the same tokens is accepted:
    // replicas share nothing but the tokens.
    let other_replica = self::app(&auth());
    assert_eq!(
        other_replica
            .oneshot(with_cookie("/cashier"))
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );

    let logout = app
        .clone()
        .oneshot(Request::post("/auth/logout").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(logout.status(), StatusCode::SEE_OTHER);
    assert!(
        logout.headers()[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
}

#[tokio::test]
async fn a_wrong_login_gets_401_and_an_offsite_next_is_ignored() {
    let app = app(&auth());
    let request = Request::post("/auth/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("token=nope&next=%2F%2Fevil.example"))
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(!response.headers().contains_key(header::SET_COOKIE));

    let request = Request::post("/auth/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!("token={OWNER}&next=%2F%2Fevil.example")))
        .unwrap();
    let response = app.oneshot(request).await.unwrap();
    assert_eq!(response.headers()[header::LOCATION], "/dashboard");
}

#[tokio::test]
async fn open_mode_lets_everything_through() {
    let config = AuthConfig {
        auth_mode: AuthMode::Open,
        ..AuthConfig::default()
    };
    let app = app(&Auth::from_config(&config).unwrap());
    assert_eq!(
        app.clone()
            .oneshot(get_with("/owner", None))
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        app.oneshot(get_with("/cashier", Some("Bearer whatever")))
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn an_oversized_login_is_a_413_not_a_400() {
    // The services put a body limit on every route, the login routes included.
    let app = app(&auth()).layer(DefaultBodyLimit::max(1024));
    let padding = "x".repeat(4096);
    for (content_type, body) in [
        (
            "application/json",
            format!(r#"{{"token":"{CASHIER}","next":"/{padding}"}}"#),
        ),
        (
            "application/x-www-form-urlencoded",
            format!("token={CASHIER}&next=%2F{padding}"),
        ),
    ] {
        let request = Request::post("/auth/login")
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body))
            .unwrap();
        let response = app.clone().oneshot(request).await.unwrap();
        assert_eq!(
            response.status(),
            StatusCode::PAYLOAD_TOO_LARGE,
            "{content_type}"
        );
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "application/problem+json"
        );
        assert_eq!(json(response).await["type"], "/problems/body-too-large");
    }
    // Under the limit, still a 400 when malformed.
    let request = Request::post("/auth/login")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{"))
        .unwrap();
    assert_eq!(
        app.oneshot(request).await.unwrap().status(),
        StatusCode::BAD_REQUEST
    );
}
