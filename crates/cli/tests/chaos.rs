//! The fault-injection suite in its reduced form for CI: one round of every
//! fault (each purchases-side, pipeline and infrastructure process killed
//! and restarted, PostgreSQL fast-restarted, then all together) under a
//! light load, with every check of the full run. `bench/chaos/run.sh` runs
//! the full size (five rounds and more, release build).
//!
//! Needs what `scripts/test.sh` provides: PostgreSQL's server binaries (a
//! private cluster is started; it is not the shared test server), a
//! nats-server binary, and python3 with duckdb on `PATH` (or CHAOS_PYTHON).

use std::path::PathBuf;
use std::time::Duration;

use supermarket_dev_tools::chaos::Settings;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_round_of_faults_loses_no_purchase_and_counts_none_twice() {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut settings = Settings::new(
        PathBuf::from(env!("CARGO_BIN_EXE_supermarket")),
        repo.join("data"),
    );
    settings.rounds = 1;
    settings.rate = 50;
    settings.tills = 32;
    settings.watch = Duration::from_secs(20);
    settings.drain_limit = Duration::from_secs(90);
    // The test shares two cores with the rest of the suite: a slow recovery
    // is flagged in the table, not failed (the full run enforces the 5 s
    // target). A fault never recovered within `watch` still fails.
    settings.enforce_recovery_target = false;

    let report = supermarket_dev_tools::chaos::run(&settings)
        .await
        .unwrap_or_else(|error| panic!("the chaos suite could not run: {error:?}"));
    println!("{}", report.render());
    assert!(
        report.passed(),
        "the chaos run failed:\n{}\n{}",
        report.render(),
        report.logs.as_deref().unwrap_or("")
    );
}
