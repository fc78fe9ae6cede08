//! Cashier traffic simulator: `supermarket simulate`.
//!
//! Sends realistic sales to the purchases service at a target rate (or as
//! fast as `--concurrency` allows with `--rate 0`) for a fixed duration,
//! then reports the achieved rate, status counts, unexpected answers and
//! latency percentiles.
//!
//! Module map:
//! - [`traffic`]: the request mix — 3 branches, 2–4 distinct products per
//!   basket (staples weighted up), ~30% returning customers, an
//!   `Idempotency-Key` per sale with occasional deliberate retries, a few %
//!   invalid baskets.
//! - this file: [`Args`], the load loop and the [`Report`].
//!
//! The catalog and branches are read from the products service at
//! `--products-url` (`GET /api/v1/products` and `/api/v1/branches`). Through
//! the nginx edge both URLs are the edge's.

pub mod traffic;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use hdrhistogram::Histogram;
use rand::Rng;
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::Serialize;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use traffic::{CatalogBranch, CatalogProduct, Generator, Kind, Mix, Sale};

/// Settings of `supermarket simulate`.
#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// Base URL of the purchases service, e.g. http://127.0.0.1:8000
    #[arg(long, env = "SIMULATE_TARGET", default_value = "http://127.0.0.1:8000")]
    pub target: String,
    /// Base URL of the products service (GET /api/v1/products and /api/v1/branches).
    #[arg(
        long,
        env = "SIMULATE_PRODUCTS_URL",
        default_value = "http://127.0.0.1:8002"
    )]
    pub products_url: String,
    /// Purchases per second to attempt; 0 = as fast as --concurrency allows.
    #[arg(long, env = "SIMULATE_RATE", default_value_t = 50)]
    pub rate: u32,
    /// How long to run, in seconds.
    #[arg(long, env = "SIMULATE_DURATION", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub duration: u64,
    /// Requests in flight at most.
    #[arg(long, env = "SIMULATE_CONCURRENCY", default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub concurrency: u32,
    /// Bearer token sent as `Authorization: Bearer <token>` (cashier role).
    #[arg(long, env = "SIMULATE_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Share of sales to a returning customer (0..1).
    #[arg(long, default_value_t = 0.3)]
    pub returning_share: f64,
    /// Share of sales deliberately sent twice with the same Idempotency-Key (0..1).
    #[arg(long, default_value_t = 0.02)]
    pub retry_share: f64,
    /// Share of deliberately invalid baskets (0..1).
    #[arg(long, default_value_t = 0.03)]
    pub invalid_share: f64,
    /// Print the report as one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Counts and latencies of one run.
#[derive(Debug, Serialize)]
pub struct Report {
    pub duration_s: f64,
    pub requests: u64,
    pub achieved_rps: f64,
    /// Sales stored (201, not replayed).
    pub purchases_created: u64,
    pub purchases_per_s: f64,
    /// Deliberate retries answered with `Idempotent-Replayed: true`.
    pub replays_ok: u64,
    /// Deliberately invalid baskets refused with a 422 problem.
    pub invalid_refused: u64,
    /// Answers that were not what the request deserved (e.g. a 5xx, a valid
    /// sale refused, an invalid one accepted, a retry not replayed).
    pub unexpected: u64,
    /// Requests that got no HTTP answer (connection errors, timeouts).
    pub transport_errors: u64,
    pub statuses: BTreeMap<u16, u64>,
    pub latency_ms: Latency,
}

#[derive(Debug, Serialize)]
pub struct Latency {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
    pub mean: f64,
}

struct Stats {
    histogram: Histogram<u64>,
    statuses: BTreeMap<u16, u64>,
    created: u64,
    replays_ok: u64,
    invalid_refused: u64,
    unexpected: u64,
    transport_errors: u64,
    customers: Vec<Uuid>,
}

const KNOWN_CUSTOMERS_KEPT: usize = 10_000;

pub async fn run(args: Args, shutdown: CancellationToken) -> anyhow::Result<()> {
    let report = simulate(args.clone(), shutdown).await?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print_report(&args, &report);
    }
    Ok(())
}

fn client(args: &Args) -> anyhow::Result<reqwest::Client> {
    let mut headers = reqwest::header::HeaderMap::new();
    if let Some(token) = &args.token {
        let value = reqwest::header::HeaderValue::from_str(&format!("Bearer {token}"))
            .context("SIMULATE_TOKEN holds characters not allowed in a header")?;
        headers.insert(reqwest::header::AUTHORIZATION, value);
    }
    reqwest::Client::builder()
        .default_headers(headers)
        .timeout(Duration::from_secs(10))
        .pool_max_idle_per_host(args.concurrency as usize)
        .tcp_nodelay(true)
        .build()
        .context("cannot build the HTTP client")
}

/// The catalog the [`Generator`] sells from, read from a service serving
/// `GET {base}/api/v1/products` and `/api/v1/branches`: the products and the
/// branch ids.
pub async fn fetch_catalog(
    client: &reqwest::Client,
    base: &str,
) -> anyhow::Result<(Vec<CatalogProduct>, Vec<String>)> {
    let products: Vec<CatalogProduct> = fetch(client, &format!("{base}/api/v1/products")).await?;
    let branches: Vec<CatalogBranch> = fetch(client, &format!("{base}/api/v1/branches")).await?;
    Ok((products, branches.into_iter().map(|b| b.id).collect()))
}

async fn fetch<T: serde::de::DeserializeOwned>(
    client: &reqwest::Client,
    url: &str,
) -> anyhow::Result<T> {
    let response = client
        .get(url)
        .send()
        .await
        .with_context(|| format!("GET {url} failed"))?;
    let status = response.status();
    anyhow::ensure!(status.is_success(), "GET {url} answered {status}");
    response
        .json()
        .await
        .with_context(|| format!("GET {url}: unexpected body"))
}

/// Runs the traffic and returns the report (without printing it).
pub async fn simulate(args: Args, shutdown: CancellationToken) -> anyhow::Result<Report> {
    for (name, share) in [
        ("--returning-share", args.returning_share),
        ("--retry-share", args.retry_share),
        ("--invalid-share", args.invalid_share),
    ] {
        anyhow::ensure!(
            (0.0..=1.0).contains(&share),
            "{name} must be between 0 and 1, got {share}"
        );
    }
    let client = client(&args)?;
    let target = args.target.trim_end_matches('/').to_owned();
    let catalog_base = args.products_url.trim_end_matches('/').to_owned();
    let (products, branches) = fetch_catalog(&client, &catalog_base).await?;
    let mix = Mix {
        returning: args.returning_share,
        retry: args.retry_share,
        invalid: args.invalid_share,
    };
    let generator = Generator::new(products, branches, mix)?;
    tracing::info!(target = %target, rate = args.rate, duration_s = args.duration, concurrency = args.concurrency, "simulating cashiers");

    let stats = Arc::new(Mutex::new(Stats {
        histogram: Histogram::new_with_bounds(1, 60_000_000, 3).context("latency histogram")?,
        statuses: BTreeMap::new(),
        created: 0,
        replays_ok: 0,
        invalid_refused: 0,
        unexpected: 0,
        transport_errors: 0,
        customers: Vec::new(),
    }));
    let url = Arc::new(format!("{target}/api/v1/purchases"));
    let permits = Arc::new(Semaphore::new(args.concurrency as usize));
    let mut rng = StdRng::from_rng(&mut rand::rng());
    let started = Instant::now();
    let end = tokio::time::Instant::now() + Duration::from_secs(args.duration);
    let interval = (args.rate > 0).then(|| Duration::from_secs_f64(1.0 / f64::from(args.rate)));
    let mut next = tokio::time::Instant::now();
    let mut requests = 0u64;
    loop {
        if let Some(interval) = interval {
            tokio::select! {
                _ = tokio::time::sleep_until(next) => {}
                _ = shutdown.cancelled() => break,
            }
            next += interval;
        }
        if tokio::time::Instant::now() >= end || shutdown.is_cancelled() {
            break;
        }
        let permit = tokio::select! {
            permit = Arc::clone(&permits).acquire_owned() => permit.context("semaphore closed")?,
            _ = shutdown.cancelled() => break,
        };
        let known = {
            let stats = stats
                .lock()
                .map_err(|_| anyhow::anyhow!("stats lock poisoned"))?;
            (!stats.customers.is_empty())
                .then(|| stats.customers[rng.random_range(0..stats.customers.len())])
        };
        let sale = generator.next(&mut rng, known);
        requests += 1 + u64::from(sale.retry);
        let (client, url, stats) = (client.clone(), Arc::clone(&url), Arc::clone(&stats));
        tokio::spawn(async move {
            send_sale(&client, &url, sale, &stats).await;
            drop(permit);
        });
    }
    // Wait for the requests in flight.
    let _ = permits.acquire_many(args.concurrency).await;
    let elapsed = started.elapsed().as_secs_f64();
    let stats = stats
        .lock()
        .map_err(|_| anyhow::anyhow!("stats lock poisoned"))?;
    let ms = |us: u64| us as f64 / 1000.0;
    Ok(Report {
        duration_s: elapsed,
        requests,
        achieved_rps: requests as f64 / elapsed,
        purchases_created: stats.created,
        purchases_per_s: stats.created as f64 / elapsed,
        replays_ok: stats.replays_ok,
        invalid_refused: stats.invalid_refused,
        unexpected: stats.unexpected,
        transport_errors: stats.transport_errors,
        statuses: stats.statuses.clone(),
        latency_ms: Latency {
            p50: ms(stats.histogram.value_at_quantile(0.50)),
            p90: ms(stats.histogram.value_at_quantile(0.90)),
            p99: ms(stats.histogram.value_at_quantile(0.99)),
            max: ms(stats.histogram.max()),
            mean: stats.histogram.mean() / 1000.0,
        },
    })
}

/// Sends one sale (twice for a deliberate retry) and judges the answers.
async fn send_sale(client: &reqwest::Client, url: &str, sale: Sale, stats: &Mutex<Stats>) {
    let attempts = if sale.retry { 2 } else { 1 };
    for attempt in 0..attempts {
        let started = Instant::now();
        let result = client
            .post(url)
            .header("Idempotency-Key", sale.key.to_string())
            .json(&sale.body)
            .send()
            .await;
        let (status, replayed, customer) = match result {
            Ok(response) => {
                let status = response.status().as_u16();
                let replayed = response.headers().contains_key("idempotent-replayed");
                let body: serde_json::Value = response.json().await.unwrap_or_default();
                let customer = body["customer_id"]
                    .as_str()
                    .and_then(|c| Uuid::parse_str(c).ok());
                (Some(status), replayed, customer)
            }
            Err(error) => {
                tracing::debug!(%error, "request failed");
                (None, false, None)
            }
        };
        let latency = started.elapsed().as_micros() as u64;
        let Ok(mut stats) = stats.lock() else { return };
        let _ = stats.histogram.record(latency.max(1));
        let Some(status) = status else {
            stats.transport_errors += 1;
            continue;
        };
        *stats.statuses.entry(status).or_default() += 1;
        match (sale.kind, status, attempt, replayed) {
            (Kind::Sale, 201, 0, false) => {
                stats.created += 1;
                if let Some(customer) = customer
                    && stats.customers.len() < KNOWN_CUSTOMERS_KEPT
                {
                    stats.customers.push(customer);
                }
            }
            (Kind::Sale, 201, 1, true) => stats.replays_ok += 1,
            (Kind::Invalid, 422, _, _) => stats.invalid_refused += 1,
            _ => stats.unexpected += 1,
        }
    }
}

fn print_report(args: &Args, report: &Report) {
    println!(
        "simulated {:.1} s against {} (target rate {}, concurrency {})",
        report.duration_s,
        args.target,
        if args.rate == 0 {
            "unlimited".to_owned()
        } else {
            format!("{}/s", args.rate)
        },
        args.concurrency
    );
    println!(
        "  requests           {:>10}   ({:.0}/s achieved)",
        report.requests, report.achieved_rps
    );
    println!(
        "  purchases created  {:>10}   ({:.0}/s)",
        report.purchases_created, report.purchases_per_s
    );
    println!("  retries replayed   {:>10}", report.replays_ok);
    println!("  invalid refused    {:>10}", report.invalid_refused);
    println!("  unexpected answers {:>10}", report.unexpected);
    println!("  transport errors   {:>10}", report.transport_errors);
    let statuses: Vec<String> = report
        .statuses
        .iter()
        .map(|(status, count)| format!("{status}: {count}"))
        .collect();
    println!("  statuses           {}", statuses.join(", "));
    let l = &report.latency_ms;
    println!(
        "  latency ms         p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2}  mean {:.2}",
        l.p50, l.p90, l.p99, l.max, l.mean
    );
}
