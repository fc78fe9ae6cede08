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
    assert_eq!(missing.headers()["content-type"], "application/problem+json");

    let wrong = app.http.post(&url).bearer_auth("not-a-real-token-at-all").json(&basket()).send().await.unwrap();
    assert_eq!(wrong.status(), 401);

    let cashier = app.http.post(&url).bearer_auth(CASHIER).json(&basket()).send().await.unwrap();
    assert_eq!(cashier.status(), 201);
    let owner = app.http.post(&url).bearer_auth(OWNER).json(&basket()).send().await.unwrap();
    assert_eq!(owner.status(), 201);

    let seed = app.http.post(format!("{}/purchase", app.base)).json(&json!({"supermarket_id": "SMKT001", "items_list": "milk"})).send().await.unwrap();
    assert_eq!(seed.status(), 401, "the seed endpoint is guarded too");

    assert_eq!(app.count("SELECT count(*) FROM purchases").await, 2, "refused requests store nothing");
}

#[tokio::test]
async fn health_docs_and_index_stay_open_and_the_pos_page_asks_for_a_login() {
    let app = guarded_app().await;
    for path in ["/", "/health", "/ready", "/openapi.json", "/pos/pos.js"] {
        let answer = app.http.get(format!("{}{path}", app.base)).send().await.unwrap();
        assert_eq!(answer.status(), 200, "{path} should stay open");
    }
    let no_redirects = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let page = no_redirects.get(format!("{}/pos", app.base)).header("accept", "text/html").send().await.unwrap();
    assert!(page.status().is_redirection(), "a browser without a session goes to the login page, got {}", page.status());
    let with_token = app.http.get(format!("{}/pos", app.base)).bearer_auth(CASHIER).send().await.unwrap();
    assert_eq!(with_token.status(), 200);
    assert!(with_token.text().await.unwrap().contains("/pos/pos.js"));
}
