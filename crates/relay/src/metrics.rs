//! The relay's Prometheus metrics, rendered in the text exposition format.
//!
//! A handful of atomic counters rendered by hand: lighter than a metrics
//! registry plus exporter for six series, and nothing to configure.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Upper bounds of the batch-size histogram buckets.
const BATCH_BUCKETS: [u64; 8] = [1, 10, 50, 100, 250, 500, 1000, 5000];

#[derive(Debug, Default)]
pub struct Metrics {
    pub published: AtomicU64,
    pub duplicates: AtomicU64,
    pub orphans: AtomicU64,
    pub errors: AtomicU64,
    batches: AtomicU64,
    batch_events_sum: AtomicU64,
    batch_buckets: [AtomicU64; BATCH_BUCKETS.len()],
}

/// Outbox figures read from the database at scrape time.
#[derive(Debug, Clone, Copy, Default)]
pub struct Backlog {
    pub rows: i64,
    pub oldest_age_seconds: f64,
}

impl Metrics {
    /// Records one non-empty batch of `size` outbox rows.
    pub fn observe_batch(&self, size: u64) {
        self.batches.fetch_add(1, Relaxed);
        self.batch_events_sum.fetch_add(size, Relaxed);
        for (bound, bucket) in BATCH_BUCKETS.iter().zip(&self.batch_buckets) {
            if size <= *bound {
                bucket.fetch_add(1, Relaxed);
            }
        }
    }

    pub fn render(&self, backlog: Option<Backlog>) -> String {
        let mut out = String::with_capacity(2048);
        counter(&mut out, "relay_events_published_total", "Events acknowledged by JetStream.", &self.published);
        counter(&mut out, "relay_duplicate_acks_total", "Publishes JetStream reported as duplicates (already in the stream).", &self.duplicates);
        counter(&mut out, "relay_orphan_rows_total", "Outbox rows dropped because their purchase does not exist.", &self.orphans);
        counter(&mut out, "relay_errors_total", "Failed batches (rolled back and retried).", &self.errors);
        let _ = writeln!(out, "# HELP relay_batch_size Outbox rows per non-empty batch.\n# TYPE relay_batch_size histogram");
        for (bound, bucket) in BATCH_BUCKETS.iter().zip(&self.batch_buckets) {
            let _ = writeln!(out, "relay_batch_size_bucket{{le=\"{bound}\"}} {}", bucket.load(Relaxed));
        }
        let batches = self.batches.load(Relaxed);
        let _ = writeln!(out, "relay_batch_size_bucket{{le=\"+Inf\"}} {batches}");
        let _ = writeln!(out, "relay_batch_size_sum {}", self.batch_events_sum.load(Relaxed));
        let _ = writeln!(out, "relay_batch_size_count {batches}");
        if let Some(backlog) = backlog {
            let _ = writeln!(out, "# HELP relay_outbox_backlog Outbox rows waiting to be published.\n# TYPE relay_outbox_backlog gauge");
            let _ = writeln!(out, "relay_outbox_backlog {}", backlog.rows);
            let _ = writeln!(out, "# HELP relay_outbox_oldest_age_seconds Age of the oldest waiting outbox row.\n# TYPE relay_outbox_oldest_age_seconds gauge");
            let _ = writeln!(out, "relay_outbox_oldest_age_seconds {:.3}", backlog.oldest_age_seconds);
        }
        out
    }
}

fn counter(out: &mut String, name: &str, help: &str, value: &AtomicU64) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}", value.load(Relaxed));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_cumulative_buckets() {
        let metrics = Metrics::default();
        metrics.published.fetch_add(7, Relaxed);
        metrics.observe_batch(3);
        metrics.observe_batch(600);
        let text = metrics.render(Some(Backlog { rows: 2, oldest_age_seconds: 0.5 }));
        assert!(text.contains("relay_events_published_total 7\n"));
        assert!(text.contains("relay_batch_size_bucket{le=\"1\"} 0\n"));
        assert!(text.contains("relay_batch_size_bucket{le=\"10\"} 1\n"));
        assert!(text.contains("relay_batch_size_bucket{le=\"1000\"} 2\n"));
        assert!(text.contains("relay_batch_size_bucket{le=\"+Inf\"} 2\n"));
        assert!(text.contains("relay_batch_size_sum 603\n"));
        assert!(text.contains("relay_outbox_backlog 2\n"));
    }
}
