//! The nginx edge (deploy/nginx, rendered as for production) in front of the
//! real services: routing (the POS and the login routes to the purchases
//! service, the dashboard to the analytics API), request ids, problem
//! documents, rate limits, a down service.

use reqwest::StatusCode;

use crate::stack::{CASHIER, OWNER, Stack};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_edge_routes_tags_requests_limits_logins_and_reports_a_down_service() {
    let mut stack = Stack::start().await;
    let http = reqwest::Client::new();
    let manual = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let edge = stack.edge.clone();
    let (purchases, analytics, products) = (
        stack.purchases_port,
        stack.analytics_port,
        stack.products_port,
    );

    let health = http
        .get(format!("{edge}/health"))
        .send()
        .await
        .expect("edge health");
    assert_eq!(health.status(), StatusCode::OK);

    // Routed to the products service, with a request id generated...
    let response = http
        .get(format!("{edge}/api/v1/products"))
        .send()
        .await
        .expect("products");
    assert_eq!(response.status(), StatusCode::OK);
    let generated = response
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    assert!(
        generated.as_deref().is_some_and(|id| id.len() >= 16),
        "a generated request id: {generated:?}"
    );
    let list: serde_json::Value = response.json().await.expect("JSON");
    assert_eq!(list.as_array().map(Vec::len), Some(10));
    assert_eq!(
        stack.upstream_port("/api/v1/products").await,
        Some(products)
    );
    // ... or the caller's, propagated.
    let tagged = http
        .get(format!("{edge}/top-products"))
        .bearer_auth(OWNER)
        .header("x-request-id", "till-7-sale-42")
        .send()
        .await
        .expect("top products");
    assert_eq!(tagged.status(), StatusCode::OK);
    assert_eq!(tagged.headers()["x-request-id"], "till-7-sale-42");
    assert_eq!(stack.upstream_port("/top-products").await, Some(analytics));

    // `/` leads to the POS; unknown paths are problems.
    let response = manual.get(format!("{edge}/")).send().await.expect("root");
    assert_eq!(response.status(), StatusCode::FOUND);
    assert!(
        response.headers()["location"]
            .to_str()
            .expect("location")
            .ends_with("/pos")
    );
    let missing = http
        .get(format!("{edge}/no/such/thing"))
        .send()
        .await
        .expect("404");
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        missing.headers()["content-type"],
        "application/problem+json"
    );

    // The pages come from the services that mount them: the POS, its assets
    // and the login routes from purchases; the dashboard and its assets from
    // the analytics API. A browser without a session is sent to the login page.
    let page = |path: &str| {
        manual
            .get(format!("{edge}{path}"))
            .header("accept", "text/html")
            .send()
    };
    let response = page("/pos").await.expect("POS");
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/login?next=/pos");
    assert_eq!(stack.upstream_port("/pos").await, Some(purchases));
    let response = page("/dashboard").await.expect("dashboard");
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/login?next=/dashboard");
    assert_eq!(stack.upstream_port("/dashboard").await, Some(analytics));
    for (path, port, content_type) in [
        ("/login", purchases, "text/html"),
        ("/pos/pos.js", purchases, "text/javascript"),
        ("/pos/common.css", purchases, "text/css"),
        ("/dashboard/dashboard.js", analytics, "text/javascript"),
        (
            "/dashboard/vendor/chart.umd.min.js",
            analytics,
            "text/javascript",
        ),
    ] {
        let response = page(path).await.expect(path);
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let served_as = response.headers()["content-type"]
            .to_str()
            .expect("content type")
            .to_owned();
        assert!(served_as.starts_with(content_type), "{path} is {served_as}");
        assert_eq!(
            stack.upstream_port(path).await,
            Some(port),
            "{path} is served by the service on {port}"
        );
    }
    let whoami = http
        .get(format!("{edge}/auth/whoami"))
        .bearer_auth(CASHIER)
        .send()
        .await
        .expect("whoami");
    assert_eq!(whoami.status(), StatusCode::OK);
    assert_eq!(stack.upstream_port("/auth/whoami").await, Some(purchases));
    // The roles hold behind the edge too.
    let pos = page("/pos").await.expect("POS");
    assert_eq!(pos.status(), StatusCode::SEE_OTHER);
    let as_cashier = http
        .get(format!("{edge}/pos"))
        .bearer_auth(CASHIER)
        .send()
        .await
        .expect("POS as cashier");
    assert_eq!(as_cashier.status(), StatusCode::OK);
    let as_cashier = http
        .get(format!("{edge}/dashboard"))
        .bearer_auth(CASHIER)
        .send()
        .await
        .expect("dashboard as cashier");
    assert_eq!(as_cashier.status(), StatusCode::FORBIDDEN);
    let as_owner = http
        .get(format!("{edge}/dashboard"))
        .bearer_auth(OWNER)
        .send()
        .await
        .expect("dashboard as owner");
    assert_eq!(as_owner.status(), StatusCode::OK);

    // Login attempts are rate limited at the edge (10/min, burst 5): 429 problem with Retry-After.
    let mut statuses = Vec::new();
    for _ in 0..10 {
        let response = http
            .post(format!("{edge}/auth/login"))
            .json(&serde_json::json!({"token": "not-a-real-token-xxxx"}))
            .send()
            .await
            .expect("login");
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            assert!(response.headers().contains_key("retry-after"));
            assert_eq!(
                response.headers()["content-type"],
                "application/problem+json"
            );
        }
        statuses.push(response.status());
    }
    assert!(
        statuses[..3].iter().all(|s| *s == StatusCode::UNAUTHORIZED),
        "the first wrong logins are 401: {statuses:?}"
    );
    assert_eq!(
        statuses.last(),
        Some(&StatusCode::TOO_MANY_REQUESTS),
        "then 429: {statuses:?}"
    );
    assert_eq!(
        stack.upstream_port("/auth/login").await,
        None,
        "the last one was refused by nginx itself"
    );

    // The purchases service down: a 503 problem the POS knows to retry; the
    // POS page is down with it, the dashboard is not.
    stack.stop_purchases().await;
    let sale = http
        .post(format!("{edge}/api/v1/purchases"))
        .bearer_auth(CASHIER)
        .header("idempotency-key", "0b5a1d4e-3f8c-4a8e-9c1e-2f6d7a8b9c0d")
        .json(&serde_json::json!({"branch_id": "SMKT001", "items": ["milk"]}))
        .send()
        .await
        .expect("sale while down");
    assert_eq!(sale.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(sale.headers()["content-type"], "application/problem+json");
    assert!(sale.headers().contains_key("retry-after"));
    assert!(sale.headers().contains_key("x-request-id"));
    let pos = http
        .get(format!("{edge}/pos/pos.js"))
        .send()
        .await
        .expect("POS asset while down");
    assert_eq!(pos.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(pos.headers()["content-type"], "application/problem+json");
    let dashboard = http
        .get(format!("{edge}/dashboard"))
        .bearer_auth(OWNER)
        .send()
        .await
        .expect("dashboard while purchases is down");
    assert_eq!(
        dashboard.status(),
        StatusCode::OK,
        "the dashboard does not depend on the purchases service"
    );
    // ... and the owner can still sign in: the login routes fall back to the analytics API.
    let login = http
        .get(format!("{edge}/login"))
        .send()
        .await
        .expect("login page while purchases is down");
    assert_eq!(
        login.status(),
        StatusCode::OK,
        "the login page is served by the analytics API"
    );
    assert!(
        login.text().await.expect("login page").contains("<form"),
        "a login form"
    );
    assert_eq!(stack.upstream_port("/login").await, Some(analytics));
    let whoami = http
        .get(format!("{edge}/auth/whoami"))
        .bearer_auth(OWNER)
        .send()
        .await
        .expect("whoami while purchases is down");
    assert_eq!(whoami.status(), StatusCode::OK);

    stack.stop().await;
}
