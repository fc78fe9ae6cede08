//! The consumer applies each event once, whatever the broker does.

use std::time::Duration;

use supermarket_analytics::consumer::Stop;
use supermarket_testkit::{TestDatabases, TestNats};
use uuid::Uuid;

use crate::helpers::*;

fn sample_events() -> Vec<supermarket_domain::PurchaseCreated> {
    let (alice, bob) = (Uuid::now_v7(), Uuid::now_v7());
    vec![
        event(alice, "SMKT001", "2025-05-01T08:15:00Z", &[MILK, BREAD]),
        event(alice, "SMKT002", "2025-05-01T09:45:00Z", &[MILK]),
        event(alice, "SMKT001", "2025-05-02T10:00:00Z", &[EGGS, BREAD]),
        event(bob, "SMKT003", "2025-05-02T10:30:00Z", &[MILK, EGGS]),
    ]
}

#[tokio::test]
async fn applies_events_and_ignores_redeliveries_and_duplicate_publishes() {
    let (db, nats) = (TestDatabases::new().await, TestNats::new().await);
    let events = sample_events();
    publish(&nats, &events).await;
    let mut consumer = consumer(&db, &nats, 30, "UTC").await;

    let applied = consume(&mut consumer, 4).await;
    assert_eq!((applied.new_events, applied.duplicates), (4, 0));
    let after_first = snapshot(&db).await;
    assert_eq!(
        db.analytics_count("SELECT customers FROM sales_totals")
            .await,
        2
    );
    assert_eq!(
        db.analytics_count("SELECT revenue_cents FROM sales_totals")
            .await,
        150 + 200 + 150 + 300 + 200 + 150 + 300
    );
    assert_eq!(
        db.analytics_count("SELECT purchases FROM customer_stats ORDER BY purchases DESC LIMIT 1")
            .await,
        3
    );
    assert_eq!(
        db.analytics_count("SELECT units_sold FROM product_sales WHERE product_name = 'milk'")
            .await,
        3
    );
    assert_eq!(
        db.analytics_count("SELECT customers FROM daily_unique_customers WHERE day = '2025-05-01'")
            .await,
        1
    );
    assert_eq!(
        db.analytics_count("SELECT customers FROM daily_unique_customers WHERE day = '2025-05-02'")
            .await,
        2
    );
    // Alice went 1 -> 2 -> 3 purchases within one batch: only the final count remains.
    assert_eq!(
        db.analytics_count("SELECT count(*) FROM customer_purchase_histogram")
            .await,
        2
    );

    // The same event ids again, as copies the stream could not deduplicate
    // (e.g. after its duplicate window), plus a re-publish it does deduplicate.
    publish_copies(&nats, &events).await;
    publish(&nats, &events[..1]).await;
    let again = consume(&mut consumer, 4).await;
    assert_eq!((again.new_events, again.duplicates), (0, 4));
    assert_eq!(snapshot(&db).await, after_first, "nothing changed");
    assert_idle(&mut consumer, Duration::from_millis(300)).await;
    nats.cleanup().await;
}

#[tokio::test]
async fn a_consumer_dying_before_commit_or_before_ack_loses_and_doubles_nothing() {
    let (db, nats) = (TestDatabases::new().await, TestNats::new().await);
    let events = sample_events();
    publish(&nats, &events).await;

    // Dies before committing: nothing applied, nothing acknowledged.
    {
        let mut doomed = consumer(&db, &nats, 1, "UTC").await;
        let batch = doomed
            .next_batch(Duration::from_secs(5))
            .await
            .expect("batch");
        assert_eq!(batch.len(), 4);
        doomed
            .process_until(&batch, Stop::BeforeCommit)
            .await
            .expect("rolled back");
    }
    assert_eq!(
        db.analytics_count("SELECT count(*) FROM processed_events")
            .await,
        0
    );

    // The restarted consumer gets them again once the ack wait (1 s) passes.
    let mut restarted = consumer(&db, &nats, 1, "UTC").await;
    let applied = consume(&mut restarted, 4).await;
    assert_eq!(applied.new_events, 4);
    let expected = snapshot(&db).await;
    drop(restarted);

    // Now one dies after committing but before acknowledging.
    let more = vec![event(
        Uuid::now_v7(),
        "SMKT002",
        "2025-05-03T12:00:00Z",
        &[BREAD],
    )];
    publish(&nats, &more).await;
    {
        let mut doomed = consumer(&db, &nats, 1, "UTC").await;
        let batch = doomed
            .next_batch(Duration::from_secs(5))
            .await
            .expect("batch");
        assert_eq!(batch.len(), 1);
        let applied = doomed
            .process_until(&batch, Stop::AfterCommitBeforeAck)
            .await
            .expect("committed");
        assert_eq!(applied.new_events, 1);
    }
    let with_more = snapshot(&db).await;
    assert_ne!(with_more, expected);

    // Redelivered after the ack wait: recognised, nothing counted twice.
    let mut restarted = consumer(&db, &nats, 1, "UTC").await;
    let again = consume(&mut restarted, 1).await;
    assert_eq!((again.new_events, again.duplicates), (0, 1));
    assert_eq!(snapshot(&db).await, with_more);
    assert_eq!(
        db.analytics_count("SELECT purchases FROM sales_totals")
            .await,
        5
    );
    nats.cleanup().await;
}

#[tokio::test]
async fn a_poison_message_is_dead_lettered_and_acknowledged_without_blocking() {
    let (db, nats) = (TestDatabases::new().await, TestNats::new().await);
    publish_raw(&nats, "created.SMKT001", b"{not json".to_vec()).await;
    publish_raw(
        &nats,
        "created.SMKT001",
        br#"{"event_type":"purchase.created"}"#.to_vec(),
    )
    .await;
    let good = vec![event(
        Uuid::now_v7(),
        "SMKT001",
        "2025-05-01T08:00:00Z",
        &[MILK],
    )];
    publish(&nats, &good).await;
    let mut consumer = consumer(&db, &nats, 1, "UTC").await;

    let applied = consume(&mut consumer, 3).await;
    assert_eq!((applied.new_events, applied.dead_letters), (1, 2));
    assert_eq!(
        db.analytics_count("SELECT count(*) FROM dead_letters")
            .await,
        2
    );
    assert_eq!(
        db.analytics_count("SELECT dead_letters FROM pipeline_freshness")
            .await,
        2
    );
    assert_eq!(
        db.analytics_count("SELECT purchases FROM sales_totals")
            .await,
        1
    );
    // Acknowledged: not redelivered after the ack wait.
    assert_idle(&mut consumer, Duration::from_millis(1_500)).await;
    nats.cleanup().await;
}

#[tokio::test]
async fn days_and_hours_are_those_of_the_store_time_zone() {
    let (db, nats) = (TestDatabases::new().await, TestNats::new().await);
    // 23:30 UTC on 1 May is 01:30 on 2 May in Paris (UTC+2 in summer).
    publish(
        &nats,
        &[event(
            Uuid::now_v7(),
            "SMKT001",
            "2025-05-01T23:30:00Z",
            &[MILK],
        )],
    )
    .await;
    let mut paris = consumer(&db, &nats, 30, "Europe/Paris").await;
    consume(&mut paris, 1).await;
    let client = db.analytics().await;
    let row = client
        .query_one("SELECT day::text, hour FROM branch_hourly_sales", &[])
        .await
        .expect("one row");
    assert_eq!(
        (row.get::<_, String>(0), row.get::<_, i16>(1)),
        ("2025-05-02".to_owned(), 1)
    );
    assert_eq!(
        db.analytics_count("SELECT count(*) FROM branch_daily_sales WHERE day = '2025-05-02'")
            .await,
        1
    );
    assert_eq!(
        db.analytics_count("SELECT count(*) FROM daily_unique_customers WHERE day = '2025-05-02'")
            .await,
        1
    );

    // The same instant in UTC stays on 1 May, hour 23.
    let (db_utc, nats_utc) = (TestDatabases::new().await, TestNats::new().await);
    publish(
        &nats_utc,
        &[event(
            Uuid::now_v7(),
            "SMKT001",
            "2025-05-01T23:30:00Z",
            &[MILK],
        )],
    )
    .await;
    let mut utc = consumer(&db_utc, &nats_utc, 30, "UTC").await;
    consume(&mut utc, 1).await;
    let row = db_utc
        .analytics()
        .await
        .query_one("SELECT day::text, hour FROM branch_hourly_sales", &[])
        .await
        .expect("one row");
    assert_eq!(
        (row.get::<_, String>(0), row.get::<_, i16>(1)),
        ("2025-05-01".to_owned(), 23)
    );
    nats.cleanup().await;
    nats_utc.cleanup().await;
}

#[tokio::test]
async fn a_batch_held_up_longer_than_the_ack_wait_is_not_redelivered_meanwhile() {
    let (db, nats) = (TestDatabases::new().await, TestNats::new().await);
    publish(&nats, &sample_events()).await;
    // Another session holds the table the consumer writes first, for three
    // ack waits: the batch waits on the lock, as it would on a slow or
    // restarting database.
    let mut blocker = db.analytics().await;
    let lock = blocker.transaction().await.expect("a transaction");
    lock.batch_execute("LOCK TABLE processed_events IN ACCESS EXCLUSIVE MODE")
        .await
        .expect("the lock");

    let metrics = std::sync::Arc::new(supermarket_analytics::metrics::Metrics::default());
    let pool = supermarket_storage::pool::pool(&db.analytics_url, "ANALYTICS_DATABASE_URL", 4)
        .expect("pool");
    let consumer = supermarket_analytics::consumer::Consumer::start(
        pool,
        &nats.jetstream(),
        &nats_args(&nats),
        // An ack wait of 2 s, not 1: on a loaded 2-core machine the first
        // progress report of a 1 s wait can come late through no fault of
        // the consumer, and the test would measure the machine.
        &consumer_args(&nats, 2),
        &zone("UTC"),
        metrics.clone(),
    )
    .await
    .expect("consumer starts");
    let shutdown = tokio_util::sync::CancellationToken::new();
    let running = tokio::spawn(consumer.run(shutdown.clone()));
    tokio::time::sleep(Duration::from_millis(6_500)).await;
    lock.commit().await.expect("release");

    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while db
        .analytics_count("SELECT count(*) FROM processed_events")
        .await
        < 4
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the batch was not applied after the lock"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Time for any redelivery to arrive and be counted.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    shutdown.cancel();
    running
        .await
        .expect("the consumer task")
        .expect("the consumer stops cleanly");
    use std::sync::atomic::Ordering::Relaxed;
    assert_eq!(metrics.events_applied.load(Relaxed), 4);
    assert_eq!(
        metrics.duplicates.load(Relaxed),
        0,
        "progress reports kept the server from redelivering the batch in hand"
    );
    nats.cleanup().await;
}

#[tokio::test]
async fn a_restarted_consumer_applies_a_changed_ack_wait() {
    let (db, nats) = (TestDatabases::new().await, TestNats::new().await);
    publish(&nats, &sample_events()).await;
    drop(consumer(&db, &nats, 30, "UTC").await);
    let _restarted = consumer(&db, &nats, 2, "UTC").await;
    let info = nats
        .jetstream()
        .get_stream(&nats.stream)
        .await
        .expect("the stream")
        .consumer_info(&nats.consumer)
        .await
        .expect("the durable consumer");
    assert_eq!(info.config.ack_wait, Duration::from_secs(2));
    nats.cleanup().await;
}
