//! Every statement on the OLTP database (`DATABASE_URL`), one module per
//! group of tables, so a schema change has one place to look:
//! - [`catalog`]: branches and products read into the domain's
//!   [`Branches`](supermarket_domain::Branches) and
//!   [`Catalog`](supermarket_domain::Catalog).
//! - [`purchases`]: the batch insert of purchases, items and outbox rows,
//!   idempotency lookups, reading a stored purchase.
//! - [`history`]: the whole purchase history read back in the shape of the
//!   analytics read models, for their rebuild.

pub mod catalog;
pub mod history;
pub mod purchases;
