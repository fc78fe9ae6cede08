//! [`Backoff`]: the growing pause between retries of a failing step, shared
//! by every loop that retries (the relay, the analytics consumer, the lake).

use std::time::Duration;

use tokio_util::sync::CancellationToken;

/// A pause that doubles after each failure, up to a ceiling, and starts
/// over after a success.
#[derive(Debug, Clone)]
pub struct Backoff {
    first: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    pub fn new(first: Duration, max: Duration) -> Backoff {
        Backoff {
            first,
            max,
            next: first,
        }
    }

    /// The pause the next [`wait`](Backoff::wait) sleeps (for log lines).
    pub fn pause(&self) -> Duration {
        self.next
    }

    /// After a success: the next failure waits the first pause again.
    pub fn reset(&mut self) {
        self.next = self.first;
    }

    /// Sleeps the current pause, then doubles it (up to the ceiling).
    /// `false` when `stop` was cancelled first.
    pub async fn wait(&mut self, stop: &CancellationToken) -> bool {
        let pause = self.next;
        self.next = (self.next * 2).min(self.max);
        tokio::select! {
            () = tokio::time::sleep(pause) => true,
            () = stop.cancelled() => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn doubles_up_to_the_ceiling_and_starts_over_after_reset() {
        let stop = CancellationToken::new();
        let mut backoff = Backoff::new(Duration::from_millis(1), Duration::from_millis(3));
        let mut pauses = Vec::new();
        for _ in 0..4 {
            pauses.push(backoff.pause().as_millis());
            assert!(backoff.wait(&stop).await);
        }
        assert_eq!(pauses, [1, 2, 3, 3]);
        backoff.reset();
        assert_eq!(backoff.pause(), Duration::from_millis(1));
    }

    #[tokio::test]
    async fn a_cancelled_stop_ends_the_wait_at_once() {
        let stop = CancellationToken::new();
        stop.cancel();
        let mut backoff = Backoff::new(Duration::from_secs(3600), Duration::from_secs(3600));
        assert!(!backoff.wait(&stop).await);
    }
}
