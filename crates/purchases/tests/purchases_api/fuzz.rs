//! Schemathesis against the running service: tests/schemathesis.toml and the
//! business rules of tests/schemathesis_hooks.py.

use supermarket_auth::{AuthConfig, AuthMode};
use supermarket_testkit::schemathesis::{self, Fuzz};

use crate::helpers::spawn_app_with;

const OWNER: &str = "owner-token-for-fuzzing-0123456789";
const CASHIER: &str = "cashier-token-for-fuzzing-0123456789";

#[tokio::test]
async fn schemathesis_finds_no_failing_check() {
    let app = spawn_app_with(|config| {
        config.auth = AuthConfig {
            owner_token: Some(OWNER.into()),
            cashier_token: Some(CASHIER.into()),
            auth_mode: AuthMode::Tokens,
        };
    })
    .await;
    schemathesis::run(Fuzz {
        base_url: &app.base,
        crate_dir: env!("CARGO_MANIFEST_DIR"),
        bearer: Some(CASHIER),
    })
    .await;

    // The run reached the core: sales were stored, and every one keeps the rules.
    assert!(
        app.count("SELECT count(*) FROM purchases").await > 0,
        "no generated sale was accepted"
    );
    let broken = app
        .count(
            "SELECT count(*) FROM purchases AS p
             WHERE p.branch_id NOT IN (SELECT id FROM branches)
                OR p.total_cents <> (SELECT coalesce(sum(i.unit_price_cents), 0) FROM purchase_items AS i WHERE i.purchase_id = p.id)
                OR NOT EXISTS (SELECT 1 FROM purchase_items AS i WHERE i.purchase_id = p.id)
                OR (SELECT count(*) FROM outbox AS o WHERE o.event_id = p.id) <> 1",
        )
        .await;
    assert_eq!(broken, 0, "stored sales that break a rule");
}
