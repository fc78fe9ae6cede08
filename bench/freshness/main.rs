//! Freshness benchmark: how long after a purchase is committed by the
//! purchases service does the analytics API show it?
//!
//! Everything runs for real in this process on 127.0.0.1: the purchases
//! service, the outbox relay, the analytics consumer, the lake sink
//! and the analytics API, on fresh databases and a fresh JetStream stream.
//! Background cashiers send purchases at `--rate` per second; every
//! `1/--probes` second a probe buys as a brand-new customer and polls
//! `GET /api/v1/analytics/customers/{id}` every 2 ms until it answers 200.
//! The figure is (first 200) − (purchase response received): the commit
//! happened before the response, so this slightly under-states the true
//! delay by the response's transfer time (well under a millisecond here).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use hdrhistogram::Histogram;
use rand::Rng;
use serde_json::json;
use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

#[derive(Parser, Debug)]
#[command(about = "Purchase-to-analytics visibility delay under load")]
struct Args {
    /// PostgreSQL server (admin URL); databases bench_freshness_* are made on it.
    #[arg(
        long,
        env = "BENCH_ADMIN_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    admin_url: String,
    /// NATS server.
    #[arg(long, env = "NATS_URL", default_value = "nats://127.0.0.1:4222")]
    nats_url: String,
    /// Seconds of measurement.
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// Background purchases per second.
    #[arg(long, default_value_t = 500)]
    rate: u64,
    /// Probe purchases per second (each one measured).
    #[arg(long, default_value_t = 20)]
    probes: u64,
}

const PRODUCTS: [&str; 5] = ["milk", "bread", "eggs", "chicken", "toilet paper"];
const BRANCHES: [&str; 3] = ["SMKT001", "SMKT002", "SMKT003"];

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let suffix = &Uuid::new_v4().simple().to_string()[..8];
    let (oltp_db, analytics_db) = (
        format!("bench_freshness_{suffix}"),
        format!("bench_freshness_{suffix}_analytics"),
    );
    let admin = supermarket_storage::connect(&args.admin_url, "BENCH_ADMIN_URL").await?;
    for name in [&oltp_db, &analytics_db] {
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await?;
    }
    let lake_dir = std::env::temp_dir().join(format!("bench_freshness_lake_{suffix}"));
    let nats = supermarket_events::NatsArgs::new(
        args.nats_url.clone(),
        format!("BENCH_FRESHNESS_{suffix}"),
        format!("bench_{suffix}.purchases"),
    );
    let result = measure(
        &args,
        &with_database(&args.admin_url, &oltp_db),
        &with_database(&args.admin_url, &analytics_db),
        &nats,
        &lake_dir,
    )
    .await;
    // Clean up whatever happened.
    if let Ok((_, js)) = supermarket_events::connect(&nats).await {
        let _ = js.delete_stream(&nats.stream).await;
    }
    for name in [&oltp_db, &analytics_db] {
        let _ = admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await;
    }
    let _ = std::fs::remove_dir_all(&lake_dir);
    result
}

async fn measure(
    args: &Args,
    oltp_url: &str,
    analytics_url: &str,
    nats: &supermarket_events::NatsArgs,
    lake_dir: &std::path::Path,
) -> anyhow::Result<()> {
    supermarket_storage::migrate::oltp(&mut supermarket_storage::connect(oltp_url, "oltp").await?)
        .await?;
    supermarket_storage::migrate::analytics(
        &mut supermarket_storage::connect(analytics_url, "analytics").await?,
    )
    .await?;
    let oltp = supermarket_storage::connect(oltp_url, "oltp").await?;
    oltp.batch_execute(
        "INSERT INTO branches (id, name) VALUES ('SMKT001', 'Central'), ('SMKT002', 'Northside'), ('SMKT003', 'Riverside');
         INSERT INTO products (name, price_cents) VALUES ('milk', 150), ('bread', 200), ('eggs', 300), ('chicken', 650), ('toilet paper', 450);",
    )
    .await?;

    let shutdown = CancellationToken::new();
    let purchases = supermarket_purchases::Application::build(
        supermarket_purchases::Config::for_database(oltp_url),
    )
    .await?;
    let purchases_url = format!("http://127.0.0.1:{}/api/v1/purchases", purchases.port());
    let relay = supermarket_relay::Application::build(supermarket_relay::Config {
        addr: "127.0.0.1:0".parse()?,
        database: supermarket_storage::DatabaseArgs::new(oltp_url, 4),
        nats: nats.clone(),
        batch_size: 500,
        max_in_flight: 1000,
        poll_ms: 500,
    })
    .await?;
    let consumer = supermarket_analytics::consumer::Application::build(
        supermarket_analytics::consumer::Config {
            addr: "127.0.0.1:0".parse()?,
            analytics: supermarket_storage::AnalyticsDatabaseArgs::new(analytics_url, 4),
            nats: nats.clone(),
            consumer: supermarket_analytics::consumer::ConsumerArgs {
                name: "analytics".into(),
                batch_size: 1000,
                ack_wait_secs: 30,
                max_ack_pending: 20_000,
            },
            time_zone: supermarket_analytics::timezone::StoreTimeZone::utc(),
        },
    )
    .await?;
    let lake = supermarket_lake::service::Application::build(supermarket_lake::service::Config {
        addr: "127.0.0.1:0".parse()?,
        analytics: supermarket_storage::AnalyticsDatabaseArgs::new(analytics_url, 2),
        nats: nats.clone(),
        lake: supermarket_lake::LakeConfig {
            lake_url: lake_dir.to_string_lossy().into_owned(),
            roll_seconds: 10,
            roll_events: 100_000,
            consumer_name: "lake".into(),
        },
    })
    .await?;
    let api = supermarket_analytics::api::Application::build(supermarket_analytics::api::Config {
        addr: "127.0.0.1:0".parse()?,
        analytics: supermarket_storage::AnalyticsDatabaseArgs::new(analytics_url, 8),
        loyal_min_purchases: 3,
        time_zone: supermarket_analytics::timezone::StoreTimeZone::utc(),
        auth: supermarket_auth::AuthConfig {
            auth_mode: supermarket_auth::AuthMode::Open,
            ..Default::default()
        },
    })
    .await?;
    let api_url = format!("http://127.0.0.1:{}", api.port());
    let tasks = vec![
        tokio::spawn(purchases.run_until_stopped(shutdown.clone())),
        tokio::spawn(relay.run_until_stopped(shutdown.clone())),
        tokio::spawn(consumer.run_until_stopped(shutdown.clone())),
        tokio::spawn(lake.run_until_stopped(shutdown.clone())),
        tokio::spawn(api.run_until_stopped(shutdown.clone())),
    ];

    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()?;
    let stop_load = CancellationToken::new();
    let sent = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let returning: Arc<Vec<Uuid>> = Arc::new((0..2000).map(|_| Uuid::new_v4()).collect());

    // Background cashiers: 32 workers share the rate, each paced on its own clock.
    let workers = 32u64;
    let mut load = Vec::new();
    for _ in 0..workers {
        let (http, url, stop, sent, failed, returning) = (
            http.clone(),
            purchases_url.clone(),
            stop_load.clone(),
            sent.clone(),
            failed.clone(),
            returning.clone(),
        );
        let interval = Duration::from_secs_f64(workers as f64 / args.rate.max(1) as f64);
        load.push(tokio::spawn(async move {
            let mut ticker = tokio::time::interval(interval);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            while !stop.is_cancelled() {
                ticker.tick().await;
                let customer = {
                    let mut rng = rand::rng();
                    returning[rng.random_range(0..returning.len())]
                };
                let ok = buy(&http, &url, customer).await.is_ok();
                sent.fetch_add(1, Relaxed);
                if !ok {
                    failed.fetch_add(1, Relaxed);
                }
            }
        }));
    }

    // Probes.
    let delays = Arc::new(Mutex::new(Histogram::<u64>::new_with_bounds(
        1, 60_000_000, 3,
    )?));
    let missed = Arc::new(AtomicU64::new(0));
    let mut probes = Vec::new();
    let started = Instant::now();
    let mut ticker =
        tokio::time::interval(Duration::from_secs_f64(1.0 / args.probes.max(1) as f64));
    while started.elapsed() < Duration::from_secs(args.seconds) {
        ticker.tick().await;
        let (http, url, api_url, delays, missed) = (
            http.clone(),
            purchases_url.clone(),
            api_url.clone(),
            delays.clone(),
            missed.clone(),
        );
        probes.push(tokio::spawn(async move {
            let customer = Uuid::new_v4();
            if buy(&http, &url, customer).await.is_err() {
                missed.fetch_add(1, Relaxed);
                return;
            }
            let committed = Instant::now();
            let target = format!("{api_url}/api/v1/analytics/customers/{customer}");
            while committed.elapsed() < Duration::from_secs(10) {
                if http
                    .get(&target)
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success())
                {
                    let micros = committed.elapsed().as_micros() as u64;
                    let _ = delays.lock().await.record(micros.max(1));
                    return;
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            missed.fetch_add(1, Relaxed);
        }));
    }
    let elapsed = started.elapsed().as_secs_f64();
    stop_load.cancel();
    for task in probes {
        let _ = task.await;
    }
    for task in load {
        let _ = task.await;
    }

    let delays = delays.lock().await;
    let ms = |q: f64| delays.value_at_quantile(q) as f64 / 1000.0;
    println!(
        "background purchases: {} sent in {elapsed:.1} s ({:.0}/s, target {}/s), {} failed",
        sent.load(Relaxed),
        sent.load(Relaxed) as f64 / elapsed,
        args.rate,
        failed.load(Relaxed)
    );
    println!(
        "probes measured: {}, not visible within 10 s: {}",
        delays.len(),
        missed.load(Relaxed)
    );
    println!(
        "visible in analytics after commit: p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        ms(0.50),
        ms(0.90),
        ms(0.99),
        delays.max() as f64 / 1000.0
    );
    let under_1s = delays.count_between(0, 1_000_000) as f64 / delays.len().max(1) as f64 * 100.0;
    println!("within 1 s: {under_1s:.2} %");

    shutdown.cancel();
    for task in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
    }
    Ok(())
}

async fn buy(http: &reqwest::Client, url: &str, customer: Uuid) -> anyhow::Result<()> {
    let (branch, items) = {
        let mut rng = rand::rng();
        let count = rng.random_range(1..=3);
        let start = rng.random_range(0..PRODUCTS.len());
        let items: Vec<&str> = (0..count)
            .map(|i| PRODUCTS[(start + i) % PRODUCTS.len()])
            .collect();
        (BRANCHES[rng.random_range(0..BRANCHES.len())], items)
    };
    let response = http
        .post(url)
        .json(&json!({"branch_id": branch, "customer_id": customer, "items": items}))
        .send()
        .await
        .context("purchase request")?;
    anyhow::ensure!(
        response.status().as_u16() == 201,
        "purchase answered {}",
        response.status()
    );
    Ok(())
}

/// The same server URL with another database name.
fn with_database(url: &str, database: &str) -> String {
    supermarket_testkit::db::with_database(url, database).unwrap_or_else(|_| url.to_owned())
}
