//! The relay as a service: wakes on new rows, serves health and metrics.

use std::time::{Duration, Instant};

use supermarket_relay::{Application, Config};
use supermarket_testkit::{TestDatabases, TestNats};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::sync::CancellationToken;

use crate::helpers::*;

async fn http_get(port: u16, path: &str) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    stream
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .await
        .expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("read");
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

#[tokio::test]
async fn the_service_publishes_new_rows_promptly_and_reports_metrics() {
    let (db, nats) = (TestDatabases::new().await, TestNats::new().await);
    seed_catalog(&db).await;
    let config = Config {
        addr: "127.0.0.1:0".parse().expect("addr"),
        database: supermarket_storage::DatabaseArgs::new(db.oltp_url.clone(), 4),
        nats: nats_args(&nats),
        batch_size: 500,
        max_in_flight: 100,
        // A long poll: only the LISTEN wake-up can make this test pass in time.
        poll_ms: 30_000,
    };
    let app = Application::build(config).await.expect("relay starts");
    let port = app.port();
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(app.run_until_stopped(shutdown.clone()));
    // Let the listener subscribe and the first (empty) batch pass.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let started = Instant::now();
    insert_purchases(&db, 25).await;
    while stream_message_count(&nats).await < 25 {
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "not published within 3 s of the commit"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "woken by NOTIFY, not by the 30 s poll"
    );

    assert_eq!(http_get(port, "/health").await.0, 200);
    assert_eq!(http_get(port, "/ready").await.0, 200);
    let (status, metrics) = http_get(port, "/metrics").await;
    assert_eq!(status, 200);
    assert!(
        metrics.contains("relay_events_published_total 25"),
        "{metrics}"
    );
    assert!(metrics.contains("relay_outbox_backlog 0"), "{metrics}");

    shutdown.cancel();
    task.await.expect("joined").expect("clean shutdown");
    nats.cleanup().await;
}
