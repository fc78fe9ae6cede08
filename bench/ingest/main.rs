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
//! By default the load levels run twice, each series saying what was running:
//! against the purchases service alone, then with the whole pipeline (the
//! outbox relay and the analytics consumer and lake sink, NATS at NATS_URL)
//! on databases of its own (`--pipeline purchases|whole|both`).
//!
//! Modules: [`database`] the throwaway databases; [`load`] one level of HTTP
//! load (wrk) and the service's memory; [`pipeline`] the relay and the
//! consumer of the whole-pipeline run; [`ceiling`] the generated purchases
//! and the no-HTTP ceiling; [`report`] the tables.

use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use chrono::Utc;
use clap::{Parser, Subcommand};
use tokio_util::sync::CancellationToken;

mod ceiling;
mod database;
mod load;
mod pipeline;
mod report;

use crate::ceiling::{ceiling, generate};
use crate::database::{drop_database, fresh_database, setup};
use crate::load::{Level, rss_kib, wrk_level};
use crate::pipeline::Pipeline;

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
    /// Run the outbox relay (used by `all` for the whole pipeline).
    ServeRelay(supermarket_relay::Config),
    /// Run the analytics consumer (used by `all` for the whole pipeline).
    ServeConsumer(supermarket_analytics::consumer::Config),
    /// Run the lake sink (used by `all` for the whole pipeline).
    ServeLakeSink(supermarket_lake::service::Config),
}

#[derive(clap::Args, Clone)]
pub struct AllArgs {
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
    /// Keep the databases afterwards.
    #[arg(long)]
    keep_database: bool,
    /// What runs during the load: the purchases service alone, the whole
    /// pipeline (plus the relay and the analytics consumer and lake sink),
    /// or both series one after the other.
    #[arg(long, default_value = "both", value_parser = ["both", "purchases", "whole"])]
    pipeline: String,
    /// NATS server with JetStream for the whole pipeline (a stream of its own, deleted after).
    #[arg(long, env = "NATS_URL", default_value = "nats://127.0.0.1:4222")]
    nats_url: String,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let command = Cli::parse().command;
    // The services started as children log; `all` prints its tables.
    if !matches!(command, Command::All(_)) {
        supermarket_http::telemetry::init();
    }
    let shutdown = supermarket_http::shutdown::on_signal;
    match command {
        Command::Serve(config) => supermarket_purchases::run(config, shutdown()).await,
        Command::ServeRelay(config) => supermarket_relay::run(config, shutdown()).await,
        Command::ServeConsumer(config) => {
            supermarket_analytics::consumer::run(config, shutdown()).await
        }
        Command::ServeLakeSink(config) => supermarket_lake::service::run(config, shutdown()).await,
        Command::All(args) => all(args).await,
    }
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
        drop_database(&args.admin_url, &name).await?;
    }
    outcome
}

/// What was running during one series of load levels.
const ALONE: &str = "purchases service alone (relay, consumer and lake stopped)";
const WHOLE: &str =
    "whole pipeline: purchases + outbox relay + analytics consumer and lake sink, NATS at NATS_URL";

/// The measurements of `ingest all`: the load levels against the purchases
/// service alone on the fresh database `name` at `url`, then (on a database
/// of their own) with the whole pipeline running, then the ceiling.
async fn measure_all(args: &AllArgs, name: &str, url: &str, use_wrk: bool) -> anyhow::Result<()> {
    println!(
        "fresh database {name}; generator: {}",
        if use_wrk {
            "wrk + Lua"
        } else {
            "built-in simulator"
        }
    );
    let mut runs: Vec<(&str, Vec<Level>, f64)> = Vec::new();
    if args.pipeline != "whole" {
        println!("{ALONE}:");
        let (levels, hwm) = http_levels(args, url, use_wrk).await?;
        runs.push((ALONE, levels, hwm));
    }
    if args.pipeline != "purchases" {
        println!("{WHOLE}:");
        // Its own databases: the run alone left its outbox full, which the
        // relay would publish first.
        let (oltp_name, analytics_name) = (format!("{name}_pipeline"), format!("{name}_analytics"));
        let oltp_url = setup(&args.admin_url, &oltp_name).await?;
        let measured = async {
            let analytics_url = fresh_database(&args.admin_url, &analytics_name).await?;
            let pipeline =
                Pipeline::start(&oltp_name, &oltp_url, &analytics_url, &args.nats_url).await?;
            let levels = http_levels(args, &oltp_url, use_wrk).await;
            pipeline.stop().await;
            levels
        }
        .await;
        if !args.keep_database {
            for database in [&oltp_name, &analytics_name] {
                drop_database(&args.admin_url, database).await?;
            }
        }
        let (levels, hwm) = measured?;
        runs.push((WHOLE, levels, hwm));
    }

    // (1) the ceiling, at the batch sizes the service formed and at the maximum.
    let snapshot_client = supermarket_storage::connect(url, "bench database").await?;
    let catalog = supermarket_storage::oltp::catalog::load_catalog(&snapshot_client).await?;
    let branches = supermarket_storage::oltp::catalog::load_branches(&snapshot_client).await?;
    let mut ceilings = Vec::new();
    let mut batches: Vec<usize> = runs
        .iter()
        .flat_map(|(_, levels, _)| levels)
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

    report::print_ceiling(args, &ceilings);
    for (running, levels, hwm) in &runs {
        report::print_levels(args, running, levels, *hwm, &ceilings);
    }
    drop(snapshot_client);
    Ok(())
}

/// Starts the purchases service in its own process, loads it at each
/// concurrency level and stops it; the levels and the service's peak RSS.
async fn http_levels(
    args: &AllArgs,
    url: &str,
    use_wrk: bool,
) -> anyhow::Result<(Vec<Level>, f64)> {
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
    pipeline::wait_ready("purchases service", port).await?;
    let admin = supermarket_storage::connect(url, "bench database").await?;
    // The simulator reads the catalog from the products service: it runs in
    // this process (not the measured one), and is asked only before each
    // level, not during it; with wrk it stays idle.
    let catalog_stop = CancellationToken::new();
    let products_url = {
        let products = supermarket_products::Application::build(
            supermarket_products::Config::for_database(url),
        )
        .await?;
        let products_url = format!("http://127.0.0.1:{}", products.port());
        tokio::spawn(products.run_until_stopped(catalog_stop.clone()));
        products_url
    };
    let _stop_catalog = catalog_stop.drop_guard();
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
                    products_url: products_url.clone(),
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

    drop(admin);
    Ok((levels, hwm))
}
