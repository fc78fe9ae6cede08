//! The faults of a round and how each is injected into the running cluster.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::chaos::cluster::{Cluster, Service};

/// One fault of a round.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// SIGKILL a service process, restart it after `down`.
    Kill(Service),
    /// SIGKILL nats-server, restart it after `down`.
    Nats,
    /// PostgreSQL fast shutdown, then start at once (`pg_ctl -m fast restart`).
    Postgres,
    /// SIGKILL purchases instance `n`, the relay, the consumer, the lake
    /// sink and nats-server, fast-stop PostgreSQL; after `down`, start everything.
    All(usize),
}

impl Fault {
    /// The faults of round `round` (1-based): each single fault, then all
    /// together. The purchases instance alternates between rounds.
    pub fn round(round: u32) -> Vec<Fault> {
        let instance = (round as usize + 1) % 2;
        vec![
            Fault::Kill(Service::Purchases(instance)),
            Fault::Kill(Service::Relay),
            Fault::Kill(Service::Consumer),
            Fault::Kill(Service::LakeSink),
            Fault::Nats,
            Fault::Postgres,
            Fault::All(instance),
        ]
    }

    pub fn label(self) -> String {
        match self {
            Fault::Kill(Service::Purchases(index)) => format!("SIGKILL purchases-{}", index + 1),
            Fault::Kill(Service::Products) => "SIGKILL products".to_owned(),
            Fault::Kill(Service::Relay) => "SIGKILL relay".to_owned(),
            Fault::Kill(Service::Consumer) => "SIGKILL analytics-consumer".to_owned(),
            Fault::Kill(Service::LakeSink) => "SIGKILL lake-sink".to_owned(),
            Fault::Nats => "SIGKILL nats-server".to_owned(),
            Fault::Postgres => "PostgreSQL fast restart".to_owned(),
            Fault::All(index) => format!(
                "all together: SIGKILL purchases-{}, relay, consumer, lake sink, nats-server + PostgreSQL fast restart",
                index + 1
            ),
        }
    }

    /// Where the recovery probes go: the restarted instance when one was.
    pub(crate) fn probe_target(self) -> Option<usize> {
        match self {
            Fault::Kill(Service::Purchases(index)) | Fault::All(index) => Some(index),
            _ => None,
        }
    }
}

/// Injects `fault`; returns when the restart began (the recovery clock's zero).
pub(crate) async fn inject(
    cluster: &mut Cluster,
    fault: Fault,
    down: Duration,
) -> anyhow::Result<DateTime<Utc>> {
    tracing::info!(fault = fault.label(), "injecting");
    match fault {
        Fault::Kill(service) => {
            cluster.process(service).kill().await?;
            tokio::time::sleep(down).await;
            let at = Utc::now();
            cluster.process(service).start()?;
            Ok(at)
        }
        Fault::Nats => {
            cluster.nats.process().kill().await?;
            tokio::time::sleep(down).await;
            let at = Utc::now();
            cluster.nats.start_again().await?;
            Ok(at)
        }
        Fault::Postgres => {
            cluster.postgres.fast_stop().await?;
            let at = Utc::now();
            cluster.postgres.start_again().await?;
            Ok(at)
        }
        Fault::All(index) => {
            let services = [
                Service::Purchases(index),
                Service::Relay,
                Service::Consumer,
                Service::LakeSink,
            ];
            for service in services {
                cluster.process(service).kill().await?;
            }
            cluster.nats.process().kill().await?;
            cluster.postgres.fast_stop().await?;
            tokio::time::sleep(down).await;
            let at = Utc::now();
            cluster.postgres.start_again().await?;
            cluster.nats.start_again().await?;
            for service in services {
                cluster.process(service).start()?;
            }
            Ok(at)
        }
    }
}
