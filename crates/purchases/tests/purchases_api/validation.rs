//! Every way a request can be refused, and that nothing is stored then.

use serde_json::json;

use crate::helpers::{assert_problem, spawn_app};

#[tokio::test]
async fn each_rule_has_its_own_problem() {
    let app = spawn_app().await;
    let customer = "01e1e159-8045-43c2-88dd-5682b18bd680";
    let cases = [
        (
            json!({"branch_id": "SMKT001", "items": ["milk", "bread", "milk"]}),
            422,
            "repeated-product",
            "milk",
        ),
        (
            json!({"branch_id": "SMKT001", "items": ["milk", 1]}),
            422,
            "repeated-product",
            "milk",
        ),
        (
            json!({"branch_id": "SMKT001", "items": [{"product": "eggs", "quantity": 2}]}),
            422,
            "invalid-quantity",
            "eggs",
        ),
        (
            json!({"branch_id": "SMKT001", "items": [{"product": "eggs", "quantity": 0}]}),
            422,
            "invalid-quantity",
            "quantity 0",
        ),
        (
            json!({"branch_id": "SMKT001", "items": ["milk", "caviar"]}),
            422,
            "unknown-product",
            "caviar",
        ),
        (
            json!({"branch_id": "SMKT001", "items": [99]}),
            422,
            "unknown-product",
            "99",
        ),
        (
            json!({"branch_id": "SMKT009", "items": ["milk"]}),
            422,
            "unknown-branch",
            "SMKT009",
        ),
        (
            json!({"branch_id": "SMKT001", "items": []}),
            422,
            "empty-basket",
            "empty",
        ),
        (
            json!({"branch_id": "SMKT001", "customer_id": "bob", "items": ["milk"]}),
            422,
            "invalid-customer-id",
            "bob",
        ),
        (
            json!({"branch_id": "SMKT001", "items": [true]}),
            422,
            "invalid-item",
            "item 0",
        ),
        (
            json!({"branch_id": "SMKT001", "customer_id": customer}),
            422,
            "invalid-body",
            "items",
        ),
        (json!({"items": ["milk"]}), 422, "invalid-body", "branch_id"),
    ];
    for (body, status, kind, needle) in cases {
        let answer = app.post("/api/v1/purchases", &body, None).await;
        assert_problem(&answer, status, kind, needle);
        assert!(answer.body["request_id"].is_string());
        assert_eq!(answer.body["instance"], "/api/v1/purchases");
    }
    assert_eq!(app.count("SELECT count(*) FROM purchases").await, 0);
    assert_eq!(app.count("SELECT count(*) FROM outbox").await, 0);
}

#[tokio::test]
async fn malformed_oversized_and_non_json_bodies() {
    let app = spawn_app().await;
    let answer = app
        .post_raw(
            "/api/v1/purchases",
            "{\"branch_id\": \"SMKT001\",",
            "application/json",
        )
        .await;
    assert_problem(&answer, 400, "malformed-json", "");
    let answer = app
        .post_raw(
            "/api/v1/purchases",
            "branch_id=SMKT001",
            "application/x-www-form-urlencoded",
        )
        .await;
    assert_problem(&answer, 415, "unsupported-media-type", "application/json");
    let huge = json!({"branch_id": "SMKT001", "items": vec!["milk"; 10_000]}).to_string();
    assert!(huge.len() > 16 * 1024);
    let answer = app
        .post_raw("/api/v1/purchases", huge, "application/json")
        .await;
    assert_problem(&answer, 413, "body-too-large", "size limit");
}

#[tokio::test]
async fn a_malformed_idempotency_key_is_a_400() {
    let app = spawn_app().await;
    let answer = app
        .post(
            "/api/v1/purchases",
            &json!({"branch_id": "SMKT001", "items": ["milk"]}),
            Some("not-a-uuid"),
        )
        .await;
    assert_problem(&answer, 400, "invalid-idempotency-key", "not-a-uuid");
    assert_eq!(app.count("SELECT count(*) FROM purchases").await, 0);
}

#[tokio::test]
async fn unknown_paths_and_bad_ids() {
    let app = spawn_app().await;
    assert_problem(
        &app.get("/api/v1/purchases/not-a-uuid").await,
        400,
        "invalid-purchase-id",
        "not-a-uuid",
    );
    assert_problem(
        &app.get(&format!("/api/v1/purchases/{}", uuid::Uuid::new_v4()))
            .await,
        404,
        "not-found",
        "no purchase",
    );
    assert_problem(&app.get("/api/v1/nothing").await, 404, "not-found", "");
}
