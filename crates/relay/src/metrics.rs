//! The relay's Prometheus metrics (see [`supermarket_http::prometheus`]).

use std::sync::atomic::AtomicU64;

use supermarket_http::prometheus::{BatchSizes, counter, gauge};

#[derive(Debug, Default)]
pub struct Metrics {
    pub published: AtomicU64,
    pub duplicates: AtomicU64,
    pub orphans: AtomicU64,
    pub errors: AtomicU64,
    batch_sizes: BatchSizes,
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
        self.batch_sizes.observe(size);
    }

    pub fn render(&self, backlog: Option<Backlog>) -> String {
        let mut out = String::with_capacity(2048);
        counter(
            &mut out,
            "relay_events_published_total",
            "Events acknowledged by JetStream.",
            &self.published,
        );
        counter(
            &mut out,
            "relay_duplicate_acks_total",
            "Publishes JetStream reported as duplicates (already in the stream).",
            &self.duplicates,
        );
        counter(
            &mut out,
            "relay_orphan_rows_total",
            "Outbox rows dropped because their purchase does not exist.",
            &self.orphans,
        );
        counter(
            &mut out,
            "relay_errors_total",
            "Failed batches (rolled back and retried).",
            &self.errors,
        );
        self.batch_sizes.render(
            &mut out,
            "relay_batch_size",
            "Outbox rows per non-empty batch.",
        );
        if let Some(backlog) = backlog {
            gauge(
                &mut out,
                "relay_outbox_backlog",
                "Outbox rows waiting to be published.",
                backlog.rows as f64,
            );
            gauge(
                &mut out,
                "relay_outbox_oldest_age_seconds",
                "Age of the oldest waiting outbox row.",
                backlog.oldest_age_seconds,
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::Ordering::Relaxed;

    #[test]
    fn renders_counters_and_cumulative_buckets() {
        let metrics = Metrics::default();
        metrics.published.fetch_add(7, Relaxed);
        metrics.observe_batch(3);
        metrics.observe_batch(600);
        let text = metrics.render(Some(Backlog {
            rows: 2,
            oldest_age_seconds: 0.5,
        }));
        assert!(text.contains("relay_events_published_total 7\n"));
        assert!(text.contains("relay_batch_size_bucket{le=\"1\"} 0\n"));
        assert!(text.contains("relay_batch_size_bucket{le=\"10\"} 1\n"));
        assert!(text.contains("relay_batch_size_bucket{le=\"1000\"} 2\n"));
        assert!(text.contains("relay_batch_size_bucket{le=\"+Inf\"} 2\n"));
        assert!(text.contains("relay_batch_size_sum 603\n"));
        assert!(text.contains("relay_outbox_backlog 2.000\n"));
    }
}
