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
    let auth = AuthConfig { owner_token: Some(OWNER.into()), cashier_token: Some(CASHIER.into()), auth_mode: AuthMode::Tokens };
    let api = Api::start_with_auth(&db, 3, "UTC", auth).await;
    let http = reqwest::Client::new();

    for path in ["/unique-customers", "/loyal-customers", "/top-products", "/api/v1/analytics/kpis", "/api/v1/analytics/freshness"] {
        let url = format!("{}{path}", api.base);
        let anonymous = http.get(&url).send().await.unwrap();
        assert_eq!(anonymous.status(), 401, "{path} without credentials");
        assert_eq!(anonymous.headers()["content-type"], "application/problem+json");
        let cashier = http.get(&url).bearer_auth(CASHIER).send().await.unwrap();
        assert_eq!(cashier.status(), 403, "{path} with cashier credentials");
        let owner = http.get(&url).bearer_auth(OWNER).send().await.unwrap();
        assert_eq!(owner.status(), 200, "{path} with owner credentials");
    }
    let unique: serde_json::Value =
        http.get(format!("{}/unique-customers", api.base)).bearer_auth(OWNER).send().await.unwrap().json().await.unwrap();
    assert_eq!(unique["unique_customers"], 0);

    let dashboard = http.get(format!("{}/dashboard", api.base)).bearer_auth(CASHIER).send().await.unwrap();
    assert_eq!(dashboard.status(), 403, "the owner page refuses cashier credentials");
    let dashboard = http.get(format!("{}/dashboard", api.base)).bearer_auth(OWNER).send().await.unwrap();
    assert_eq!(dashboard.status(), 200);

    for path in ["/", "/health", "/ready", "/openapi.json"] {
        assert_eq!(http.get(format!("{}{path}", api.base)).send().await.unwrap().status(), 200, "{path} stays open");
    }
}
