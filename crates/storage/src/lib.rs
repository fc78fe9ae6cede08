//! The PostgreSQL adapter.
//!
//! Module map:
//! - [`config`]: the `DATABASE_URL` / `ANALYTICS_DATABASE_URL` settings (clap
//!   arguments that also read the environment).
//! - [`pool`]: connection pools (deadpool) and single connections.
//! - [`migrate`]: the embedded, versioned migrations of both databases.
//! - [`catalog`]: reading branches and products into the domain's
//!   [`Branches`](supermarket_domain::Branches) and
//!   [`Catalog`](supermarket_domain::Catalog).

pub mod catalog;
pub mod config;
pub mod migrate;
pub mod pool;

pub use config::{with_database, AnalyticsDatabaseArgs, DatabaseArgs};
pub use pool::{connect, Pool};
pub mod purchases;
