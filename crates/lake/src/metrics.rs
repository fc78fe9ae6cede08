//! The lake sink's Prometheus metrics (see [`supermarket_http::prometheus`]).

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use supermarket_http::prometheus::{counter, gauge};

use crate::ledger::BatchRecord;

#[derive(Debug, Default)]
pub struct Metrics {
    /// Events written to the lake for the first time.
    pub events_written: AtomicU64,
    /// Unreadable messages left out of the lake (and acknowledged).
    pub events_skipped: AtomicU64,
    /// Parquet files put.
    pub files_written: AtomicU64,
    /// Rolls recorded done.
    pub rolls: AtomicU64,
    /// Times the sink started over after a failure.
    pub restarts: AtomicU64,
    /// Unix time (ms) when the last roll was recorded done.
    pub last_roll_unix_ms: AtomicU64,
}

impl Metrics {
    /// Counts a roll recorded done.
    pub fn observe_roll(&self, record: &BatchRecord) {
        let count = |n: i32| u64::try_from(n).unwrap_or(0);
        self.events_written.fetch_add(count(record.events), Relaxed);
        self.events_skipped
            .fetch_add(count(record.skipped), Relaxed);
        self.files_written
            .fetch_add(record.objects.len() as u64, Relaxed);
        self.rolls.fetch_add(1, Relaxed);
        let now = chrono::Utc::now().timestamp_millis().max(0) as u64;
        self.last_roll_unix_ms.store(now, Relaxed);
    }

    pub fn render(&self) -> String {
        let mut out = String::with_capacity(1024);
        counter(
            &mut out,
            "lake_events_written_total",
            "Events written to the lake.",
            &self.events_written,
        );
        counter(
            &mut out,
            "lake_events_skipped_total",
            "Unreadable messages left out of the lake.",
            &self.events_skipped,
        );
        counter(
            &mut out,
            "lake_files_written_total",
            "Parquet files written.",
            &self.files_written,
        );
        counter(
            &mut out,
            "lake_rolls_total",
            "Rolls written and recorded done.",
            &self.rolls,
        );
        counter(
            &mut out,
            "lake_restarts_total",
            "Times the sink started over after a failure.",
            &self.restarts,
        );
        let last = self.last_roll_unix_ms.load(Relaxed);
        if last > 0 {
            gauge(
                &mut out,
                "lake_last_roll_timestamp_seconds",
                "Unix time of the last roll written.",
                last as f64 / 1000.0,
            );
        }
        out
    }
}
