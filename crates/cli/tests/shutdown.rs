//! Every service stops cleanly and promptly on SIGTERM: `docker stop` and
//! `supermarket up` send it, then kill what is still running after 10 s.
//!
//! Each test starts `supermarket serve <service>` as its own process on a
//! fresh pair of databases and its own stream names, waits until `/ready`
//! answers 200, sends SIGTERM, and requires exit code 0 within
//! [`PROMPT_EXIT`] (well inside `STOP_WITHIN`, the runner's hard bound,
//! past which the process exits with an error).

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use supermarket_testkit::{TestDatabases, TestNats};
use tokio::process::{Child, Command};

/// How soon after SIGTERM an idle service must have exited.
const PROMPT_EXIT: Duration = Duration::from_secs(5);

#[tokio::test]
async fn products_stops_promptly_on_sigterm() {
    stops_promptly("products", "PRODUCTS_ADDR", &[]).await;
}

#[tokio::test]
async fn purchases_stops_promptly_on_sigterm() {
    stops_promptly("purchases", "PURCHASES_ADDR", &[("AUTH_MODE", "open")]).await;
}

#[tokio::test]
async fn relay_stops_promptly_on_sigterm() {
    stops_promptly("relay", "RELAY_ADDR", &[]).await;
}

#[tokio::test]
async fn analytics_consumer_stops_promptly_on_sigterm() {
    stops_promptly("analytics-consumer", "CONSUMER_ADDR", &[]).await;
}

#[tokio::test]
async fn analytics_api_stops_promptly_on_sigterm() {
    stops_promptly("analytics-api", "ANALYTICS_ADDR", &[("AUTH_MODE", "open")]).await;
}

#[tokio::test]
async fn lake_sink_stops_promptly_on_sigterm() {
    let lake = std::env::temp_dir().join(format!(
        "shutdown_lake_{}",
        supermarket_testkit::unique_suffix()
    ));
    let lake_url = lake.to_string_lossy().into_owned();
    stops_promptly("lake-sink", "LAKE_SINK_ADDR", &[("LAKE_URL", &lake_url)]).await;
    let _ = std::fs::remove_dir_all(&lake);
}

/// Starts `supermarket serve <service>` with its address in `addr_setting`,
/// waits for `/ready`, sends SIGTERM and checks the exit.
async fn stops_promptly(service: &str, addr_setting: &str, extra: &[(&str, &str)]) {
    let databases = TestDatabases::new().await;
    let nats = TestNats::new().await;
    let port = free_port();
    let mut command = Command::new(PathBuf::from(env!("CARGO_BIN_EXE_supermarket")));
    command
        .args(["serve", service])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env(addr_setting, format!("127.0.0.1:{port}"))
        .env("DATABASE_URL", &databases.oltp_url)
        .env("ANALYTICS_DATABASE_URL", &databases.analytics_url)
        .env("NATS_URL", &nats.url)
        .env("NATS_STREAM", &nats.stream)
        .env("NATS_SUBJECT_PREFIX", &nats.subject_prefix)
        .env("ANALYTICS_CONSUMER_NAME", &nats.consumer)
        .env("LAKE_CONSUMER_NAME", format!("{}_lake", nats.consumer))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for (name, value) in extra {
        command.env(name, value);
    }
    let mut child = command
        .spawn()
        .expect("cannot start the supermarket binary");
    // Read the log as it comes, so a full pipe never blocks the service.
    let mut stderr = child.stderr.take().expect("stderr is piped");
    let log = tokio::spawn(async move {
        use tokio::io::AsyncReadExt as _;
        let mut log = String::new();
        let _ = stderr.read_to_string(&mut log).await;
        log
    });
    if let Err(status) = wait_until_ready(&mut child, service, port).await {
        let log = log.await.unwrap_or_default();
        panic!("{service} exited with {status} before it was ready; its log:\n{log}");
    }

    let signalled = Instant::now();
    send_sigterm(&child);
    let status = match tokio::time::timeout(PROMPT_EXIT * 3, child.wait()).await {
        Ok(status) => status.expect("cannot wait for the service"),
        Err(_) => panic!("{service} still runs {:?} after SIGTERM", PROMPT_EXIT * 3),
    };
    let took = signalled.elapsed();
    let log = log.await.unwrap_or_default();
    assert!(
        status.success(),
        "{service} exited with {status} after SIGTERM; its log:\n{log}"
    );
    assert!(
        took < PROMPT_EXIT,
        "{service} took {took:?} to exit after SIGTERM (at most {PROMPT_EXIT:?}); its log:\n{log}"
    );
    nats.cleanup().await;
}

/// Polls `/ready` until it answers 200; `Err` with the exit status if the
/// service exits first.
async fn wait_until_ready(child: &mut Child, service: &str, port: u16) -> Result<(), ExitStatus> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let client = reqwest::Client::new();
    loop {
        if let Some(status) = child.try_wait().expect("cannot poll the service") {
            return Err(status);
        }
        let ready = client
            .get(format!("http://127.0.0.1:{port}/ready"))
            .timeout(Duration::from_secs(2))
            .send()
            .await;
        if ready.is_ok_and(|answer| answer.status().is_success()) {
            return Ok(());
        }
        assert!(
            Instant::now() < deadline,
            "{service} was not ready within 60 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[allow(unsafe_code)] // one signal to our own child process
fn send_sigterm(child: &Child) {
    let pid = child.id().expect("the service has a pid while running");
    let pid = libc::pid_t::try_from(pid).expect("a pid fits pid_t");
    // SAFETY: a plain syscall on our own child, not reaped yet (we have not
    // waited on it), so the pid cannot name another process.
    let sent = unsafe { libc::kill(pid, libc::SIGTERM) };
    assert_eq!(
        sent,
        0,
        "cannot send SIGTERM: {}",
        std::io::Error::last_os_error()
    );
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("cannot bind a free port");
    listener.local_addr().expect("a bound address").port()
}
