//! Child processes the suite starts, kills and starts again.
//!
//! Every process writes stdout and stderr to its own log file (appended on
//! each start, with a marker line), so a failure can show what each one
//! said. Processes die with the suite: SIGKILL (or the configured stop
//! signal) on drop, and the kernel's parent-death signal if the suite
//! itself is killed, so a failed or interrupted run leaves nothing running.

#![allow(unsafe_code)] // system calls through libc, each with its SAFETY reason

use std::ffi::OsString;
use std::fs::OpenOptions;
use std::io::Write as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context as _;

/// How to run one process.
#[derive(Clone, Debug)]
pub struct Spec {
    /// Short name used in logs and reports (`relay`, `purchases-1`, ...).
    pub name: String,
    pub program: PathBuf,
    pub args: Vec<OsString>,
    /// The whole environment: nothing is inherited but `PATH`, so settings
    /// exported in the shell that runs the suite cannot leak in.
    pub env: Vec<(String, String)>,
    /// User and group to run as (PostgreSQL refuses to run as root).
    pub run_as: Option<(u32, u32)>,
    pub current_dir: Option<PathBuf>,
    pub log: PathBuf,
    /// Signal sent when the suite drops the process: SIGKILL for the
    /// services, SIGQUIT for PostgreSQL (its immediate shutdown also stops
    /// the server's own children).
    pub drop_signal: libc::c_int,
}

/// One process, running or not.
pub struct Process {
    spec: Spec,
    child: Option<Child>,
    starts: u32,
}

impl Process {
    pub fn new(spec: Spec) -> Process {
        Process {
            spec,
            child: None,
            starts: 0,
        }
    }

    pub fn name(&self) -> &str {
        &self.spec.name
    }

    pub fn log_path(&self) -> &Path {
        &self.spec.log
    }

    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// Starts the process; an error if it is already running.
    pub fn start(&mut self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.child.is_none(),
            "{} is already running",
            self.spec.name
        );
        self.starts += 1;
        let mut log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.spec.log)
            .with_context(|| format!("cannot open the log file {}", self.spec.log.display()))?;
        writeln!(
            log,
            "----- chaos: start #{} of {} at {} -----",
            self.starts,
            self.spec.name,
            chrono::Utc::now().to_rfc3339()
        )?;
        let mut command = Command::new(&self.spec.program);
        command
            .args(&self.spec.args)
            .env_clear()
            .envs(std::env::var_os("PATH").map(|path| (OsString::from("PATH"), path)))
            .envs(
                self.spec
                    .env
                    .iter()
                    .map(|(k, v)| (OsString::from(k), OsString::from(v))),
            )
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        if let Some(dir) = &self.spec.current_dir {
            command.current_dir(dir);
        }
        if let Some((uid, gid)) = self.spec.run_as {
            command.uid(uid).gid(gid);
        }
        // SAFETY: prctl is async-signal-safe; it only sets a flag of the
        // calling (forked) process before exec.
        unsafe {
            command.pre_exec(|| {
                // If the suite dies without cleaning up, the kernel kills its
                // children instead of leaving them behind.
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = command.spawn().with_context(|| {
            format!(
                "cannot start {} ({})",
                self.spec.name,
                self.spec.program.display()
            )
        })?;
        tracing::debug!(process = %self.spec.name, pid = child.id(), start = self.starts, "process started");
        self.child = Some(child);
        Ok(())
    }

    /// Sends `signal` to the running process (nothing when it is not running).
    pub fn signal(&self, signal: libc::c_int) -> anyhow::Result<()> {
        if let Some(child) = &self.child {
            supermarket_process::send_signal(child.id(), signal)
                .with_context(|| format!("cannot signal {}", self.spec.name))?;
        }
        Ok(())
    }

    /// SIGKILL, then waits until the process is gone.
    pub async fn kill(&mut self) -> anyhow::Result<()> {
        self.signal(libc::SIGKILL)?;
        self.wait(Duration::from_secs(10)).await.map(|_| ())
    }

    /// Sends `signal` and waits up to `patience` for the exit; past it,
    /// SIGKILL. Returns the exit status (`None` if it was not running).
    pub async fn stop(
        &mut self,
        signal: libc::c_int,
        patience: Duration,
    ) -> anyhow::Result<Option<ExitStatus>> {
        if self.child.is_none() {
            return Ok(None);
        }
        self.signal(signal)?;
        match self.wait(patience).await {
            Ok(status) => Ok(status),
            Err(_) => {
                tracing::warn!(process = %self.spec.name, patience_ms = patience.as_millis() as u64, "did not stop in time: killing it");
                self.kill().await?;
                Ok(None)
            }
        }
    }

    /// Waits up to `limit` for the process to exit.
    async fn wait(&mut self, limit: Duration) -> anyhow::Result<Option<ExitStatus>> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.exited()? {
                return Ok(Some(status));
            }
            if self.child.is_none() {
                return Ok(None);
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "{} did not exit within {limit:?}",
                self.spec.name
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Waits up to `limit`, asking `ready` every `poll`, until the process
    /// just started serves; an error with the log's tail if it exits first
    /// or is not ready in time.
    pub async fn wait_ready(
        &mut self,
        limit: Duration,
        poll: Duration,
        mut ready: impl AsyncFnMut() -> bool,
    ) -> anyhow::Result<()> {
        let deadline = Instant::now() + limit;
        loop {
            if ready().await {
                return Ok(());
            }
            if let Some(status) = self.exited()? {
                anyhow::bail!(
                    "{} exited while starting ({status}):\n{}",
                    self.spec.name,
                    self.log_tail(40)
                );
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "{} was not ready within {limit:?}:\n{}",
                self.spec.name,
                self.log_tail(40)
            );
            tokio::time::sleep(poll).await;
        }
    }

    /// The exit status if the process has ended (it is then no longer running).
    pub fn exited(&mut self) -> anyhow::Result<Option<ExitStatus>> {
        let Some(child) = &mut self.child else {
            return Ok(None);
        };
        match child
            .try_wait()
            .with_context(|| format!("cannot check on {}", self.spec.name))?
        {
            Some(status) => {
                self.child = None;
                Ok(Some(status))
            }
            None => Ok(None),
        }
    }

    /// The last `lines` lines of the log.
    pub fn log_tail(&self, lines: usize) -> String {
        tail(&self.spec.log, lines)
    }
}

impl Process {
    /// Stops the process at once, blocking: its drop signal, then SIGKILL
    /// if it is still there after 10 s. For clean-up paths that cannot await.
    pub fn terminate_now(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        // Nothing to report to on a clean-up path: the child is reaped either way.
        let _ = supermarket_process::stop_blocking(
            &mut child,
            self.spec.drop_signal,
            Duration::from_secs(10),
        );
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.terminate_now();
    }
}

/// The last `lines` lines of a text file (empty if it cannot be read).
pub fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read(path)
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Runs a command to completion (at most `limit`), its output appended to
/// its log; an error naming the command and showing the log's tail if it fails.
pub async fn run_to_end(spec: &Spec, limit: Duration) -> anyhow::Result<()> {
    let mut process = Process::new(spec.clone());
    process.start()?;
    let status = process
        .wait(limit)
        .await?
        .with_context(|| format!("{} ended without an exit status", spec.name))?;
    anyhow::ensure!(
        status.success(),
        "{} failed ({status}):\n{}",
        spec.name,
        tail(&spec.log, 30)
    );
    Ok(())
}

/// A TCP port free on 127.0.0.1 at the time of the call.
pub fn free_port() -> anyhow::Result<u16> {
    let listener =
        std::net::TcpListener::bind(("127.0.0.1", 0)).context("cannot find a free port")?;
    Ok(listener.local_addr()?.port())
}
