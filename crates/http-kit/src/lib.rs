//! HTTP and process plumbing shared by every service.
//!
//! Module map:
//! - [`problem`]: [`Problem`], an RFC 9457 `application/problem+json`
//!   document (`type`, `title`, `status`, `detail`, `instance` + extension
//!   members), and [`ApiError`], what handlers return: a client problem, a
//!   503 with `Retry-After` when a dependency is down, or an internal error
//!   whose cause is logged and hidden behind a generic 500.
//! - [`extract`]: [`Json`] and [`Path`] extractors whose rejections are
//!   problems (malformed JSON 400, wrong shape 422, wrong content type 415,
//!   body too large 413, bad path parameter 400).
//! - [`request_id`]: middleware taking `X-Request-Id` or generating a UUID,
//!   echoing it, and recording it on a span so every log line of the request
//!   has a `request_id` field; one access-log line per request.
//! - [`health`]: `/health` and `/ready` routes; [`Readiness`] wraps an async
//!   check (e.g. the database answers).
//! - [`database`]: database errors as answers, classified once: `?` on a
//!   pool or query error gives a 503 with `Retry-After` when retrying can
//!   work (the database is down, restarting, full), else a hidden 500;
//!   [`on_constraint`](database::on_constraint) for an expected violation.
//! - [`openapi`]: `/openapi.json` (OpenAPI 3.1 from utoipa) and Swagger UI at
//!   `/docs` (vendored, offline).
//! - [`server`]: [`bind`], [`with_standard_layers`] (request ids, body limit,
//!   404/405 problems) and [`serve`] with graceful shutdown.
//! - [`service`]: [`Service`], the shape of every service: bind (errors
//!   name the setting), routes with `/health`, `/ready` and the standard
//!   layers, an optional `/metrics`, background tasks, and a stop bounded
//!   by [`STOP_WITHIN`](service::STOP_WITHIN).
//! - [`prometheus`]: counters, gauges and a batch-size histogram in the
//!   Prometheus text format, for the workers' `/metrics`.
//! - [`telemetry`]: structured logging (JSON by default) via `tracing`,
//!   set up once by the `supermarket` binary's `main`.
//! - [`shutdown`]: a [`CancellationToken`](tokio_util::sync::CancellationToken)
//!   cancelled on SIGINT/SIGTERM and passed down explicitly.
//!
//! Each service crate builds a [`Service`] in its `Application::build` and
//! runs it: see [`service`] for the example.

pub mod database;
pub mod extract;
pub mod health;
pub mod openapi;
pub mod problem;
pub mod prometheus;
pub mod request_id;
pub mod server;
pub mod service;
pub mod shutdown;
pub mod telemetry;

pub use extract::{Json, Path};
pub use health::Readiness;
pub use problem::{ApiError, PROBLEM_JSON, Problem};
pub use request_id::RequestId;
pub use server::{bind, serve, with_standard_layers};
pub use service::Service;
