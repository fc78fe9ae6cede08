//! `sales_totals`: the chain-wide single row (purchases, revenue, distinct
//! customers, items sold).

use anyhow::Context as _;
use supermarket_storage::oltp::history::HistoryTotals;
use tokio_postgres::Transaction;

use super::NewEvent;

/// Adds `events`; `new_customers` and `items_sold` are what
/// [`customers::apply`](super::customers::apply) and
/// [`products::apply`](super::products::apply) returned for them.
pub(crate) async fn apply(
    tx: &Transaction<'_>,
    events: &[NewEvent],
    new_customers: i64,
    items_sold: i64,
) -> anyhow::Result<()> {
    let batch_revenue: i64 = events.iter().map(|(e, _)| e.total_cents).sum();
    tx.execute(
        "UPDATE sales_totals SET purchases = purchases + $1, revenue_cents = revenue_cents + $2,
             customers = customers + $3, items_sold = items_sold + $4",
        &[
            &(events.len() as i64),
            &batch_revenue,
            &new_customers,
            &items_sold,
        ],
    )
    .await
    .context("cannot update sales_totals")?;
    Ok(())
}

/// Sets the row to the totals of the whole OLTP history.
pub(crate) async fn rebuild(
    target: &Transaction<'_>,
    totals: &HistoryTotals,
) -> anyhow::Result<()> {
    target
        .execute(
            "UPDATE sales_totals SET purchases = $1, revenue_cents = $2, customers = $3, items_sold = $4",
            &[
                &totals.purchases,
                &totals.revenue_cents,
                &totals.customers,
                &totals.items_sold,
            ],
        )
        .await?;
    Ok(())
}
