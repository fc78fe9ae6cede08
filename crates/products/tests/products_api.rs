//! The products service against a real, fresh PostgreSQL database.

use serde_json::Value;
use supermarket_products::{Application, Config};
use supermarket_testkit::TestDatabases;
use tokio_util::sync::CancellationToken;

struct TestApp {
    base: String,
    db: TestDatabases,
    http: reqwest::Client,
    shutdown: CancellationToken,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

async fn spawn_app() -> TestApp {
    let db = TestDatabases::new().await;
    db.oltp()
        .await
        .batch_execute(
            "INSERT INTO branches (id, name) VALUES ('SMKT001', 'Central'), ('SMKT002', 'Northside'), ('SMKT003', 'Riverside');
             INSERT INTO products (id, name, price_cents) VALUES (1, 'milk', 150), (2, 'bread', 200), (6, 'toilet paper', 400);",
        )
        .await
        .unwrap();
    let config = Config {
        addr: "127.0.0.1:0".parse().unwrap(),
        database: supermarket_storage::DatabaseArgs::new(db.oltp_url.clone(), 4),
    };
    let app = Application::build(config).await.unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    let shutdown = CancellationToken::new();
    tokio::spawn(app.run_until_stopped(shutdown.clone()));
    TestApp {
        base,
        db,
        http: reqwest::Client::new(),
        shutdown,
    }
}

impl TestApp {
    async fn get(&self, path: &str) -> (u16, Value) {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }
}

#[tokio::test]
async fn lists_products_with_exact_prices() {
    let app = spawn_app().await;
    let (status, body) = app.get("/api/v1/products").await;
    assert_eq!(status, 200);
    let products = body.as_array().unwrap();
    assert_eq!(products.len(), 3);
    assert_eq!(
        products[0],
        serde_json::json!({"id": 1, "name": "milk", "price_cents": 150, "price": "1.50"})
    );
    assert_eq!(products[2]["name"], "toilet paper");
    assert_eq!(products[2]["price"], "4.00");
}

#[tokio::test]
async fn gets_one_product_or_a_problem() {
    let app = spawn_app().await;
    let (status, body) = app.get("/api/v1/products/2").await;
    assert_eq!(
        (status, body["name"].as_str(), body["price"].as_str()),
        (200, Some("bread"), Some("2.00"))
    );

    let response = app
        .http
        .get(format!("{}/api/v1/products/99", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 404);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["type"], "/problems/not-found");
    assert!(body["detail"].as_str().unwrap().contains("99"));

    let (status, body) = app.get("/api/v1/products/milk").await;
    assert_eq!(
        (status, body["type"].as_str()),
        (400, Some("/problems/invalid-path-parameter"))
    );
}

#[tokio::test]
async fn sees_catalog_changes_immediately() {
    let app = spawn_app().await;
    app.db
        .oltp()
        .await
        .execute(
            "UPDATE products SET price_cents = 175 WHERE name = 'milk'",
            &[],
        )
        .await
        .unwrap();
    let (_, body) = app.get("/api/v1/products/1").await;
    assert_eq!(body["price"], "1.75");
}

#[tokio::test]
async fn lists_branches() {
    let app = spawn_app().await;
    let (status, body) = app.get("/api/v1/branches").await;
    assert_eq!(status, 200);
    assert_eq!(
        body[0],
        serde_json::json!({"id": "SMKT001", "name": "Central"})
    );
    assert_eq!(body.as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn any_origin_may_read_the_catalog_but_not_with_credentials() {
    // A POS page served by the purchases service (no edge) reads the
    // catalog from here, across origins.
    let app = spawn_app().await;
    for path in ["/api/v1/products", "/api/v1/branches"] {
        let response = app
            .http
            .get(format!("{}{path}", app.base))
            .header("origin", "http://127.0.0.1:8000")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(response.headers()["access-control-allow-origin"], "*");
        assert!(
            !response
                .headers()
                .contains_key("access-control-allow-credentials"),
            "{path}: the catalog is public, no cookies needed"
        );
    }
    // Only reads are offered: a browser's preflight for a write is not granted.
    let preflight = app
        .http
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/api/v1/products", app.base),
        )
        .header("origin", "http://127.0.0.1:8000")
        .header("access-control-request-method", "DELETE")
        .send()
        .await
        .unwrap();
    let granted = preflight
        .headers()
        .get("access-control-allow-methods")
        .map(|methods| methods.to_str().unwrap().to_owned())
        .unwrap_or_default();
    assert!(!granted.contains("DELETE"), "{preflight:?}");
}

#[tokio::test]
async fn health_ready_and_request_ids() {
    let app = spawn_app().await;
    let (status, _) = app.get("/health").await;
    assert_eq!(status, 200);
    let (status, body) = app.get("/ready").await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ready")));
    let response = app
        .http
        .get(format!("{}/api/v1/branches", app.base))
        .header("x-request-id", "req-42")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "req-42");
}

#[tokio::test]
async fn openapi_document_is_3_1_and_lists_the_paths() {
    let app = spawn_app().await;
    let (status, doc) = app.get("/openapi.json").await;
    assert_eq!(status, 200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    for path in [
        "/api/v1/products",
        "/api/v1/products/{id}",
        "/api/v1/branches",
    ] {
        assert!(doc["paths"][path]["get"].is_object(), "missing {path}");
    }
    for schema in ["ProductView", "BranchView", "Problem"] {
        assert!(
            doc["components"]["schemas"][schema].is_object(),
            "missing schema {schema}"
        );
    }
    let docs = app
        .http
        .get(format!("{}/docs/", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(docs.status().as_u16(), 200);
}

/// Schemathesis against the running service: tests/schemathesis.toml and the
/// catalog rules of tests/schemathesis_hooks.py.
#[tokio::test]
async fn schemathesis_finds_no_failing_check() {
    let app = spawn_app().await;
    let fuzz = supermarket_testkit::schemathesis::Fuzz {
        base_url: &app.base,
        crate_dir: env!("CARGO_MANIFEST_DIR"),
        bearer: None,
    };
    supermarket_testkit::schemathesis::run(fuzz).await;
}

/// Every operation reads the database, and says it may answer 503.
#[tokio::test]
async fn the_document_lists_the_unavailable_answer() {
    let app = spawn_app().await;
    let (status, doc) = app.get("/openapi.json").await;
    assert_eq!(status, 200);
    for path in [
        "/api/v1/products",
        "/api/v1/products/{id}",
        "/api/v1/branches",
    ] {
        let unavailable = &doc["paths"][path]["get"]["responses"]["503"];
        assert_eq!(
            unavailable["content"]["application/problem+json"]["schema"]["$ref"],
            "#/components/schemas/Problem",
            "{path}"
        );
    }
}
