//! Broker settings and subject names.

/// Where the purchase events live.
#[derive(clap::Args, Debug, Clone)]
pub struct NatsArgs {
    /// NATS server URL, e.g. nats://127.0.0.1:4222
    #[arg(long = "nats-url", env = "NATS_URL", value_name = "NATS_URL")]
    pub nats_url: String,

    /// Name of the JetStream stream holding purchase events.
    #[arg(long = "nats-stream", env = "NATS_STREAM", value_name = "NATS_STREAM", default_value = "PURCHASES")]
    pub stream: String,

    /// First token(s) of the event subjects: events are published on
    /// `<prefix>.created.<branch id>`.
    #[arg(long = "nats-subject-prefix", env = "NATS_SUBJECT_PREFIX", value_name = "NATS_SUBJECT_PREFIX",
          default_value = "purchases")]
    pub subject_prefix: String,
}

impl NatsArgs {
    /// The subject of a purchase made at `branch`.
    pub fn created_subject(&self, branch: &str) -> String {
        format!("{}.created.{branch}", self.subject_prefix)
    }

    /// The wildcard that matches every purchase subject (the stream's subjects).
    pub fn all_subjects(&self) -> String {
        format!("{}.>", self.subject_prefix)
    }
}
