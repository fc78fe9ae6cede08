//! HTTP and process plumbing shared by every service.
//!
//! Module map:
//! - [`telemetry`]: structured logging (JSON by default) via `tracing`.
//! - [`shutdown`]: a [`CancellationToken`](tokio_util::sync::CancellationToken)
//!   cancelled on SIGINT/SIGTERM and passed down explicitly.

pub mod shutdown;
pub mod telemetry;
