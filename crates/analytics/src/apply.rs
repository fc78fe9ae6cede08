//! Applying a batch of events to the read models, exactly once.
//!
//! In ONE analytics transaction:
//! 1. unreadable messages go to `dead_letters`;
//! 2. `INSERT INTO processed_events ... ON CONFLICT DO NOTHING RETURNING`
//!    tells which events are new: a redelivered or re-published event is
//!    not returned and changes nothing below;
//! 3. the new events are aggregated in memory and applied with set-based
//!    `UNNEST` upserts, table by table in a fixed order and, inside each
//!    table, in key order, so that two consumer instances lock rows in the
//!    same order and never deadlock;
//! 4. totals and freshness rows are updated.
//!
//! The caller commits, then acknowledges the messages: a crash before the
//! commit redelivers the batch (nothing was applied), a crash after it
//! redelivers events that step 2 ignores.

use std::collections::{BTreeMap, HashSet};

use anyhow::Context as _;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use supermarket_domain::PurchaseCreated;
use tokio_postgres::Transaction;
use uuid::Uuid;

/// One message as received from the stream.
#[derive(Debug, Clone)]
pub struct Incoming {
    pub stream_sequence: u64,
    pub subject: String,
    pub payload: Bytes,
    /// When JetStream stored the message.
    pub published_at: DateTime<Utc>,
}

/// What a batch did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Applied {
    /// Events applied for the first time.
    pub new_events: usize,
    /// Events already applied before (redeliveries, re-publishes, repeats within the batch).
    pub duplicates: usize,
    /// Messages recorded as dead letters.
    pub dead_letters: usize,
}

#[derive(Default)]
struct CustomerDelta {
    purchases: i64,
    spent: i64,
    first: Option<DateTime<Utc>>,
    last: Option<DateTime<Utc>>,
}

/// Applies `batch` inside `tx` (not committed here). `time_zone` is the
/// store time zone's IANA name.
pub async fn apply_batch(
    tx: &Transaction<'_>,
    time_zone: &str,
    batch: &[Incoming],
) -> anyhow::Result<Applied> {
    let mut applied = Applied::default();
    let mut events: Vec<(PurchaseCreated, DateTime<Utc>)> = Vec::with_capacity(batch.len());
    let mut dead: Vec<(&Incoming, String)> = Vec::new();
    let mut seen = HashSet::with_capacity(batch.len());
    for message in batch {
        match supermarket_events::decode(&message.payload) {
            Ok(event) => {
                if seen.insert(event.event_id) {
                    events.push((event, message.published_at));
                } else {
                    applied.duplicates += 1;
                }
            }
            Err(error) => dead.push((message, error.to_string())),
        }
    }

    if !dead.is_empty() {
        applied.dead_letters = record_dead_letters(tx, &dead).await?;
    }
    if events.is_empty() {
        return Ok(applied);
    }

    let ids: Vec<Uuid> = events.iter().map(|(e, _)| e.event_id).collect();
    let new_ids: HashSet<Uuid> = tx
        .query(
            "INSERT INTO processed_events (event_id) SELECT id FROM unnest($1::uuid[]) AS t(id) ORDER BY id
             ON CONFLICT DO NOTHING RETURNING event_id",
            &[&ids],
        )
        .await
        .context("cannot record processed events")?
        .iter()
        .map(|row| row.get(0))
        .collect();
    applied.duplicates += events.len() - new_ids.len();
    events.retain(|(e, _)| new_ids.contains(&e.event_id));
    applied.new_events = events.len();
    if events.is_empty() {
        return Ok(applied);
    }

    // Customers (BTreeMap: key order).
    let mut customers: BTreeMap<Uuid, CustomerDelta> = BTreeMap::new();
    for (event, _) in &events {
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

    // Products.
    let mut products: BTreeMap<i32, (String, i64, i64)> = BTreeMap::new();
    let mut items_sold = 0i64;
    for (event, _) in &events {
        for item in &event.items {
            let entry = products
                .entry(item.product_id)
                .or_insert_with(|| (item.product_name.clone(), 0, 0));
            entry.0.clone_from(&item.product_name);
            entry.1 += 1;
            entry.2 += item.unit_price_cents;
            items_sold += 1;
        }
    }
    let product_ids: Vec<i32> = products.keys().copied().collect();
    let names: Vec<&str> = products.values().map(|p| p.0.as_str()).collect();
    let units: Vec<i64> = products.values().map(|p| p.1).collect();
    let revenue: Vec<i64> = products.values().map(|p| p.2).collect();
    tx.execute(
        "INSERT INTO product_sales AS s (product_id, product_name, units_sold, revenue_cents)
         SELECT * FROM unnest($1::int4[], $2::text[], $3::int8[], $4::int8[]) AS t(id, name, units, revenue) ORDER BY id
         ON CONFLICT (product_id) DO UPDATE SET
             product_name = EXCLUDED.product_name,
             units_sold = s.units_sold + EXCLUDED.units_sold,
             revenue_cents = s.revenue_cents + EXCLUDED.revenue_cents",
        &[&product_ids, &names, &units, &revenue],
    )
    .await
    .context("cannot update product_sales")?;

    // Branch days and hours, and customers per day (local to the store).
    let branches: Vec<&str> = events.iter().map(|(e, _)| e.branch_id.as_str()).collect();
    let times: Vec<DateTime<Utc>> = events.iter().map(|(e, _)| e.purchased_at).collect();
    let totals: Vec<i64> = events.iter().map(|(e, _)| e.total_cents).collect();
    let buyers: Vec<Uuid> = events.iter().map(|(e, _)| e.customer_id).collect();
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

    let batch_revenue: i64 = totals.iter().sum();
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
    let newest_purchase = times.iter().max().copied();
    let newest_publish = events.iter().map(|(_, published)| *published).max();
    tx.execute(
        "UPDATE pipeline_freshness SET events_applied = events_applied + $1,
             last_purchased_at = GREATEST(last_purchased_at, $2), last_published_at = GREATEST(last_published_at, $3),
             last_applied_at = clock_timestamp()",
        &[&(events.len() as i64), &newest_purchase, &newest_publish],
    )
    .await
    .context("cannot update pipeline_freshness")?;
    Ok(applied)
}

async fn record_dead_letters(
    tx: &Transaction<'_>,
    dead: &[(&Incoming, String)],
) -> anyhow::Result<usize> {
    let mut sorted: Vec<&(&Incoming, String)> = dead.iter().collect();
    sorted.sort_by_key(|(m, _)| m.stream_sequence);
    let seqs: Vec<i64> = sorted
        .iter()
        .map(|(m, _)| m.stream_sequence as i64)
        .collect();
    let subjects: Vec<&str> = sorted.iter().map(|(m, _)| m.subject.as_str()).collect();
    let payloads: Vec<&[u8]> = sorted.iter().map(|(m, _)| m.payload.as_ref()).collect();
    let errors: Vec<&str> = sorted.iter().map(|(_, e)| e.as_str()).collect();
    let inserted = tx
        .execute(
            "INSERT INTO dead_letters (stream_sequence, subject, payload, error)
             SELECT * FROM unnest($1::int8[], $2::text[], $3::bytea[], $4::text[])
             ON CONFLICT (stream_sequence) DO NOTHING",
            &[&seqs, &subjects, &payloads, &errors],
        )
        .await
        .context("cannot record dead letters")?;
    for (message, error) in &sorted {
        tracing::error!(stream_sequence = message.stream_sequence, subject = %message.subject, error = %error,
            "unreadable event recorded in dead_letters and acknowledged");
    }
    tx.execute(
        "UPDATE pipeline_freshness SET dead_letters = dead_letters + $1",
        &[&(inserted as i64)],
    )
    .await?;
    Ok(inserted as usize)
}
