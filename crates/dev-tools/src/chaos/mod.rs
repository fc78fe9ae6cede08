//! The fault-injection ("chaos") suite.
//!
//! Runs the platform as separate processes on this machine — a private
//! PostgreSQL and nats-server started for the run (own data folders and
//! ports), two `supermarket serve purchases` instances, the products
//! service, the relay and the analytics consumer, the lake sink — drives them with simulated tills,
//! and while the load runs kills and restarts its parts, one at a time and
//! then all together. Afterwards it lets the pipeline drain and checks that
//! no acknowledged purchase was lost and none was counted twice, anywhere.
//!
//! Module map:
//! - [`process`]: child processes: start, SIGKILL, stop, logs, clean-up.
//! - [`postgres`], [`nats`]: the private servers.
//! - [`cluster`]: [`Cluster`](cluster::Cluster), every process of the system under test.
//! - [`tills`]: the load and the ledger of every acknowledged sale.
//! - [`faults`]: [`Fault`](faults::Fault), the faults of a round and injecting one.
//! - [`recovery`]: probe sales measuring the time back to normal after a restart.
//! - [`verify`]: the checks against OLTP, the read models and the lake.
//! - [`lake`]: the lake read back by DuckDB.
//! - [`report`]: the table printed at the end.
//! - this file: [`Settings`] and [`run`] (the load, the rounds of faults, the drain).
//!
//! The suite is the supervisor: it restarts what it killed. A service that
//! stops on its own is restarted too (as `restart: unless-stopped` would)
//! but fails the run, because every service is expected to ride out a
//! PostgreSQL or NATS restart without exiting.

pub mod cluster;
pub mod db;
pub mod faults;
pub mod lake;
pub mod nats;
pub mod postgres;
pub mod process;
pub mod recovery;
pub mod report;
pub mod tills;
pub mod verify;

pub use faults::Fault;

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use supermarket_process::non_empty_env;
use supermarket_storage::oltp::audit;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::chaos::cluster::Cluster;
use crate::chaos::db::Db;
use crate::chaos::faults::inject;
use crate::chaos::recovery::Window;
use crate::chaos::report::{Report, Step};
use crate::chaos::tills::Tills;

/// Everything a run needs.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The `supermarket` binary.
    pub supermarket: PathBuf,
    /// The folder with `products_list.csv` and `supermarkets.csv`.
    pub data_dir: PathBuf,
    /// Where logs, data and the lake go (default: a new folder under the
    /// system's temporary folder, removed after a passing run).
    pub work_dir: Option<PathBuf>,
    /// Keep the work folder even after a passing run.
    pub keep_work_dir: bool,
    pub pg_bindir: Option<PathBuf>,
    pub nats_server: Option<PathBuf>,
    /// Python with the `duckdb` module, to read the lake.
    pub python: String,
    /// Rounds of faults; each round is every single fault, then all together.
    pub rounds: u32,
    /// Sales per second of the background load.
    pub rate: u32,
    /// Sales in flight at most (tills).
    pub tills: usize,
    /// How long a killed part stays down before it is started again.
    pub down: Duration,
    /// Load without faults between two faults, after the recovery.
    pub settle: Duration,
    /// A probe is on time when analytics applies it within this of its acknowledgement.
    pub lag_target: Duration,
    /// Recovery (lag back under `lag_target`) is due within this of a restart.
    pub recovery_target: Duration,
    /// Fail the run when a recovery misses `recovery_target` (otherwise it
    /// is flagged in the table only; a fault never recovered always fails).
    pub enforce_recovery_target: bool,
    /// How long to probe after a restart before calling it not recovered.
    pub watch: Duration,
    /// How long to wait for the pipeline to drain after the load.
    pub drain_limit: Duration,
    pub store_timezone: String,
    pub lake_roll_seconds: u64,
    pub seed: u64,
    /// `RUST_LOG` of the services.
    pub rust_log: String,
}

impl Settings {
    /// Defaults for a binary and the repository's data folder.
    pub fn new(supermarket: PathBuf, data_dir: PathBuf) -> Settings {
        Settings {
            supermarket,
            data_dir,
            work_dir: None,
            keep_work_dir: false,
            pg_bindir: non_empty_env("CHAOS_PG_BINDIR").map(PathBuf::from),
            nats_server: non_empty_env("CHAOS_NATS_SERVER").map(PathBuf::from),
            python: non_empty_env("CHAOS_PYTHON").unwrap_or_else(|| "python3".to_owned()),
            rounds: 5,
            rate: 200,
            tills: 64,
            down: Duration::from_secs(1),
            settle: Duration::from_secs(1),
            lag_target: Duration::from_secs(1),
            recovery_target: Duration::from_secs(5),
            enforce_recovery_target: true,
            watch: Duration::from_secs(30),
            drain_limit: Duration::from_secs(120),
            // Not UTC, so that local days and hours differ from UTC ones.
            store_timezone: "America/Sao_Paulo".to_owned(),
            lake_roll_seconds: 2,
            seed: 6,
            // Every request is logged at info: too much to read in a failure report.
            rust_log: "info,supermarket_http::request_id=warn".to_owned(),
        }
    }
}

/// Runs the whole suite and returns its report (whether it passed or not).
/// An error means the suite itself could not run (no PostgreSQL, a service
/// that never started, ...).
pub async fn run(settings: &Settings) -> anyhow::Result<Report> {
    let started = Instant::now();
    let mut cluster = Cluster::start(settings).await?;
    let result = exercise(settings, &mut cluster).await;
    match result {
        Ok(mut report) => {
            report.elapsed = started.elapsed();
            if !report.passed() {
                cluster.keep = true;
                report.logs = Some(cluster.log_tails(40));
            }
            Ok(report)
        }
        Err(error) => {
            cluster.keep = true;
            Err(error.context(cluster.log_tails(40)))
        }
    }
}

async fn exercise(settings: &Settings, cluster: &mut Cluster) -> anyhow::Result<Report> {
    let time_zone: chrono_tz::Tz = settings
        .store_timezone
        .parse()
        .map_err(|_| anyhow::anyhow!("unknown time zone {}", settings.store_timezone))?;
    let tills = Tills::connect(
        cluster.purchase_urls.clone(),
        &cluster.catalog_url,
        &cluster.cashier_token,
        settings.seed,
    )
    .await?;
    let mut analytics = Db::new(cluster.analytics_url.clone());
    let mut report = Report::new(settings);

    let stop_load = CancellationToken::new();
    let load = tills.start_load(settings.rate, settings.tills, stop_load.clone());
    tracing::info!(
        rate = settings.rate,
        rounds = settings.rounds,
        "load started"
    );

    // Steady state first: the lag the faults are compared with.
    let load_started = Utc::now();
    let baseline = recovery::measure(
        &tills,
        &mut analytics,
        load_started,
        None,
        settings.lag_target,
        settings.watch,
    )
    .await;
    report.steps.push(Step::new(
        0,
        "none (steady load)".to_owned(),
        tills.acknowledged(),
        Window {
            fault_at: load_started,
            restarted_at: load_started,
        },
        baseline,
    ));

    for round in 1..=settings.rounds {
        for fault in Fault::round(round) {
            report.note_exits(cluster.restart_exited()?);
            let fault_at = Utc::now();
            let restarted_at = inject(cluster, fault, settings.down)
                .await
                .with_context(|| format!("cannot inject {}", fault.label()))?;
            let recovery = recovery::measure(
                &tills,
                &mut analytics,
                restarted_at,
                fault.probe_target(),
                settings.lag_target,
                settings.watch,
            )
            .await;
            tracing::info!(
                round,
                fault = fault.label(),
                down_ms = (restarted_at - fault_at).num_milliseconds(),
                fresh_on_time_ms = recovery.time.map(|t| t.as_millis() as u64),
                worst_probe_lag_ms = recovery.worst_lag.as_millis() as u64,
                acknowledged = tills.acknowledged(),
                "fault done"
            );
            report.steps.push(Step::new(
                round,
                fault.label(),
                tills.acknowledged(),
                Window {
                    fault_at,
                    restarted_at,
                },
                recovery,
            ));
            tokio::time::sleep(settings.settle).await;
        }
    }

    stop_load.cancel();
    load.await.context("the load task panicked")?;
    let (dispatched, skipped) = tills.dispatched();
    let ledger = tills.finish(Duration::from_secs(60)).await;
    report.note_exits(cluster.restart_exited()?);
    tracing::info!(
        acknowledged = ledger.acked.len(),
        dispatched,
        skipped,
        "load stopped; waiting for the pipeline to drain"
    );

    let drain_started = Instant::now();
    match drain(cluster, settings.drain_limit, &mut report).await {
        Ok(()) => report.drain = Some(drain_started.elapsed()),
        Err(error) => report.problems.push(format!("{error:#}")),
    }
    for (name, status) in cluster.stop_services().await? {
        if !status.is_some_and(|s| s.success()) {
            report.problems.push(format!(
                "{name} did not stop cleanly on SIGTERM: {status:?}"
            ));
        }
    }

    let oltp = db::connect(&cluster.oltp_url).await?;
    let analytics = db::connect(&cluster.analytics_url).await?;
    let applied: HashMap<Uuid, DateTime<Utc>> = analytics
        .query("SELECT event_id, processed_at FROM processed_events", &[])
        .await?
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();
    let sales: Vec<(DateTime<Utc>, Option<DateTime<Utc>>)> = ledger
        .acked
        .iter()
        .map(|ack| (ack.acked_at, applied.get(&ack.purchase_id).copied()))
        .collect();
    let windows: Vec<Window> = report.steps.iter().map(|step| step.window).collect();
    for (step, backlog) in report.steps.iter_mut().zip(recovery::backlog(
        &windows,
        &sales,
        settings.lag_target,
        Utc::now(),
    )) {
        step.backlog = backlog;
    }
    let lake = lake::read(&settings.python, &cluster.lake_dir)?;
    report.verdict = verify::verify(&ledger, &oltp, &analytics, &lake, time_zone).await?;
    report.dispatched = dispatched;
    report.skipped = skipped;
    report.set_ledger(&ledger);
    Ok(report)
}

/// Waits until the outbox is empty, analytics applied every OLTP purchase
/// and the lake holds every one (no roll half written).
async fn drain(cluster: &mut Cluster, limit: Duration, report: &mut Report) -> anyhow::Result<()> {
    let deadline = Instant::now() + limit;
    let mut oltp = Db::new(cluster.oltp_url.clone());
    let mut analytics = Db::new(cluster.analytics_url.clone());
    let mut last = (0, 0, 0, 0, 0);
    loop {
        let state = async {
            let counts = audit::purchase_counts(oltp.client().await?).await?;
            let (purchases, outbox) = (counts.purchases, counts.outbox);
            let row = analytics
                .client()
                .await?
                .query_one(
                    "SELECT (SELECT count(*) FROM processed_events), (SELECT count(*) FROM lake_events),
                            (SELECT count(*) FROM lake_batches WHERE state = 'writing')",
                    &[],
                )
                .await?;
            anyhow::Ok((purchases, outbox, row.get::<_, i64>(0), row.get::<_, i64>(1), row.get::<_, i64>(2)))
        }
        .await;
        match state {
            Ok((purchases, 0, applied, in_lake, 0))
                if applied == purchases && in_lake == purchases =>
            {
                return Ok(());
            }
            Ok(state) => last = state,
            Err(error) => tracing::warn!(
                error = format!("{error:#}"),
                "cannot read the pipeline's state"
            ),
        }
        report.note_exits(cluster.restart_exited()?);
        let (purchases, outbox, applied, in_lake, writing) = last;
        anyhow::ensure!(
            Instant::now() < deadline,
            "the pipeline did not drain within {limit:?}: {purchases} purchases, {outbox} outbox rows left, \
             {applied} applied by analytics, {in_lake} in the lake, {writing} lake batches being written"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
