//! Exactly-once into the stream: each outbox row lands once, duplicates are
//! absorbed, concurrent relays and crashes lose nothing.

use std::collections::HashSet;
use std::sync::atomic::Ordering::Relaxed;

use supermarket_relay::publisher::Stop;
use supermarket_testkit::{TestDatabases, TestNats};

use crate::helpers::*;

#[tokio::test]
async fn every_outbox_row_is_published_once_then_deleted() {
    let (db, nats) = (TestDatabases::new().await, TestNats::new().await);
    seed_catalog(&db).await;
    let ids = insert_purchases(&db, 1_200).await;
    let publisher = publisher(&db, &nats, 500).await;

    assert_eq!(drain(&publisher).await, 1_200);

    assert_eq!(outbox_rows(&db).await, 0);
    assert_eq!(stream_message_count(&nats).await, 1_200);
    let events = stream_events(&nats).await;
    let expected: HashSet<String> = ids.iter().map(|id| id.hyphenated().to_string()).collect();
    assert_eq!(events.keys().cloned().collect::<HashSet<_>>(), expected);
    for (msg_id, (event, subject)) in &events {
        assert_eq!(
            &event.event_id.hyphenated().to_string(),
            msg_id,
            "Nats-Msg-Id is the event id"
        );
        assert_eq!(event.event_id, event.purchase_id);
        assert_eq!(event.total_cents, 350);
        let names: Vec<&str> = event
            .items
            .iter()
            .map(|i| i.product_name.as_str())
            .collect();
        assert_eq!(names, ["milk", "bread"]);
        assert_eq!(
            subject,
            &format!("{}.created.{}", nats.subject_prefix, event.branch_id)
        );
    }
    assert_eq!(publisher.metrics().published.load(Relaxed), 1_200);
    assert_eq!(publisher.metrics().duplicates.load(Relaxed), 0);
    nats.cleanup().await;
}

#[tokio::test]
async fn the_stream_drops_a_republished_event_id() {
    let nats = TestNats::new().await;
    let args = nats_args(&nats);
    let js = nats.jetstream();
    supermarket_events::ensure_stream(&js, &args)
        .await
        .expect("stream");
    let event = supermarket_domain::PurchaseCreated {
        event_id: uuid::Uuid::now_v7(),
        event_type: "purchase.created".into(),
        schema_version: 1,
        purchase_id: uuid::Uuid::nil(),
        branch_id: "SMKT001".into(),
        customer_id: uuid::Uuid::now_v7(),
        purchased_at: chrono::Utc::now(),
        items: vec![],
        total_cents: 150,
    };
    let first = supermarket_events::publish_purchase(&js, &args, &event)
        .await
        .expect("publish")
        .await
        .expect("ack");
    let second = supermarket_events::publish_purchase(&js, &args, &event)
        .await
        .expect("publish")
        .await
        .expect("ack");
    assert!(!first.duplicate);
    assert!(
        second.duplicate,
        "the second publish of one event id is a duplicate"
    );
    assert_eq!(second.sequence, first.sequence);
    assert_eq!(stream_message_count(&nats).await, 1);
    // ensure_stream on an existing stream is a no-op that keeps the messages.
    supermarket_events::ensure_stream(&js, &args)
        .await
        .expect("stream again");
    assert_eq!(stream_message_count(&nats).await, 1);
    nats.cleanup().await;
}

#[tokio::test]
async fn two_relays_at_once_lose_nothing_and_publish_nothing_twice() {
    let (db, nats) = (TestDatabases::new().await, TestNats::new().await);
    seed_catalog(&db).await;
    insert_purchases(&db, 3_000).await;
    let (a, b) = (
        publisher(&db, &nats, 100).await,
        publisher(&db, &nats, 100).await,
    );

    let (from_a, from_b) = tokio::join!(drain(&a), drain(&b));

    assert_eq!(from_a + from_b, 3_000);
    assert!(
        from_a > 0 && from_b > 0,
        "both relays took work ({from_a} / {from_b})"
    );
    assert_eq!(outbox_rows(&db).await, 0);
    assert_eq!(stream_message_count(&nats).await, 3_000);
    assert_eq!(stream_events(&nats).await.len(), 3_000);
    assert_eq!(
        a.metrics().duplicates.load(Relaxed) + b.metrics().duplicates.load(Relaxed),
        0,
        "SKIP LOCKED: no row published twice"
    );
    nats.cleanup().await;
}

#[tokio::test]
async fn a_relay_dying_between_ack_and_commit_republishes_and_the_stream_dedups() {
    let (db, nats) = (TestDatabases::new().await, TestNats::new().await);
    seed_catalog(&db).await;
    insert_purchases(&db, 300).await;
    let publisher = publisher(&db, &nats, 500).await;

    // Published and acknowledged, then the process "dies" before commit.
    assert_eq!(
        publisher
            .publish_batch_until(Stop::AfterPublishBeforeCommit)
            .await
            .expect("batch"),
        0
    );
    assert_eq!(stream_message_count(&nats).await, 300);
    assert_eq!(outbox_rows(&db).await, 300, "rolled back: the rows stay");

    // The restarted relay publishes the same events again.
    let restarted = crate::helpers::publisher(&db, &nats, 500).await;
    assert_eq!(drain(&restarted).await, 300);
    assert_eq!(outbox_rows(&db).await, 0);
    assert_eq!(
        restarted.metrics().duplicates.load(Relaxed),
        300,
        "every re-publish was recognised"
    );
    assert_eq!(
        stream_message_count(&nats).await,
        300,
        "and none was stored twice"
    );
    nats.cleanup().await;
}

#[tokio::test]
async fn an_outbox_row_without_its_purchase_is_dropped_not_retried_forever() {
    let (db, nats) = (TestDatabases::new().await, TestNats::new().await);
    seed_catalog(&db).await;
    insert_purchases(&db, 2).await;
    db.oltp()
        .await
        .batch_execute("INSERT INTO outbox (event_id) VALUES (gen_random_uuid())")
        .await
        .expect("orphan row");
    let publisher = publisher(&db, &nats, 500).await;
    assert_eq!(drain(&publisher).await, 3);
    assert_eq!(stream_message_count(&nats).await, 2);
    assert_eq!(publisher.metrics().orphans.load(Relaxed), 1);
    nats.cleanup().await;
}
