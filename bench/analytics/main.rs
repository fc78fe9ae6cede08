//! Analytics API benchmark: read models filled at the scale of 10 million
//! purchases, every endpoint measured with `wrk`, p50/p99 printed.
//!
//! Run with `bench/analytics/run.sh` (see it for the options). Load goes to
//! 127.0.0.1 only, each endpoint for a bounded time.

use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use tokio_util::sync::CancellationToken;

#[derive(Parser, Debug)]
#[command(about = "Measures the analytics API at scale with wrk")]
struct Args {
    /// The PostgreSQL server (admin URL); a database `bench_analytics` is made on it.
    #[arg(
        long,
        env = "BENCH_ADMIN_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    admin_url: String,
    /// Customers to generate (purchases are about 3.33 per customer).
    #[arg(long, default_value_t = 3_000_000)]
    customers: u64,
    /// Seconds of load per endpoint.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// wrk connections.
    #[arg(long, default_value_t = 4)]
    connections: u32,
    /// wrk threads.
    #[arg(long, default_value_t = 1)]
    threads: u32,
    /// Keep the filled database (and reuse it next time with --reuse).
    #[arg(long)]
    keep: bool,
    /// Reuse a database filled by an earlier --keep run.
    #[arg(long)]
    reuse: bool,
}

const DATABASE: &str = "bench_analytics";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let admin = supermarket_storage::connect(&args.admin_url, "BENCH_ADMIN_URL").await?;
    let url = with_database(&args.admin_url, DATABASE);
    if !args.reuse {
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)"))
            .await?;
        admin
            .batch_execute(&format!("CREATE DATABASE {DATABASE}"))
            .await?;
        let mut client = supermarket_storage::connect(&url, "bench database").await?;
        supermarket_storage::migrate::analytics(&mut client).await?;
        let started = Instant::now();
        eprintln!(
            "filling the read models for {} customers ...",
            args.customers
        );
        let sql = include_str!("fill.sql").replace(":customers", &args.customers.to_string());
        client.batch_execute(&sql).await.context("fill.sql")?;
        // As autovacuum would in production: statistics, and the visibility
        // map that lets the loyal-customer pages use index-only scans.
        client
            .batch_execute("VACUUM ANALYZE")
            .await
            .context("VACUUM ANALYZE")?;
        eprintln!("filled in {:.1} s", started.elapsed().as_secs_f64());
    }
    let client = supermarket_storage::connect(&url, "bench database").await?;
    let totals = client
        .query_one("SELECT purchases, customers FROM sales_totals", &[])
        .await?;
    let (purchases, customers): (i64, i64) = (totals.get(0), totals.get(1));
    let loyal: i64 = client.query_one("SELECT coalesce(sum(customers), 0)::int8 FROM customer_purchase_histogram WHERE purchases >= 3", &[]).await?.get(0);
    let sizes = client
        .query_one("SELECT pg_size_pretty(pg_total_relation_size('customer_stats')), pg_size_pretty(pg_database_size(current_database()))", &[])
        .await?;
    let some_customer: uuid::Uuid = client
        .query_one(
            "SELECT customer_id FROM customer_stats WHERE purchases >= 3 LIMIT 1 OFFSET 12345",
            &[],
        )
        .await?
        .get(0);
    println!(
        "read models: {purchases} purchases, {customers} customers, {loyal} loyal; customer_stats {}, database {}",
        sizes.get::<_, String>(0),
        sizes.get::<_, String>(1)
    );

    let config = supermarket_analytics::api::Config {
        addr: "127.0.0.1:0".parse()?,
        analytics: supermarket_storage::AnalyticsDatabaseArgs::new(url.clone(), 16),
        loyal_min_purchases: 3,
        time_zone: supermarket_analytics::timezone::StoreTimeZone::utc(),
        auth: supermarket_auth::AuthConfig {
            auth_mode: supermarket_auth::AuthMode::Open,
            ..Default::default()
        },
    };
    let app = supermarket_analytics::api::Application::build(config).await?;
    let base = format!("http://127.0.0.1:{}", app.port());
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(app.run_until_stopped(shutdown.clone()));

    let prefix = &some_customer.simple().to_string()[..6];
    let endpoints = [
        "/unique-customers".to_owned(),
        "/top-products".to_owned(),
        "/loyal-customers?limit=100".to_owned(),
        "/loyal-customers?limit=100&offset=100000".to_owned(),
        "/api/v1/analytics/kpis".to_owned(),
        "/api/v1/analytics/sales/daily?from=2025-05-01&to=2025-05-30".to_owned(),
        "/api/v1/analytics/sales/hourly?from=2025-05-01&to=2025-05-01".to_owned(),
        format!("/api/v1/analytics/customers/{some_customer}"),
        "/api/v1/analytics/loyal-customers?limit=50".to_owned(),
        format!("/api/v1/analytics/loyal-customers?limit=50&prefix={prefix}"),
        "/api/v1/analytics/freshness".to_owned(),
    ];
    println!(
        "wrk: {} thread(s), {} connection(s), {} s per endpoint",
        args.threads, args.connections, args.seconds
    );
    println!(
        "{:<66} {:>10} {:>9} {:>9} {:>9}",
        "endpoint", "req/s", "p50 ms", "p99 ms", "errors"
    );
    for path in &endpoints {
        let url = format!("{base}{path}");
        let status = reqwest::get(&url).await?.status();
        if !status.is_success() {
            bail!("{path} answered {status}");
        }
        let report = wrk(&url, &args)?;
        println!(
            "{:<66} {:>10.0} {:>9.3} {:>9.3} {:>9}",
            path, report.rps, report.p50_ms, report.p99_ms, report.errors
        );
    }
    shutdown.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(5), server).await;
    drop(client);
    if !args.keep {
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)"))
            .await?;
    }
    Ok(())
}

struct WrkReport {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: String,
}

fn wrk(url: &str, args: &Args) -> anyhow::Result<WrkReport> {
    let output = Command::new("wrk")
        .args([
            "-t",
            &args.threads.to_string(),
            "-c",
            &args.connections.to_string(),
            "-d",
            &format!("{}s", args.seconds),
            "--latency",
            url,
        ])
        .output()
        .context("cannot run wrk (apt-get install wrk)")?;
    let text = String::from_utf8_lossy(&output.stdout);
    let field = |label: &str| -> Option<&str> {
        text.lines()
            .map(str::trim)
            .find(|l| l.starts_with(label))
            .and_then(|l| l.split_whitespace().nth(1))
    };
    let rps = field("Requests/sec:")
        .and_then(|v| v.parse().ok())
        .context("wrk printed no Requests/sec")?;
    let p50_ms = field("50%")
        .and_then(millis)
        .context("wrk printed no 50% latency")?;
    let p99_ms = field("99%")
        .and_then(millis)
        .context("wrk printed no 99% latency")?;
    let errors = text
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("Non-2xx") || l.starts_with("Socket errors"))
        .collect::<Vec<_>>()
        .join("; ");
    Ok(WrkReport {
        rps,
        p50_ms,
        p99_ms,
        errors: if errors.is_empty() {
            "0".to_owned()
        } else {
            errors
        },
    })
}

/// wrk prints latencies like `512.00us`, `1.20ms`, `2.01s`.
fn millis(text: &str) -> Option<f64> {
    let (number, factor) = if let Some(n) = text.strip_suffix("us") {
        (n, 0.001)
    } else if let Some(n) = text.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1000.0)
    } else {
        (text, 1.0)
    };
    number.parse::<f64>().ok().map(|n| n * factor)
}

/// The same server URL with another database name.
fn with_database(url: &str, database: &str) -> String {
    supermarket_testkit::db::with_database(url, database).unwrap_or_else(|_| url.to_owned())
}
