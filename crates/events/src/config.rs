//! Broker settings and subject names.

use std::time::Duration;

/// Default of `NATS_WAIT_SECS` (as the databases' waits: brokers start in seconds).
const DEFAULT_WAIT_SECS: u64 = 60;

/// Where the purchase events live.
#[derive(clap::Args, Debug, Clone)]
pub struct NatsArgs {
    /// NATS server URL, e.g. nats://127.0.0.1:4222
    #[arg(long = "nats-url", env = "NATS_URL", value_name = "NATS_URL")]
    pub nats_url: String,

    /// Name of the JetStream stream holding purchase events.
    #[arg(
        long = "nats-stream",
        env = "NATS_STREAM",
        value_name = "NATS_STREAM",
        default_value = "PURCHASES"
    )]
    pub stream: String,

    /// First token(s) of the event subjects: events are published on
    /// `<prefix>.created.<branch id>`.
    #[arg(
        long = "nats-subject-prefix",
        env = "NATS_SUBJECT_PREFIX",
        value_name = "NATS_SUBJECT_PREFIX",
        default_value = "purchases"
    )]
    pub subject_prefix: String,

    /// Seconds a program waits at start for NATS to answer before giving up
    /// (0: one attempt). Under `docker compose up` the programs can start
    /// before the broker accepts connections.
    #[arg(long = "nats-wait-secs", env = "NATS_WAIT_SECS", value_name = "NATS_WAIT_SECS", default_value_t = DEFAULT_WAIT_SECS,
          value_parser = clap::value_parser!(u64).range(0..=3600))]
    pub nats_wait_secs: u64,
}

impl NatsArgs {
    /// Settings for tests and tools: the default start-up wait.
    pub fn new(
        nats_url: impl Into<String>,
        stream: impl Into<String>,
        subject_prefix: impl Into<String>,
    ) -> NatsArgs {
        NatsArgs {
            nats_url: nats_url.into(),
            stream: stream.into(),
            subject_prefix: subject_prefix.into(),
            nats_wait_secs: DEFAULT_WAIT_SECS,
        }
    }

    /// How long to wait at start for NATS to answer (`NATS_WAIT_SECS`).
    pub fn nats_wait(&self) -> Duration {
        Duration::from_secs(self.nats_wait_secs)
    }

    /// The subject of a purchase made at `branch`.
    pub fn created_subject(&self, branch: &str) -> String {
        format!("{}.created.{branch}", self.subject_prefix)
    }

    /// The wildcard that matches every purchase subject (the stream's subjects).
    pub fn all_subjects(&self) -> String {
        format!("{}.>", self.subject_prefix)
    }
}
