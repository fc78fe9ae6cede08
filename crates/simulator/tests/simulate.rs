//! The simulator against real purchases and products services and database.

use supermarket_purchases::{Application, Config};
use supermarket_simulator::{Args, simulate};
use supermarket_testkit::TestDatabases;
use tokio_util::sync::CancellationToken;

const SEED_SQL: &str = "
    INSERT INTO branches (id, name) VALUES ('SMKT001', 'Central'), ('SMKT002', 'Northside'), ('SMKT003', 'Riverside');
    INSERT INTO products (id, name, price_cents) VALUES
        (1, 'milk', 150), (2, 'bread', 200), (3, 'eggs', 300), (4, 'chicken', 650), (5, 'apples', 80),
        (6, 'toilet paper', 400), (7, 'cereal', 350), (8, 'cheese', 500), (9, 'yogurt', 120), (10, 'orange juice', 280);";

#[tokio::test]
async fn realistic_traffic_is_stored_and_reported() {
    let db = TestDatabases::new().await;
    db.oltp().await.batch_execute(SEED_SQL).await.unwrap();
    let app = Application::build(Config::for_database(&db.oltp_url))
        .await
        .unwrap();
    let target = format!("http://127.0.0.1:{}", app.port());
    let catalog = supermarket_products::Application::build(supermarket_products::Config {
        addr: ([127, 0, 0, 1], 0).into(),
        database: supermarket_storage::DatabaseArgs::new(&db.oltp_url, 2),
    })
    .await
    .unwrap();
    let products_url = format!("http://127.0.0.1:{}", catalog.port());
    let stop = CancellationToken::new();
    tokio::spawn(app.run_until_stopped(stop.clone()));
    tokio::spawn(catalog.run_until_stopped(stop.clone()));

    let args = Args {
        target,
        products_url,
        rate: 200,
        duration: 2,
        concurrency: 16,
        token: Some("ignored-for-now".to_owned()),
        returning_share: 0.3,
        retry_share: 0.1,
        invalid_share: 0.1,
        json: true,
    };
    let report = simulate(args, CancellationToken::new()).await.unwrap();
    stop.cancel();

    assert!(report.requests >= 300, "{report:?}");
    assert_eq!(report.unexpected, 0, "{report:?}");
    assert_eq!(report.transport_errors, 0, "{report:?}");
    assert!(
        report.invalid_refused > 0 && report.replays_ok > 0,
        "{report:?}"
    );
    assert_eq!(
        report.purchases_created + report.replays_ok + report.invalid_refused,
        report.requests
    );
    assert!(report.latency_ms.p50 > 0.0 && report.latency_ms.max >= report.latency_ms.p99);
    let stored = db.oltp_count("SELECT count(*) FROM purchases").await as u64;
    assert_eq!(
        stored, report.purchases_created,
        "replays and invalid baskets store nothing"
    );
    // Returning customers: fewer customers than purchases.
    let customers = db.oltp_count("SELECT count(*) FROM customers").await as u64;
    assert!(
        customers < stored,
        "{customers} customers for {stored} purchases"
    );
    let sizes = db.oltp_count("SELECT count(*) FROM (SELECT purchase_id FROM purchase_items GROUP BY 1 HAVING count(*) NOT BETWEEN 2 AND 4) s").await;
    assert_eq!(sizes, 0, "every basket holds 2 to 4 products");
}
