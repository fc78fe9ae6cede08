//! The pages are served with the right types and guarded by the right role.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use supermarket_auth::{Auth, AuthConfig, AuthMode};
use tower::ServiceExt;

const OWNER: &str = "owner-token-for-tests-0001";
const CASHIER: &str = "cashier-token-for-tests-01";

fn auth() -> Auth {
    Auth::from_config(&AuthConfig {
        owner_token: Some(OWNER.into()),
        cashier_token: Some(CASHIER.into()),
        auth_mode: AuthMode::Tokens,
    })
    .unwrap()
}

fn app() -> axum::Router {
    let auth = auth();
    supermarket_web::pos_router(&auth, &Default::default())
        .merge(supermarket_web::dashboard_router(&auth))
        .merge(auth.routes())
}

fn get(path: &str, token: Option<&str>) -> Request<Body> {
    let mut request = Request::get(path).header(header::ACCEPT, "text/html");
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    request.body(Body::empty()).unwrap()
}

#[tokio::test]
async fn the_pos_is_for_cashiers_and_owners() {
    for token in [CASHIER, OWNER] {
        let response = app().oneshot(get("/pos", Some(token))).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert!(
            response.headers()[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert!(String::from_utf8_lossy(&body).contains("id=\"pay\""));
    }
}

#[tokio::test]
async fn the_dashboard_refuses_a_cashier() {
    assert_eq!(
        app()
            .oneshot(get("/dashboard", Some(OWNER)))
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        app()
            .oneshot(get("/dashboard", Some(CASHIER)))
            .await
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn a_browser_without_a_session_goes_to_the_login_page() {
    let response = app().oneshot(get("/dashboard", None)).await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        response.headers()[header::LOCATION],
        "/login?next=/dashboard"
    );
}

#[tokio::test]
async fn assets_are_open_and_typed() {
    let cases = [
        ("/pos/pos.js", "text/javascript"),
        ("/pos/common.css", "text/css"),
        ("/dashboard/dashboard.js", "text/javascript"),
        ("/dashboard/vendor/chart.umd.min.js", "text/javascript"),
    ];
    for (path, content_type) in cases {
        let response = app().oneshot(get(path, None)).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert!(
            response.headers()[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with(content_type),
            "{path}"
        );
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert!(body.len() > 100, "{path} is served whole");
    }
}
