//! One level of HTTP load on the purchases service: wrk with its Lua script
//! (or the built-in simulator, in `main.rs`), and the service's memory.

use std::path::PathBuf;

use anyhow::Context;

pub struct Level {
    pub concurrency: u32,
    pub purchases_per_s: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub errors: u64,
    pub peak_rss_mib: f64,
    pub avg_batch: f64,
}

pub fn rss_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

pub async fn wrk_level(
    port: u16,
    concurrency: u32,
    seconds: u64,
    threads: u32,
    token: &str,
) -> anyhow::Result<(u64, f64, [f64; 4], u64)> {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../bench/ingest/purchases.lua");
    let output = tokio::process::Command::new("wrk")
        .env("BENCH_CASHIER_TOKEN", token)
        .args([
            "-t",
            &threads.min(concurrency).to_string(),
            "-c",
            &concurrency.to_string(),
            "-d",
            &format!("{seconds}s"),
            "--timeout",
            "10s",
            "-s",
        ])
        .arg(&script)
        .arg(format!("http://127.0.0.1:{port}"))
        .output()
        .await
        .context("cannot run wrk")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .with_context(|| format!("no summary from wrk: {stdout}"))?;
    let v: serde_json::Value = serde_json::from_str(line)?;
    let n = |k: &str| v[k].as_f64().unwrap_or(0.0);
    let requests = n("requests") as u64;
    let errors = n("errors") as u64;
    let secs = n("duration_us") / 1e6;
    Ok((
        requests - errors.min(requests),
        secs,
        [
            n("p50_us") / 1e3,
            n("p90_us") / 1e3,
            n("p99_us") / 1e3,
            n("max_us") / 1e3,
        ],
        errors,
    ))
}
