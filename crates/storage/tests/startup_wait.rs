//! The bounded wait for the database at a program's start, against the real
//! PostgreSQL: nothing listening, a server that comes up late (a proxy that
//! starts forwarding after a second), and refusals that waiting cannot fix.

use std::time::{Duration, Instant};

use supermarket_storage::pool::{self, connect_waiting, wait_until_answers};
use supermarket_storage::with_database;
use supermarket_testkit::db::admin_url;
use supermarket_testkit::unique_suffix;
use tokio::net::{TcpSocket, TcpStream};

/// A local port where nothing listens: bound but not listening, so a
/// connection is refused and no other test can take the port meanwhile.
fn closed_port() -> (TcpSocket, u16) {
    let socket = TcpSocket::new_v4().expect("a socket");
    socket
        .bind("127.0.0.1:0".parse().expect("an address"))
        .expect("bind a free port");
    let port = socket.local_addr().expect("a local address").port();
    (socket, port)
}

/// `url` with its `host[:port]` replaced by 127.0.0.1:`port`, keeping the
/// user, password, database and parameters.
fn at_port(url: &str, port: u16) -> String {
    let authority_start = url.find("://").expect("a postgres:// URL") + 3;
    let authority_end = url[authority_start..]
        .find(['/', '?'])
        .map_or(url.len(), |i| i + authority_start);
    let host_start = url[authority_start..authority_end]
        .rfind('@')
        .map_or(authority_start, |i| i + authority_start + 1);
    format!(
        "{}127.0.0.1:{port}{}",
        &url[..host_start],
        &url[authority_end..]
    )
}

/// The host and port of the real server, from the test kit's admin URL.
fn server_address() -> String {
    let config = pool::parse_url(&admin_url(), "DATABASE_URL").expect("the admin URL parses");
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(host)) => host.clone(),
        _ => "127.0.0.1".to_owned(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!("{host}:{port}")
}

#[test]
fn at_port_replaces_only_the_host_and_port() {
    assert_eq!(
        at_port("postgres://postgres@127.0.0.1:5432/postgres", 9),
        "postgres://postgres@127.0.0.1:9/postgres"
    );
    assert_eq!(
        at_port("postgres://u:p@db/x?sslmode=disable", 9),
        "postgres://u:p@127.0.0.1:9/x?sslmode=disable"
    );
    assert_eq!(at_port("postgres://db:5432", 9), "postgres://127.0.0.1:9");
}

#[tokio::test]
async fn nothing_listening_gives_up_after_the_wait_naming_the_setting() {
    let (_closed, port) = closed_port();
    let url = at_port(&admin_url(), port);
    let started = Instant::now();
    let error = connect_waiting(&url, "DATABASE_URL", Duration::from_secs(2))
        .await
        .expect_err("nothing answers");
    let elapsed = started.elapsed();
    let message = format!("{error:#}");
    assert!(
        elapsed >= Duration::from_secs(2),
        "gave up after {elapsed:?}, before the wait"
    );
    assert!(
        elapsed < Duration::from_secs(6),
        "gave up after {elapsed:?}, long past the wait"
    );
    assert!(
        message.contains("the database at DATABASE_URL did not answer within 2 s"),
        "{message}"
    );
}

#[tokio::test]
async fn a_wait_of_zero_makes_one_attempt() {
    let (_closed, port) = closed_port();
    let url = at_port(&admin_url(), port);
    let started = Instant::now();
    let error = connect_waiting(&url, "ANALYTICS_DATABASE_URL", Duration::ZERO)
        .await
        .expect_err("nothing answers");
    assert!(
        started.elapsed() < Duration::from_millis(900),
        "took {:?}",
        started.elapsed()
    );
    assert!(
        format!("{error:#}").contains("ANALYTICS_DATABASE_URL did not answer within 0 s"),
        "{error:#}"
    );
}

#[tokio::test]
async fn a_server_that_comes_up_late_is_reached_within_the_wait() {
    let (socket, port) = closed_port();
    let upstream = server_address();
    // The "server" starts accepting a second from now, like PostgreSQL
    // finishing its start while the program already runs; it then forwards
    // every connection to the real one.
    let proxy = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let listener = socket.listen(64).expect("listen on the held port");
        loop {
            let Ok((mut inbound, _)) = listener.accept().await else {
                return;
            };
            let upstream = upstream.clone();
            tokio::spawn(async move {
                if let Ok(mut outbound) = TcpStream::connect(upstream).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
    let started = Instant::now();
    let client = connect_waiting(
        &at_port(&admin_url(), port),
        "DATABASE_URL",
        Duration::from_secs(10),
    )
    .await
    .expect("reached once the proxy listens");
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(900),
        "connected after {elapsed:?}: before the proxy listened?"
    );
    assert!(
        elapsed < Duration::from_secs(10),
        "connected after {elapsed:?}"
    );
    let answer: i32 = client
        .query_one("SELECT 1", &[])
        .await
        .expect("a query through the proxy")
        .get(0);
    assert_eq!(answer, 1);
    proxy.abort();
}

/// A database that does not exist will not appear by waiting: both the
/// single connection and the pool give up at once, naming the setting.
#[tokio::test]
async fn a_missing_database_fails_at_once() {
    let url = with_database(&admin_url(), &format!("missing_{}", unique_suffix()))
        .expect("a database URL");
    let pool = pool::pool(&url, "ANALYTICS_DATABASE_URL", 2).expect("a pool");
    let started = Instant::now();
    let single = connect_waiting(&url, "DATABASE_URL", Duration::from_secs(10))
        .await
        .expect_err("no such database");
    let pooled = wait_until_answers(&pool, "ANALYTICS_DATABASE_URL", Duration::from_secs(10))
        .await
        .expect_err("no such database");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "took {:?}: it was retried",
        started.elapsed()
    );
    for (error, setting) in [(single, "DATABASE_URL"), (pooled, "ANALYTICS_DATABASE_URL")] {
        let message = format!("{error:#}");
        assert!(
            message.contains(setting) && message.contains("not retried"),
            "{message}"
        );
    }
}

#[tokio::test]
async fn a_pool_on_a_live_database_answers_at_once() {
    let pool = pool::pool(&admin_url(), "DATABASE_URL", 2).expect("a pool");
    wait_until_answers(&pool, "DATABASE_URL", Duration::from_secs(10))
        .await
        .expect("the test server answers");
}
