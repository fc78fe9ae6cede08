//! Security at the nginx edge (deploy/nginx, rendered as for production, in
//! front of the real services): owner data refused to anonymous callers and
//! cashiers, internal endpoints not exposed, bodies over the limits refused
//! with 413 (by nginx, and by the services under nginx's limit), purchase
//! writes rate limited with 429, and the services' failed-attempt limiter
//! keyed on the real client address (a forged X-Real-IP does not escape it).

use reqwest::StatusCode;

use crate::stack::{CASHIER, OWNER, Stack};

/// Analytics paths open by design; everything else is owner data.
const OPEN_PATHS: &[&str] = &["/", "/health", "/ready", "/openapi.json", "/docs"];

/// The request id nginx gave a response (to find its access log line).
fn request_id(response: &reqwest::Response) -> String {
    response.headers()["x-request-id"]
        .to_str()
        .expect("a request id")
        .to_owned()
}

async fn assert_problem(response: reqwest::Response, status: StatusCode, kind: &str, what: &str) {
    assert_eq!(response.status(), status, "{what}");
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json",
        "{what}"
    );
    assert!(
        response.headers().contains_key("x-request-id"),
        "{what}: a request id"
    );
    let body: serde_json::Value = response
        .json()
        .await
        .unwrap_or_else(|e| panic!("{what}: not JSON: {e}"));
    assert_eq!(body["type"], format!("/problems/{kind}"), "{what}: {body}");
    assert_eq!(body["status"], status.as_u16(), "{what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_edge_guards_owner_data_bodies_and_rates() {
    // Purchase writes: 60 a minute, a burst of 5 (production: 200/s, 400).
    let stack =
        Stack::start_with_edge(&[("WRITE_RATE_LIMIT", "60r/m"), ("WRITE_BURST", "5")]).await;
    let http = reqwest::Client::new();
    let edge = stack.edge.clone();
    let (purchases, analytics) = (stack.purchases_port, stack.analytics_port);

    // --- Owner data: every operation of the analytics API's OpenAPI document,
    // through the edge: 401 without credentials, 403 for the cashier.
    let document: serde_json::Value = http
        .get(format!("http://127.0.0.1:{analytics}/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut walked = 0;
    for (path, operations) in document["paths"].as_object().expect("paths") {
        if OPEN_PATHS.contains(&path.as_str()) {
            continue;
        }
        let uri = path
            .split('/')
            .map(|part| {
                if part.starts_with('{') {
                    uuid::Uuid::new_v4().to_string()
                } else {
                    part.to_owned()
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        for method in operations.as_object().expect("operations").keys() {
            let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let request = || http.request(method.clone(), format!("{edge}{uri}"));
            let anonymous = request().send().await.unwrap();
            assert_eq!(
                stack.upstream_of(&request_id(&anonymous)).await,
                Some(analytics),
                "{path} is routed to the analytics API"
            );
            assert_problem(
                anonymous,
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                &format!("{method} {path} anonymous"),
            )
            .await;
            assert_problem(
                request().bearer_auth(CASHIER).send().await.unwrap(),
                StatusCode::FORBIDDEN,
                "forbidden",
                &format!("{method} {path} as a cashier"),
            )
            .await;
            let owner = request().bearer_auth(OWNER).send().await.unwrap().status();
            assert!(
                owner == StatusCode::OK || owner == StatusCode::NOT_FOUND,
                "{method} {path} as the owner: {owner}"
            );
            walked += 1;
        }
    }
    assert!(walked >= 9, "only {walked} owner operations walked");

    // --- Internal endpoints (the relay's and consumer's /metrics, the
    // services' own health) are not routed by the edge.
    for path in ["/metrics", "/ready"] {
        let response = http
            .get(format!("{edge}{path}"))
            .bearer_auth(OWNER)
            .send()
            .await
            .unwrap();
        assert_problem(
            response,
            StatusCode::NOT_FOUND,
            "not-found",
            &format!("{path} at the edge"),
        )
        .await;
    }

    // --- Bodies. Over nginx's 64 KiB: refused by nginx itself, as a problem.
    let huge =
        serde_json::json!({"branch_id": "SMKT001", "items": vec!["milk"; 20_000]}).to_string();
    assert!(huge.len() > 64 * 1024);
    for path in ["/api/v1/purchases", "/purchase", "/auth/login"] {
        let response = http
            .post(format!("{edge}{path}"))
            .bearer_auth(CASHIER)
            .header("content-type", "application/json")
            .body(huge.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(
            stack.upstream_of(&request_id(&response)).await,
            None,
            "{path}: nginx refused it without proxying"
        );
        assert_problem(
            response,
            StatusCode::PAYLOAD_TOO_LARGE,
            "body-too-large",
            &format!("{path}: 100 KiB at the edge"),
        )
        .await;
    }
    // Under nginx's limit but over the service's 16 KiB: the service's 413.
    let large =
        serde_json::json!({"branch_id": "SMKT001", "items": vec!["milk"; 4_000]}).to_string();
    assert!(large.len() > supermarket_purchases::BODY_LIMIT && large.len() < 64 * 1024);
    let response = http
        .post(format!("{edge}/api/v1/purchases"))
        .bearer_auth(CASHIER)
        .header("content-type", "application/json")
        .body(large)
        .send()
        .await
        .unwrap();
    assert_eq!(
        stack.upstream_of(&request_id(&response)).await,
        Some(purchases),
        "the purchases service refused it"
    );
    assert_problem(
        response,
        StatusCode::PAYLOAD_TOO_LARGE,
        "body-too-large",
        "24 KiB to the purchases service",
    )
    .await;

    // --- Purchase writes are rate limited per client: a till that floods
    // gets 429 problems with Retry-After from nginx.
    let mut statuses = Vec::new();
    for _ in 0..12 {
        let response = http
            .post(format!("{edge}/api/v1/purchases"))
            .bearer_auth(CASHIER)
            .json(&serde_json::json!({"branch_id": "SMKT001", "items": ["milk"]}))
            .send()
            .await
            .unwrap();
        let status = response.status();
        if status == StatusCode::TOO_MANY_REQUESTS {
            assert!(response.headers().contains_key("retry-after"));
            assert_eq!(
                stack.upstream_of(&request_id(&response)).await,
                None,
                "refused by nginx"
            );
            assert_problem(response, status, "rate-limited", "a write over the rate").await;
        }
        statuses.push(status);
    }
    let accepted = statuses
        .iter()
        .filter(|s| **s == StatusCode::CREATED)
        .count();
    assert!(
        (1..=6).contains(&accepted),
        "the burst (5) passes, then 429: {statuses:?}"
    );
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::CREATED || *s == StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    assert_eq!(
        statuses.last(),
        Some(&StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );

    // --- Guessing tokens: the analytics API's own limiter answers 429 after
    // ten failures; nginx passes the real client address, so a forged
    // X-Real-IP or X-Forwarded-For does not get the guesser a fresh budget.
    let kpis = format!("{edge}/api/v1/analytics/kpis");
    let mut statuses = Vec::new();
    let mut last = String::new();
    for attempt in 0..11 {
        let response = http
            .get(&kpis)
            .bearer_auth(format!("guess-{attempt:03}-not-a-real-token"))
            .send()
            .await
            .unwrap();
        statuses.push(response.status());
        last = request_id(&response);
    }
    assert!(
        statuses[..10]
            .iter()
            .all(|s| *s == StatusCode::UNAUTHORIZED),
        "{statuses:?}"
    );
    assert_eq!(statuses[10], StatusCode::TOO_MANY_REQUESTS, "{statuses:?}");
    assert_eq!(
        stack.upstream_of(&last).await,
        Some(analytics),
        "the service's limiter, not nginx's"
    );
    let forged = http
        .get(&kpis)
        .bearer_auth(OWNER)
        .header("x-real-ip", "203.0.113.99")
        .header("x-forwarded-for", "203.0.113.99")
        .send()
        .await
        .unwrap();
    assert!(forged.headers().contains_key("retry-after"));
    assert_problem(
        forged,
        StatusCode::TOO_MANY_REQUESTS,
        "too-many-attempts",
        "a forged client address",
    )
    .await;

    stack.stop().await;
}
