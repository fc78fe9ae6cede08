//! The original data through the whole pipeline: loader → OLTP + outbox →
//! relay → JetStream → consumer → read models → API.

use std::time::{Duration, Instant};

use serde_json::json;
use supermarket_testkit::{TestDatabases, TestNats, data};
use tokio_util::sync::CancellationToken;

use crate::helpers::*;

#[tokio::test]
async fn the_original_data_gives_the_original_answers() {
    let (db, nats) = (TestDatabases::new().await, TestNats::new().await);
    let summary = supermarket_loader::load(&supermarket_loader::LoadOptions {
        database_url: db.oltp_url.clone(),
        db_wait: std::time::Duration::from_secs(supermarket_storage::startup::DEFAULT_WAIT_SECS),
        products: data::products_csv(),
        purchases: data::purchases_csv(),
        branches: data::branches_csv(),
        store_timezone: chrono_tz::UTC,
        progress: false,
    })
    .await
    .expect("the original files load");
    let purchases = db.oltp_count("SELECT count(*) FROM purchases").await;
    assert_eq!(purchases as u64, summary.purchases_loaded);

    let lake_dir =
        std::env::temp_dir().join(format!("lake_{}", supermarket_testkit::unique_suffix()));
    let shutdown = CancellationToken::new();
    let relay = supermarket_relay::Application::build(supermarket_relay::Config {
        addr: "127.0.0.1:0".parse().expect("addr"),
        database: supermarket_storage::DatabaseArgs::new(db.oltp_url.clone(), 4),
        nats: nats_args(&nats),
        batch_size: 500,
        max_in_flight: 500,
        poll_ms: 200,
    })
    .await
    .expect("relay starts");
    let consumer = supermarket_analytics::consumer::Application::build(
        supermarket_analytics::consumer::Config {
            addr: "127.0.0.1:0".parse().expect("addr"),
            analytics: supermarket_storage::AnalyticsDatabaseArgs::new(db.analytics_url.clone(), 4),
            nats: nats_args(&nats),
            consumer: consumer_args(&nats, 30),
            time_zone: zone("UTC"),
        },
    )
    .await
    .expect("consumer starts");
    let consumer_port = consumer.port();
    // The lake sink is a service of its own, a sibling consumer of the stream.
    let lake = supermarket_lake::service::Application::build(supermarket_lake::service::Config {
        addr: "127.0.0.1:0".parse().expect("addr"),
        analytics: supermarket_storage::AnalyticsDatabaseArgs::new(db.analytics_url.clone(), 2),
        nats: nats_args(&nats),
        lake: supermarket_lake::LakeConfig {
            lake_url: lake_dir.to_string_lossy().into_owned(),
            roll_seconds: 1,
            roll_events: 100_000,
            consumer_name: format!("{}_lake", nats.consumer),
        },
    })
    .await
    .expect("lake sink starts");
    let lake_port = lake.port();
    let lake_task = tokio::spawn(lake.run_until_stopped(shutdown.clone()));
    let relay_task = tokio::spawn(relay.run_until_stopped(shutdown.clone()));
    let consumer_task = tokio::spawn(consumer.run_until_stopped(shutdown.clone()));
    let api = Api::start(&db, 3, "UTC").await;

    let started = Instant::now();
    loop {
        let (_, fresh) = api.get("/api/v1/analytics/freshness").await;
        if fresh["events_applied"] == json!(purchases) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "only {} of {purchases} events applied",
            fresh["events_applied"]
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    assert_eq!(
        api.get("/unique-customers").await.1,
        json!({"unique_customers": 1762})
    );
    let (_, loyal) = api.get("/loyal-customers").await;
    assert_eq!(loyal["count"], 142);
    assert_eq!(loyal["customers"].as_array().map(Vec::len), Some(142));
    assert_eq!(
        api.get("/top-products").await.1,
        json!({"products": [
            {"product": "milk", "units_sold": 1823, "rank": 1},
            {"product": "eggs", "units_sold": 1812, "rank": 2},
            {"product": "bread", "units_sold": 1777, "rank": 3},
        ]})
    );
    assert_eq!(
        db.oltp_count("SELECT count(*) FROM outbox").await,
        0,
        "the relay emptied the outbox"
    );

    // The lake sink, beside the consumer: raw events reach Parquet files,
    // every one of them, as its /metrics counts.
    let started = Instant::now();
    let written = format!("lake_events_written_total {purchases}");
    loop {
        let lake_metrics = reqwest::get(format!("http://127.0.0.1:{lake_port}/metrics"))
            .await
            .expect("lake metrics")
            .text()
            .await
            .expect("text");
        if lake_metrics.contains(&written) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "the lake sink did not write all {purchases} events: {lake_metrics}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(has_parquet(&lake_dir), "no Parquet file in the lake");

    let metrics = reqwest::get(format!("http://127.0.0.1:{consumer_port}/metrics"))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(
        metrics.contains(&format!("analytics_events_applied_total {purchases}")),
        "{metrics}"
    );

    shutdown.cancel();
    relay_task
        .await
        .expect("relay joined")
        .expect("relay stopped cleanly");
    consumer_task
        .await
        .expect("consumer joined")
        .expect("consumer stopped cleanly");
    lake_task
        .await
        .expect("lake sink joined")
        .expect("lake sink stopped cleanly");
    let _ = std::fs::remove_dir_all(&lake_dir);
    nats.cleanup().await;
}

fn has_parquet(dir: &std::path::Path) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries.flatten().any(|entry| {
        let path = entry.path();
        if path.is_dir() {
            has_parquet(&path)
        } else {
            path.extension().is_some_and(|e| e == "parquet")
        }
    })
}
