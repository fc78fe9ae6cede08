//! Waiting at start for a dependency that may come up after us.
//!
//! Under `docker compose up` every container starts at once: a program can
//! ask PostgreSQL or NATS for its first connection a moment before they
//! accept one. [`retry_startup`] retries that first connection for a bounded
//! time, with one log line per failed attempt, so a slow dependency only
//! delays the start and one that never answers stops the program with a
//! message naming the setting. Used for PostgreSQL here
//! ([`connect_waiting`](crate::pool::connect_waiting),
//! [`wait_until_answers`](crate::pool::wait_until_answers)) and for NATS by
//! the relay and the analytics consumer.

use std::future::Future;
use std::time::{Duration, Instant};

/// The default of every `*_WAIT_SECS` setting: PostgreSQL and NATS start in
/// seconds, even on a slow machine building images beside them.
pub const DEFAULT_WAIT_SECS: u64 = 60;

/// Pause between two attempts: a starting dependency answers within
/// seconds, and an attempt costs one connection.
pub const RETRY_PAUSE: Duration = Duration::from_secs(1);

/// Longest one attempt may take. A host that drops packets (rather than
/// refusing them) would otherwise hold an attempt for the operating
/// system's TCP timeout, minutes past the wait; with this bound the whole
/// wait overruns by at most one attempt.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);

/// Runs `attempt` until it succeeds, for up to `wait` (0: one attempt),
/// about every [`RETRY_PAUSE`].
///
/// `what` names the dependency in messages ("database", "NATS server") and
/// `setting` the setting that says where it is (`DATABASE_URL`). Each
/// failure but the last logs a warning; a success after failures logs
/// that the dependency answered. An error for which `is_permanent` holds
/// (a wrong password, a missing database: waiting will not fix it) stops
/// at once.
pub async fn retry_startup<T, Fut>(
    what: &str,
    setting: &str,
    wait: Duration,
    is_permanent: impl Fn(&anyhow::Error) -> bool,
    mut attempt: impl FnMut() -> Fut,
) -> anyhow::Result<T>
where
    Fut: Future<Output = anyhow::Result<T>>,
{
    let started = Instant::now();
    let mut attempts: u32 = 0;
    loop {
        attempts += 1;
        let outcome = match tokio::time::timeout(ATTEMPT_TIMEOUT, attempt()).await {
            Ok(outcome) => outcome,
            Err(_) => Err(anyhow::anyhow!(
                "no answer within {} s",
                ATTEMPT_TIMEOUT.as_secs()
            )),
        };
        let waited = started.elapsed();
        let waited_ms = u64::try_from(waited.as_millis()).unwrap_or(u64::MAX);
        let error = match outcome {
            Ok(value) => {
                if attempts > 1 {
                    tracing::info!(
                        dependency = what,
                        setting,
                        attempts,
                        waited_ms,
                        "{what} answered"
                    );
                }
                return Ok(value);
            }
            Err(error) => error,
        };
        if is_permanent(&error) {
            return Err(error.context(format!(
                "cannot connect to the {what} at {setting} (not retried: waiting will not fix this)"
            )));
        }
        if waited >= wait {
            anyhow::bail!(
                "the {what} at {setting} did not answer within {} s: {error:#}",
                wait.as_secs()
            );
        }
        tracing::warn!(
            dependency = what,
            setting,
            attempt = attempts,
            waited_ms,
            error = format!("{error:#}"),
            "{what} not answering yet, retrying"
        );
        // The last attempt falls on the deadline rather than past it.
        tokio::time::sleep(RETRY_PAUSE.min(wait - waited)).await;
    }
}
