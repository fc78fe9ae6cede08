//! A private nats-server with JetStream: its own port and store folder.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;

use crate::chaos::process::{self, Process, Spec};

pub struct Nats {
    process: Process,
    port: u16,
    monitor_port: u16,
}

/// `nats-server`: the given path, else on `PATH`, else /usr/sbin (Debian) and the
/// other folders of [`supermarket_process::find_program`].
pub fn find_server(given: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(path) = given {
        anyhow::ensure!(
            path.is_file(),
            "{} does not exist (CHAOS_NATS_SERVER)",
            path.display()
        );
        return Ok(path.to_owned());
    }
    supermarket_process::find_program("nats-server").context(
        "no nats-server found: install it (Debian: apt install nats-server) or set CHAOS_NATS_SERVER",
    )
}

impl Nats {
    /// Starts nats-server with JetStream storing in `<work>/nats`.
    pub async fn start(work: &Path, server: Option<&Path>) -> anyhow::Result<Nats> {
        let program = find_server(server)?;
        let store = work.join("nats");
        std::fs::create_dir(&store)
            .with_context(|| format!("cannot create {}", store.display()))?;
        let (port, monitor_port) = (process::free_port()?, process::free_port()?);
        let args: Vec<OsString> = [
            "-a",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-m",
            &monitor_port.to_string(),
            "-js",
            "-sd",
            &store.to_string_lossy(),
        ]
        .iter()
        .map(OsString::from)
        .collect();
        let spec = Spec {
            name: "nats-server".to_owned(),
            program,
            args,
            env: Vec::new(),
            run_as: None,
            current_dir: Some(work.to_owned()),
            log: work.join("nats-server.log"),
            drop_signal: libc::SIGKILL,
        };
        let mut nats = Nats {
            process: Process::new(spec),
            port,
            monitor_port,
        };
        nats.start_again().await?;
        Ok(nats)
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    pub fn process(&mut self) -> &mut Process {
        &mut self.process
    }

    /// Starts the server (again) and waits until JetStream is ready.
    pub async fn start_again(&mut self) -> anyhow::Result<()> {
        self.process.start()?;
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(1))
            .build()?;
        let url = format!(
            "http://127.0.0.1:{}/healthz?js-enabled-only=true",
            self.monitor_port
        );
        self.process
            .wait_ready(
                Duration::from_secs(30),
                Duration::from_millis(20),
                async || {
                    client
                        .get(&url)
                        .send()
                        .await
                        .is_ok_and(|response| response.status().is_success())
                },
            )
            .await
    }
}
