//! The simulator against real purchases and products services and database.

use supermarket_purchases::{Application, Config};
use supermarket_simulator::{Args, simulate};
use supermarket_testkit::TestDatabases;
use tokio_util::sync::CancellationToken;

#[tokio::test]
async fn realistic_traffic_is_stored_and_reported() {
    let db = TestDatabases::new().await;
    db.oltp()
        .await
        .batch_execute(supermarket_testkit::data::CATALOG_SQL)
        .await
        .unwrap();
    let app = Application::build(Config::for_database(&db.oltp_url))
        .await
        .unwrap();
    let target = format!("http://127.0.0.1:{}", app.port());
    let catalog = supermarket_products::Application::build(
        supermarket_products::Config::for_database(&db.oltp_url),
    )
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
