//! API fuzzing with Schemathesis (the `st` command, from PyPI) against a
//! service a test started: requests generated from the service's own
//! `/openapi.json`, valid and invalid, with every check on (no 5xx, statuses,
//! content types, headers and bodies as documented, invalid requests refused,
//! valid requests accepted, authentication enforced).
//!
//! Each service keeps its settings in `tests/schemathesis.toml` (phases,
//! examples per operation, which business-rule answers a schema-valid request
//! may get) and its business rules, as extra checks, in
//! `tests/schemathesis_hooks.py`. [`run`] adds what changes per run — the
//! schema URL, the bearer token, the seed — prints Schemathesis's report, and
//! fails with it when any check fails.
//!
//! To look closer at a run, `SCHEMATHESIS_EXTRA_ARGS` adds options to
//! `st run`, e.g. `--report har,ndjson --report-dir /tmp/schemathesis` (an
//! absolute folder: the run's own working folder is removed afterwards).
//!
//! `st` is looked up on `PATH` (scripts/test.sh puts `target/test-venv/bin`
//! there), then in `target/test-venv/bin`; a missing `st` fails the test with
//! the way to install it.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::process::Command;

/// The Schemathesis release the suite is written against (scripts/test.sh
/// installs this one).
pub const VERSION: &str = "4.32.5";

/// The fixed seed of every run: the same requests each time, so a failure
/// reproduces and a green run stays green.
pub const SEED: u64 = 20_260_601;

/// Longest a run may take before the test fails.
const TIME_LIMIT: Duration = Duration::from_secs(300);

/// One Schemathesis run.
pub struct Fuzz<'a> {
    /// Base URL of the running service, e.g. `http://127.0.0.1:41234`.
    pub base_url: &'a str,
    /// The service's crate folder (`env!("CARGO_MANIFEST_DIR")`), whose
    /// `tests/` hold `schemathesis.toml` and `schemathesis_hooks.py` (extra
    /// checks in Python, `@schemathesis.check`).
    pub crate_dir: &'a str,
    /// The token for the `bearer` security scheme, as `SCHEMATHESIS_BEARER`
    /// for the config's `[auth.openapi.bearer]`.
    pub bearer: Option<&'a str>,
}

fn st_command() -> PathBuf {
    let on_path = std::env::var_os("PATH").map(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("st"))
            .find(|candidate| candidate.is_file())
    });
    if let Some(Some(found)) = on_path {
        return found;
    }
    let venv = crate::data::repo_root().join("target/test-venv/bin/st");
    if venv.is_file() {
        return venv;
    }
    panic!(
        "Schemathesis (`st`) is not installed: run the suite with scripts/test.sh, which installs it into \
         target/test-venv and puts it on PATH, or `pip install schemathesis=={VERSION}`"
    );
}

/// Runs Schemathesis against `fuzz.base_url`, prints its report, and panics
/// with it when a check fails (or `st` is missing, or the run exceeds five
/// minutes).
pub async fn run(fuzz: Fuzz<'_>) {
    let tests = Path::new(fuzz.crate_dir).join("tests");
    let st = st_command();
    let version = Command::new(&st)
        .arg("--version")
        .output()
        .await
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    if let Ok(version) = &version
        && !version.ends_with(&format!("version {VERSION}"))
    {
        eprintln!(
            "warning: {} is `{version}`, not {VERSION}: the fixed seed may draw other requests",
            st.display()
        );
    }
    // Anything Schemathesis writes (reports, caches) goes to a folder of its own.
    let work = std::env::temp_dir().join(format!("schemathesis-{}", crate::unique_suffix()));
    std::fs::create_dir_all(&work).expect("a work folder for schemathesis");
    let mut command = Command::new(&st);
    command
        .arg("--config-file")
        .arg(tests.join("schemathesis.toml"))
        .arg("--no-color")
        .arg("run")
        .arg(format!("{}/openapi.json", fuzz.base_url))
        .args(["--url", fuzz.base_url])
        .args(["--checks", "all"])
        .args(["--seed", &SEED.to_string()])
        .args(["--generation-database", "none"])
        .args(["--request-timeout", "10"])
        .current_dir(&work)
        .env("NO_COLOR", "1")
        .env("SCHEMATHESIS_BEARER", fuzz.bearer.unwrap_or(""))
        .env("SCHEMATHESIS_HOOKS", tests.join("schemathesis_hooks.py"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    if let Ok(extra) = std::env::var("SCHEMATHESIS_EXTRA_ARGS") {
        command.args(extra.split_whitespace());
    }
    let started = Instant::now();
    let child = command
        .spawn()
        .unwrap_or_else(|error| panic!("cannot run {}: {error}", st.display()));
    let output = match tokio::time::timeout(TIME_LIMIT, child.wait_with_output()).await {
        Ok(output) => output.unwrap_or_else(|error| panic!("schemathesis failed to run: {error}")),
        Err(_) => panic!(
            "schemathesis did not finish within {} s",
            TIME_LIMIT.as_secs()
        ),
    };
    let elapsed = started.elapsed();
    let _ = std::fs::remove_dir_all(&work);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "schemathesis found problems ({}, after {:.1} s); reproduce with the seed and the same config:\n{text}",
        output.status,
        elapsed.as_secs_f64()
    );
    println!("{text}\n(schemathesis took {:.1} s)", elapsed.as_secs_f64());
}
