//! A private PostgreSQL server: its own data folder and port, so the suite
//! can restart it without touching any other server on the machine.
//!
//! The postmaster runs in the foreground as a child of the suite (what
//! `pg_ctl` does, minus the daemonising), so a fast shutdown is SIGINT and
//! waiting for the exit, exactly as `pg_ctl -m fast stop` does. PostgreSQL
//! refuses to run as root: when the suite is root, the server runs as the
//! `postgres` user, which owns the data folder.

#![allow(unsafe_code)] // system calls through libc, each with its SAFETY reason

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;

use crate::chaos::process::{self, Process, Spec};

pub struct Postgres {
    process: Process,
    port: u16,
}

/// The folder holding `initdb` and `postgres`: the given one, else the
/// newest Debian/Ubuntu server under /usr/lib/postgresql, else the one on
/// `PATH`.
pub fn find_bindir(given: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(dir) = given {
        anyhow::ensure!(
            dir.join("postgres").is_file() && dir.join("initdb").is_file(),
            "{} holds no `postgres` and `initdb` (CHAOS_PG_BINDIR)",
            dir.display()
        );
        return Ok(dir.to_owned());
    }
    let mut debian: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version: u32 = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            (bin.join("postgres").is_file() && bin.join("initdb").is_file())
                .then_some((version, bin))
        })
        .collect();
    debian.sort();
    if let Some((_, bin)) = debian.pop() {
        return Ok(bin);
    }
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .find(|dir| dir.join("postgres").is_file() && dir.join("initdb").is_file())
        .context("no PostgreSQL server found: install it (Debian: apt install postgresql) or set CHAOS_PG_BINDIR")
}

/// The `postgres` user's ids when running as root (PostgreSQL will not run
/// as root), else `None`: run as ourselves.
fn server_user() -> anyhow::Result<Option<(u32, u32)>> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Ok(None);
    }
    // SAFETY: getpwnam returns null or a pointer to a static record that
    // stays valid until the next getpw* call; both ids are copied at once.
    let entry = unsafe { libc::getpwnam(c"postgres".as_ptr()) };
    anyhow::ensure!(
        !entry.is_null(),
        "running as root, and there is no `postgres` user to run PostgreSQL as"
    );
    // SAFETY: checked non-null above.
    let (uid, gid) = unsafe { ((*entry).pw_uid, (*entry).pw_gid) };
    Ok(Some((uid, gid)))
}

impl Postgres {
    /// Initialises a cluster in `<work>/pg` and starts it on a free port.
    pub async fn start(work: &Path, bindir: Option<&Path>) -> anyhow::Result<Postgres> {
        let bin = find_bindir(bindir)?;
        let run_as = server_user()?;
        let data = work.join("pg");
        std::fs::create_dir(&data).with_context(|| format!("cannot create {}", data.display()))?;
        if let Some((uid, gid)) = run_as {
            std::os::unix::fs::chown(&data, Some(uid), Some(gid))
                .context("cannot give the data folder to the postgres user")?;
        }
        let spec = |name: &str, program: &str, args: Vec<OsString>| Spec {
            name: name.to_owned(),
            program: bin.join(program),
            args,
            env: vec![("LC_ALL".into(), "C".into())],
            run_as,
            current_dir: Some(work.to_owned()),
            log: work.join("postgres.log"),
            drop_signal: libc::SIGQUIT,
        };
        let initdb = spec(
            "initdb",
            "initdb",
            os_args(&[
                "-D",
                &data.to_string_lossy(),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ]),
        );
        process::run_to_end(&initdb, Duration::from_secs(120))
            .await
            .context("initdb failed")?;
        let port = process::free_port()?;
        let server = spec(
            "postgresql",
            "postgres",
            os_args(&[
                "-D",
                &data.to_string_lossy(),
                "-p",
                &port.to_string(),
                "-c",
                "listen_addresses=127.0.0.1",
                // TCP only: no socket file in a shared folder to collide with.
                "-c",
                "unix_socket_directories=",
                "-c",
                "max_connections=200",
            ]),
        );
        let mut postgres = Postgres {
            process: Process::new(server),
            port,
        };
        postgres.start_again().await?;
        Ok(postgres)
    }

    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    pub fn process(&mut self) -> &mut Process {
        &mut self.process
    }

    /// Fast shutdown: SIGINT, open transactions are rolled back, clients
    /// are disconnected, a checkpoint is written; waits for the exit.
    pub async fn fast_stop(&mut self) -> anyhow::Result<()> {
        self.process
            .stop(libc::SIGINT, Duration::from_secs(60))
            .await?;
        Ok(())
    }

    /// Starts the server (again) and waits until it accepts connections.
    pub async fn start_again(&mut self) -> anyhow::Result<()> {
        self.process.start()?;
        let url = self.url("postgres");
        self.process
            .wait_ready(
                Duration::from_secs(60),
                Duration::from_millis(50),
                async || match crate::chaos::db::connect(&url).await {
                    Ok(client) => client.simple_query("SELECT 1").await.is_ok(),
                    Err(_) => false,
                },
            )
            .await
    }
}

fn os_args(args: &[&str]) -> Vec<OsString> {
    args.iter().map(OsString::from).collect()
}
