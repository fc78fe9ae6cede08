//! Analytics: the event consumer that keeps the read models, the read-only
//! analytics API, and the rebuild that recomputes the models from scratch.
//!
//! Module map:
//! - [`consumer`]: `serve analytics-consumer`, the durable JetStream pull
//!   consumer loop (batch → one transaction → commit → ack), `/health`,
//!   `/ready`, `/metrics`, and the data lake sink in the same process.
//! - [`apply`]: applying a batch exactly once (processed_events, dead
//!   letters, set-based upserts in a deterministic lock order).
//! - [`read_models`]: one module per family of read-model tables, each with
//!   its incremental `apply` (a batch's part) and its `rebuild` from OLTP.
//! - [`rebuild`]: `analytics rebuild`, the read models recomputed from OLTP.
//! - [`api`]: `serve analytics-api`, the original endpoints and
//!   `/api/v1/analytics/*`, with OpenAPI.
//! - [`timezone`]: `STORE_TIMEZONE`, which day and hour a purchase falls in.
//! - [`metrics`]: the consumer's Prometheus text.
//!
//! The read-model tables themselves are described in the analytics
//! migration `V2__read_models.sql` of the storage crate.

pub mod api;
pub mod apply;
pub mod consumer;
pub mod metrics;
pub(crate) mod read_models;
pub mod rebuild;
pub mod timezone;
