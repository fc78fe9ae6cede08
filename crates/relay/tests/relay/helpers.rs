//! Seeding the OLTP database, building relays, reading the stream back.

use std::collections::HashMap;
use std::sync::Arc;

use supermarket_domain::PurchaseCreated;
use supermarket_events::NatsArgs;
use supermarket_relay::{Metrics, Publisher};
use supermarket_testkit::{TestDatabases, TestNats};
use uuid::Uuid;

pub fn nats_args(nats: &TestNats) -> NatsArgs {
    NatsArgs::new(
        nats.url.clone(),
        nats.stream.clone(),
        nats.subject_prefix.clone(),
    )
}

/// Three branches and three products.
pub async fn seed_catalog(db: &TestDatabases) {
    db.oltp()
        .await
        .batch_execute(
            "INSERT INTO branches (id, name) VALUES ('SMKT001', 'One'), ('SMKT002', 'Two'), ('SMKT003', 'Three');
             INSERT INTO products (id, name, price_cents) VALUES (1, 'milk', 150), (2, 'bread', 200), (3, 'eggs', 300);",
        )
        .await
        .expect("seed catalog");
}

/// Inserts `n` purchases (milk + bread, 350 cents) with their outbox rows,
/// as the purchases service would; returns their ids.
pub async fn insert_purchases(db: &TestDatabases, n: i64) -> Vec<Uuid> {
    let client = db.oltp().await;
    client
        .batch_execute(&format!(
            "BEGIN;
             CREATE TEMP TABLE new_p ON COMMIT DROP AS
                 SELECT gen_random_uuid() AS id, gen_random_uuid() AS customer, 'SMKT00' || (1 + g % 3) AS branch,
                        now() - g * interval '1 minute' AS at
                 FROM generate_series(1, {n}) AS g;
             INSERT INTO customers (id) SELECT customer FROM new_p;
             INSERT INTO purchases (id, branch_id, customer_id, purchased_at, total_cents, source)
                 SELECT id, branch, customer, at, 350, 'pos' FROM new_p;
             INSERT INTO purchase_items (purchase_id, product_id, unit_price_cents)
                 SELECT id, 1, 150 FROM new_p UNION ALL SELECT id, 2, 200 FROM new_p;
             INSERT INTO outbox (event_id) SELECT id FROM new_p;
             CREATE TEMP TABLE inserted AS SELECT id FROM new_p;
             COMMIT;"
        ))
        .await
        .expect("insert purchases");
    client
        .query("SELECT id FROM inserted", &[])
        .await
        .expect("read ids")
        .iter()
        .map(|r| r.get(0))
        .collect()
}

pub async fn publisher(db: &TestDatabases, nats: &TestNats, batch_size: u32) -> Publisher {
    let pool = supermarket_storage::pool::pool(&db.oltp_url, "DATABASE_URL", 4).expect("pool");
    let js = nats.jetstream();
    supermarket_events::ensure_stream(&js, &nats_args(nats))
        .await
        .expect("stream");
    Publisher::new(
        pool,
        js,
        nats_args(nats),
        batch_size,
        200,
        Arc::new(Metrics::default()),
    )
}

/// Publishes batches until the outbox is empty; returns rows removed.
pub async fn drain(publisher: &Publisher) -> usize {
    let mut total = 0;
    loop {
        let rows = publisher.publish_batch().await.expect("batch");
        total += rows;
        if rows == 0 {
            return total;
        }
    }
}

pub async fn stream_message_count(nats: &TestNats) -> u64 {
    let mut stream = nats
        .jetstream()
        .get_stream(&nats.stream)
        .await
        .expect("stream exists");
    stream.info().await.expect("stream info").state.messages
}

/// Every message of the stream: its `Nats-Msg-Id` and decoded event, by message id.
pub async fn stream_events(nats: &TestNats) -> HashMap<String, (PurchaseCreated, String)> {
    let count = stream_message_count(nats).await;
    let stream = nats
        .jetstream()
        .get_stream(&nats.stream)
        .await
        .expect("stream exists");
    let mut events = HashMap::new();
    for seq in 1..=count {
        let message = stream.get_raw_message(seq).await.expect("message");
        let id = message
            .headers
            .get("Nats-Msg-Id")
            .expect("Nats-Msg-Id header")
            .as_str()
            .to_owned();
        let event = supermarket_events::decode(&message.payload).expect("a valid event");
        assert!(
            events
                .insert(id.clone(), (event, message.subject.to_string()))
                .is_none(),
            "message id {id} stored twice"
        );
    }
    events
}

pub async fn outbox_rows(db: &TestDatabases) -> i64 {
    db.oltp_count("SELECT count(*) FROM outbox").await
}
