//! Schemathesis against the running analytics API (see tests/schemathesis.toml).

use chrono::Utc;
use supermarket_auth::{AuthConfig, AuthMode};
use supermarket_testkit::schemathesis::{self, Fuzz};
use supermarket_testkit::{TestDatabases, TestNats};
use uuid::Uuid;

use crate::helpers::*;

const OWNER: &str = "owner-token-for-fuzzing-0123456789";
const CASHIER: &str = "cashier-token-for-fuzzing-0123456789";

#[tokio::test]
async fn schemathesis_finds_no_failing_check() {
    let (db, nats) = (TestDatabases::new().await, TestNats::new().await);
    // Some rows in every read model, so that reports answer with data, of
    // the customers tests/schemathesis.toml names.
    let loyal = Uuid::parse_str("01e1e159-8045-43c2-88dd-5682b18bd680").unwrap();
    let once = Uuid::parse_str("7a3f0b2c-5d4e-4f60-8a91-b2c3d4e5f607").unwrap();
    let now = Utc::now().to_rfc3339();
    let events = vec![
        event(loyal, "SMKT001", "2025-05-01T10:20:00Z", &[MILK, BREAD]),
        event(loyal, "SMKT002", "2025-05-02T18:05:00Z", &[EGGS]),
        event(loyal, "SMKT001", &now, &[MILK]),
        event(once, "SMKT003", &now, &[BREAD, EGGS]),
    ];
    publish(&nats, &events).await;
    let mut consumer = consumer(&db, &nats, 30, "UTC").await;
    consume(&mut consumer, events.len()).await;

    let auth = AuthConfig {
        owner_token: Some(OWNER.into()),
        cashier_token: Some(CASHIER.into()),
        auth_mode: AuthMode::Tokens,
    };
    let api = Api::start_with_auth(&db, 3, "UTC", auth).await;
    schemathesis::run(Fuzz {
        base_url: &api.base,
        crate_dir: env!("CARGO_MANIFEST_DIR"),
        bearer: Some(OWNER),
    })
    .await;
    nats.cleanup().await;
}
