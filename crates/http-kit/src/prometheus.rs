//! The Prometheus text exposition format for the workers' `/metrics`.
//!
//! The workers expose a handful of series each, kept in atomics and
//! rendered on scrape: lighter than a metrics registry plus exporter, and
//! nothing to configure.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Writes one counter with its HELP and TYPE lines.
pub fn counter(out: &mut String, name: &str, help: &str, value: &AtomicU64) {
    let _ = writeln!(
        out,
        "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
        value.load(Relaxed)
    );
}

/// Writes one gauge with its HELP and TYPE lines.
pub fn gauge(out: &mut String, name: &str, help: &str, value: f64) {
    let _ = writeln!(
        out,
        "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value:.3}"
    );
}

/// Upper bounds of the batch-size buckets.
const BATCH_BOUNDS: [u64; 8] = [1, 10, 50, 100, 250, 500, 1000, 5000];

/// A histogram of batch sizes (messages or rows per batch).
#[derive(Debug, Default)]
pub struct BatchSizes {
    count: AtomicU64,
    sum: AtomicU64,
    buckets: [AtomicU64; BATCH_BOUNDS.len()],
}

impl BatchSizes {
    pub fn observe(&self, size: u64) {
        self.count.fetch_add(1, Relaxed);
        self.sum.fetch_add(size, Relaxed);
        for (bound, bucket) in BATCH_BOUNDS.iter().zip(&self.buckets) {
            if size <= *bound {
                bucket.fetch_add(1, Relaxed);
            }
        }
    }

    /// Writes the histogram (cumulative buckets, `+Inf`, sum and count).
    pub fn render(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        for (bound, bucket) in BATCH_BOUNDS.iter().zip(&self.buckets) {
            let _ = writeln!(
                out,
                "{name}_bucket{{le=\"{bound}\"}} {}",
                bucket.load(Relaxed)
            );
        }
        let count = self.count.load(Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let _ = writeln!(out, "{name}_sum {}", self.sum.load(Relaxed));
        let _ = writeln!(out, "{name}_count {count}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_cumulative() {
        let sizes = BatchSizes::default();
        sizes.observe(3);
        sizes.observe(600);
        let mut out = String::new();
        sizes.render(&mut out, "x_batch_size", "Rows per batch.");
        assert!(out.contains("# TYPE x_batch_size histogram\n"));
        assert!(out.contains("x_batch_size_bucket{le=\"1\"} 0\n"));
        assert!(out.contains("x_batch_size_bucket{le=\"10\"} 1\n"));
        assert!(out.contains("x_batch_size_bucket{le=\"1000\"} 2\n"));
        assert!(out.contains("x_batch_size_bucket{le=\"+Inf\"} 2\n"));
        assert!(out.contains("x_batch_size_sum 603\n"));
        assert!(out.contains("x_batch_size_count 2\n"));
    }
}
