//! Every statement on the OLTP database (`DATABASE_URL`), one module per
//! group of tables, so a schema change has one place to look:
//! - [`audit`]: totals to check the OLTP database against the read models and the lake.
//! - [`bulk_load`]: the statements of `supermarket load` (upserts, COPY, set-based moves).
//! - [`catalog`]: branches and products read into the domain's
//!   [`Branches`](supermarket_domain::Branches) and
//!   [`Catalog`](supermarket_domain::Catalog).
//! - [`history`]: the whole purchase history read back in the shape of the
//!   analytics read models, for their rebuild.
//! - [`outbox`]: the relay's claim (rows and their purchases in one
//!   statement), delete and backlog.
//! - [`purchases`]: the batch insert of purchases, items and outbox rows,
//!   idempotency lookups, reading a stored purchase.

pub mod audit;
pub mod bulk_load;
pub mod catalog;
pub mod history;
pub mod outbox;
pub mod purchases;
