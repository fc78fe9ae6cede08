//! `daily_customers` (who bought on which local day) and
//! `daily_unique_customers` (how many did): the first makes the second
//! incremental, since only a customer's first purchase of a day counts.

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use supermarket_storage::oltp::history;
use tokio_postgres::Transaction;
use uuid::Uuid;

use super::NewEvent;

/// Adds `events` to both tables in one statement: the (day, customer)
/// pairs that are new are the ones counted.
pub(crate) async fn apply(
    tx: &Transaction<'_>,
    time_zone: &str,
    events: &[NewEvent],
) -> anyhow::Result<()> {
    let times: Vec<DateTime<Utc>> = events.iter().map(|(e, _)| e.purchased_at).collect();
    let buyers: Vec<Uuid> = events.iter().map(|(e, _)| e.customer_id).collect();
    tx.execute(
        "WITH new_pairs AS (
             INSERT INTO daily_customers (day, customer_id)
             SELECT DISTINCT (at AT TIME ZONE $3)::date, customer FROM unnest($1::timestamptz[], $2::uuid[]) AS t(at, customer)
             ORDER BY 1, 2
             ON CONFLICT DO NOTHING
             RETURNING day
         )
         INSERT INTO daily_unique_customers AS d (day, customers)
         SELECT day, count(*) FROM new_pairs GROUP BY day ORDER BY day
         ON CONFLICT (day) DO UPDATE SET customers = d.customers + EXCLUDED.customers",
        &[&times, &buyers, &time_zone],
    )
    .await
    .context("cannot update the daily unique customers")?;
    Ok(())
}

/// Refills both (truncated) tables from the OLTP history.
pub(crate) async fn rebuild(
    source: &Transaction<'_>,
    target: &Transaction<'_>,
) -> anyhow::Result<()> {
    super::copy(
        source,
        target,
        "daily_customers (day, customer_id)",
        history::DAILY_CUSTOMERS_SQL,
    )
    .await?;
    super::copy(
        source,
        target,
        "daily_unique_customers (day, customers)",
        history::DAILY_UNIQUE_CUSTOMERS_SQL,
    )
    .await
}
