//! The rebuild from OLTP equals the incremental read models, table by table.

use std::sync::Arc;

use supermarket_analytics::consumer::{Consumer, ConsumerArgs};
use supermarket_analytics::metrics::Metrics;
use supermarket_testkit::{TestDatabases, TestNats};

use crate::helpers::*;

/// 3,000 purchases by 300 customers (unevenly: some buy often, some never)
/// over two weeks, one to three products each, with outbox rows.
async fn seed_oltp(db: &TestDatabases) {
    db.oltp()
        .await
        .batch_execute(
            "INSERT INTO branches (id, name) VALUES ('SMKT001', 'One'), ('SMKT002', 'Two'), ('SMKT003', 'Three');
             INSERT INTO products (id, name, price_cents) VALUES (1, 'milk', 150), (2, 'bread', 200), (3, 'eggs', 300);
             CREATE TEMP TABLE c AS SELECT n, gen_random_uuid() AS id FROM generate_series(0, 299) AS n;
             INSERT INTO customers (id) SELECT id FROM c;
             CREATE TEMP TABLE p AS
                 SELECT gen_random_uuid() AS id, c.id AS customer, 'SMKT00' || (1 + g % 3) AS branch, g,
                        timestamptz '2025-05-01 00:00:00Z' + ((g * 7919) % 20160) * interval '1 minute' AS at
                 FROM generate_series(1, 3000) AS g JOIN c ON c.n = (g * g + g / 7) % 300;
             INSERT INTO purchases (id, branch_id, customer_id, purchased_at, total_cents, source)
                 SELECT id, branch, customer, at,
                        150 + CASE WHEN g % 2 = 0 THEN 200 ELSE 0 END + CASE WHEN g % 3 = 0 THEN 300 ELSE 0 END, 'import'
                 FROM p;
             INSERT INTO purchase_items (purchase_id, product_id, unit_price_cents)
                 SELECT id, 1, 150 FROM p
                 UNION ALL SELECT id, 2, 200 FROM p WHERE g % 2 = 0
                 UNION ALL SELECT id, 3, 300 FROM p WHERE g % 3 = 0;
             INSERT INTO outbox (event_id) SELECT id FROM p ORDER BY at;",
        )
        .await
        .expect("seed OLTP");
}

async fn relay_everything(db: &TestDatabases, nats: &TestNats) {
    let pool = supermarket_storage::pool::pool(&db.oltp_url, "DATABASE_URL", 2).expect("pool");
    let js = nats.jetstream();
    supermarket_events::ensure_stream(&js, &nats_args(nats))
        .await
        .expect("stream");
    let publisher = supermarket_relay::Publisher::new(
        pool,
        js,
        nats_args(nats),
        500,
        500,
        Arc::new(supermarket_relay::Metrics::default()),
    );
    while publisher.publish_batch().await.expect("relay batch") > 0 {}
}

#[tokio::test]
async fn rebuild_from_oltp_equals_the_incremental_read_models() {
    let (db, nats) = (TestDatabases::new().await, TestNats::new().await);
    seed_oltp(&db).await;
    relay_everything(&db, &nats).await;
    let time_zone = "America/New_York";
    let mut incremental = consumer(&db, &nats, 30, time_zone).await;
    let applied = consume(&mut incremental, 3000).await;
    assert_eq!(applied.new_events, 3000);
    let from_events = snapshot(&db).await;
    assert!(from_events["customer_stats"].lines().count() > 100);
    assert!(from_events["branch_hourly_sales"].lines().count() > 100);

    // Damage the read models, then rebuild them from OLTP.
    db.analytics()
        .await
        .batch_execute("DELETE FROM product_sales; UPDATE sales_totals SET customers = 0;")
        .await
        .expect("damage");
    let rebuilt = supermarket_analytics::rebuild::rebuild(
        &mut db.oltp().await,
        &mut db.analytics().await,
        &zone(time_zone),
    )
    .await
    .expect("rebuild");
    assert_eq!(rebuilt.purchases, 3000);
    let from_oltp = snapshot(&db).await;
    for (table, rows) in &from_events {
        assert_eq!(
            &from_oltp[table], rows,
            "table {table} differs between rebuild and incremental"
        );
    }

    // Every event delivered again after the rebuild (a new durable consumer
    // reads the stream from the start): all recognised, nothing changes.
    let pool = supermarket_storage::pool::pool(&db.analytics_url, "ANALYTICS_DATABASE_URL", 2)
        .expect("pool");
    let args = ConsumerArgs {
        name: format!("{}_replay", nats.consumer),
        ..consumer_args(&nats, 30)
    };
    let mut replay = Consumer::start(
        pool,
        &nats.jetstream(),
        &nats_args(&nats),
        &args,
        &zone(time_zone),
        Arc::new(Metrics::default()),
    )
    .await
    .expect("replay consumer");
    let again = consume(&mut replay, 3000).await;
    assert_eq!((again.new_events, again.duplicates), (0, 3000));
    assert_eq!(snapshot(&db).await, from_oltp);
    nats.cleanup().await;
}

#[tokio::test]
async fn two_consumer_instances_at_once_agree_with_the_rebuild() {
    let (db, nats) = (TestDatabases::new().await, TestNats::new().await);
    seed_oltp(&db).await;
    relay_everything(&db, &nats).await;
    let start = |db: &TestDatabases, nats: &TestNats| {
        let pool = supermarket_storage::pool::pool(&db.analytics_url, "ANALYTICS_DATABASE_URL", 2)
            .expect("pool");
        let args = ConsumerArgs {
            batch_size: 100,
            ..consumer_args(nats, 30)
        };
        let (js, nats_args) = (nats.jetstream(), nats_args(nats));
        async move {
            Consumer::start(
                pool,
                &js,
                &nats_args,
                &args,
                &zone("Europe/Paris"),
                Arc::new(Metrics::default()),
            )
            .await
            .expect("consumer")
        }
    };
    let (mut one, mut two) = (start(&db, &nats).await, start(&db, &nats).await);
    let (a, b) = tokio::join!(work(&db, &mut one), work(&db, &mut two));
    assert!(a > 0 && b > 0, "both instances took batches ({a} / {b})");
    let incremental = snapshot(&db).await;

    supermarket_analytics::rebuild::rebuild(
        &mut db.oltp().await,
        &mut db.analytics().await,
        &zone("Europe/Paris"),
    )
    .await
    .expect("rebuild");
    assert_eq!(snapshot(&db).await, incremental);
    nats.cleanup().await;
}

/// Takes batches until every event is processed (by this instance or another).
async fn work(db: &TestDatabases, consumer: &mut Consumer) -> usize {
    let mut batches = 0;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while db
        .analytics_count("SELECT count(*) FROM processed_events")
        .await
        < 3000
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the two consumers did not finish"
        );
        let batch = consumer
            .next_batch(std::time::Duration::from_millis(200))
            .await
            .expect("batch");
        if !batch.is_empty() {
            consumer
                .process(&batch)
                .await
                .expect("no deadlock, no error");
            batches += 1;
        }
    }
    batches
}
