//! The analytics read models (the tables of the storage crate's analytics
//! migration `V2__read_models.sql`), one module per family of tables.
//!
//! Each module holds both ways its tables are computed, side by side, so a
//! change to one is made next to the other:
//! - `apply`: a batch's part, added incrementally by the consumer inside
//!   [`apply_batch`](crate::apply::apply_batch)'s transaction;
//! - `rebuild`: the tables recomputed from the OLTP purchase history inside
//!   [`rebuild`](crate::rebuild::rebuild), from the queries of
//!   [`supermarket_storage::oltp::history`] named after the tables.
//!
//! Modules, in the order both callers go through them (the consumer's lock
//! order, see [`crate::apply`]):
//! - [`customers`]: `customer_stats` and `customer_purchase_histogram`.
//! - [`products`]: the `product_sales` table.
//! - [`branch_sales`]: `branch_daily_sales` and `branch_hourly_sales`.
//! - [`daily_customers`]: `daily_customers` and `daily_unique_customers`.
//! - [`totals`]: `sales_totals`, the chain-wide single row.
//! - [`freshness`]: `pipeline_freshness`, the pipeline's single row.

pub(crate) mod branch_sales;
pub(crate) mod customers;
pub(crate) mod daily_customers;
pub(crate) mod freshness;
pub(crate) mod products;
pub(crate) mod totals;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use futures_util::{SinkExt as _, StreamExt as _};
use supermarket_domain::PurchaseCreated;
use tokio_postgres::Transaction;

/// An event applied for the first time, with when JetStream stored it.
pub(crate) type NewEvent = (PurchaseCreated, DateTime<Utc>);

/// Streams `query`'s rows from OLTP (`source`) into `table` ("name
/// (columns)") of the analytics database (`target`) with binary COPY:
/// `query` must produce exactly the column types of `table`.
pub(crate) async fn copy(
    source: &Transaction<'_>,
    target: &Transaction<'_>,
    table: &str,
    query: &str,
) -> anyhow::Result<()> {
    stream_copy(source, target, table, query)
        .await
        .with_context(|| format!("cannot rebuild {table}"))
}

async fn stream_copy(
    source: &Transaction<'_>,
    target: &Transaction<'_>,
    table: &str,
    query: &str,
) -> anyhow::Result<()> {
    let sink = target
        .copy_in(&format!("COPY {table} FROM STDIN (FORMAT binary)"))
        .await?;
    let rows = source
        .copy_out(&format!("COPY ({query}) TO STDOUT (FORMAT binary)"))
        .await?;
    let mut sink = std::pin::pin!(sink);
    let mut rows = std::pin::pin!(rows);
    while let Some(chunk) = rows.next().await {
        sink.send(chunk?).await?;
    }
    sink.finish().await?;
    Ok(())
}
