//! Access control on the purchases service: the API and the POS page need
//! cashier (or owner) credentials; health, docs and `/` stay open.

use serde_json::json;
use supermarket_auth::{AuthConfig, AuthMode};

use crate::helpers::{TestApp, spawn_app_with};

const OWNER: &str = "owner-token-for-tests-0123456789";
const CASHIER: &str = "cashier-token-for-tests-0123456789";

async fn guarded_app() -> TestApp {
    spawn_app_with(|config| {
        config.auth = AuthConfig {
            owner_token: Some(OWNER.to_owned()),
            cashier_token: Some(CASHIER.to_owned()),
            auth_mode: AuthMode::Tokens,
        };
    })
    .await
}

fn basket() -> serde_json::Value {
    json!({"branch_id": "SMKT001", "items": ["milk", "bread"]})
}

#[tokio::test]
async fn purchases_need_a_cashier_or_owner_token() {
    let app = guarded_app().await;
    let url = format!("{}/api/v1/purchases", app.base);

    let missing = app.http.post(&url).json(&basket()).send().await.unwrap();
    assert_eq!(missing.status(), 401);
    assert_eq!(
        missing.headers()["content-type"],
        "application/problem+json"
    );

    let wrong = app
        .http
        .post(&url)
        .bearer_auth("not-a-real-token-at-all")
        .json(&basket())
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);

    let cashier = app
        .http
        .post(&url)
        .bearer_auth(CASHIER)
        .json(&basket())
        .send()
        .await
        .unwrap();
    assert_eq!(cashier.status(), 201);
    let owner = app
        .http
        .post(&url)
        .bearer_auth(OWNER)
        .json(&basket())
        .send()
        .await
        .unwrap();
    assert_eq!(owner.status(), 201);

    let seed = app
        .http
        .post(format!("{}/purchase", app.base))
        .json(&json!({"supermarket_id": "SMKT001", "items_list": "milk"}))
        .send()
        .await
        .unwrap();
    assert_eq!(seed.status(), 401, "the seed endpoint is guarded too");

    assert_eq!(
        app.count("SELECT count(*) FROM purchases").await,
        2,
        "refused requests store nothing"
    );
}

#[tokio::test]
async fn health_docs_and_index_stay_open_and_the_pos_page_asks_for_a_login() {
    let app = guarded_app().await;
    for path in ["/", "/health", "/ready", "/openapi.json", "/pos/pos.js"] {
        let answer = app
            .http
            .get(format!("{}{path}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200, "{path} should stay open");
    }
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = no_redirects
        .get(format!("{}/pos", app.base))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert!(
        page.status().is_redirection(),
        "a browser without a session goes to the login page, got {}",
        page.status()
    );
    let with_token = app
        .http
        .get(format!("{}/pos", app.base))
        .bearer_auth(CASHIER)
        .send()
        .await
        .unwrap();
    assert_eq!(with_token.status(), 200);
    assert!(with_token.text().await.unwrap().contains("/pos/pos.js"));
}

/// Walks the OpenAPI document: every documented operation refuses a caller
/// without credentials or with a wrong token (401); every operation that
/// takes a body, and the login routes, answer a body over the 16 KiB limit
/// with a 413 problem; nothing is stored.
#[tokio::test]
async fn every_documented_route_needs_credentials_and_oversized_bodies_are_413() {
    let app = guarded_app().await;
    let document: serde_json::Value = app
        .http
        .get(format!("{}/openapi.json", app.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let paths = document["paths"].as_object().expect("paths");
    let big = "x".repeat(supermarket_purchases::BODY_LIMIT + 1024);
    let mut with_body = vec![("POST".to_owned(), "/auth/login".to_owned(), None)];
    let mut walked = 0;
    for (path, operations) in paths {
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
        for (method, operation) in operations.as_object().expect("operations") {
            let method = method.to_uppercase();
            let request = |token: Option<&str>| {
                let request = app
                    .http
                    .request(
                        reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
                        format!("{}{concrete}", app.base),
                    )
                    .header("x-real-ip", "198.51.100.30")
                    .json(&basket());
                match token {
                    Some(token) => request.bearer_auth(token),
                    None => request,
                }
            };
            for (who, token) in [
                ("no credentials", None),
                ("a wrong token", Some("not-a-token-of-this-shop")),
            ] {
                let answer = request(token).send().await.unwrap();
                assert_eq!(answer.status(), 401, "{method} {path} with {who}");
                assert_eq!(answer.headers()["content-type"], "application/problem+json");
            }
            if operation.get("requestBody").is_some() {
                with_body.push((method.clone(), concrete.clone(), Some(CASHIER)));
            }
            walked += 1;
        }
    }
    assert!(walked >= 3, "only {walked} operations documented");
    assert!(with_body.len() >= 3, "body-taking routes: {with_body:?}");

    for (method, path, token) in with_body {
        for (content_type, body) in [
            (
                "application/json",
                format!(r#"{{"branch_id":"SMKT001","items":["{big}"]}}"#),
            ),
            ("application/x-www-form-urlencoded", format!("token={big}")),
        ] {
            if content_type != "application/json" && token.is_some() {
                continue; // the API reads JSON only (415 otherwise)
            }
            let mut request = app
                .http
                .request(
                    reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
                    format!("{}{path}", app.base),
                )
                .header("content-type", content_type)
                .body(body);
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            let answer = request.send().await.unwrap();
            assert_eq!(answer.status(), 413, "{method} {path} ({content_type})");
            assert_eq!(answer.headers()["content-type"], "application/problem+json");
            let problem: serde_json::Value = answer.json().await.unwrap();
            assert_eq!(
                problem["type"], "/problems/body-too-large",
                "{method} {path}"
            );
        }
    }
    assert_eq!(
        app.count("SELECT count(*) FROM purchases").await,
        0,
        "refused requests store nothing"
    );
}
