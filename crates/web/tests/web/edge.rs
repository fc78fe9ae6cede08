//! The nginx edge (deploy/nginx, rendered as for production) in front of the
//! real services: routing, request ids, problem documents, rate limits.

use reqwest::StatusCode;

use crate::stack::Stack;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_edge_routes_tags_requests_limits_logins_and_reports_a_down_service() {
    let mut stack = Stack::start().await;
    let http = reqwest::Client::new();
    let edge = stack.edge.clone();

    let health = http.get(format!("{edge}/health")).send().await.expect("edge health");
    assert_eq!(health.status(), StatusCode::OK);

    // Routed to the products service, with a request id generated...
    let products = http.get(format!("{edge}/api/v1/products")).send().await.expect("products");
    assert_eq!(products.status(), StatusCode::OK);
    let generated = products.headers().get("x-request-id").and_then(|v| v.to_str().ok()).map(str::to_owned);
    assert!(generated.as_deref().is_some_and(|id| id.len() >= 16), "a generated request id: {generated:?}");
    let list: serde_json::Value = products.json().await.expect("JSON");
    assert_eq!(list.as_array().map(Vec::len), Some(10));
    // ... or the caller's, propagated.
    let tagged = http.get(format!("{edge}/top-products")).header("x-request-id", "till-7-sale-42").send().await.expect("top products");
    assert_eq!(tagged.status(), StatusCode::OK);
    assert_eq!(tagged.headers()["x-request-id"], "till-7-sale-42");

    // `/` leads to the POS; unknown paths are problems.
    let root = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    let response = root.get(format!("{edge}/")).send().await.expect("root");
    assert_eq!(response.status(), StatusCode::FOUND);
    assert!(response.headers()["location"].to_str().expect("location").ends_with("/pos"));
    let missing = http.get(format!("{edge}/no/such/thing")).send().await.expect("404");
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert_eq!(missing.headers()["content-type"], "application/problem+json");

    // Login attempts are rate limited at the edge (10/min, burst 5): 429 problem with Retry-After.
    let mut statuses = Vec::new();
    for _ in 0..10 {
        let response = http.post(format!("{edge}/auth/login")).json(&serde_json::json!({"token": "not-a-real-token-xxxx"})).send().await.expect("login");
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            assert!(response.headers().contains_key("retry-after"));
            assert_eq!(response.headers()["content-type"], "application/problem+json");
        }
        statuses.push(response.status());
    }
    assert!(statuses[..3].iter().all(|s| *s == StatusCode::UNAUTHORIZED), "the first wrong logins are 401: {statuses:?}");
    assert_eq!(statuses.last(), Some(&StatusCode::TOO_MANY_REQUESTS), "then 429: {statuses:?}");

    // The purchases service down: a 503 problem the POS knows to retry.
    stack.stop_purchases().await;
    let sale = http
        .post(format!("{edge}/api/v1/purchases"))
        .header("idempotency-key", "0b5a1d4e-3f8c-4a8e-9c1e-2f6d7a8b9c0d")
        .json(&serde_json::json!({"branch_id": "SMKT001", "items": ["milk"]}))
        .send()
        .await
        .expect("sale while down");
    assert_eq!(sale.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(sale.headers()["content-type"], "application/problem+json");
    assert!(sale.headers().contains_key("retry-after"));

    stack.stop().await;
}
