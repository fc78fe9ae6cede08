//! Lake write throughput: publishes a backlog of purchase events to a
//! throwaway JetStream stream, then times the sink draining it into a
//! throwaway lake folder, and times the Parquet encoding alone.
//!
//! Uses the local PostgreSQL and NATS servers (`DATABASE_URL`, `NATS_URL`,
//! defaults `postgres://postgres@127.0.0.1:5432/postgres` and
//! `nats://127.0.0.1:4222`) through the test kit: fresh databases and a
//! fresh stream, all removed at the end.
//!
//! ```text
//! bench/lake/run.sh [events, default 200000] [roll events, default 100000]
//! ```

use std::time::{Duration, Instant};

use anyhow::Context;
use supermarket_domain::{EventItem, PurchaseCreated};
use supermarket_events::NatsArgs;
use supermarket_lake::LakeConfig;
use supermarket_lake::parquet_file::{self, Row};
use supermarket_testkit::{TestDatabases, TestNats};
use tokio_util::sync::CancellationToken;

fn event(i: usize) -> PurchaseCreated {
    let id = uuid::Uuid::now_v7();
    let catalog = [
        (1, "milk", 150),
        (2, "eggs", 300),
        (3, "bread", 250),
        (4, "toilet paper", 600),
    ];
    let items: Vec<EventItem> = catalog
        .iter()
        .take(2 + i % 3)
        .map(|&(product_id, name, price)| EventItem {
            product_id,
            product_name: name.to_owned(),
            unit_price_cents: price,
        })
        .collect();
    let at = chrono::Utc::now() - chrono::Duration::seconds((i % 86_400) as i64);
    PurchaseCreated::new(
        id,
        ["SMKT001", "SMKT002", "SMKT003"][i % 3],
        uuid::Uuid::new_v4(),
        at,
        items,
    )
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // RUST_LOG=info shows each roll's timing.
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .init();
    let mut args = std::env::args().skip(1);
    let n: usize = args
        .next()
        .map(|a| a.parse())
        .transpose()
        .context("events must be a number")?
        .unwrap_or(200_000);
    let roll: u64 = args
        .next()
        .map(|a| a.parse())
        .transpose()
        .context("roll events must be a number")?
        .unwrap_or(100_000);
    let events: Vec<PurchaseCreated> = (0..n).map(event).collect();

    // Encoding alone: one file per partition, as a roll does.
    let rows: Vec<Row> = events
        .iter()
        .enumerate()
        .map(|(i, e)| Row {
            seq: i as u64 + 1,
            event: e.clone(),
        })
        .collect();
    let started = Instant::now();
    let mut bytes = 0;
    for (_, rows) in parquet_file::files(1, n as u64, rows) {
        bytes += parquet_file::encode(&rows)?.len();
    }
    let encode = started.elapsed();

    let databases = TestDatabases::new().await;
    let nats = TestNats::new().await;
    let nats_args = NatsArgs::new(
        nats.url.clone(),
        nats.stream.clone(),
        nats.subject_prefix.clone(),
    );
    let js = nats.jetstream();
    supermarket_events::ensure_stream(&js, &nats_args).await?;
    let started = Instant::now();
    for chunk in events.chunks(5_000) {
        let mut acks = Vec::with_capacity(chunk.len());
        for event in chunk {
            acks.push(supermarket_events::publish_purchase(&js, &nats_args, event).await?);
        }
        for ack in acks {
            ack.await.context("JetStream ack")?;
        }
    }
    let publish = started.elapsed();

    let dir = std::env::temp_dir().join(format!(
        "lake-bench-{}",
        supermarket_testkit::unique_suffix()
    ));
    let config = LakeConfig {
        lake_url: dir.to_string_lossy().into_owned(),
        roll_seconds: 60,
        roll_events: roll,
        consumer_name: "lake_bench".to_owned(),
    };
    let pool =
        supermarket_storage::pool::pool(&databases.analytics_url, "ANALYTICS_DATABASE_URL", 4)?;
    let shutdown = CancellationToken::new();
    let started = Instant::now();
    let sink = tokio::spawn(supermarket_lake::run_sink(
        config,
        nats_args,
        pool,
        Default::default(),
        shutdown.clone(),
    ));
    let deadline = started + Duration::from_secs(600);
    loop {
        let done = databases
            .analytics_count("SELECT coalesce(sum(upper(r) - lower(r)), 0)::bigint FROM lake_progress p, unnest(p.done) r")
            .await;
        if done as usize >= n {
            break;
        }
        anyhow::ensure!(
            Instant::now() < deadline && !sink.is_finished(),
            "only {done} of {n} events drained"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let drain = started.elapsed();
    shutdown.cancel();
    sink.await??;
    let files = databases
        .analytics_count("SELECT sum(cardinality(objects))::bigint FROM lake_batches")
        .await;
    nats.cleanup().await;
    let _ = std::fs::remove_dir_all(&dir);

    let rate = |d: Duration| n as f64 / d.as_secs_f64();
    println!("events: {n}, roll: {roll} events, files written: {files}");
    println!(
        "parquet encoding only:  {:>10.0} events/s ({} bytes, {:.1} bytes/event)",
        rate(encode),
        bytes,
        bytes as f64 / n as f64
    );
    println!("publishing the backlog: {:>10.0} events/s", rate(publish));
    println!(
        "sink draining backlog:  {:>10.0} events/s ({:.2} s, pull + decode + intent log + parquet + put + ack)",
        rate(drain),
        drain.as_secs_f64()
    );
    Ok(())
}
