//! Connections of the suite itself (setup, probes, checks), which must
//! survive the PostgreSQL restarts the suite causes.

use std::time::Duration;

use anyhow::Context as _;
use tokio_postgres::{Client, NoTls};

/// One connection; its driver runs on a spawned task. A dropped server
/// ends the task quietly: the suite restarts PostgreSQL on purpose.
pub async fn connect(url: &str) -> anyhow::Result<Client> {
    let mut config: tokio_postgres::Config = url
        .parse()
        .with_context(|| format!("bad PostgreSQL URL {url}"))?;
    config.connect_timeout(Duration::from_secs(5));
    let (client, connection) = config
        .connect(NoTls)
        .await
        .with_context(|| format!("cannot connect to {url}"))?;
    tokio::spawn(async move {
        if let Err(error) = connection.await {
            tracing::debug!(%error, "a connection of the suite closed");
        }
    });
    Ok(client)
}

/// A connection opened again whenever the previous one was lost.
pub struct Db {
    url: String,
    client: Option<Client>,
}

impl Db {
    pub fn new(url: String) -> Db {
        Db { url, client: None }
    }

    /// The current connection, reconnecting if it closed.
    pub async fn client(&mut self) -> anyhow::Result<&Client> {
        if self.client.as_ref().is_none_or(Client::is_closed) {
            self.client = Some(connect(&self.url).await?);
        }
        self.client.as_ref().context("no connection")
    }
}
