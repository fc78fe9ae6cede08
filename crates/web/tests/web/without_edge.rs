//! The till without the nginx edge, as `supermarket up` runs it when nginx is
//! missing: the POS page comes straight from the purchases service, and the
//! catalog from the products service on another origin (`POS_CATALOG_URL`,
//! read across origins under the products service's CORS rule), in Chromium.

use fantoccini::Locator;
use supermarket_testkit::TestDatabases;
use tokio_util::sync::CancellationToken;

use crate::browser::{choose_branch, press_pay, receipt_id, ring_up, text, wait_for_products};
use crate::stack::Driver;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn without_the_edge_the_till_reads_the_catalog_from_the_products_service() {
    let db = TestDatabases::new().await;
    db.oltp()
        .await
        .batch_execute(supermarket_testkit::data::CATALOG_SQL)
        .await
        .unwrap();
    let products = supermarket_products::Application::build(
        supermarket_products::Config::for_database(&db.oltp_url),
    )
    .await
    .expect("products starts");
    let catalog = format!("http://127.0.0.1:{}", products.port());
    let mut settings = supermarket_purchases::Config::for_database(&db.oltp_url);
    settings.pos_catalog_url = catalog.parse().expect("an origin");
    let purchases = supermarket_purchases::Application::build(settings)
        .await
        .expect("purchases starts");
    let till = format!("http://127.0.0.1:{}", purchases.port());
    let stop = CancellationToken::new();
    let products = tokio::spawn(products.run_until_stopped(stop.clone()));
    let purchases = tokio::spawn(purchases.run_until_stopped(stop.clone()));

    // The purchases service keeps no catalog endpoint of its own.
    let own = reqwest::get(format!("{till}/api/v1/products"))
        .await
        .unwrap();
    assert_eq!(own.status(), 404, "one source of the catalog");

    let driver = Driver::start().await;
    let browser = driver.browser().await;
    browser
        .goto(&format!("{till}/pos"))
        .await
        .expect("open the POS");
    wait_for_products(&browser).await;
    assert_eq!(
        text(&browser, "#catalog-msg").await,
        "",
        "the catalog is fresh"
    );
    browser
        .find(Locator::Css("#branch option[value=SMKT003]"))
        .await
        .expect("the branches came from the products service too");
    choose_branch(&browser, "SMKT003").await;
    ring_up(&browser, &["milk", "cheese"]).await;
    assert_eq!(text(&browser, "#total").await, "6.50");
    press_pay(&browser).await;
    let id = receipt_id(&browser).await;
    let stored = db
        .oltp_count_with(
            "SELECT count(*) FROM purchases WHERE id = $1 AND branch_id = 'SMKT003' AND total_cents = 650",
            &[&id],
        )
        .await;
    assert_eq!(stored, 1, "the sale is stored once, as shown");

    browser.close().await.expect("close the browser");
    stop.cancel();
    products.await.unwrap().expect("products stops cleanly");
    purchases.await.unwrap().expect("purchases stops cleanly");
}
