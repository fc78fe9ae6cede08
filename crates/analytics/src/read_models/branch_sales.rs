//! `branch_daily_sales` and `branch_hourly_sales`: purchases and revenue
//! per branch per local day, and per local hour (store time zone).

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use supermarket_storage::oltp::history;
use tokio_postgres::Transaction;

use super::NewEvent;

/// Adds `events` to both tables; PostgreSQL groups them by local day (and
/// hour) in `time_zone` and upserts the groups in key order.
pub(crate) async fn apply(
    tx: &Transaction<'_>,
    time_zone: &str,
    events: &[NewEvent],
) -> anyhow::Result<()> {
    let branches: Vec<&str> = events.iter().map(|(e, _)| e.branch_id.as_str()).collect();
    let times: Vec<DateTime<Utc>> = events.iter().map(|(e, _)| e.purchased_at).collect();
    let totals: Vec<i64> = events.iter().map(|(e, _)| e.total_cents).collect();
    tx.execute(
        "INSERT INTO branch_daily_sales AS s (day, branch_id, purchases, revenue_cents)
         SELECT (at AT TIME ZONE $4)::date, branch, count(*), sum(total)::int8
         FROM unnest($1::text[], $2::timestamptz[], $3::int8[]) AS t(branch, at, total)
         GROUP BY 1, 2 ORDER BY 1, 2
         ON CONFLICT (day, branch_id) DO UPDATE SET
             purchases = s.purchases + EXCLUDED.purchases,
             revenue_cents = s.revenue_cents + EXCLUDED.revenue_cents",
        &[&branches, &times, &totals, &time_zone],
    )
    .await
    .context("cannot update branch_daily_sales")?;
    tx.execute(
        "INSERT INTO branch_hourly_sales AS s (day, hour, branch_id, purchases, revenue_cents)
         SELECT (at AT TIME ZONE $4)::date, extract(hour FROM at AT TIME ZONE $4)::int2, branch, count(*), sum(total)::int8
         FROM unnest($1::text[], $2::timestamptz[], $3::int8[]) AS t(branch, at, total)
         GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
         ON CONFLICT (day, hour, branch_id) DO UPDATE SET
             purchases = s.purchases + EXCLUDED.purchases,
             revenue_cents = s.revenue_cents + EXCLUDED.revenue_cents",
        &[&branches, &times, &totals, &time_zone],
    )
    .await
    .context("cannot update branch_hourly_sales")?;
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
        "branch_daily_sales (day, branch_id, purchases, revenue_cents)",
        history::BRANCH_DAILY_SALES_SQL,
    )
    .await?;
    super::copy(
        source,
        target,
        "branch_hourly_sales (day, hour, branch_id, purchases, revenue_cents)",
        history::BRANCH_HOURLY_SALES_SQL,
    )
    .await
}
