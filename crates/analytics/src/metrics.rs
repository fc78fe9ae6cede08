//! The consumer's Prometheus metrics, rendered in the text exposition format
//! (a few atomic counters: lighter than a metrics registry and exporter).

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

const BATCH_BUCKETS: [u64; 7] = [1, 10, 50, 100, 250, 500, 1000];

#[derive(Debug, Default)]
pub struct Metrics {
    pub events_applied: AtomicU64,
    pub duplicates: AtomicU64,
    pub dead_letters: AtomicU64,
    pub errors: AtomicU64,
    /// Unix time (ms) when the last batch was committed.
    pub last_commit_unix_ms: AtomicU64,
    batches: AtomicU64,
    batch_messages_sum: AtomicU64,
    batch_buckets: [AtomicU64; BATCH_BUCKETS.len()],
}

impl Metrics {
    pub fn observe_batch(&self, messages: u64) {
        self.batches.fetch_add(1, Relaxed);
        self.batch_messages_sum.fetch_add(messages, Relaxed);
        for (bound, bucket) in BATCH_BUCKETS.iter().zip(&self.batch_buckets) {
            if messages <= *bound {
                bucket.fetch_add(1, Relaxed);
            }
        }
    }

    pub fn render(&self) -> String {
        let mut out = String::with_capacity(2048);
        counter(&mut out, "analytics_events_applied_total", "Events applied to the read models for the first time.", &self.events_applied);
        counter(&mut out, "analytics_duplicate_events_total", "Events received again and ignored (redeliveries, re-publishes).", &self.duplicates);
        counter(&mut out, "analytics_dead_letters_total", "Unreadable messages recorded in dead_letters and acknowledged.", &self.dead_letters);
        counter(&mut out, "analytics_errors_total", "Failed batch applications (retried).", &self.errors);
        let _ = writeln!(out, "# HELP analytics_batch_size Messages per batch.\n# TYPE analytics_batch_size histogram");
        for (bound, bucket) in BATCH_BUCKETS.iter().zip(&self.batch_buckets) {
            let _ = writeln!(out, "analytics_batch_size_bucket{{le=\"{bound}\"}} {}", bucket.load(Relaxed));
        }
        let batches = self.batches.load(Relaxed);
        let _ = writeln!(out, "analytics_batch_size_bucket{{le=\"+Inf\"}} {batches}");
        let _ = writeln!(out, "analytics_batch_size_sum {}", self.batch_messages_sum.load(Relaxed));
        let _ = writeln!(out, "analytics_batch_size_count {batches}");
        let _ = writeln!(out, "# HELP analytics_last_commit_timestamp_seconds When the last batch was committed.\n# TYPE analytics_last_commit_timestamp_seconds gauge");
        let _ = writeln!(out, "analytics_last_commit_timestamp_seconds {:.3}", self.last_commit_unix_ms.load(Relaxed) as f64 / 1000.0);
        out
    }
}

fn counter(out: &mut String, name: &str, help: &str, value: &AtomicU64) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}", value.load(Relaxed));
}
