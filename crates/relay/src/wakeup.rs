//! `LISTEN outbox`: wakes the relay as soon as rows are committed.
//!
//! Notifications are only a wake-up: they carry no data and can be lost
//! (while reconnecting, for instance), so the relay also polls on a timer.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt as _;
use tokio::sync::Notify;
use tokio_postgres::{AsyncMessage, NoTls};
use tokio_util::sync::CancellationToken;

/// Listens on the `outbox` channel until `shutdown`, reconnecting after
/// failures; every notification (and every reconnection) signals `wake`.
pub async fn listen(database_url: String, wake: Arc<Notify>, shutdown: CancellationToken) {
    loop {
        let result = tokio::select! {
            result = listen_once(&database_url, &wake) => result,
            () = shutdown.cancelled() => return,
        };
        if let Err(error) = result {
            tracing::warn!(
                error = format!("{error:#}"),
                "LISTEN outbox connection lost; polling until it is back"
            );
        }
        tokio::select! {
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
            () = shutdown.cancelled() => return,
        }
    }
}

async fn listen_once(database_url: &str, wake: &Notify) -> anyhow::Result<()> {
    let config = supermarket_storage::pool::parse_url(database_url, "DATABASE_URL")?;
    let (client, mut connection) = config.connect(NoTls).await?;
    let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
    let drive = async {
        while let Some(message) = messages.next().await {
            if let AsyncMessage::Notification(_) = message? {
                wake.notify_one();
            }
        }
        anyhow::Ok(())
    };
    let subscribe = async {
        client.batch_execute("LISTEN outbox").await?;
        // Rows may have arrived while we were not listening.
        wake.notify_one();
        std::future::pending::<anyhow::Result<()>>().await
    };
    tokio::select! {
        result = drive => result.and(Err(anyhow::anyhow!("the connection closed"))),
        result = subscribe => result,
    }
}
