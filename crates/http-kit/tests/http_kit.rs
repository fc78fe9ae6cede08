//! The shared layers, exercised through a small router.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::Value;
use supermarket_http::{Json, Path, Problem, Readiness, health, openapi, with_standard_layers};
use tower::ServiceExt;

#[derive(Deserialize)]
struct Thing {
    #[allow(dead_code)]
    name: String,
}

fn app(ready: bool) -> Router {
    let router = Router::new()
        .route(
            "/things",
            post(|Json(_thing): Json<Thing>| async { StatusCode::CREATED }),
        )
        .route(
            "/things/{id}",
            get(|Path(id): Path<i32>| async move { Json(serde_json::json!({"id": id})) }),
        )
        .route(
            "/boom",
            get(|| async {
                Err::<(), _>(supermarket_http::ApiError::Internal(anyhow::anyhow!(
                    "secret detail"
                )))
            }),
        )
        .merge(health::routes(Readiness::new(move || async move {
            if ready {
                Ok(())
            } else {
                Err(anyhow::anyhow!("db down"))
            }
        })))
        .merge(openapi::routes(
            utoipa::openapi::OpenApiBuilder::new().build(),
        ));
    with_standard_layers(router, 64)
}

async fn call(app: Router, request: Request<Body>) -> (StatusCode, axum::http::HeaderMap, Value) {
    let response = app.oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    (
        status,
        headers,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn post_json(body: &str, content_type: &str) -> Request<Body> {
    Request::post("/things")
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body.to_owned()))
        .unwrap()
}

#[tokio::test]
async fn json_rejections_are_problems() {
    let cases = [
        (
            post_json("{\"name\":\"a\"", "application/json"),
            400,
            "/problems/malformed-json",
        ),
        (
            post_json("{}", "application/json"),
            422,
            "/problems/invalid-body",
        ),
        (
            post_json("{\"name\":\"a\"}", "text/plain"),
            415,
            "/problems/unsupported-media-type",
        ),
        (
            post_json(
                &format!("{{\"name\":\"{}\"}}", "a".repeat(100)),
                "application/json",
            ),
            413,
            "/problems/body-too-large",
        ),
    ];
    for (request, status, kind) in cases {
        let (got, headers, body) = call(app(true), request).await;
        assert_eq!(got.as_u16(), status, "{body}");
        assert_eq!(headers[header::CONTENT_TYPE], "application/problem+json");
        assert_eq!(body["type"], kind);
        assert_eq!(body["status"], status);
        assert_eq!(body["instance"], "/things");
        assert!(body["request_id"].is_string());
    }
    let (status, _, _) = call(app(true), post_json("{\"name\":\"a\"}", "application/json")).await;
    assert_eq!(status, StatusCode::CREATED);
}

#[tokio::test]
async fn path_404_405_and_internal_errors() {
    let (status, _, body) = call(
        app(true),
        Request::get("/things/abc").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(
        (status.as_u16(), body["type"].as_str()),
        (400, Some("/problems/invalid-path-parameter"))
    );
    let (status, _, body) = call(
        app(true),
        Request::get("/things/7").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!((status.as_u16(), body["id"].as_i64()), (200, Some(7)));
    let (status, _, body) = call(
        app(true),
        Request::get("/nowhere").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(
        (status.as_u16(), body["type"].as_str()),
        (404, Some("/problems/not-found"))
    );
    let (status, _, body) = call(
        app(true),
        Request::delete("/things").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(
        (status.as_u16(), body["type"].as_str()),
        (405, Some("/problems/method-not-allowed"))
    );
    let (status, _, body) = call(
        app(true),
        Request::get("/boom").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(status.as_u16(), 500);
    assert!(!body.to_string().contains("secret"));
}

#[tokio::test]
async fn request_ids_are_echoed_or_generated() {
    let request = Request::get("/health")
        .header("x-request-id", "abc-123")
        .body(Body::empty())
        .unwrap();
    let (_, headers, _) = call(app(true), request).await;
    assert_eq!(headers["x-request-id"], "abc-123");
    let (_, headers, _) = call(
        app(true),
        Request::get("/health").body(Body::empty()).unwrap(),
    )
    .await;
    let generated = headers["x-request-id"].to_str().unwrap();
    assert!(uuid::Uuid::parse_str(generated).is_ok(), "{generated}");
}

#[tokio::test]
async fn health_ready_and_openapi() {
    let (status, _, body) = call(
        app(false),
        Request::get("/health").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(
        (status.as_u16(), body["status"].as_str()),
        (200, Some("ok"))
    );
    let (status, headers, body) = call(
        app(false),
        Request::get("/ready").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(
        (status.as_u16(), body["type"].as_str()),
        (503, Some("/problems/not-ready"))
    );
    assert_eq!(headers[header::RETRY_AFTER], "1");
    let (status, _, _) = call(
        app(true),
        Request::get("/ready").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(status.as_u16(), 200);
    let (status, _, body) = call(
        app(true),
        Request::get("/openapi.json").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(
        (status.as_u16(), body["openapi"].as_str()),
        (200, Some("3.1.0"))
    );
    let response = app(true)
        .oneshot(Request::get("/docs/").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
}

#[test]
fn problem_is_a_public_type() {
    let _ = Problem::not_found("x");
}
