//! The analytics API: the original contract's exact shapes, the v1 reports,
//! and problem documents for bad input.

use serde_json::json;
use supermarket_testkit::{TestDatabases, TestNats};
use uuid::Uuid;

use crate::helpers::*;

/// Units sold 10, 10, 9, 9, 8 for products a..e; customers A (4 purchases),
/// B (3), C (2), D (1), everyone else once.
async fn seed_ties(db: &TestDatabases, nats: &TestNats) -> [Uuid; 4] {
    let customers = [
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
    ];
    let products = [
        (11, "a", 100),
        (12, "b", 100),
        (13, "c", 100),
        (14, "d", 100),
        (15, "e", 100),
    ];
    let units = [10, 10, 9, 9, 8];
    let mut owners = Vec::new();
    for (i, n) in [4, 3, 2, 1].iter().enumerate() {
        owners.extend(std::iter::repeat_n(customers[i], *n));
    }
    let mut events = Vec::new();
    for (product, count) in products.iter().zip(units) {
        for _ in 0..count {
            let customer = owners.pop().unwrap_or_else(Uuid::now_v7);
            events.push(event(
                customer,
                "SMKT002",
                "2025-05-01T10:20:00Z",
                &[*product],
            ));
        }
    }
    publish(nats, &events).await;
    let mut consumer = consumer(db, nats, 30, "UTC").await;
    consume(&mut consumer, events.len()).await;
    customers
}

#[tokio::test]
async fn the_original_endpoints_keep_their_shapes_ties_and_threshold() {
    let (db, nats) = (TestDatabases::new().await, TestNats::new().await);
    let [a, b, c, _d] = seed_ties(&db, &nats).await;
    let api = Api::start(&db, 3, "UTC").await;

    let (status, top) = api.get("/top-products").await;
    assert_eq!(status, 200);
    assert_eq!(
        top,
        json!({"products": [
            {"product": "a", "units_sold": 10, "rank": 1},
            {"product": "b", "units_sold": 10, "rank": 1},
            {"product": "c", "units_sold": 9, "rank": 3},
            {"product": "d", "units_sold": 9, "rank": 3},
        ]})
    );

    // 46 purchases: A, B, C, D and 46 - 10 others.
    assert_eq!(
        api.get("/unique-customers").await,
        (200, json!({"unique_customers": 4 + 36}))
    );

    let (status, loyal) = api.get("/loyal-customers").await;
    assert_eq!(status, 200);
    assert_eq!(
        loyal,
        json!({"min_purchases": 3, "count": 2, "customers": [
            {"customer_id": a, "purchases": 4}, {"customer_id": b, "purchases": 3},
        ]})
    );
    let (_, page) = api.get("/loyal-customers?limit=1&offset=1").await;
    assert_eq!(page["count"], 2);
    assert_eq!(
        page["customers"],
        json!([{"customer_id": b, "purchases": 3}])
    );

    // Another threshold, same read models.
    let api2 = Api::start(&db, 2, "UTC").await;
    let (_, loyal2) = api2.get("/loyal-customers").await;
    assert_eq!(loyal2["count"], 3);
    assert_eq!(
        loyal2["customers"][2],
        json!({"customer_id": c, "purchases": 2})
    );

    let (status, info) = api.get("/").await;
    assert_eq!(status, 200);
    assert_eq!(info["name"], "supermarket-analytics");
    assert!(
        info["endpoints"]
            .as_array()
            .is_some_and(|e| e.iter().any(|p| p == "GET /top-products"))
    );
    assert_eq!(api.get("/health").await.0, 200);
    assert_eq!(api.get("/ready").await.0, 200);
    let (status, openapi) = api.get("/openapi.json").await;
    assert_eq!(status, 200);
    assert!(openapi["paths"]["/api/v1/analytics/customers/{id}"].is_object());
    nats.cleanup().await;
}

#[tokio::test]
async fn v1_reports_and_problems() {
    let (db, nats) = (TestDatabases::new().await, TestNats::new().await);
    let [a, ..] = seed_ties(&db, &nats).await;
    let api = Api::start(&db, 3, "UTC").await;

    let (status, daily) = api
        .get("/api/v1/analytics/sales/daily?from=2025-04-30&to=2025-05-02")
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        daily,
        json!([{"day": "2025-05-01", "branch_id": "SMKT002", "purchases": 46, "revenue_cents": 4600}])
    );
    let (_, none) = api
        .get("/api/v1/analytics/sales/daily?from=2025-04-30&to=2025-05-02&branch=SMKT001")
        .await;
    assert_eq!(none, json!([]));
    let (_, hourly) = api
        .get("/api/v1/analytics/sales/hourly?from=2025-05-01&to=2025-05-01")
        .await;
    assert_eq!(
        hourly,
        json!([{"day": "2025-05-01", "hour": 10, "branch_id": "SMKT002", "purchases": 46, "revenue_cents": 4600}])
    );

    let (status, kpis) = api.get("/api/v1/analytics/kpis").await;
    assert_eq!(status, 200);
    assert_eq!(
        (kpis["purchases"].clone(), kpis["revenue_cents"].clone()),
        (json!(46), json!(4600))
    );
    assert_eq!(
        (
            kpis["unique_customers"].clone(),
            kpis["loyal_customers"].clone()
        ),
        (json!(40), json!(2))
    );
    assert_eq!(kpis["today"]["purchases"], 0);

    let (status, summary) = api.get(&format!("/api/v1/analytics/customers/{a}")).await;
    assert_eq!(status, 200);
    assert_eq!(summary["purchases"], 4);
    assert_eq!(summary["total_spent_cents"], 400);
    assert_eq!(summary["loyal"], true);
    assert_eq!(summary["first_purchase_at"], "2025-05-01T10:20:00Z");

    let (status, page) = api.get("/api/v1/analytics/loyal-customers?limit=10").await;
    assert_eq!(status, 200);
    assert_eq!(
        (
            page["total"].clone(),
            page["customers"][0]["customer_id"].clone()
        ),
        (json!(2), json!(a))
    );
    let prefix = &a.simple().to_string()[..24];
    let (_, found) = api
        .get(&format!(
            "/api/v1/analytics/loyal-customers?prefix={prefix}"
        ))
        .await;
    assert_eq!(found["customers"].as_array().map(Vec::len), Some(1));
    assert_eq!(found["customers"][0]["customer_id"], json!(a));

    let (status, fresh) = api.get("/api/v1/analytics/freshness").await;
    assert_eq!(status, 200);
    assert_eq!(fresh["events_applied"], 46);
    assert!(fresh["lag_seconds"].as_f64().is_some_and(|lag| lag >= 0.0));

    for (path, expected) in [
        (
            format!("/api/v1/analytics/customers/{}", Uuid::now_v7()),
            404,
        ),
        ("/api/v1/analytics/customers/not-a-uuid".to_owned(), 400),
        ("/loyal-customers?limit=-1".to_owned(), 400),
        ("/loyal-customers?limit=abc".to_owned(), 400),
        (
            "/api/v1/analytics/sales/daily?from=2025-13-01".to_owned(),
            400,
        ),
        (
            "/api/v1/analytics/sales/daily?from=2025-05-02&to=2025-05-01".to_owned(),
            400,
        ),
        (
            "/api/v1/analytics/sales/daily?from=2020-01-01&to=2025-05-01".to_owned(),
            400,
        ),
        (
            "/api/v1/analytics/sales/daily?branch=bad%20id".to_owned(),
            400,
        ),
        (
            "/api/v1/analytics/loyal-customers?prefix=xyz".to_owned(),
            400,
        ),
        (
            "/api/v1/analytics/loyal-customers?limit=5000".to_owned(),
            400,
        ),
        ("/no-such-thing".to_owned(), 404),
    ] {
        let (status, problem) = api.get(&path).await;
        assert_eq!(status, expected, "{path}: {problem}");
        assert_eq!(problem["status"], expected, "{path}");
        assert!(
            problem["type"].is_string() && problem["title"].is_string(),
            "{path}"
        );
    }
    nats.cleanup().await;
}

/// Dates are `YYYY-MM-DD` and nothing wider. chrono's parser also takes
/// signed and six-digit years, and `to=-262143-01-01` then made the default
/// `from` (29 days earlier) overflow: the handler panicked and the client
/// got its connection dropped instead of an answer.
#[tokio::test]
async fn dates_are_plain_full_dates_and_ranges_have_their_own_problem() {
    let db = TestDatabases::new().await;
    let api = Api::start(&db, 3, "UTC").await;
    for query in [
        "to=-262143-01-01",
        "to=%2B2025-05-01",
        "from=2025-5-1",
        "from=20250501",
        "to=2025-02-30",
    ] {
        for report in ["daily", "hourly"] {
            let path = format!("/api/v1/analytics/sales/{report}?{query}");
            let (status, problem) = api.get(&path).await;
            assert_eq!(status, 400, "{path}: {problem}");
            assert_eq!(problem["type"], "/problems/invalid-parameter", "{path}");
        }
    }
    for path in [
        "/api/v1/analytics/sales/daily?from=2025-05-02&to=2025-05-01",
        "/api/v1/analytics/sales/daily?from=2024-01-01&to=2025-05-01",
        "/api/v1/analytics/sales/hourly?from=2025-03-31&to=2025-05-01",
    ] {
        let (status, problem) = api.get(path).await;
        assert_eq!(status, 400, "{path}: {problem}");
        assert_eq!(problem["type"], "/problems/invalid-range", "{path}");
    }
    for path in [
        "/api/v1/analytics/sales/daily?to=0000-01-01",
        "/api/v1/analytics/sales/daily?from=2025-05-01&to=2025-05-31&branch=SMKT001",
        "/api/v1/analytics/sales/hourly?from=2025-04-02&to=2025-05-01",
        "/api/v1/analytics/loyal-customers?limit=0",
    ] {
        let (status, body) = api.get(path).await;
        assert_eq!(status, 200, "{path}: {body}");
    }
}

/// The document states the limits the handlers enforce, and the owner's
/// bearer token on every report (found by schemathesis: negative `limit` and
/// `offset` were documented as valid, the 503 and the access answers not at
/// all).
#[tokio::test]
async fn the_document_states_the_parameter_rules_and_access() {
    let db = TestDatabases::new().await;
    let api = Api::start(&db, 3, "UTC").await;
    let (_, doc) = api.get("/openapi.json").await;
    let parameter = |path: &str, name: &str| {
        doc["paths"][path]["get"]["parameters"]
            .as_array()
            .and_then(|all| all.iter().find(|p| p["name"] == name))
            .cloned()
            .unwrap_or_default()
    };
    for path in ["/loyal-customers", "/api/v1/analytics/loyal-customers"] {
        for name in ["limit", "offset"] {
            let schema = &parameter(path, name)["schema"];
            assert_eq!(schema["type"], "integer", "{path} {name}");
            assert_eq!(schema["minimum"], 0, "{path} {name}");
        }
    }
    assert_eq!(
        parameter("/api/v1/analytics/loyal-customers", "limit")["schema"]["maximum"],
        1000
    );
    assert_eq!(
        parameter("/api/v1/analytics/loyal-customers", "prefix")["schema"]["pattern"],
        "^-*([0-9a-fA-F]-*){1,32}$"
    );
    for path in [
        "/api/v1/analytics/sales/daily",
        "/api/v1/analytics/sales/hourly",
    ] {
        assert_eq!(
            parameter(path, "from")["schema"],
            json!({"type": "string", "format": "date"}),
            "{path}"
        );
        assert_eq!(
            parameter(path, "branch")["schema"]["pattern"],
            supermarket_domain::branch::BRANCH_ID_PATTERN,
            "{path}"
        );
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    let paths = doc["paths"].as_object().expect("paths");
    assert_eq!(paths.len(), 10);
    for (path, item) in paths {
        let responses = &item["get"]["responses"];
        if path == "/" {
            assert!(item["get"].get("security").is_none());
            continue;
        }
        assert_eq!(item["get"]["security"], json!([{"bearer": []}]), "{path}");
        for status in ["401", "403", "429", "503"] {
            assert_eq!(
                responses[status]["content"]["application/problem+json"]["schema"]["$ref"],
                "#/components/schemas/Problem",
                "{path} {status}"
            );
        }
    }
}
