//! The NATS JetStream adapter: the purchases stream and its subjects.
//!
//! Module map:
//! - [`config`]: [`NatsArgs`], the broker settings (`NATS_URL`, `NATS_STREAM`,
//!   `NATS_SUBJECT_PREFIX`, `NATS_WAIT_SECS`), and the subject naming scheme.
//! - [`stream`]: connecting (at start with a bounded wait, through
//!   `supermarket-storage`'s startup retry), [`ensure_stream`] (file storage, a deliberate
//!   duplicate window), publishing an event with `Nats-Msg-Id` = event id
//!   ([`publish_purchase`]), and the wire codec ([`encode`], [`decode`]).
//! - [`consumer`]: [`durable_pull_consumer`], a durable explicit-ack pull
//!   consumer.

pub mod config;
pub mod consumer;
pub mod stream;

pub use config::NatsArgs;
pub use consumer::{DurableSettings, durable_pull_consumer};
pub use stream::{
    DUPLICATE_WINDOW, DecodeError, MAX_RECONNECT_DELAY, check_connected, connect,
    connect_error_is_permanent, connect_waiting, decode, encode, ensure_stream, publish_purchase,
    reconnect_delay, stream_config,
};
