//! What starting a server of the stack takes: settings parsed the way
//! `supermarket serve` parses them, free ports, programs found on the PATH,
//! and child processes and folders cleaned up at drop.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use clap::{Args, CommandFactory, FromArgMatches, Parser};

/// Parses a service's settings the way `supermarket serve` does, giving
/// each value as the flag that reads that environment variable.
pub fn settings<T: Args + FromArgMatches>(values: &[(&str, String)], extra: &[String]) -> T {
    #[derive(Parser)]
    struct Wrapper<T: Args + FromArgMatches> {
        #[command(flatten)]
        inner: T,
    }
    let command = Wrapper::<T>::command();
    let mut argv = vec!["test".to_owned()];
    for (variable, value) in values {
        if let Some(long) = command
            .get_arguments()
            .find(|a| a.get_env().is_some_and(|e| e == *variable))
            .and_then(|a| a.get_long())
        {
            argv.push(format!("--{long}={value}"));
        }
    }
    argv.extend(extra.iter().cloned());
    Wrapper::<T>::try_parse_from(argv)
        .unwrap_or_else(|e| panic!("settings: {}", e.render()))
        .inner
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

pub fn program(name: &str, package: &str) -> PathBuf {
    let found = std::env::var_os("PATH")
        .map(|path| {
            std::env::split_paths(&path)
                .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/bin")])
                .collect::<Vec<_>>()
        })
        .unwrap_or_default()
        .into_iter()
        .map(|dir| dir.join(name))
        .find(|p| p.is_file());
    found.unwrap_or_else(|| panic!("{name} is needed by the browser tests: install Debian's `{package}` package (scripts/test.sh does)"))
}

pub async fn wait_for_port(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(
            Instant::now() < deadline,
            "{what} does not listen on {port}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A child process stopped when dropped: SIGTERM first (nginx's master then
/// stops its workers, which would otherwise outlive it), SIGKILL after 5 s.
pub struct Guard(pub Child);
impl Drop for Guard {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A folder removed at drop.
pub struct TempDir(pub PathBuf);
impl TempDir {
    pub fn new(label: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!(
            "supermarket-{label}-{}",
            supermarket_testkit::unique_suffix()
        ));
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }
}
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
