//! The report of a run: one row per fault, then the totals.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::process::ExitStatus;
use std::time::Duration;

use crate::chaos::Settings;
use crate::chaos::recovery::{Backlog, Recovery, Window};
use crate::chaos::tills::Ledger;
use crate::chaos::verify::Verdict;

/// One fault (or the steady-state baseline, round 0).
#[derive(Clone, Debug)]
pub struct Step {
    pub round: u32,
    pub fault: String,
    /// Purchases acknowledged when the recovery was measured.
    pub acknowledged: usize,
    pub window: Window,
    /// Fresh sales on time again (probes, measured during the run).
    pub recovery: Recovery,
    /// The purchases this fault made late (computed after the run).
    pub backlog: Backlog,
}

impl Step {
    pub fn new(
        round: u32,
        fault: String,
        acknowledged: usize,
        window: Window,
        recovery: Recovery,
    ) -> Step {
        Step {
            round,
            fault,
            acknowledged,
            window,
            recovery,
            backlog: Backlog::default(),
        }
    }

    /// From the fault to the restart.
    pub fn down(&self) -> Duration {
        (self.window.restarted_at - self.window.fault_at)
            .to_std()
            .unwrap_or_default()
    }

    /// Restart → fresh sales on time and the backlog cleared; `None` when
    /// fresh sales were not on time within the watch.
    pub fn recovered_after(&self) -> Option<Duration> {
        self.recovery
            .time
            .map(|fresh| fresh.max(self.backlog.cleared_after))
    }

    pub fn worst_lag(&self) -> Duration {
        self.recovery.worst_lag.max(self.backlog.worst_lag)
    }
}

#[derive(Clone, Debug, Default)]
pub struct Report {
    pub rounds: u32,
    pub rate: u32,
    pub lag_target: Duration,
    pub recovery_target: Duration,
    pub enforce_recovery_target: bool,
    pub steps: Vec<Step>,
    pub verdict: Verdict,
    pub dispatched: u64,
    /// Sales not sent because every till was busy retrying.
    pub skipped: u64,
    pub failed_attempts: BTreeMap<String, u64>,
    pub answered_by_replay: usize,
    pub repeats_replayed: u64,
    /// Services that stopped on their own (restarted by the suite).
    pub exits: Vec<String>,
    pub drain: Option<Duration>,
    pub problems: Vec<String>,
    pub elapsed: Duration,
    /// Tails of the logs, when the run failed.
    pub logs: Option<String>,
}

fn seconds(duration: Duration) -> String {
    format!("{:.2} s", duration.as_secs_f64())
}

impl Report {
    pub fn new(settings: &Settings) -> Report {
        Report {
            rounds: settings.rounds,
            rate: settings.rate,
            lag_target: settings.lag_target,
            recovery_target: settings.recovery_target,
            enforce_recovery_target: settings.enforce_recovery_target,
            ..Report::default()
        }
    }

    pub fn note_exits(&mut self, exits: Vec<(String, ExitStatus, String)>) {
        for (name, status, tail) in exits {
            self.exits
                .push(format!("{name} ({status}); its last log lines:\n{tail}"));
        }
    }

    pub fn set_ledger(&mut self, ledger: &Ledger) {
        self.failed_attempts = ledger.failed_attempts.clone();
        self.answered_by_replay = ledger.acked.iter().filter(|a| a.replayed).count();
        self.repeats_replayed = ledger.replays_ok;
    }

    fn faults(&self) -> impl Iterator<Item = &Step> {
        self.steps.iter().filter(|step| step.round > 0)
    }

    fn slowest_recovery(&self) -> Option<Duration> {
        self.faults().filter_map(Step::recovered_after).max()
    }

    fn unrecovered(&self) -> usize {
        self.steps
            .iter()
            .filter(|step| step.recovered_after().is_none())
            .count()
    }

    fn late(&self) -> usize {
        self.faults()
            .filter(|step| {
                step.recovered_after()
                    .is_some_and(|t| t > self.recovery_target)
            })
            .count()
    }

    /// Every check passed: nothing lost or counted twice, every fault
    /// recovered (in time, when enforced), no service stopped on its own.
    pub fn passed(&self) -> bool {
        self.verdict.lost() == 0
            && self.verdict.double_counted() == 0
            && self.verdict.problems.is_empty()
            && self.problems.is_empty()
            && self.exits.is_empty()
            && self.unrecovered() == 0
            && (!self.enforce_recovery_target || self.late() == 0)
    }

    /// The report as Markdown.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "## Chaos run: {} rounds, {} sales/s, 2 purchases instances, lag target {}, recovery target {}\n",
            self.rounds,
            self.rate,
            seconds(self.lag_target),
            seconds(self.recovery_target)
        );
        let _ = writeln!(
            out,
            "| round | fault | acknowledged so far | down | recovered after | fresh sales on time after | backlog cleared after | purchases late > {} | worst lag |",
            seconds(self.lag_target)
        );
        let _ = writeln!(out, "|---:|---|---:|---:|---:|---:|---:|---:|---:|");
        for step in &self.steps {
            let recovered = match step.recovered_after() {
                Some(time) if step.round > 0 && time > self.recovery_target => {
                    format!("**{}** (late)", seconds(time))
                }
                Some(time) => seconds(time),
                None => "**not recovered**".to_owned(),
            };
            let fresh = step.recovery.time.map_or("never".to_owned(), seconds);
            let down = if step.round == 0 {
                "–".to_owned()
            } else {
                seconds(step.down())
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {down} | {recovered} | {fresh} | {} | {} | {} |",
                step.round,
                step.fault,
                step.acknowledged,
                seconds(step.backlog.cleared_after),
                step.backlog.late,
                seconds(step.worst_lag())
            );
        }
        let verdict = &self.verdict;
        let faults = self.faults().count();
        let recoveries: Vec<Duration> = self.faults().filter_map(Step::recovered_after).collect();
        let mean = if recoveries.is_empty() {
            Duration::ZERO
        } else {
            recoveries.iter().sum::<Duration>() / recoveries.len() as u32
        };
        let retried: u64 = self.failed_attempts.values().sum();
        let causes: Vec<String> = self
            .failed_attempts
            .iter()
            .map(|(cause, n)| format!("{cause}: {n}"))
            .collect();
        let _ = writeln!(out, "\n| total | |\n|---|---|");
        let _ = writeln!(
            out,
            "| faults injected | {faults} ({} × the 5 single faults and all together) |",
            self.rounds
        );
        let _ = writeln!(out, "| purchases acknowledged | {} |", verdict.acknowledged);
        let _ = writeln!(
            out,
            "| lost (must be 0) | {} (OLTP {}, analytics {}, lake {}) |",
            verdict.lost(),
            verdict.lost_oltp,
            verdict.lost_analytics,
            verdict.lost_lake
        );
        let _ = writeln!(
            out,
            "| double-counted (must be 0) | {} (OLTP {}, analytics {}, lake {}) |",
            verdict.double_counted(),
            verdict.double_oltp,
            verdict.double_analytics,
            verdict.double_lake
        );
        let _ = writeln!(
            out,
            "| recovery after a restart | slowest {}, mean {} ({} late, {} not recovered) |",
            self.slowest_recovery().map_or("–".to_owned(), seconds),
            seconds(mean),
            self.late(),
            self.unrecovered()
        );
        let _ = writeln!(out, "| purchases in OLTP | {} |", verdict.stored);
        let _ = writeln!(
            out,
            "| sales never acknowledged | {} ({} of them stored, once) |",
            verdict.unacknowledged, verdict.unacknowledged_stored
        );
        let _ = writeln!(
            out,
            "| requests retried by the tills | {retried} ({}) |",
            if causes.is_empty() {
                "none".to_owned()
            } else {
                causes.join(", ")
            }
        );
        let _ = writeln!(
            out,
            "| acknowledged by a replay (first answer lost) | {} |",
            self.answered_by_replay
        );
        let _ = writeln!(
            out,
            "| deliberate repeats answered as replays | {} |",
            self.repeats_replayed
        );
        let _ = writeln!(
            out,
            "| sales not sent (every till busy) | {} of {} |",
            self.skipped,
            self.dispatched + self.skipped
        );
        let _ = writeln!(
            out,
            "| pipeline drained after the load | {} |",
            self.drain.map_or("no".to_owned(), seconds)
        );
        let _ = writeln!(
            out,
            "| lake | {} rows in {} files |",
            verdict.lake_rows, verdict.lake_files
        );
        let _ = writeln!(out, "| outbox rows left | {} |", verdict.outbox_left);
        let _ = writeln!(
            out,
            "| services that stopped on their own | {} |",
            self.exits.len()
        );
        let _ = writeln!(out, "| run time | {} |", seconds(self.elapsed));
        let _ = writeln!(
            out,
            "| result | {} |",
            if self.passed() { "PASS" } else { "**FAIL**" }
        );
        for problem in self
            .problems
            .iter()
            .chain(&verdict.problems)
            .chain(&self.exits)
        {
            let _ = writeln!(out, "\n- {problem}");
        }
        out
    }
}
