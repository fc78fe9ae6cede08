//! The PostgreSQL adapter.
//!
//! Module map:
//! - [`config`]: the `DATABASE_URL` / `ANALYTICS_DATABASE_URL` settings (clap
//!   arguments that also read the environment).
//! - [`pool`]: connection pools (deadpool) and single connections, waiting
//!   at start for a database that is not up yet.
//! - [`startup`]: [`retry_startup`](startup::retry_startup), the bounded
//!   wait for any dependency at a program's start (PostgreSQL, NATS).
//! - [`backoff`]: [`Backoff`](backoff::Backoff), the growing pause between
//!   retries of a failing step (relay, analytics consumer, lake).
//! - [`migrate`]: the embedded, versioned migrations of both databases.
//! - [`oltp`]: every statement on the OLTP database, one module per group
//!   of tables (catalog, purchases, outbox). The analytics database's
//!   statements live with the read models (`supermarket-analytics`).

pub mod backoff;
pub mod config;
pub mod migrate;
pub mod oltp;
pub mod pool;
pub mod startup;

pub use config::{AnalyticsDatabaseArgs, DatabaseArgs, with_database};
pub use pool::{Pool, connect, connect_waiting};
