//! The group-commit writer on its own: a bad row does not sink its batch.

use std::time::Duration;

use chrono::Utc;
use supermarket_domain::{
    BasketLine, Branches, Catalog, CustomerId, Money, Product, ProductId, ProductRef, Purchase,
    PurchaseId,
};
use supermarket_purchases::writer::{Outcome, WriteError, Writer, WriterSettings};
use supermarket_storage::oltp::purchases::NewPurchase;

use crate::helpers::seeded_db;

#[tokio::test]
async fn one_refused_purchase_does_not_fail_the_others_of_its_batch() {
    let db = seeded_db().await;
    // The writer trusts validated purchases; a catalog that still lists a
    // product the database lacks (id 99) makes one row fail in the database.
    let catalog = Catalog::new([
        Product {
            id: ProductId(1),
            name: "milk".into(),
            price: Money::from_cents(150),
        },
        Product {
            id: ProductId(99),
            name: "ghost".into(),
            price: Money::from_cents(100),
        },
    ])
    .unwrap();
    let branches = Branches::new([("SMKT001".to_owned(), "Central".to_owned())]).unwrap();
    let purchase = |name: &str| NewPurchase {
        purchase: Purchase::new(
            PurchaseId::new_live(),
            "SMKT001",
            CustomerId::new_random(),
            Utc::now(),
            [BasketLine::one(ProductRef::Name(name.to_owned()))],
            &catalog,
            &branches,
        )
        .unwrap(),
        idempotency: None,
    };
    let pool = supermarket_storage::pool::pool(&db.oltp_url, "DATABASE_URL", 1).unwrap();
    // One writer that waits long enough to gather all three into one batch.
    let settings = WriterSettings {
        writers: 1,
        batch_wait: Duration::from_millis(300),
        ..WriterSettings::default()
    };
    let (writer, tasks) = Writer::start(pool, settings);
    let (a, bad, b) = tokio::join!(
        writer.submit(purchase("milk")),
        writer.submit(purchase("ghost")),
        writer.submit(purchase("milk"))
    );
    assert_eq!(a, Ok(Outcome::Created));
    assert_eq!(b, Ok(Outcome::Created));
    assert!(matches!(bad, Err(WriteError::Rejected(_))), "{bad:?}");
    assert_eq!(db.oltp_count("SELECT count(*) FROM purchases").await, 2);
    assert_eq!(db.oltp_count("SELECT count(*) FROM outbox").await, 2);
    drop(writer);
    tokio::time::timeout(Duration::from_secs(5), tasks.join())
        .await
        .expect("writers stop once every handle is dropped");
}

#[tokio::test]
async fn queued_purchases_are_stored_before_the_writers_stop() {
    let db = seeded_db().await;
    let snapshot_catalog = supermarket_storage::oltp::catalog::load_catalog(&db.oltp().await)
        .await
        .unwrap();
    let branches = supermarket_storage::oltp::catalog::load_branches(&db.oltp().await)
        .await
        .unwrap();
    let pool = supermarket_storage::pool::pool(&db.oltp_url, "DATABASE_URL", 2).unwrap();
    let (writer, tasks) = Writer::start(
        pool,
        WriterSettings {
            writers: 2,
            batch_max: 16,
            ..WriterSettings::default()
        },
    );
    let mut pending = Vec::new();
    for i in 0..200 {
        let lines = [BasketLine::one(ProductRef::Id(ProductId(1 + i % 10)))];
        let purchase = Purchase::new(
            PurchaseId::new_live(),
            "SMKT002",
            CustomerId::new_random(),
            Utc::now(),
            lines,
            &snapshot_catalog,
            &branches,
        )
        .unwrap();
        let writer = writer.clone();
        pending.push(tokio::spawn(async move {
            writer
                .submit(NewPurchase {
                    purchase,
                    idempotency: None,
                })
                .await
        }));
    }
    drop(writer);
    for handle in pending {
        assert_eq!(handle.await.unwrap(), Ok(Outcome::Created));
    }
    tasks.join().await;
    assert_eq!(db.oltp_count("SELECT count(*) FROM purchases").await, 200);
    assert_eq!(db.oltp_count("SELECT count(*) FROM outbox").await, 200);
}
