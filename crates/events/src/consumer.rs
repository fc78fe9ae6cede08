//! Durable pull consumers on the purchases stream.

use std::time::Duration;

use anyhow::Context as _;
use async_nats::jetstream::{consumer, stream};

/// How a durable consumer acknowledges and how much it may hold at once.
#[derive(Debug, Clone)]
pub struct DurableSettings {
    /// Durable name: several processes with the same name share the work.
    pub name: String,
    /// Subject filter (usually `<prefix>.>`).
    pub filter_subject: String,
    /// After this long without an ack, the server redelivers a message.
    pub ack_wait: Duration,
    /// Largest number of delivered but unacknowledged messages.
    pub max_ack_pending: i64,
}

/// Opens the durable pull consumer, creating it on first use (explicit acks,
/// from the start of the stream). An existing consumer takes these settings:
/// a changed ack wait or ack-pending limit applies from the next start,
/// instead of staying as the consumer was first created. (Its start
/// position is kept: it is the same "from the start" every time.)
pub async fn durable_pull_consumer(
    stream: &stream::Stream,
    settings: &DurableSettings,
) -> anyhow::Result<consumer::PullConsumer> {
    let config = consumer::pull::Config {
        durable_name: Some(settings.name.clone()),
        description: Some("purchase.created events".to_owned()),
        deliver_policy: consumer::DeliverPolicy::All,
        ack_policy: consumer::AckPolicy::Explicit,
        ack_wait: settings.ack_wait,
        max_ack_pending: settings.max_ack_pending,
        filter_subject: settings.filter_subject.clone(),
        ..Default::default()
    };
    stream.create_consumer(config).await.with_context(|| {
        format!(
            "cannot create or update the durable consumer `{}`",
            settings.name
        )
    })
}
