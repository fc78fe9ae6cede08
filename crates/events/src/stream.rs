//! The purchases stream: creation/checking at start, deduplicated publishing.

use std::time::Duration;

use anyhow::Context as _;
use async_nats::jetstream::{self, context::PublishAckFuture, stream};
use bytes::Bytes;
use supermarket_domain::PurchaseCreated;

use crate::config::NatsArgs;

/// How long the stream remembers a `Nats-Msg-Id` to drop a repeat.
///
/// The relay re-publishes an event only when it crashed (or lost its
/// database connection) between JetStream's ack and its own commit; it
/// retries within seconds of restarting. Ten minutes covers a slow restart
/// or a rolling deployment with room to spare, while the server's memory
/// for ids stays bounded (one entry per event published in the window, a
/// few tens of bytes each). A repeat older than the window is still harmless:
/// the analytics consumer deduplicates on the event id in its own database.
pub const DUPLICATE_WINDOW: Duration = Duration::from_secs(10 * 60);

/// Longest pause between two attempts to reconnect to a lost server.
///
/// The client's default backoff grows to 4 s: after a broker restart of a
/// second or two, a relay or consumer could stay away for seconds more,
/// while every purchase waits for it. Attempts are cheap (one TCP connect
/// per client), so they stay frequent.
pub const MAX_RECONNECT_DELAY: Duration = Duration::from_millis(500);

/// The pause before reconnection attempt `attempts` (1-based): at once,
/// then doubling from 50 ms up to [`MAX_RECONNECT_DELAY`].
pub fn reconnect_delay(attempts: usize) -> Duration {
    if attempts <= 1 {
        return Duration::ZERO;
    }
    let doublings = u32::try_from(attempts - 2).unwrap_or(u32::MAX).min(16);
    (Duration::from_millis(50) * 2u32.pow(doublings)).min(MAX_RECONNECT_DELAY)
}

/// Connects to NATS and returns the client with its JetStream context. A
/// lost connection is retried for ever (see [`reconnect_delay`]).
pub async fn connect(args: &NatsArgs) -> anyhow::Result<(async_nats::Client, jetstream::Context)> {
    let client = async_nats::ConnectOptions::new()
        .name("supermarket")
        .reconnect_delay_callback(reconnect_delay)
        .connect(args.nats_url.as_str())
        .await
        .with_context(|| {
            format!(
                "cannot connect to NATS at NATS_URL ({})",
                without_credentials(&args.nats_url)
            )
        })?;
    let js = jetstream::new(client.clone());
    Ok((client, js))
}

/// [`connect`] at a program's start: retries for up to `NATS_WAIT_SECS`
/// while the server does not answer yet; a malformed URL or refused
/// credentials fail at once ([`connect_error_is_permanent`]).
pub async fn connect_waiting(
    args: &NatsArgs,
) -> anyhow::Result<(async_nats::Client, jetstream::Context)> {
    supermarket_storage::startup::retry_startup(
        "NATS server",
        "NATS_URL",
        args.nats_wait(),
        connect_error_is_permanent,
        || connect(args),
    )
    .await
}

/// `Ok` while `client` is connected (a readiness check).
pub fn check_connected(client: &async_nats::Client) -> anyhow::Result<()> {
    match client.connection_state() {
        async_nats::connection::State::Connected => Ok(()),
        state => anyhow::bail!("NATS is not connected ({state})"),
    }
}

/// `NATS_URL` fit for a log line: the user and password of each server
/// (`nats://user:password@host`) become `***`. A failed start logs the
/// URL at every attempt.
fn without_credentials(urls: &str) -> String {
    urls.split(',')
        .map(|url| match (url.find("://"), url.rfind('@')) {
            (Some(scheme), Some(at)) if at > scheme => {
                format!("{}***{}", &url[..scheme + 3], &url[at..])
            }
            _ => url.to_owned(),
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Whether a failed [`connect`] is one that waiting will not fix: a
/// malformed `NATS_URL` or credentials the server refuses. Other failures
/// (refused, unresolvable name while a container starts, timeout) are worth
/// retrying at start.
pub fn connect_error_is_permanent(error: &anyhow::Error) -> bool {
    use async_nats::ConnectErrorKind as Kind;
    error
        .chain()
        .filter_map(|cause| cause.downcast_ref::<async_nats::ConnectError>())
        .any(|error| {
            matches!(
                error.kind(),
                Kind::ServerParse | Kind::Authentication | Kind::AuthorizationViolation
            )
        })
}

/// The stream configuration this code expects.
pub fn stream_config(args: &NatsArgs) -> stream::Config {
    stream::Config {
        name: args.stream.clone(),
        description: Some(
            "purchase.created events, one per purchase (Nats-Msg-Id = purchase id)".to_owned(),
        ),
        subjects: vec![args.all_subjects()],
        // Events are the replay source of the analytics read models and the
        // data lake: keep them on disk and until limits are set deliberately.
        storage: stream::StorageType::File,
        retention: stream::RetentionPolicy::Limits,
        duplicate_window: DUPLICATE_WINDOW,
        num_replicas: 1,
        ..Default::default()
    }
}

/// Creates the stream if it does not exist, or checks that the existing one
/// captures our subjects and deduplicates. Safe to call from every process
/// at start: creation with an identical configuration is idempotent.
pub async fn ensure_stream(
    js: &jetstream::Context,
    args: &NatsArgs,
) -> anyhow::Result<stream::Stream> {
    let wanted = stream_config(args);
    let mut stream = js
        .get_or_create_stream(wanted.clone())
        .await
        .with_context(|| {
            format!(
                "cannot create or open the JetStream stream `{}` (NATS_STREAM)",
                args.stream
            )
        })?;
    let info = stream
        .info()
        .await
        .context("cannot read the stream's configuration")?;
    let subject = args.all_subjects();
    if !info.config.subjects.iter().any(|s| s == &subject) {
        anyhow::bail!(
            "the existing stream `{}` (NATS_STREAM) does not capture `{subject}` (NATS_SUBJECT_PREFIX): its subjects are {:?}",
            args.stream,
            info.config.subjects
        );
    }
    if info.config.duplicate_window.is_zero() {
        tracing::warn!(stream = %args.stream, "the stream has no duplicate window: re-published events are not deduplicated by the broker");
    } else if info.config.duplicate_window != DUPLICATE_WINDOW {
        tracing::info!(stream = %args.stream, window_secs = info.config.duplicate_window.as_secs(),
            "the stream keeps its existing duplicate window");
    }
    Ok(stream)
}

/// Serialises an event to its wire form (JSON).
pub fn encode(event: &PurchaseCreated) -> anyhow::Result<Bytes> {
    Ok(Bytes::from(
        serde_json::to_vec(event).context("cannot serialise a purchase event")?,
    ))
}

/// Parses an event from its wire form, rejecting what analytics cannot apply.
pub fn decode(payload: &[u8]) -> Result<PurchaseCreated, DecodeError> {
    let event: PurchaseCreated =
        serde_json::from_slice(payload).map_err(|e| DecodeError::Json(e.to_string()))?;
    if event.event_type != PurchaseCreated::EVENT_TYPE {
        return Err(DecodeError::UnknownType(event.event_type));
    }
    if event.schema_version != PurchaseCreated::SCHEMA_VERSION {
        return Err(DecodeError::UnknownVersion(event.schema_version));
    }
    if event.items.is_empty() || event.event_id != event.purchase_id {
        return Err(DecodeError::Inconsistent(
            "an event needs items and event_id = purchase_id",
        ));
    }
    Ok(event)
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("not a purchase.created JSON document: {0}")]
    Json(String),
    #[error("unknown event type `{0}`")]
    UnknownType(String),
    #[error("unknown schema version {0}")]
    UnknownVersion(u32),
    #[error("inconsistent event: {0}")]
    Inconsistent(&'static str),
}

/// Sends one event with `Nats-Msg-Id` = event id and returns the future of
/// JetStream's acknowledgement, so callers can keep many acks in flight.
pub async fn publish_purchase(
    js: &jetstream::Context,
    args: &NatsArgs,
    event: &PurchaseCreated,
) -> anyhow::Result<PublishAckFuture> {
    let payload = encode(event)?;
    let message = jetstream::message::PublishMessage::build()
        .payload(payload)
        .message_id(event.event_id.hyphenated().to_string());
    js.send_publish(args.created_subject(&event.branch_id), message)
        .await
        .with_context(|| format!("cannot publish event {}", event.event_id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use supermarket_domain::EventItem;

    fn event() -> PurchaseCreated {
        let at = chrono::DateTime::from_timestamp(1_746_000_000, 0).expect("a time");
        let items = vec![EventItem {
            product_id: 1,
            product_name: "milk".into(),
            unit_price_cents: 150,
        }];
        PurchaseCreated::new(uuid_like(1), "SMKT001", uuid_like(2), at, items)
    }

    fn uuid_like(n: u128) -> uuid::Uuid {
        uuid::Uuid::from_u128(n)
    }

    #[test]
    fn encode_then_decode_is_the_identity() {
        let event = event();
        assert_eq!(decode(&encode(&event).expect("encodes")), Ok(event));
    }

    #[test]
    fn decode_refuses_what_analytics_cannot_apply() {
        assert!(matches!(decode(b"{not json"), Err(DecodeError::Json(_))));
        let mut other = event();
        other.event_type = "purchase.deleted".into();
        assert!(matches!(
            decode(&encode(&other).expect("encodes")),
            Err(DecodeError::UnknownType(_))
        ));
        let mut future = event();
        future.schema_version = 2;
        assert_eq!(
            decode(&encode(&future).expect("encodes")),
            Err(DecodeError::UnknownVersion(2))
        );
        let mut empty = event();
        empty.items.clear();
        assert!(matches!(
            decode(&encode(&empty).expect("encodes")),
            Err(DecodeError::Inconsistent(_))
        ));
    }

    #[test]
    fn reconnection_attempts_stay_frequent() {
        let delays: Vec<u128> = (1..=8)
            .map(|attempt| reconnect_delay(attempt).as_millis())
            .collect();
        assert_eq!(delays, [0, 50, 100, 200, 400, 500, 500, 500]);
        assert_eq!(reconnect_delay(usize::MAX), MAX_RECONNECT_DELAY);
    }

    #[test]
    fn credentials_never_reach_a_log_line() {
        assert_eq!(
            without_credentials("nats://127.0.0.1:4222"),
            "nats://127.0.0.1:4222"
        );
        assert_eq!(
            without_credentials("nats://relay:secret@nats:4222"),
            "nats://***@nats:4222"
        );
        assert_eq!(
            without_credentials("nats://u:p@n1:4222,nats://n2:4222"),
            "nats://***@n1:4222,nats://n2:4222"
        );
    }

    #[tokio::test]
    async fn a_malformed_url_is_not_worth_waiting_for_but_a_closed_port_is() {
        let malformed = connect(&NatsArgs::new("nats://[bad", "S", "p"))
            .await
            .expect_err("a malformed URL fails");
        assert!(connect_error_is_permanent(&malformed), "{malformed:#}");
        // A port where nothing listens: what a starting broker looks like.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let refused = connect(&NatsArgs::new(format!("nats://127.0.0.1:{port}"), "S", "p"))
            .await
            .expect_err("nothing listens");
        assert!(!connect_error_is_permanent(&refused), "{refused:#}");
    }

    #[test]
    fn the_stream_captures_every_subject_under_the_prefix_and_deduplicates() {
        let args = NatsArgs::new("nats://127.0.0.1:4222", "S", "p");
        let config = stream_config(&args);
        assert_eq!(config.subjects, ["p.>"]);
        assert_eq!(config.duplicate_window, DUPLICATE_WINDOW);
        assert_eq!(args.created_subject("SMKT001"), "p.created.SMKT001");
    }
}
