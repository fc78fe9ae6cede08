//! The harness of the integration suite: real PostgreSQL and real NATS.
//!
//! Module map:
//! - [`db`]: [`TestDatabases`], a fresh, migrated OLTP database and a fresh
//!   analytics database per test, dropped when the test ends.
//! - [`nats`]: [`TestNats`], a connection to the real NATS server with
//!   stream and consumer names unique to the test.
//! - [`data`]: paths of the repository's `data/` files.
//! - [`schemathesis`]: API fuzzing of a running service from its OpenAPI
//!   document, with the `st` command.
//!
//! Settings come from `DATABASE_URL` and `NATS_URL`, defaulting to the local
//! servers (`postgres://postgres@127.0.0.1:5432/postgres`, `nats://127.0.0.1:4222`).
//! Every name carries a random suffix, so tests run in parallel.

pub mod data;
pub mod db;
pub mod nats;
pub mod schemathesis;

pub use db::TestDatabases;
pub use nats::TestNats;

/// A short random suffix for names of databases, streams and consumers.
pub fn unique_suffix() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..12].to_owned()
}
