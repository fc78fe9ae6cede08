//! Ingest benchmark driver (`bench/ingest/run.sh` builds and runs it).
//!
//! `all` does the whole measurement on a fresh database:
//! 1. end-to-end: starts the purchases service (this binary, `serve`, same
//!    code as `supermarket serve purchases`) and loads it over HTTP at rising
//!    concurrency with wrk (Lua script generating bodies and keys) or, when
//!    wrk is absent, the built-in simulator; records throughput, latency,
//!    errors, the service's RSS, and the average batch size the writers
//!    formed (rows of one statement share `created_at`);
//! 2. ceiling: the same kind of purchases written straight to PostgreSQL with
//!    the service's batch SQL, the same number of writer connections and the
//!    batch size observed in (1): no HTTP, no JSON;
//! 3. prints both and the ratio (1)/(2).
//!
//! Modules: [`load`] one level of HTTP load (wrk) and the service's memory;
//! [`ceiling`] the generated purchases and the no-HTTP ceiling.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::Utc;
use clap::{Parser, Subcommand};
use tokio_util::sync::CancellationToken;

mod ceiling;
mod load;

use crate::ceiling::{ceiling, generate};
use crate::load::{Level, rss_kib, wrk_level};

#[derive(Parser)]
#[command(about = "Purchases ingest benchmark")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run everything on a fresh database and print the figures.
    All(AllArgs),
    /// Run the purchases service (used by `all` as a child process).
    Serve(supermarket_purchases::Config),
}

#[derive(clap::Args, Clone)]
struct AllArgs {
    /// Server URL used to create (and drop) the benchmark database.
    #[arg(
        long,
        env = "BENCH_ADMIN_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    admin_url: String,
    /// Concurrency levels of the HTTP load.
    #[arg(long, value_delimiter = ',', default_value = "16,64,256")]
    concurrency: Vec<u32>,
    /// Seconds of load per level.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Purchases written per ceiling measurement.
    #[arg(long, default_value_t = 60_000)]
    ceiling_purchases: usize,
    /// Writer settings of the service (and of the ceiling).
    #[arg(long, default_value_t = 4)]
    writers: u16,
    #[arg(long, default_value_t = 512)]
    batch_max: u32,
    #[arg(long, default_value_t = 0)]
    batch_wait_ms: u64,
    /// Load generator: wrk (if installed) or the built-in simulator.
    #[arg(long, default_value = "auto", value_parser = ["auto", "wrk", "simulator"])]
    generator: String,
    /// wrk threads.
    #[arg(long, default_value_t = 1)]
    wrk_threads: u32,
    /// Keep the database afterwards.
    #[arg(long)]
    keep_database: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Serve(config) => {
            supermarket_http::telemetry::init();
            supermarket_purchases::run(config, supermarket_http::shutdown::on_signal()).await
        }
        Command::All(args) => all(args).await,
    }
}

/// One of the repository's data files, read with `parse`; its bad rows are
/// the error.
fn parse_csv<T>(
    path: PathBuf,
    parse: fn(std::fs::File) -> Result<Vec<T>, Vec<supermarket_loader_csv::RowError>>,
) -> anyhow::Result<Vec<T>> {
    let file = std::fs::File::open(&path).with_context(|| path.display().to_string())?;
    parse(file).map_err(|errors| {
        let errors: Vec<String> = errors.iter().map(ToString::to_string).collect();
        anyhow::anyhow!("{}: {}", path.display(), errors.join("; "))
    })
}

/// A fresh, migrated database with the repository's branches and products.
async fn setup(admin_url: &str, name: &str) -> anyhow::Result<String> {
    let admin = supermarket_storage::connect(admin_url, "BENCH_ADMIN_URL").await?;
    // Two statements: DROP/CREATE DATABASE refuse to run in one implicit transaction.
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await?;
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await?;
    let url = supermarket_testkit::db::with_database(admin_url, name)?;
    let mut client = supermarket_storage::connect(&url, "bench database").await?;
    supermarket_storage::migrate::oltp(&mut client).await?;
    // Read as `supermarket load` reads them.
    let branches = parse_csv(
        supermarket_testkit::data::branches_csv(),
        supermarket_loader_csv::parse_branches,
    )?;
    for branch in &branches {
        client
            .execute(
                "INSERT INTO branches (id, name) VALUES ($1, $2)",
                &[&branch.id, &branch.name],
            )
            .await?;
    }
    let products = parse_csv(
        supermarket_testkit::data::products_csv(),
        supermarket_loader_csv::parse_products,
    )?;
    for product in &products {
        let cents = product.price.cents() as i32;
        client
            .execute(
                "INSERT INTO products (name, price_cents) VALUES ($1, $2)",
                &[&product.name, &cents],
            )
            .await?;
    }
    Ok(url)
}

async fn all(args: AllArgs) -> anyhow::Result<()> {
    let use_wrk = match args.generator.as_str() {
        "wrk" => true,
        "simulator" => false,
        _ => std::process::Command::new("wrk")
            .arg("--version")
            .output()
            .is_ok(),
    };
    let name = format!("bench_ingest_{}", std::process::id());
    let url = setup(&args.admin_url, &name).await?;
    // The database goes whatever happens next (a service that fails to
    // start, a wrk error), unless --keep-database asks to keep it.
    let outcome = measure_all(&args, &name, &url, use_wrk).await;
    if !args.keep_database {
        let admin = supermarket_storage::connect(&args.admin_url, "BENCH_ADMIN_URL").await?;
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await?;
    }
    outcome
}

/// Both measurements of `ingest all` on the fresh database `name` at `url`.
async fn measure_all(args: &AllArgs, name: &str, url: &str, use_wrk: bool) -> anyhow::Result<()> {
    println!(
        "fresh database {name}; generator: {}",
        if use_wrk {
            "wrk + Lua"
        } else {
            "built-in simulator"
        }
    );

    // (2) end to end, through the service in its own process.
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0")?;
        probe.local_addr()?.port()
    };
    // Access control stays on, as in production: every sale carries the
    // cashier's bearer token (tokens made for this run only).
    let owner_token = format!("owner-{}", uuid::Uuid::new_v4().simple());
    let cashier_token = format!("cashier-{}", uuid::Uuid::new_v4().simple());
    let mut service = tokio::process::Command::new(std::env::current_exe()?)
        .arg("serve")
        .env("OWNER_TOKEN", &owner_token)
        .env("CASHIER_TOKEN", &cashier_token)
        .env("DATABASE_URL", url)
        .env("PURCHASES_ADDR", format!("127.0.0.1:{port}"))
        .env("PURCHASES_WRITERS", args.writers.to_string())
        .env("PURCHASES_BATCH_MAX", args.batch_max.to_string())
        .env("PURCHASES_BATCH_WAIT_MS", args.batch_wait_ms.to_string())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .context("cannot start the service")?;
    let pid = service.id().context("service pid")?;
    let http = reqwest::Client::new();
    let ready = format!("http://127.0.0.1:{port}/ready");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !http
        .get(&ready)
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        anyhow::ensure!(
            Instant::now() < deadline,
            "the service did not become ready"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let admin = supermarket_storage::connect(url, "bench database").await?;
    let mut levels = Vec::new();
    for &concurrency in &args.concurrency {
        let before = Utc::now();
        let sampling = CancellationToken::new();
        let sampler = {
            let stop = sampling.clone();
            tokio::spawn(async move {
                let mut peak = 0;
                while !stop.is_cancelled() {
                    peak = peak.max(rss_kib(pid, "VmRSS:").unwrap_or(0));
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                peak
            })
        };
        let (created, secs, [p50, p90, p99, max], errors) = if use_wrk {
            wrk_level(
                port,
                concurrency,
                args.seconds,
                args.wrk_threads,
                &cashier_token,
            )
            .await?
        } else {
            let report = supermarket_simulator::simulate(
                supermarket_simulator::Args {
                    target: format!("http://127.0.0.1:{port}"),
                    products_url: None,
                    rate: 0,
                    duration: args.seconds,
                    concurrency,
                    token: Some(cashier_token.clone()),
                    returning_share: 0.3,
                    retry_share: 0.0,
                    invalid_share: 0.0,
                    json: true,
                },
                CancellationToken::new(),
            )
            .await?;
            let l = &report.latency_ms;
            (
                report.purchases_created,
                report.duration_s,
                [l.p50, l.p90, l.p99, l.max],
                report.unexpected + report.transport_errors,
            )
        };
        sampling.cancel();
        let peak_kib = sampler.await.unwrap_or(0);
        let row = admin
            .query_one(
                "SELECT count(*)::float8, count(DISTINCT created_at)::float8 FROM purchases WHERE created_at >= $1",
                &[&before],
            )
            .await?;
        let (rows, statements): (f64, f64) = (row.get(0), row.get(1));
        levels.push(Level {
            concurrency,
            purchases_per_s: created as f64 / secs,
            p50_ms: p50,
            p90_ms: p90,
            p99_ms: p99,
            max_ms: max,
            errors,
            peak_rss_mib: peak_kib as f64 / 1024.0,
            avg_batch: if statements > 0.0 {
                rows / statements
            } else {
                0.0
            },
        });
        println!(
            "  concurrency {concurrency}: {:.0} purchases/s",
            created as f64 / secs
        );
    }
    let hwm = rss_kib(pid, "VmHWM:").unwrap_or(0) as f64 / 1024.0;
    let _ = service.start_kill();
    let _ = service.wait().await;

    // (1) the ceiling, at the batch sizes the service formed and at the maximum.
    let snapshot_client = supermarket_storage::connect(url, "bench database").await?;
    let catalog = supermarket_storage::oltp::catalog::load_catalog(&snapshot_client).await?;
    let branches = supermarket_storage::oltp::catalog::load_branches(&snapshot_client).await?;
    let mut ceilings = Vec::new();
    let mut batches: Vec<usize> = levels
        .iter()
        .map(|l| l.avg_batch.round().max(1.0) as usize)
        .collect();
    batches.push(args.batch_max as usize);
    batches.sort_unstable();
    batches.dedup();
    for batch in batches {
        let purchases = Arc::new(generate(args.ceiling_purchases, &catalog, &branches));
        let result = ceiling(url, purchases, batch, usize::from(args.writers)).await?;
        println!(
            "  ceiling batch {batch}: {:.0} purchases/s",
            result.purchases_per_s
        );
        ceilings.push(result);
    }

    println!();
    println!(
        "(1) PostgreSQL ceiling: same batch SQL, {} writer connections, no HTTP",
        args.writers
    );
    println!("    {:>8} {:>14}", "batch", "purchases/s");
    for c in &ceilings {
        println!(
            "    {:>8} {:>14.0}   ({} writers)",
            c.batch, c.purchases_per_s, c.writers
        );
    }
    println!();
    println!(
        "(2) end to end through the purchases service (writers {}, batch max {}, batch wait {} ms)",
        args.writers, args.batch_max, args.batch_wait_ms
    );
    println!(
        "    {:>6} {:>12} {:>8} {:>8} {:>8} {:>9} {:>7} {:>9} {:>9} {:>12}",
        "conc",
        "purchases/s",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "max ms",
        "errors",
        "avg batch",
        "RSS MiB",
        "vs ceiling"
    );
    for l in &levels {
        let shape = l.avg_batch.round().max(1.0) as usize;
        let ceiling = ceilings
            .iter()
            .find(|c| c.batch == shape)
            .map_or(f64::NAN, |c| c.purchases_per_s);
        println!(
            "    {:>6} {:>12.0} {:>8.2} {:>8.2} {:>8.2} {:>9.2} {:>7} {:>9.1} {:>9.1} {:>11.0}%",
            l.concurrency,
            l.purchases_per_s,
            l.p50_ms,
            l.p90_ms,
            l.p99_ms,
            l.max_ms,
            l.errors,
            l.avg_batch,
            l.peak_rss_mib,
            100.0 * l.purchases_per_s / ceiling
        );
    }
    println!("    service peak RSS (VmHWM) over the whole run: {hwm:.1} MiB");
    drop(admin);
    drop(snapshot_client);
    Ok(())
}
