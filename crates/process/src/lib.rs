//! Local child processes, as `supermarket up` and the dev tools run them.
//!
//! Module map (one module: the functions are few and used together):
//! - [`find_program`]: a program on `PATH`, else in the Debian folders that a
//!   non-root `PATH` often lacks (`nats-server`, `nginx` live in /usr/sbin).
//! - [`non_empty_env`]: an optional setting from the environment, where an
//!   empty value counts as unset (as in `.env.example`).
//! - [`send_signal`], [`stop`], [`stop_blocking`]: stopping a child with a
//!   signal and a bounded wait, then SIGKILL, through `libc::kill` rather
//!   than by running a `kill` program.

// `libc::kill` is the only way to send a chosen signal (SIGTERM, SIGQUIT)
// to a child; std and tokio only offer SIGKILL. Each call has its SAFETY reason.
#![allow(unsafe_code)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

pub use libc::{SIGINT, SIGKILL, SIGQUIT, SIGTERM, c_int};

/// Folders searched after `PATH`: Debian installs servers in /usr/sbin,
/// which is not on a normal user's `PATH`; /usr/local/bin for hand installs.
const FALLBACK_DIRS: [&str; 3] = ["/usr/sbin", "/usr/bin", "/usr/local/bin"];

/// The first file called `name` in a `PATH` folder, else in [`FALLBACK_DIRS`].
pub fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(FALLBACK_DIRS.iter().map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// A setting from the environment; unset, empty or blank is `None`.
pub fn non_empty_env(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .filter(|value| !value.trim().is_empty())
}

/// Sends `signal` to the process `pid`. A process already gone (exited, not
/// reaped yet) is not an error: there is nothing left to signal.
///
/// The caller must own `pid` as an unreaped child, so the number cannot have
/// been reused by another process.
pub fn send_signal(pid: u32, signal: c_int) -> std::io::Result<()> {
    let pid = libc::pid_t::try_from(pid)
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidInput, "pid beyond pid_t"))?;
    // SAFETY: a plain syscall with no memory arguments; the caller owns the
    // unreaped child, so the pid names that process and no other.
    if unsafe { libc::kill(pid, signal) } != 0 {
        let error = std::io::Error::last_os_error();
        if error.raw_os_error() != Some(libc::ESRCH) {
            return Err(error);
        }
    }
    Ok(())
}

/// How a child stopped by [`stop`] or [`stop_blocking`] ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stopped {
    /// It exited within the patience after the signal.
    OnSignal(std::process::ExitStatus),
    /// It outlived the patience and was killed with SIGKILL.
    Killed,
    /// It had already been reaped: nothing to stop.
    NotRunning,
}

/// Sends `signal` to `child` and waits up to `patience` for it to exit;
/// past that, SIGKILL and wait.
pub async fn stop(
    child: &mut tokio::process::Child,
    signal: c_int,
    patience: Duration,
) -> std::io::Result<Stopped> {
    let Some(pid) = child.id() else {
        return Ok(Stopped::NotRunning);
    };
    if let Err(error) = send_signal(pid, signal) {
        // Not left running because the signal could not be sent.
        child.kill().await?;
        return Err(error);
    }
    if let Ok(status) = tokio::time::timeout(patience, child.wait()).await {
        return status.map(Stopped::OnSignal);
    }
    child.kill().await?;
    Ok(Stopped::Killed)
}

/// [`stop`] for a `std` child, blocking: for clean-up paths that cannot
/// await (`Drop`).
pub fn stop_blocking(
    child: &mut std::process::Child,
    signal: c_int,
    patience: Duration,
) -> std::io::Result<Stopped> {
    if let Some(status) = child.try_wait()? {
        return Ok(Stopped::OnSignal(status));
    }
    if let Err(error) = send_signal(child.id(), signal) {
        // Not left running because the signal could not be sent.
        child.kill()?;
        child.wait()?;
        return Err(error);
    }
    let deadline = Instant::now() + patience;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait()? {
            return Ok(Stopped::OnSignal(status));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill()?;
    child.wait()?;
    Ok(Stopped::Killed)
}

#[cfg(test)]
mod tests {
    use std::os::unix::process::ExitStatusExt as _;

    use super::*;

    #[test]
    fn a_program_is_found_on_path_and_a_missing_one_is_not() {
        let sh = find_program("sh").expect("every Unix has sh");
        assert!(sh.is_file());
        assert_eq!(find_program("no-such-program-anywhere-7f3a"), None);
    }

    #[test]
    fn an_empty_or_blank_setting_counts_as_unset() {
        // PATH is set on any machine that runs the tests; no test sets or
        // clears variables (that would race with other tests' threads).
        assert!(non_empty_env("PATH").is_some());
        assert_eq!(non_empty_env("SUPERMARKET_PROCESS_TEST_NEVER_SET"), None);
    }

    #[tokio::test]
    async fn a_child_stops_on_its_signal_within_the_patience() {
        let mut child = tokio::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let stopped = stop(&mut child, SIGTERM, Duration::from_secs(5))
            .await
            .unwrap();
        let Stopped::OnSignal(status) = stopped else {
            panic!("sleep should end on SIGTERM, got {stopped:?}");
        };
        assert_eq!(status.signal(), Some(SIGTERM));
        assert_eq!(
            stop(&mut child, SIGTERM, Duration::from_secs(1))
                .await
                .unwrap(),
            Stopped::NotRunning
        );
    }

    #[tokio::test]
    async fn a_child_that_ignores_its_signal_is_killed_after_the_patience() {
        // The shell ignores SIGTERM (`trap '' TERM`) and waits in a loop of
        // short sleeps, so it outlives the patience.
        let mut child = tokio::process::Command::new("sh")
            .args([
                "-c",
                "trap '' TERM; echo ready; while :; do sleep 0.05; done",
            ])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Wait until the trap is set before signalling.
        let mut stdout = child.stdout.take().unwrap();
        let mut line = [0u8; 6];
        tokio::io::AsyncReadExt::read_exact(&mut stdout, &mut line)
            .await
            .unwrap();
        let started = Instant::now();
        let stopped = stop(&mut child, SIGTERM, Duration::from_millis(300))
            .await
            .unwrap();
        assert_eq!(stopped, Stopped::Killed);
        assert!(started.elapsed() >= Duration::from_millis(300));
    }

    #[test]
    fn a_blocking_stop_signals_and_reaps_the_child() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let stopped = stop_blocking(&mut child, SIGQUIT, Duration::from_secs(5)).unwrap();
        let Stopped::OnSignal(status) = stopped else {
            panic!("sleep should end on SIGQUIT, got {stopped:?}");
        };
        assert_eq!(status.signal(), Some(SIGQUIT));
    }

    #[test]
    fn signalling_a_process_that_already_exited_is_not_an_error() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        // Exited but not reaped: the pid is still ours.
        std::thread::sleep(Duration::from_millis(200));
        send_signal(child.id(), SIGTERM).unwrap();
        child.wait().unwrap();
    }
}
