//! Idempotency keys: replays, reuse, and a burst of identical retries.

use serde_json::json;

use crate::helpers::{assert_problem, spawn_app};

#[tokio::test]
async fn the_same_key_and_body_replay_the_original_receipt() {
    let app = spawn_app().await;
    let key = uuid::Uuid::new_v4().to_string();
    let body = json!({"branch_id": "SMKT001", "items": ["milk", "eggs"]});
    let first = app.post("/api/v1/purchases", &body, Some(&key)).await;
    assert_eq!(first.status, 201);
    // Same sale, spelled differently: still the same request.
    let same = json!({"branch_id": "SMKT001", "items": [3, {"product": "MILK", "quantity": 1}]});
    let second = app.post("/api/v1/purchases", &same, Some(&key)).await;
    assert_eq!(second.status, 201);
    assert_eq!(second.headers["idempotent-replayed"], "true");
    assert_eq!(second.headers["location"], first.headers["location"]);
    assert_eq!(
        second.body, first.body,
        "the replay is the original receipt (server-assigned customer included)"
    );
    assert_eq!(app.count("SELECT count(*) FROM purchases").await, 1);
    assert_eq!(
        app.count("SELECT count(*) FROM outbox").await,
        1,
        "a replay writes no outbox row"
    );
    // The seed endpoint shares the keys.
    let seed = app
        .post(
            "/purchase",
            &json!({"supermarket_id": "SMKT001", "items_list": "eggs,milk"}),
            Some(&key),
        )
        .await;
    assert_eq!(seed.body, first.body);
}

#[tokio::test]
async fn the_same_key_with_another_body_is_a_409() {
    let app = spawn_app().await;
    let key = uuid::Uuid::new_v4().to_string();
    assert_eq!(
        app.post(
            "/api/v1/purchases",
            &json!({"branch_id": "SMKT001", "items": ["milk"]}),
            Some(&key)
        )
        .await
        .status,
        201
    );
    let other = app
        .post(
            "/api/v1/purchases",
            &json!({"branch_id": "SMKT001", "items": ["bread"]}),
            Some(&key),
        )
        .await;
    assert_problem(&other, 409, "idempotency-key-reused", &key);
    let other_branch = app
        .post(
            "/api/v1/purchases",
            &json!({"branch_id": "SMKT002", "items": ["milk"]}),
            Some(&key),
        )
        .await;
    assert_problem(&other_branch, 409, "idempotency-key-reused", &key);
    assert_eq!(app.count("SELECT count(*) FROM purchases").await, 1);
}

#[tokio::test]
async fn twenty_identical_requests_at_once_make_one_purchase() {
    let app = spawn_app().await;
    let key = uuid::Uuid::new_v4().to_string();
    let body = json!({"branch_id": "SMKT002", "customer_id": "01e1e159-8045-43c2-88dd-5682b18bd680", "items": ["cheese", "apples"]});
    let answers = futures_util::future::join_all(
        (0..20).map(|_| app.post("/api/v1/purchases", &body, Some(&key))),
    )
    .await;
    let ids: std::collections::HashSet<String> = answers
        .iter()
        .map(|a| {
            assert_eq!(a.status, 201, "{}", a.body);
            a.body["purchase_id"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(ids.len(), 1, "every answer names the same purchase");
    let replays = answers
        .iter()
        .filter(|a| a.headers.get("idempotent-replayed").is_some())
        .count();
    assert_eq!(replays, 19);
    assert_eq!(app.count("SELECT count(*) FROM purchases").await, 1);
    assert_eq!(app.count("SELECT count(*) FROM purchase_items").await, 2);
    assert_eq!(app.count("SELECT count(*) FROM outbox").await, 1);
}

#[tokio::test]
async fn concurrent_identical_keys_across_writers_and_batches() {
    // One purchase per batch and many writers: the duplicates meet in the
    // database (ON CONFLICT), not in memory.
    let app = crate::helpers::spawn_app_with(|config| {
        config.batch_max = 1;
        config.writers = 8;
    })
    .await;
    let key = uuid::Uuid::new_v4().to_string();
    let body = json!({"branch_id": "SMKT003", "items": ["yogurt"]});
    let answers = futures_util::future::join_all(
        (0..20).map(|_| app.post("/api/v1/purchases", &body, Some(&key))),
    )
    .await;
    assert!(answers.iter().all(|a| a.status == 201));
    let first = &answers[0].body["purchase_id"];
    assert!(answers.iter().all(|a| &a.body["purchase_id"] == first));
    assert_eq!(app.count("SELECT count(*) FROM purchases").await, 1);
    assert_eq!(app.count("SELECT count(*) FROM outbox").await, 1);
}
