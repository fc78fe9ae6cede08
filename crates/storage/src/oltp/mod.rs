//! Every statement on the OLTP database (`DATABASE_URL`), one module per
//! group of tables, so a schema change has one place to look:
//! - [`audit`]: totals to check the OLTP database against the read models and the lake.
//! - [`catalog`]: branches and products read into the domain's
//!   [`Branches`](supermarket_domain::Branches) and
//!   [`Catalog`](supermarket_domain::Catalog).
//! - [`purchases`]: the batch insert of purchases, items and outbox rows,
//!   idempotency lookups, reading a stored purchase.

pub mod audit;
pub mod catalog;
pub mod purchases;
