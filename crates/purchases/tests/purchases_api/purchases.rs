//! Successful sales: receipts, totals, storage, outbox, catalog refresh.

use std::time::Duration;

use serde_json::json;

use crate::helpers::{assert_problem, spawn_app};

#[tokio::test]
async fn a_sale_is_stored_with_items_and_an_outbox_row() {
    let app = spawn_app().await;
    let customer = "01e1e159-8045-43c2-88dd-5682b18bd680";
    // A client total is ignored: the catalog prices the basket.
    let body = json!({"branch_id": "SMKT002", "customer_id": customer, "items": ["Bread", 1, {"product": "toilet paper", "quantity": 1}], "total": 0.01});
    let answer = app.post("/api/v1/purchases", &body, None).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    let receipt = &answer.body;
    let id = receipt["purchase_id"].as_str().unwrap().to_owned();
    assert_eq!(
        answer.headers["location"],
        format!("/api/v1/purchases/{id}")
    );
    assert!(answer.headers.get("idempotent-replayed").is_none());
    assert_eq!(receipt["branch_id"], "SMKT002");
    assert_eq!(receipt["customer_id"], customer);
    assert_eq!(receipt["total_cents"], 750);
    assert_eq!(receipt["total"], "7.50");
    assert_eq!(
        receipt["items"][0],
        json!({"product_id": 1, "name": "milk", "unit_price_cents": 150, "unit_price": "1.50"})
    );
    assert_eq!(receipt["items"][2]["name"], "toilet paper");
    let at =
        chrono::DateTime::parse_from_rfc3339(receipt["purchased_at"].as_str().unwrap()).unwrap();
    assert!((chrono::Utc::now() - at.to_utc()).num_seconds().abs() < 60);
    assert!(receipt["purchased_at"].as_str().unwrap().ends_with('Z'));

    let (id, customer) = (
        id.parse::<uuid::Uuid>().unwrap(),
        customer.parse::<uuid::Uuid>().unwrap(),
    );
    let db = &app.db;
    let count =
        |sql: &'static str, id: uuid::Uuid| async move { db.oltp_count_with(sql, &[&id]).await };
    let stored = "SELECT count(*) FROM purchases WHERE id = $1 AND total_cents = 750 AND source = 'pos' AND branch_id = 'SMKT002'";
    assert_eq!(count(stored, id).await, 1);
    assert_eq!(
        count(
            "SELECT count(*) FROM purchase_items WHERE purchase_id = $1",
            id
        )
        .await,
        3
    );
    assert_eq!(
        count(
            "SELECT sum(unit_price_cents)::int8 FROM purchase_items WHERE purchase_id = $1",
            id
        )
        .await,
        750
    );
    assert_eq!(
        count(
            "SELECT count(*) FROM outbox WHERE event_id = $1 AND event_type = 'purchase.created'",
            id
        )
        .await,
        1
    );
    assert_eq!(
        count("SELECT count(*) FROM customers WHERE id = $1", customer).await,
        1
    );

    // The receipt can be read back, identical.
    let again = app.get(&format!("/api/v1/purchases/{id}")).await;
    assert_eq!(again.status, 200);
    assert_eq!(&again.body, receipt);
}

#[tokio::test]
async fn without_a_customer_the_server_assigns_one() {
    let app = spawn_app().await;
    let answer = app
        .post(
            "/api/v1/purchases",
            &json!({"branch_id": "SMKT001", "items": ["milk"]}),
            None,
        )
        .await;
    assert_eq!(answer.status, 201);
    let customer =
        uuid::Uuid::parse_str(answer.body["customer_id"].as_str().unwrap()).expect("a UUID");
    assert_eq!(
        app.db
            .oltp_count_with("SELECT count(*) FROM customers WHERE id = $1", &[&customer])
            .await,
        1
    );
}

#[tokio::test]
async fn without_a_key_each_request_is_a_new_purchase() {
    let app = spawn_app().await;
    let body = json!({"branch_id": "SMKT001", "customer_id": "01e1e159-8045-43c2-88dd-5682b18bd680", "items": ["milk"]});
    for _ in 0..3 {
        assert_eq!(app.post("/api/v1/purchases", &body, None).await.status, 201);
    }
    assert_eq!(app.count("SELECT count(*) FROM purchases").await, 3);
    assert_eq!(app.count("SELECT count(*) FROM outbox").await, 3);
    assert_eq!(app.count("SELECT count(*) FROM customers").await, 1);
}

#[tokio::test]
async fn the_seed_endpoint_takes_both_item_list_shapes() {
    let app = spawn_app().await;
    let user = "9f0c6a9e-34f5-4b53-9a4e-3a6f5f7f0d11";
    let answer = app.post("/purchase", &json!({"supermarket_id": "SMKT003", "user_id": user, "items_list": ["milk", "toilet paper"]}), None).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    assert_eq!(
        (
            answer.body["total_cents"].as_i64(),
            answer.body["customer_id"].as_str()
        ),
        (Some(550), Some(user))
    );
    let answer = app
        .post(
            "/purchase",
            &json!({"supermarket_id": "SMKT003", "items_list": "eggs,toilet paper,bread"}),
            None,
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    assert_eq!(answer.body["total"], "9.00");
    assert_eq!(answer.body["items"].as_array().unwrap().len(), 3);
    assert_problem(
        &app.post(
            "/purchase",
            &json!({"supermarket_id": "SMKT003", "items_list": "milk,milk"}),
            None,
        )
        .await,
        422,
        "repeated-product",
        "milk",
    );
    assert_problem(
        &app.post(
            "/purchase",
            &json!({"supermarket_id": "SMKT003", "items_list": ""}),
            None,
        )
        .await,
        422,
        "empty-basket",
        "",
    );
    assert_problem(
        &app.post(
            "/purchase",
            &json!({"supermarket_id": "X", "items_list": "milk"}),
            None,
        )
        .await,
        422,
        "unknown-branch",
        "`X`",
    );
    assert_eq!(app.count("SELECT count(*) FROM purchases").await, 2);
}

#[tokio::test]
async fn a_price_change_reaches_the_service_by_notification() {
    // A long poll period: only the NOTIFY can explain a quick refresh.
    let app = crate::helpers::spawn_app_with(|config| config.catalog_refresh_secs = 3600).await;
    let body = json!({"branch_id": "SMKT001", "items": ["milk"]});
    assert_eq!(
        app.post("/api/v1/purchases", &body, None).await.body["total_cents"],
        150
    );
    app.db
        .oltp()
        .await
        .execute(
            "UPDATE products SET price_cents = 175 WHERE name = 'milk'",
            &[],
        )
        .await
        .unwrap();
    app.db
        .oltp()
        .await
        .execute(
            "INSERT INTO products (id, name, price_cents) VALUES (11, 'butter', 260)",
            &[],
        )
        .await
        .unwrap();
    let mut last = None;
    for _ in 0..50 {
        let answer = app
            .post(
                "/api/v1/purchases",
                &json!({"branch_id": "SMKT001", "items": ["milk", "butter"]}),
                None,
            )
            .await;
        if answer.status == 201 {
            last = Some(answer.body);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let receipt = last.expect("the new catalog was never loaded");
    assert_eq!(receipt["total_cents"], 435);
    // The old sale keeps the price it was sold at.
    assert_eq!(
        app.count(
            "SELECT count(*) FROM purchase_items WHERE product_id = 1 AND unit_price_cents = 150"
        )
        .await,
        1
    );
    // The new product is priced from the reloaded catalog too.
    let butter = receipt["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|item| item["product_id"] == 11)
        .expect("butter on the receipt");
    assert_eq!(butter["unit_price_cents"], 260);
}

#[tokio::test]
async fn request_ids_are_echoed_and_health_answers() {
    let app = spawn_app().await;
    let response = app
        .http
        .post(format!("{}/api/v1/purchases", app.base))
        .header("x-request-id", "till-7-sale-42")
        .json(&json!({"branch_id": "SMKT001", "items": ["milk"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "till-7-sale-42");
    assert_eq!(app.get("/health").await.status, 200);
    assert_eq!(app.get("/ready").await.body["status"], "ready");
    assert_eq!(app.get("/").await.body["docs"], "/docs");
    // The catalog has one source, the products service: not served here.
    assert_eq!(app.get("/api/v1/branches").await.status, 404);
    assert_eq!(app.get("/api/v1/products").await.status, 404);
}

#[tokio::test]
async fn a_database_outage_is_a_503_not_a_hang() {
    let app = spawn_app().await;
    // Cut every connection of the test database and refuse new ones.
    let admin = supermarket_storage::connect(&supermarket_testkit::db::admin_url(), "DATABASE_URL")
        .await
        .unwrap();
    let name = app.db.oltp_url.rsplit('/').next().unwrap().to_owned();
    admin
        .batch_execute(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false"))
        .await
        .unwrap();
    admin
        .execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
            &[&name],
        )
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let answer = app
        .post(
            "/api/v1/purchases",
            &json!({"branch_id": "SMKT001", "items": ["milk"]}),
            None,
        )
        .await;
    assert_problem(&answer, 503, "unavailable", "");
    assert!(answer.headers.get("retry-after").is_some());
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(app.get("/ready").await.status, 503);
    admin
        .batch_execute(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true"))
        .await
        .unwrap();
    // And it recovers.
    let answer = app
        .post(
            "/api/v1/purchases",
            &json!({"branch_id": "SMKT001", "items": ["milk"]}),
            None,
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.body);
}
