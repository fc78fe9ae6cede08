//! `customer_stats` (one row per customer: the customer history summary)
//! and `customer_purchase_histogram` (how many customers have exactly n
//! purchases, so unique and loyal counts sum a handful of rows).

use std::collections::BTreeMap;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use supermarket_storage::oltp::history;
use tokio_postgres::Transaction;
use uuid::Uuid;

use super::NewEvent;

#[derive(Default)]
struct CustomerDelta {
    purchases: i64,
    spent: i64,
    first: Option<DateTime<Utc>>,
    last: Option<DateTime<Utc>>,
}

/// Adds `events` to both tables, customers in id order (a BTreeMap), and
/// returns how many of the customers bought for the first time.
pub(crate) async fn apply(tx: &Transaction<'_>, events: &[NewEvent]) -> anyhow::Result<i64> {
    let mut customers: BTreeMap<Uuid, CustomerDelta> = BTreeMap::new();
    for (event, _) in events {
        let delta = customers.entry(event.customer_id).or_default();
        delta.purchases += 1;
        delta.spent += event.total_cents;
        delta.first = Some(
            delta
                .first
                .map_or(event.purchased_at, |t| t.min(event.purchased_at)),
        );
        delta.last = Some(
            delta
                .last
                .map_or(event.purchased_at, |t| t.max(event.purchased_at)),
        );
    }
    let customer_ids: Vec<Uuid> = customers.keys().copied().collect();
    let counts: Vec<i64> = customers.values().map(|d| d.purchases).collect();
    let spent: Vec<i64> = customers.values().map(|d| d.spent).collect();
    let firsts: Vec<DateTime<Utc>> = customers.values().filter_map(|d| d.first).collect();
    let lasts: Vec<DateTime<Utc>> = customers.values().filter_map(|d| d.last).collect();
    let rows = tx
        .query(
            "INSERT INTO customer_stats AS c (customer_id, purchases, total_spent_cents, first_purchase_at, last_purchase_at)
             SELECT * FROM unnest($1::uuid[], $2::int8[], $3::int8[], $4::timestamptz[], $5::timestamptz[]) AS t(id, n, spent, first_at, last_at)
             ORDER BY id
             ON CONFLICT (customer_id) DO UPDATE SET
                 purchases = c.purchases + EXCLUDED.purchases,
                 total_spent_cents = c.total_spent_cents + EXCLUDED.total_spent_cents,
                 first_purchase_at = LEAST(c.first_purchase_at, EXCLUDED.first_purchase_at),
                 last_purchase_at = GREATEST(c.last_purchase_at, EXCLUDED.last_purchase_at)
             RETURNING customer_id, purchases",
            &[&customer_ids, &counts, &spent, &firsts, &lasts],
        )
        .await
        .context("cannot update customer_stats")?;

    // The histogram moves each touched customer from its old count to its new one.
    let mut histogram: BTreeMap<i64, i64> = BTreeMap::new();
    let mut new_customers = 0i64;
    for row in &rows {
        let (id, now): (Uuid, i64) = (row.get(0), row.get(1));
        let added = customers.get(&id).map_or(0, |d| d.purchases);
        let before = now - added;
        if before > 0 {
            *histogram.entry(before).or_default() -= 1;
        } else {
            new_customers += 1;
        }
        *histogram.entry(now).or_default() += 1;
    }
    histogram.retain(|_, delta| *delta != 0);
    if !histogram.is_empty() {
        let buckets: Vec<i64> = histogram.keys().copied().collect();
        let deltas: Vec<i64> = histogram.values().copied().collect();
        tx.execute(
            "INSERT INTO customer_purchase_histogram AS h (purchases, customers)
             SELECT * FROM unnest($1::int8[], $2::int8[]) AS t(purchases, delta) ORDER BY purchases
             ON CONFLICT (purchases) DO UPDATE SET customers = h.customers + EXCLUDED.customers",
            &[&buckets, &deltas],
        )
        .await
        .context("cannot update the purchase-count histogram")?;
        tx.execute(
            "DELETE FROM customer_purchase_histogram WHERE purchases = ANY($1) AND customers = 0",
            &[&buckets],
        )
        .await?;
    }
    Ok(new_customers)
}

/// Refills both (truncated) tables from the OLTP history.
pub(crate) async fn rebuild(
    source: &Transaction<'_>,
    target: &Transaction<'_>,
) -> anyhow::Result<()> {
    super::copy(
        source,
        target,
        "customer_stats (customer_id, purchases, total_spent_cents, first_purchase_at, last_purchase_at)",
        history::CUSTOMER_STATS_SQL,
    )
    .await?;
    super::copy(
        source,
        target,
        "customer_purchase_histogram (purchases, customers)",
        history::CUSTOMER_PURCHASE_HISTOGRAM_SQL,
    )
    .await
}
