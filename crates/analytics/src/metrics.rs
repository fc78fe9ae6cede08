//! The consumer's Prometheus metrics (see [`supermarket_http::prometheus`]).

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use supermarket_http::prometheus::{BatchSizes, counter, gauge};

#[derive(Debug, Default)]
pub struct Metrics {
    pub events_applied: AtomicU64,
    pub duplicates: AtomicU64,
    pub dead_letters: AtomicU64,
    pub errors: AtomicU64,
    /// Unix time (ms) when the last batch was committed.
    pub last_commit_unix_ms: AtomicU64,
    batch_sizes: BatchSizes,
}

impl Metrics {
    pub fn observe_batch(&self, messages: u64) {
        self.batch_sizes.observe(messages);
    }

    pub fn render(&self) -> String {
        let mut out = String::with_capacity(2048);
        counter(
            &mut out,
            "analytics_events_applied_total",
            "Events applied to the read models for the first time.",
            &self.events_applied,
        );
        counter(
            &mut out,
            "analytics_duplicate_events_total",
            "Events received again and ignored (redeliveries, re-publishes).",
            &self.duplicates,
        );
        counter(
            &mut out,
            "analytics_dead_letters_total",
            "Unreadable messages recorded in dead_letters and acknowledged.",
            &self.dead_letters,
        );
        counter(
            &mut out,
            "analytics_errors_total",
            "Failed batch applications (retried).",
            &self.errors,
        );
        self.batch_sizes
            .render(&mut out, "analytics_batch_size", "Messages per batch.");
        gauge(
            &mut out,
            "analytics_last_commit_timestamp_seconds",
            "When the last batch was committed.",
            self.last_commit_unix_ms.load(Relaxed) as f64 / 1000.0,
        );
        out
    }
}
