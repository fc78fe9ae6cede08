//! Access control on the analytics API: owner data needs the owner's
//! credentials; a cashier cannot read it; `/`, health and docs stay open.

use supermarket_auth::{AuthConfig, AuthMode};
use supermarket_testkit::TestDatabases;

use crate::helpers::Api;

const OWNER: &str = "owner-token-for-tests-0123456789";
const CASHIER: &str = "cashier-token-for-tests-0123456789";

#[tokio::test]
async fn owner_data_needs_the_owner_and_refuses_a_cashier() {
    let db = TestDatabases::new().await;
    let auth = AuthConfig {
        owner_token: Some(OWNER.into()),
        cashier_token: Some(CASHIER.into()),
        auth_mode: AuthMode::Tokens,
    };
    let api = Api::start_with_auth(&db, 3, "UTC", auth).await;
    let http = reqwest::Client::new();

    for path in [
        "/unique-customers",
        "/loyal-customers",
        "/top-products",
        "/api/v1/analytics/kpis",
        "/api/v1/analytics/freshness",
    ] {
        let url = format!("{}{path}", api.base);
        let anonymous = http.get(&url).send().await.unwrap();
        assert_eq!(anonymous.status(), 401, "{path} without credentials");
        assert_eq!(
            anonymous.headers()["content-type"],
            "application/problem+json"
        );
        let cashier = http.get(&url).bearer_auth(CASHIER).send().await.unwrap();
        assert_eq!(cashier.status(), 403, "{path} with cashier credentials");
        let owner = http.get(&url).bearer_auth(OWNER).send().await.unwrap();
        assert_eq!(owner.status(), 200, "{path} with owner credentials");
    }
    let unique: serde_json::Value = http
        .get(format!("{}/unique-customers", api.base))
        .bearer_auth(OWNER)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(unique["unique_customers"], 0);

    let dashboard = http
        .get(format!("{}/dashboard", api.base))
        .bearer_auth(CASHIER)
        .send()
        .await
        .unwrap();
    assert_eq!(
        dashboard.status(),
        403,
        "the owner page refuses cashier credentials"
    );
    let dashboard = http
        .get(format!("{}/dashboard", api.base))
        .bearer_auth(OWNER)
        .send()
        .await
        .unwrap();
    assert_eq!(dashboard.status(), 200);

    for path in ["/", "/health", "/ready", "/openapi.json"] {
        assert_eq!(
            http.get(format!("{}{path}", api.base))
                .send()
                .await
                .unwrap()
                .status(),
            200,
            "{path} stays open"
        );
    }
}

/// Paths of the analytics API that are open by design; everything else is owner data.
const OPEN_PATHS: &[&str] = &["/", "/health", "/ready", "/openapi.json", "/docs"];

async fn guarded_api(db: &TestDatabases) -> Api {
    let auth = AuthConfig {
        owner_token: Some(OWNER.into()),
        cashier_token: Some(CASHIER.into()),
        auth_mode: AuthMode::Tokens,
    };
    Api::start_with_auth(db, 3, "UTC", auth).await
}

/// The path literals of every `.route("...")` in `source`.
fn mounted_routes(source: &str) -> Vec<&str> {
    // `.route("/path", ...)`, or with the path on the next line as rustfmt
    // writes a long call.
    source
        .match_indices(".route(")
        .filter_map(|(at, found)| {
            let rest = source[at + found.len()..].trim_start().strip_prefix('"')?;
            Some(&rest[..rest.find('"').expect("a closing quote")])
        })
        .collect()
}

/// Walks the OpenAPI document, so that a new route can't be forgotten: every
/// route the API mounts must be documented (checked against the source), and
/// every documented operation outside [`OPEN_PATHS`] refuses a caller without
/// credentials (401), with a wrong token (401) and with the cashier's (403).
#[tokio::test]
async fn every_documented_route_is_owner_only() {
    let db = TestDatabases::new().await;
    let api = guarded_api(&db).await;
    let http = reqwest::Client::new();
    let document: serde_json::Value = http
        .get(format!("{}/openapi.json", api.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let paths = document["paths"]
        .as_object()
        .expect("paths in the OpenAPI document");

    let mounted = mounted_routes(include_str!("../../src/api/mod.rs"));
    assert!(
        mounted.len() >= 10,
        "routes found in api/mod.rs: {mounted:?}"
    );
    for route in &mounted {
        assert!(
            paths.contains_key(*route),
            "{route} is mounted but not in the OpenAPI document, so no access test walks it"
        );
    }

    let mut checked = std::collections::BTreeSet::new();
    for (path, operations) in paths {
        if OPEN_PATHS.contains(&path.as_str()) {
            continue;
        }
        // Path parameters get a well-formed value, so a 404 can only mean "no such record".
        let concrete = path
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
        let url = format!("{}{concrete}", api.base);
        for method in operations.as_object().expect("operations").keys() {
            let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes())
                .expect("an HTTP method");
            let call = |token: Option<&str>| {
                let request = http
                    .request(method.clone(), &url)
                    .header("x-real-ip", "198.51.100.20");
                match token {
                    Some(token) => request.bearer_auth(token),
                    None => request,
                }
            };
            for (who, token, status) in [
                ("no credentials", None, 401),
                ("a wrong token", Some("not-a-token-of-this-shop"), 401),
                ("the cashier's token", Some(CASHIER), 403),
            ] {
                let answer = call(token).send().await.unwrap();
                assert_eq!(answer.status(), status, "{method} {path} with {who}");
                assert_eq!(
                    answer.headers()["content-type"],
                    "application/problem+json",
                    "{method} {path} with {who}"
                );
                let body: serde_json::Value = answer.json().await.unwrap();
                assert!(
                    !body.to_string().contains("customer_id"),
                    "{method} {path} leaks data with {who}: {body}"
                );
            }
            let owner = call(Some(OWNER)).send().await.unwrap().status();
            assert!(
                owner == 200 || owner == 404,
                "{method} {path} as the owner: {owner}"
            );
            checked.insert(path.as_str());
        }
    }
    let owner_routes: Vec<&str> = mounted
        .iter()
        .copied()
        .filter(|route| !OPEN_PATHS.contains(route))
        .collect();
    assert!(
        owner_routes.len() >= 9,
        "owner routes in api/mod.rs: {owner_routes:?}"
    );
    for route in owner_routes {
        assert!(checked.contains(route), "{route} was not walked");
    }
}

/// The dashboard page and every data call its script makes need the owner.
#[tokio::test]
async fn the_dashboard_and_its_data_calls_are_owner_only() {
    let db = TestDatabases::new().await;
    let api = guarded_api(&db).await;
    let http = reqwest::Client::new();
    let script = include_str!("../../../web/assets/dashboard.js");
    let table = &script[script
        .find("const API = {")
        .expect("the API table of dashboard.js")..];
    let table = &table[..table.find("};").expect("the end of the API table")];
    let calls: Vec<&str> = table.split('"').skip(1).step_by(2).collect();
    assert!(
        calls.len() >= 5,
        "data calls found in dashboard.js: {calls:?}"
    );
    for call in calls.iter().copied().chain(["/dashboard"]) {
        if call == "/auth/whoami" {
            continue; // says who is signed in, no data; open by design
        }
        let url = format!("{}{call}", api.base);
        assert_eq!(
            http.get(&url).send().await.unwrap().status(),
            401,
            "{call} without credentials"
        );
        assert_eq!(
            http.get(&url)
                .bearer_auth(CASHIER)
                .send()
                .await
                .unwrap()
                .status(),
            403,
            "{call} as a cashier"
        );
        assert_eq!(
            http.get(&url)
                .bearer_auth(OWNER)
                .send()
                .await
                .unwrap()
                .status(),
            200,
            "{call} as the owner"
        );
    }
}

/// The failed-attempt limiter, on the running service: a client that keeps
/// guessing gets 429 (even with the right token, then), others don't.
#[tokio::test]
async fn guessing_tokens_ends_in_429_for_that_client_only() {
    let db = TestDatabases::new().await;
    let api = guarded_api(&db).await;
    let http = reqwest::Client::new();
    let url = format!("{}/api/v1/analytics/kpis", api.base);
    // The test client connects from 127.0.0.1, so the service takes the
    // client address from X-Real-IP, as it does behind nginx.
    let guesser = "203.0.113.50";
    let mut statuses = Vec::new();
    for attempt in 0..12 {
        let answer = http
            .get(&url)
            .header("x-real-ip", guesser)
            .bearer_auth(format!("guess-number-{attempt:04}-xxxxxxxx"))
            .send()
            .await
            .unwrap();
        statuses.push(answer.status().as_u16());
    }
    assert!(
        statuses[..10].iter().all(|s| *s == 401),
        "ten failures are allowed at once: {statuses:?}"
    );
    assert_eq!(&statuses[10..], &[429, 429], "then 429: {statuses:?}");

    let refused = http
        .get(&url)
        .header("x-real-ip", guesser)
        .bearer_auth(OWNER)
        .send()
        .await
        .unwrap();
    assert_eq!(
        refused.status(),
        429,
        "the right token is refused too while the guesser is blocked"
    );
    let retry_after: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "Retry-After {retry_after}");
    assert_eq!(
        refused.headers()["content-type"],
        "application/problem+json"
    );
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["type"], "/problems/too-many-attempts");
    let login = http
        .post(format!("{}/auth/login", api.base))
        .header("x-real-ip", guesser)
        .json(&serde_json::json!({"token": OWNER}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 429, "the login form shares the limit");

    let other = http
        .get(&url)
        .header("x-real-ip", "203.0.113.51")
        .bearer_auth(OWNER)
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 200, "another client is not affected");
}

/// Request bodies over the limit (4 KiB here: no data route takes a body)
/// are refused with a 413 problem, on every route that reads one.
#[tokio::test]
async fn bodies_over_the_limit_are_413() {
    let db = TestDatabases::new().await;
    let api = guarded_api(&db).await;
    let http = reqwest::Client::new();
    let big = "x".repeat(8 * 1024);
    let document: serde_json::Value = http
        .get(format!("{}/openapi.json", api.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut body_routes: Vec<(String, String)> = vec![("post".into(), "/auth/login".into())];
    for (path, operations) in document["paths"].as_object().expect("paths") {
        for (method, operation) in operations.as_object().expect("operations") {
            if operation.get("requestBody").is_some() {
                body_routes.push((method.clone(), path.clone()));
            }
        }
    }
    for (method, path) in body_routes {
        for content_type in ["application/json", "application/x-www-form-urlencoded"] {
            let body = if content_type == "application/json" {
                format!(r#"{{"token":"{big}"}}"#)
            } else {
                format!("token={big}")
            };
            let answer = http
                .request(
                    reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap(),
                    format!("{}{path}", api.base),
                )
                .bearer_auth(OWNER)
                .header("content-type", content_type)
                .body(body)
                .send()
                .await
                .unwrap();
            assert_eq!(answer.status(), 413, "{method} {path} ({content_type})");
            assert_eq!(answer.headers()["content-type"], "application/problem+json");
            let problem: serde_json::Value = answer.json().await.unwrap();
            assert_eq!(
                problem["type"], "/problems/body-too-large",
                "{method} {path}"
            );
        }
    }
}
