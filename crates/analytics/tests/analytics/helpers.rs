//! Events, consumers, snapshots of the read models, a running API.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use supermarket_analytics::apply::Applied;
use supermarket_analytics::consumer::{Consumer, ConsumerArgs};
use supermarket_analytics::metrics::Metrics;
use supermarket_analytics::timezone::StoreTimeZone;
use supermarket_domain::{EventItem, PurchaseCreated};
use supermarket_events::NatsArgs;
use supermarket_testkit::{TestDatabases, TestNats};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

pub fn nats_args(nats: &TestNats) -> NatsArgs {
    NatsArgs::new(
        nats.url.clone(),
        nats.stream.clone(),
        nats.subject_prefix.clone(),
    )
}

pub fn consumer_args(nats: &TestNats, ack_wait_secs: u64) -> ConsumerArgs {
    ConsumerArgs {
        name: nats.consumer.clone(),
        batch_size: 1000,
        ack_wait_secs,
        max_ack_pending: 20_000,
    }
}

pub fn zone(name: &str) -> StoreTimeZone {
    StoreTimeZone {
        store_timezone: name.parse().expect("a time zone"),
    }
}

pub async fn consumer(
    db: &TestDatabases,
    nats: &TestNats,
    ack_wait_secs: u64,
    time_zone: &str,
) -> Consumer {
    let pool = supermarket_storage::pool::pool(&db.analytics_url, "ANALYTICS_DATABASE_URL", 4)
        .expect("pool");
    Consumer::start(
        pool,
        &nats.jetstream(),
        &nats_args(nats),
        &consumer_args(nats, ack_wait_secs),
        &zone(time_zone),
        Arc::new(Metrics::default()),
    )
    .await
    .expect("consumer starts")
}

/// Processes batches until `messages` messages were handled (or fails after 15 s).
pub async fn consume(consumer: &mut Consumer, messages: usize) -> Applied {
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut total = Applied::default();
    let mut seen = 0;
    while seen < messages {
        assert!(
            Instant::now() < deadline,
            "only {seen} of {messages} messages arrived"
        );
        let batch = consumer
            .next_batch(Duration::from_millis(500))
            .await
            .expect("batch");
        seen += batch.len();
        let applied = consumer.process(&batch).await.expect("process");
        total.new_events += applied.new_events;
        total.duplicates += applied.duplicates;
        total.dead_letters += applied.dead_letters;
    }
    total
}

/// Asserts that no message arrives within `wait`.
pub async fn assert_idle(consumer: &mut Consumer, wait: Duration) {
    let batch = consumer.next_batch(wait).await.expect("batch");
    assert!(batch.is_empty(), "{} unexpected messages", batch.len());
}

pub const MILK: (i32, &str, i64) = (1, "milk", 150);
pub const BREAD: (i32, &str, i64) = (2, "bread", 200);
pub const EGGS: (i32, &str, i64) = (3, "eggs", 300);

pub fn event(
    customer: Uuid,
    branch: &str,
    at: &str,
    items: &[(i32, &str, i64)],
) -> PurchaseCreated {
    let items = items
        .iter()
        .map(|(product_id, name, cents)| EventItem {
            product_id: *product_id,
            product_name: (*name).into(),
            unit_price_cents: *cents,
        })
        .collect();
    PurchaseCreated::new(
        Uuid::now_v7(),
        branch,
        customer,
        at.parse::<DateTime<Utc>>().expect("an RFC 3339 time"),
        items,
    )
}

/// Publishes with `Nats-Msg-Id` (as the relay does).
pub async fn publish(nats: &TestNats, events: &[PurchaseCreated]) {
    let js = nats.jetstream();
    let args = nats_args(nats);
    supermarket_events::ensure_stream(&js, &args)
        .await
        .expect("stream");
    for event in events {
        supermarket_events::publish_purchase(&js, &args, event)
            .await
            .expect("publish")
            .await
            .expect("ack");
    }
}

/// Publishes without a message id: the stream keeps the copy, so only the
/// consumer's own deduplication can absorb it.
pub async fn publish_raw(nats: &TestNats, subject_suffix: &str, payload: Vec<u8>) {
    let js = nats.jetstream();
    supermarket_events::ensure_stream(&js, &nats_args(nats))
        .await
        .expect("stream");
    js.publish(
        format!("{}.{subject_suffix}", nats.subject_prefix),
        payload.into(),
    )
    .await
    .expect("publish")
    .await
    .expect("ack");
}

pub async fn publish_copies(nats: &TestNats, events: &[PurchaseCreated]) {
    for event in events {
        publish_raw(
            nats,
            &format!("created.{}", event.branch_id),
            serde_json::to_vec(event).expect("json"),
        )
        .await;
    }
}

/// Every read-model row as text, by table: what rebuild and the consumer
/// must agree on. Freshness is reduced to its deterministic columns.
pub async fn snapshot(db: &TestDatabases) -> BTreeMap<&'static str, String> {
    let client = db.analytics().await;
    let mut tables = BTreeMap::new();
    for table in [
        "processed_events (event_id)",
        "customer_stats",
        "customer_purchase_histogram",
        "product_sales",
        "branch_daily_sales",
        "branch_hourly_sales",
        "daily_customers",
        "daily_unique_customers",
        "sales_totals",
        "pipeline_freshness (events_applied, last_purchased_at)",
    ] {
        let (name, columns) = match table.split_once(' ') {
            Some((name, columns)) => (
                name,
                columns.trim_matches(|c| c == '(' || c == ')').to_owned(),
            ),
            None => (table, "*".to_owned()),
        };
        let sql = format!(
            "SELECT coalesce(string_agg(r::text, E'\\n' ORDER BY r::text), '') FROM (SELECT {columns} FROM {name}) AS r"
        );
        let text: String = client
            .query_one(&sql, &[])
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .get(0);
        tables.insert(name, text);
    }
    tables
}

/// A running analytics API on a free port.
pub struct Api {
    pub base: String,
    shutdown: CancellationToken,
}

impl Api {
    pub async fn start(db: &TestDatabases, loyal_min_purchases: i64, time_zone: &str) -> Api {
        let open = supermarket_auth::AuthConfig {
            auth_mode: supermarket_auth::AuthMode::Open,
            ..Default::default()
        };
        Self::start_with_auth(db, loyal_min_purchases, time_zone, open).await
    }

    pub async fn start_with_auth(
        db: &TestDatabases,
        loyal_min_purchases: i64,
        time_zone: &str,
        auth: supermarket_auth::AuthConfig,
    ) -> Api {
        let config = supermarket_analytics::api::Config {
            addr: "127.0.0.1:0".parse().expect("addr"),
            analytics: supermarket_storage::AnalyticsDatabaseArgs::new(db.analytics_url.clone(), 4),
            loyal_min_purchases,
            time_zone: zone(time_zone),
            auth,
        };
        let app = supermarket_analytics::api::Application::build(config)
            .await
            .expect("API starts");
        let base = format!("http://127.0.0.1:{}", app.port());
        let shutdown = CancellationToken::new();
        tokio::spawn(app.run_until_stopped(shutdown.clone()));
        Api { base, shutdown }
    }

    pub async fn get(&self, path: &str) -> (u16, serde_json::Value) {
        let response = reqwest::get(format!("{}{path}", self.base))
            .await
            .expect("request");
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let body: serde_json::Value = response.json().await.expect("a JSON body");
        if status >= 400 {
            assert_eq!(
                content_type, "application/problem+json",
                "errors are problem documents"
            );
        }
        (status, body)
    }
}

impl Drop for Api {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}
