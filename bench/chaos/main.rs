//! The chaos suite at full size: `bench/chaos/run.sh` (see the README next
//! to this file). Prints the report as Markdown and exits non-zero when a
//! purchase was lost or counted twice, a fault did not recover in time, or
//! a service stopped on its own.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use supermarket_dev_tools::chaos::Settings;

/// The suite's own defaults, shown and used by the flags below.
static DEFAULTS: std::sync::LazyLock<Settings> =
    std::sync::LazyLock::new(|| Settings::new(PathBuf::new(), PathBuf::new()));

#[derive(Parser, Debug)]
#[command(
    about = "Kill and restart every part of the platform under load; check nothing is lost or counted twice"
)]
struct Args {
    /// The `supermarket` binary to run.
    #[arg(
        long,
        env = "CHAOS_SUPERMARKET",
        default_value = "target/release/supermarket"
    )]
    supermarket: PathBuf,
    /// Folder with products_list.csv and supermarkets.csv.
    #[arg(long, default_value = "data")]
    data_dir: PathBuf,
    /// Rounds of faults (each: every single fault, then all together).
    #[arg(long, default_value_t = DEFAULTS.rounds)]
    rounds: u32,
    /// Background sales per second.
    #[arg(long, default_value_t = DEFAULTS.rate)]
    rate: u32,
    /// Sales in flight at most.
    #[arg(long, default_value_t = DEFAULTS.tills)]
    tills: usize,
    /// Seconds a killed part stays down.
    #[arg(long, default_value_t = DEFAULTS.down.as_secs_f64())]
    down: f64,
    /// Seconds of plain load between two faults, after the recovery.
    #[arg(long, default_value_t = DEFAULTS.settle.as_secs_f64())]
    settle: f64,
    /// Seconds within which the lag must be back under 1 s after a restart.
    #[arg(long, default_value_t = DEFAULTS.recovery_target.as_secs_f64())]
    recovery_target: f64,
    /// Only flag late recoveries in the table instead of failing the run.
    #[arg(long)]
    no_enforce_recovery: bool,
    /// Folder for logs, data and the lake (default: a new temporary folder).
    #[arg(long)]
    work_dir: Option<PathBuf>,
    /// Keep the work folder after a passing run.
    #[arg(long)]
    keep: bool,
    /// STORE_TIMEZONE of the services.
    #[arg(long, default_value_t = DEFAULTS.store_timezone.clone())]
    store_timezone: String,
    /// Seed of the sales generator.
    #[arg(long, default_value_t = DEFAULTS.seed)]
    seed: u64,
    /// RUST_LOG of the services.
    #[arg(long, default_value_t = DEFAULTS.rust_log.clone())]
    service_log: String,
    /// Also write the report to this file.
    #[arg(long)]
    report: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<ExitCode> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "supermarket_dev_tools=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let mut settings = Settings::new(args.supermarket, args.data_dir);
    settings.rounds = args.rounds;
    settings.rate = args.rate;
    settings.tills = args.tills;
    settings.down = Duration::from_secs_f64(args.down);
    settings.settle = Duration::from_secs_f64(args.settle);
    settings.recovery_target = Duration::from_secs_f64(args.recovery_target);
    settings.enforce_recovery_target = !args.no_enforce_recovery;
    settings.work_dir = args.work_dir;
    settings.keep_work_dir = args.keep;
    settings.store_timezone = args.store_timezone;
    settings.seed = args.seed;
    settings.rust_log = args.service_log;
    let report = supermarket_dev_tools::chaos::run(&settings).await?;
    let text = report.render();
    println!("{text}");
    if let Some(path) = args.report {
        std::fs::write(&path, &text)?;
    }
    if let Some(logs) = &report.logs {
        eprintln!("{logs}");
    }
    Ok(if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
