//! The NATS JetStream adapter: the purchases stream and its subjects.
//!
//! Module map:
//! - [`config`]: [`NatsArgs`], the broker settings (`NATS_URL`, `NATS_STREAM`,
//!   `NATS_SUBJECT_PREFIX`), and the subject naming scheme.

pub mod config;

pub use config::NatsArgs;
