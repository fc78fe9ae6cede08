//! A broker that goes away while a batch awaits its acks.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::{Duration, Instant};

use supermarket_relay::{Metrics, Publisher};
use supermarket_testkit::{TestDatabases, TestNats};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

use crate::helpers::*;

/// A TCP proxy in front of NATS that can hold back the server's answers
/// (acks) and then cut every connection and refuse new ones, as a broker
/// dying mid-batch does.
struct Proxy {
    url: String,
    stall: Arc<AtomicBool>,
    cut: CancellationToken,
}

impl Proxy {
    async fn start(upstream: String) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the proxy");
        let url = format!("nats://{}", listener.local_addr().expect("an address"));
        let (stall, cut) = (Arc::new(AtomicBool::new(false)), CancellationToken::new());
        let (stall_task, cut_task) = (stall.clone(), cut.clone());
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if cut_task.is_cancelled() {
                    continue;
                }
                let Ok(server) = TcpStream::connect(&upstream).await else {
                    continue;
                };
                tokio::spawn(pump(client, server, stall_task.clone(), cut_task.clone()));
            }
        });
        Proxy { url, stall, cut }
    }
}

async fn pump(
    client: TcpStream,
    server: TcpStream,
    stall: Arc<AtomicBool>,
    cut: CancellationToken,
) {
    let (mut client_read, client_write) = client.into_split();
    let (server_read, mut server_write) = server.into_split();
    tokio::select! {
        _ = tokio::io::copy(&mut client_read, &mut server_write) => {}
        _ = forward_answers(server_read, client_write, stall) => {}
        () = cut.cancelled() => {}
    }
}

/// Server → client, held back while `stall` is set.
async fn forward_answers(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    stall: Arc<AtomicBool>,
) -> std::io::Result<()> {
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let n = from.read(&mut buffer).await?;
        if n == 0 {
            return Ok(());
        }
        while stall.load(Relaxed) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        to.write_all(&buffer[..n]).await?;
    }
}

#[tokio::test]
async fn a_batch_awaiting_acks_gives_up_as_soon_as_the_broker_connection_drops() {
    let (db, nats) = (TestDatabases::new().await, TestNats::new().await);
    seed_catalog(&db).await;
    insert_purchases(&db, 50).await;
    supermarket_events::ensure_stream(&nats.jetstream(), &nats_args(&nats))
        .await
        .expect("stream");
    let proxy = Proxy::start(nats.url.trim_start_matches("nats://").to_owned()).await;
    let args = supermarket_events::NatsArgs {
        nats_url: proxy.url.clone(),
        ..nats_args(&nats)
    };
    let (_client, js) = supermarket_events::connect(&args)
        .await
        .expect("connect through the proxy");
    let pool = supermarket_storage::pool::pool(&db.oltp_url, "DATABASE_URL", 2).expect("pool");
    let publisher = Publisher::new(pool, js, args, 500, 200, Arc::new(Metrics::default()));

    proxy.stall.store(true, Relaxed);
    let started = Instant::now();
    let batch = tokio::spawn(async move { publisher.publish_batch().await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    proxy.cut.cancel();

    // The acks can no longer come; the client's own timeout is 5 s.
    let result = tokio::time::timeout(Duration::from_secs(3), batch)
        .await
        .expect("the batch gave up when the connection dropped, not at the ack timeout")
        .expect("the batch task");
    assert!(
        result.is_err(),
        "a batch without its acks is not done: {result:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(
        outbox_rows(&db).await,
        50,
        "every row stays for the next batch"
    );
    nats.cleanup().await;
}
