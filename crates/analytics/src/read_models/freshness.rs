//! `pipeline_freshness`: the single row telling how current the read models
//! are (events applied, newest purchase and publish times, last commit) and
//! how many dead letters the consumer recorded.

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use supermarket_storage::oltp::history::HistoryTotals;
use tokio_postgres::Transaction;

use super::NewEvent;

/// Counts `events` as applied now.
pub(crate) async fn apply(tx: &Transaction<'_>, events: &[NewEvent]) -> anyhow::Result<()> {
    let newest_purchase: Option<DateTime<Utc>> = events.iter().map(|(e, _)| e.purchased_at).max();
    let newest_publish = events.iter().map(|(_, published)| *published).max();
    tx.execute(
        "UPDATE pipeline_freshness SET events_applied = events_applied + $1,
             last_purchased_at = GREATEST(last_purchased_at, $2), last_published_at = GREATEST(last_published_at, $3),
             last_applied_at = clock_timestamp()",
        &[&(events.len() as i64), &newest_purchase, &newest_publish],
    )
    .await
    .context("cannot update pipeline_freshness")?;
    Ok(())
}

/// Counts `inserted` new dead letters.
pub(crate) async fn add_dead_letters(tx: &Transaction<'_>, inserted: u64) -> anyhow::Result<()> {
    tx.execute(
        "UPDATE pipeline_freshness SET dead_letters = dead_letters + $1",
        &[&(inserted as i64)],
    )
    .await?;
    Ok(())
}

/// Sets the row to the whole OLTP history; the publish time is unknown
/// there, and the dead-letter count is kept (dead letters are not derived
/// from OLTP).
pub(crate) async fn rebuild(
    target: &Transaction<'_>,
    totals: &HistoryTotals,
) -> anyhow::Result<()> {
    target
        .execute(
            "UPDATE pipeline_freshness SET events_applied = $1, last_purchased_at = $2, last_published_at = NULL,
                 last_applied_at = clock_timestamp()",
            &[&totals.purchases, &totals.newest_purchase_at],
        )
        .await?;
    Ok(())
}
