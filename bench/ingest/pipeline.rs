//! The rest of the pipeline for the whole-pipeline run: the outbox relay and
//! the analytics consumer and the lake sink, each in its own process (this
//! binary's `serve-relay` / `serve-consumer`, the same library code as
//! `supermarket serve relay` / `analytics-consumer`), on an analytics
//! database, a JetStream stream and a lake folder of their own, so the
//! purchases service shares the machine and PostgreSQL with them as it does
//! in production.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::Context;

/// The relay and the consumer, running; [`Pipeline::stop`] ends them and
/// removes the stream and the lake folder (the caller drops the database).
pub struct Pipeline {
    relay: tokio::process::Child,
    consumer: tokio::process::Child,
    lake_sink: tokio::process::Child,
    nats: supermarket_events::NatsArgs,
    lake_dir: PathBuf,
}

/// A TCP port free on 127.0.0.1 at the time of the call.
pub fn free_port() -> anyhow::Result<u16> {
    let probe = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(probe.local_addr()?.port())
}

impl Pipeline {
    /// Starts the relay on `oltp_url` and the consumer on `analytics_url`
    /// (migrated here), publishing to a stream named after `name` on
    /// `nats_url`; returns once both answer `/ready`.
    pub async fn start(
        name: &str,
        oltp_url: &str,
        analytics_url: &str,
        nats_url: &str,
    ) -> anyhow::Result<Pipeline> {
        let mut analytics = supermarket_storage::connect(analytics_url, "bench analytics").await?;
        supermarket_storage::migrate::analytics(&mut analytics).await?;
        let nats = supermarket_events::NatsArgs::new(
            nats_url,
            name.to_uppercase(),
            format!("{name}.purchases"),
        );
        let lake_dir = std::env::temp_dir().join(format!("{name}_lake"));
        let (relay_port, consumer_port, lake_port) = (free_port()?, free_port()?, free_port()?);
        let child = |subcommand: &str| {
            let mut command = tokio::process::Command::new(std::env::current_exe()?);
            command
                .arg(subcommand)
                .env("DATABASE_URL", oltp_url)
                .env("ANALYTICS_DATABASE_URL", analytics_url)
                .env("NATS_URL", nats_url)
                .env("NATS_STREAM", &nats.stream)
                .env("NATS_SUBJECT_PREFIX", &nats.subject_prefix)
                .env("LAKE_URL", &lake_dir)
                .env("RELAY_ADDR", format!("127.0.0.1:{relay_port}"))
                .env("CONSUMER_ADDR", format!("127.0.0.1:{consumer_port}"))
                .env("LAKE_SINK_ADDR", format!("127.0.0.1:{lake_port}"))
                .env("RUST_LOG", "warn")
                .stdout(Stdio::null())
                .kill_on_drop(true);
            anyhow::Ok(command)
        };
        let relay = child("serve-relay")?
            .spawn()
            .context("cannot start the relay")?;
        let consumer = child("serve-consumer")?
            .spawn()
            .context("cannot start the analytics consumer")?;
        let lake_sink = child("serve-lake-sink")?
            .spawn()
            .context("cannot start the lake sink")?;
        let pipeline = Pipeline {
            relay,
            consumer,
            lake_sink,
            nats,
            lake_dir,
        };
        for (what, port) in [
            ("relay", relay_port),
            ("analytics consumer", consumer_port),
            ("lake sink", lake_port),
        ] {
            wait_ready(what, port).await?;
        }
        Ok(pipeline)
    }

    /// Stops the three processes, then removes the stream and the lake folder.
    pub async fn stop(mut self) {
        for child in [&mut self.relay, &mut self.consumer, &mut self.lake_sink] {
            // The benchmark is over: how they end does not change a figure.
            let _ = supermarket_process::stop(
                child,
                supermarket_process::SIGTERM,
                Duration::from_secs(10),
            )
            .await;
        }
        if let Ok((_, js)) = supermarket_events::connect(&self.nats).await {
            let _ = js.delete_stream(&self.nats.stream).await;
        }
        let _ = std::fs::remove_dir_all(&self.lake_dir);
    }
}

/// Waits up to 30 s for `http://127.0.0.1:<port>/ready` to answer 2xx.
pub async fn wait_ready(what: &str, port: u16) -> anyhow::Result<()> {
    let http = reqwest::Client::new();
    let ready = format!("http://127.0.0.1:{port}/ready");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !http
        .get(&ready)
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        anyhow::ensure!(Instant::now() < deadline, "the {what} did not become ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}
