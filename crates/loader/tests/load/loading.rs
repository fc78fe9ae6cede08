//! A good file: what it stores, that a second load stores nothing, that
//! its line ends do not matter, and the big loads' bulk path.

use chrono::{DateTime, Utc};
use supermarket_testkit::{TestDatabases, data};

use crate::helpers::{CUSTOMER, GOOD_ROW, HEADER, counts, csv_file, load_ok, options};

#[tokio::test]
async fn loads_the_repository_data_once() {
    let db = TestDatabases::new().await;
    let summary = load_ok(&options(&db, &data::purchases_csv())).await;
    assert_eq!(summary.rows_read, 2183);
    assert_eq!(summary.purchases_loaded, 2183);
    assert_eq!(summary.items_loaded, 5952);
    assert_eq!(summary.customers_added, 1762);
    assert_eq!(summary.skipped_present, 0);
    assert_eq!((summary.branches_added, summary.products_added), (3, 10));
    assert_eq!(counts(&db).await[..6], [3, 10, 1762, 2183, 5952, 2183]);
    assert_eq!(
        db.oltp_count("SELECT count(DISTINCT customer_id) FROM purchases")
            .await,
        1762
    );
    assert_eq!(db.oltp_count("SELECT count(*) FROM purchases WHERE source = 'import' AND idempotency_key IS NULL AND request_hash IS NULL").await, 2183);
    // One outbox row per purchase, pointing at it.
    assert_eq!(
        db.oltp_count("SELECT count(*) FROM outbox o JOIN purchases p ON p.id = o.event_id WHERE o.event_type = 'purchase.created'").await,
        2183
    );
    // Totals are the sum of the items' catalog prices.
    assert_eq!(
        db.oltp_count(
            "SELECT count(*) FROM purchases p WHERE total_cents <> (SELECT sum(unit_price_cents) FROM purchase_items i WHERE i.purchase_id = p.id)"
        )
        .await,
        0
    );
    // Every foreign key holds, whichever way the loader checked them.
    let orphans = db
        .oltp_count(
            "SELECT (SELECT count(*) FROM purchase_items i WHERE NOT EXISTS (SELECT 1 FROM purchases p WHERE p.id = i.purchase_id))
                  + (SELECT count(*) FROM purchase_items i WHERE NOT EXISTS (SELECT 1 FROM products p WHERE p.id = i.product_id))
                  + (SELECT count(*) FROM purchases p WHERE NOT EXISTS (SELECT 1 FROM customers c WHERE c.id = p.customer_id))
                  + (SELECT count(*) FROM purchases p WHERE NOT EXISTS (SELECT 1 FROM branches b WHERE b.id = p.branch_id))",
        )
        .await;
    assert_eq!(orphans, 0);
    // The first row of the file, in UTC.
    let first: DateTime<Utc> = db
        .oltp()
        .await
        .query_one("SELECT purchased_at FROM purchases WHERE customer_id = $1::text::uuid ORDER BY purchased_at LIMIT 1", &[&CUSTOMER])
        .await
        .expect("the first purchase")
        .get(0);
    assert_eq!(first.to_rfc3339(), "2025-05-26T19:51:00.539354+00:00");
    assert!(
        summary.to_string().contains("2183 purchases loaded"),
        "{summary}"
    );

    let again = load_ok(&options(&db, &data::purchases_csv())).await;
    assert_eq!(
        (
            again.purchases_loaded,
            again.skipped_present,
            again.items_loaded
        ),
        (0, 2183, 0)
    );
    assert_eq!(
        (
            again.branches_added,
            again.products_added,
            again.products_repriced
        ),
        (0, 0, 0)
    );
    assert!(
        again
            .to_string()
            .contains("2183 skipped as already present"),
        "{again}"
    );
    assert_eq!(
        counts(&db).await[..6],
        [3, 10, 1762, 2183, 5952, 2183],
        "a second load stores nothing"
    );
}

#[tokio::test]
async fn bom_crlf_and_plain_lf_files_load_the_same_purchases() {
    let db = TestDatabases::new().await;
    let dir = tempfile::tempdir().expect("temporary directory");
    let second =
        format!("SMKT002,2025-05-31T11:04:00.496934,{CUSTOMER},\"eggs,bread,milk,apples\",7.3");
    let bom_crlf = dir.path().join("bom_crlf.csv");
    std::fs::write(
        &bom_crlf,
        format!("\u{feff}{HEADER}\r\n{GOOD_ROW}\r\n{second}\r\n"),
    )
    .expect("write");
    let lf = dir.path().join("lf.csv");
    std::fs::write(&lf, format!("{HEADER}\n{GOOD_ROW}\n{second}")).expect("write");
    let first = load_ok(&options(&db, &bom_crlf)).await;
    assert_eq!(first.purchases_loaded, 2);
    let same = load_ok(&options(&db, &lf)).await;
    assert_eq!(
        (same.rows_read, same.purchases_loaded, same.skipped_present),
        (2, 0, 2),
        "the same purchases, the same ids"
    );
}

#[tokio::test]
async fn identical_rows_in_one_file_are_one_purchase() {
    let db = TestDatabases::new().await;
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = csv_file(&dir, "purchases.csv", &[HEADER, GOOD_ROW, GOOD_ROW]);
    let summary = load_ok(&options(&db, &path)).await;
    assert_eq!(
        (
            summary.rows_read,
            summary.purchases_loaded,
            summary.skipped_present
        ),
        (2, 1, 1)
    );
    assert_eq!(counts(&db).await[3..6], [1, 2, 1]);
}

#[tokio::test]
async fn a_changed_price_updates_the_catalog_for_future_sales() {
    let db = TestDatabases::new().await;
    let dir = tempfile::tempdir().expect("temporary directory");
    let empty = csv_file(&dir, "purchases.csv", &[HEADER]);
    load_ok(&options(&db, &empty)).await;
    let mut dearer = options(&db, &empty);
    let original = std::fs::read_to_string(data::products_csv()).expect("read the products");
    dearer.products = dir.path().join("products.csv");
    std::fs::write(&dearer.products, original.replace("milk,1.5", "milk,1.6")).expect("write");
    let summary = load_ok(&dearer).await;
    assert_eq!((summary.products_added, summary.products_repriced), (0, 1));
    assert!(
        summary
            .to_string()
            .contains("new prices apply to future sales"),
        "{summary}"
    );
    assert_eq!(
        db.oltp_count("SELECT price_cents::bigint FROM products WHERE name = 'milk'")
            .await,
        160
    );
}

#[tokio::test]
async fn loaded_purchases_wake_the_outbox_relay() {
    use futures_util::StreamExt;
    use tokio_postgres::AsyncMessage;

    let db = TestDatabases::new().await;
    let (listener, mut connection) = tokio_postgres::connect(&db.oltp_url, tokio_postgres::NoTls)
        .await
        .expect("connect the listener");
    let (sender, mut notifications) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut messages = std::pin::pin!(futures_util::stream::poll_fn(
            move |cx| connection.poll_message(cx)
        ));
        while let Some(Ok(message)) = messages.next().await {
            if let AsyncMessage::Notification(notification) = message {
                let _ = sender.send(notification.channel().to_owned());
            }
        }
    });
    listener
        .batch_execute("LISTEN outbox")
        .await
        .expect("LISTEN");
    load_ok(&options(&db, &data::purchases_csv())).await;
    let channel = tokio::time::timeout(std::time::Duration::from_secs(10), notifications.recv())
        .await
        .expect("a notification on the outbox channel after the load");
    assert_eq!(channel.as_deref(), Some("outbox"));
}

#[tokio::test]
async fn a_bulk_load_rebuilds_the_items_key_and_keeps_it_in_force() {
    let db = TestDatabases::new().await;
    let dir = tempfile::tempdir().expect("temporary directory");
    // Enough purchases for the bulk path (the items key dropped, then rebuilt).
    let start = DateTime::parse_from_rfc3339("2025-01-01T00:00:00Z")
        .expect("a time")
        .to_utc();
    let mut text = format!("{HEADER}\r\n");
    for i in 0..120_000 {
        let at = (start + chrono::Duration::microseconds(i)).format("%Y-%m-%dT%H:%M:%S%.6f");
        text.push_str(&format!("SMKT002,{at},{CUSTOMER},\"milk,bread\",3.5\r\n"));
    }
    let path = dir.path().join("purchases.csv");
    std::fs::write(&path, text).expect("write");
    let summary = load_ok(&options(&db, &path)).await;
    assert_eq!(
        (summary.purchases_loaded, summary.items_loaded),
        (120_000, 240_000)
    );
    assert_eq!(
        db.oltp_count("SELECT count(*) FROM pg_constraint WHERE conrelid = 'purchase_items'::regclass AND contype = 'p'").await,
        1,
        "the primary key is back"
    );
    let duplicate = db
        .oltp()
        .await
        .batch_execute("INSERT INTO purchase_items SELECT * FROM purchase_items LIMIT 1")
        .await
        .expect_err("the rebuilt key refuses a repeated product");
    assert_eq!(
        duplicate.code(),
        Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION),
        "{duplicate:?}"
    );
}
