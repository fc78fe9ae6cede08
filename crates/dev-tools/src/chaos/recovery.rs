//! How long the pipeline takes to be back to normal after a restart.
//!
//! A purchase's lag is the time from its acknowledgement to its
//! application by analytics (`processed_events.processed_at`). The pipeline
//! is back to normal when both hold:
//!
//! - **fresh sales are on time** ([`measure`], while the run goes on): from
//!   the restart on, a probe sale is sent every [`PROBE_EVERY`] (to the
//!   restarted purchases instance when that is what failed, else to either);
//!   this holds from the moment the first probe with a lag under the target
//!   became visible, provided the next [`STABLE_PROBES`] probes stay under it;
//! - **the backlog is cleared** ([`backlog`], computed from every
//!   acknowledged sale after the run): no purchase acknowledged more than
//!   the lag target ago is still waiting, i.e. the last purchase the fault
//!   made late has been applied. A purchase stuck in a dead consumer's hands
//!   until the broker redelivers it counts here, though fresh sales flow.
//!
//! The recovery time is the later of the two, minus the restart.

use std::time::Duration;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::chaos::db::Db;
use crate::chaos::tills::Tills;

pub const PROBE_EVERY: Duration = Duration::from_millis(100);
/// Probes in a row under the lag target needed to call it recovered.
pub const STABLE_PROBES: usize = 5;
const POLL_EVERY: Duration = Duration::from_millis(50);

/// What was measured after one restart.
#[derive(Clone, Debug, Default)]
pub struct Recovery {
    /// Restart → back under the lag target; `None`: not within the watch.
    pub time: Option<Duration>,
    pub probes: usize,
    /// The largest lag of a probe sent after the restart.
    pub worst_lag: Duration,
}

struct Probe {
    id: Uuid,
    acked_at: DateTime<Utc>,
    applied_at: Option<DateTime<Utc>>,
}

impl Probe {
    fn lag(&self) -> Option<Duration> {
        self.applied_at
            .map(|applied| (applied - self.acked_at).to_std().unwrap_or(Duration::ZERO))
    }
}

/// Probes until recovered or `watch` has passed since `restarted_at`.
pub async fn measure(
    tills: &Tills,
    analytics: &mut Db,
    restarted_at: DateTime<Utc>,
    target: Option<usize>,
    lag_target: Duration,
    watch: Duration,
) -> Recovery {
    let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel();
    let mut probes: Vec<Probe> = Vec::new();
    let mut send = tokio::time::interval(PROBE_EVERY);
    let mut poll = tokio::time::interval(POLL_EVERY);
    let deadline = tokio::time::Instant::now()
        + watch.saturating_sub((Utc::now() - restarted_at).to_std().unwrap_or_default());
    let mut recovery = Recovery::default();
    loop {
        tokio::select! {
            () = tokio::time::sleep_until(deadline) => break,
            _ = send.tick() => {
                tills.spawn_probe(target, done_tx.clone());
                recovery.probes += 1;
            }
            _ = poll.tick() => {
                while let Ok(ack) = done_rx.try_recv() {
                    probes.push(Probe { id: ack.purchase_id, acked_at: ack.acked_at, applied_at: None });
                }
                if let Err(error) = look_up(analytics, &mut probes).await {
                    tracing::debug!(error = format!("{error:#}"), "cannot read processed_events yet");
                    continue;
                }
                if let Some(time) = recovered(&mut probes, restarted_at, lag_target) {
                    recovery.time = Some(time);
                    break;
                }
            }
        }
    }
    recovery.worst_lag = probes
        .iter()
        .map(|probe| {
            probe
                .lag()
                .unwrap_or_else(|| (Utc::now() - probe.acked_at).to_std().unwrap_or_default())
        })
        .max()
        .unwrap_or_default();
    recovery
}

/// Fills in when each pending probe was applied.
async fn look_up(analytics: &mut Db, probes: &mut [Probe]) -> anyhow::Result<()> {
    let pending: Vec<Uuid> = probes
        .iter()
        .filter(|p| p.applied_at.is_none())
        .map(|p| p.id)
        .collect();
    if pending.is_empty() {
        return Ok(());
    }
    let rows = analytics
        .client()
        .await?
        .query(
            "SELECT event_id, processed_at FROM processed_events WHERE event_id = ANY($1)",
            &[&pending],
        )
        .await?;
    for row in rows {
        let (id, at): (Uuid, DateTime<Utc>) = (row.get(0), row.get(1));
        if let Some(probe) = probes.iter_mut().find(|p| p.id == id) {
            probe.applied_at = Some(at);
        }
    }
    Ok(())
}

/// The recovery time once the probes show it, else `None`.
fn recovered(
    probes: &mut [Probe],
    restarted_at: DateTime<Utc>,
    lag_target: Duration,
) -> Option<Duration> {
    probes.sort_by_key(|p| p.acked_at);
    // The first probe of the last unbroken run of good probes.
    let mut start: Option<usize> = None;
    for (index, probe) in probes.iter().enumerate() {
        match probe.lag() {
            Some(lag) if lag <= lag_target => {
                start.get_or_insert(index);
            }
            // Still on its way and not late yet: undecided, so the run cannot be judged beyond it.
            None if (Utc::now() - probe.acked_at).to_std().unwrap_or_default() <= lag_target => {
                break;
            }
            _ => start = None,
        }
    }
    let start = start?;
    let good = probes[start..]
        .iter()
        .take_while(|p| p.lag().is_some_and(|lag| lag <= lag_target))
        .count();
    if good < STABLE_PROBES {
        return None;
    }
    let back_at = probes[start].applied_at?;
    Some((back_at - restarted_at).to_std().unwrap_or(Duration::ZERO))
}

/// When a fault began and when its restart began.
#[derive(Clone, Copy, Debug)]
pub struct Window {
    pub fault_at: DateTime<Utc>,
    pub restarted_at: DateTime<Utc>,
}

/// The purchases a fault made late.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Backlog {
    /// Restart → the last late purchase applied (zero when none was late).
    pub cleared_after: Duration,
    /// Purchases applied more than the lag target after their acknowledgement.
    pub late: usize,
    /// The largest lag among them.
    pub worst_lag: Duration,
}

/// Attributes every late purchase to the fault under way when it became
/// late (its acknowledgement plus the lag target): the last window that
/// began by then. `sales` are (acknowledged, applied) pairs; one never
/// applied counts as applied at `end` (the checks report it as lost).
pub fn backlog(
    windows: &[Window],
    sales: &[(DateTime<Utc>, Option<DateTime<Utc>>)],
    lag_target: Duration,
    end: DateTime<Utc>,
) -> Vec<Backlog> {
    let mut out = vec![Backlog::default(); windows.len()];
    let target = chrono::Duration::from_std(lag_target).unwrap_or_default();
    for &(acked, applied) in sales {
        let applied = applied.unwrap_or(end);
        if applied - acked <= target {
            continue;
        }
        let late_at = acked + target;
        let Some(index) = windows.iter().rposition(|w| w.fault_at <= late_at) else {
            continue;
        };
        let entry = &mut out[index];
        entry.late += 1;
        entry.worst_lag = entry
            .worst_lag
            .max((applied - acked).to_std().unwrap_or_default());
        entry.cleared_after = entry.cleared_after.max(
            (applied - windows[index].restarted_at)
                .to_std()
                .unwrap_or_default(),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(acked_ms: i64, lag_ms: Option<i64>, base: DateTime<Utc>) -> Probe {
        let acked_at = base + chrono::Duration::milliseconds(acked_ms);
        Probe {
            id: Uuid::new_v4(),
            acked_at,
            applied_at: lag_ms.map(|lag| acked_at + chrono::Duration::milliseconds(lag)),
        }
    }

    #[test]
    fn recovery_is_the_first_good_probe_of_a_stable_run() {
        let base = Utc::now() - chrono::Duration::seconds(60);
        let target = Duration::from_secs(1);
        let mut probes: Vec<Probe> = vec![
            probe(0, Some(3_000), base),
            probe(100, Some(2_900), base),
            probe(200, Some(50), base),
        ];
        assert_eq!(
            recovered(&mut probes, base, target),
            None,
            "two good probes are not yet a stable run"
        );
        probes.extend((3..8).map(|i| probe(i * 100, Some(40), base)));
        assert_eq!(
            recovered(&mut probes, base, target),
            Some(Duration::from_millis(250))
        );
    }

    #[test]
    fn a_relapse_restarts_the_run() {
        let base = Utc::now() - chrono::Duration::seconds(60);
        let target = Duration::from_secs(1);
        let mut probes: Vec<Probe> = (0..6).map(|i| probe(i * 100, Some(20), base)).collect();
        probes.push(probe(600, Some(5_000), base));
        probes.extend((7..12).map(|i| probe(i * 100, Some(30), base)));
        assert_eq!(
            recovered(&mut probes, base, target),
            Some(Duration::from_millis(730))
        );
    }

    #[test]
    fn late_purchases_count_against_the_fault_under_way_when_they_became_late() {
        let base = Utc::now();
        let at = |ms: i64| base + chrono::Duration::milliseconds(ms);
        let windows = [
            Window {
                fault_at: at(0),
                restarted_at: at(0),
            },
            Window {
                fault_at: at(10_000),
                restarted_at: at(11_000),
            },
        ];
        let sales = [
            (at(1_000), Some(at(1_100))),   // on time
            (at(9_500), Some(at(40_000))),  // late from 10.5 s on: the second fault's
            (at(12_000), Some(at(13_500))), // late: the second fault's
            (at(2_000), Some(at(3_500))),   // late: the first fault's
        ];
        let found = backlog(&windows, &sales, Duration::from_secs(1), at(60_000));
        assert_eq!(
            found[0],
            Backlog {
                cleared_after: Duration::from_millis(3_500),
                late: 1,
                worst_lag: Duration::from_millis(1_500)
            }
        );
        assert_eq!(
            found[1],
            Backlog {
                cleared_after: Duration::from_millis(29_000),
                late: 2,
                worst_lag: Duration::from_millis(30_500)
            }
        );
    }

    #[test]
    fn a_probe_long_unseen_counts_as_late() {
        let base = Utc::now() - chrono::Duration::seconds(60);
        let target = Duration::from_secs(1);
        let mut probes: Vec<Probe> = (0..6).map(|i| probe(i * 100, Some(20), base)).collect();
        probes.push(probe(600, None, base));
        assert_eq!(recovered(&mut probes, base, target), None);
    }
}
