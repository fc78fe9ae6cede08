//! Reading the whole purchase history back, for `supermarket analytics
//! rebuild`, which recomputes the analytics read models from it.
//!
//! Each `*_SQL` constant produces exactly the columns (names aside) and
//! column types of the read-model table it is named after, so the rebuild
//! can stream its rows with binary `COPY` straight into that table. They run
//! in one `REPEATABLE READ` snapshot whose `TimeZone` is the store time zone
//! ([`use_store_time_zone`]): `current_setting('TimeZone')` then gives the
//! same local days and hours as the consumer's `AT TIME ZONE $n`.

use chrono::{DateTime, Utc};
use tokio_postgres::GenericClient;

/// Every purchase id: the events the rebuilt models contain.
pub const PROCESSED_EVENTS_SQL: &str = "SELECT id FROM purchases";

pub const CUSTOMER_STATS_SQL: &str = "\
SELECT customer_id, count(*)::int8, sum(total_cents)::int8, min(purchased_at), max(purchased_at)
         FROM purchases GROUP BY customer_id";

pub const CUSTOMER_PURCHASE_HISTOGRAM_SQL: &str = "\
SELECT n, count(*)::int8 FROM (SELECT count(*)::int8 AS n FROM purchases GROUP BY customer_id) AS c GROUP BY n";

pub const PRODUCT_SALES_SQL: &str = "\
SELECT pr.id, pr.name, sum(pi.quantity)::int8, sum(pi.unit_price_cents * pi.quantity)::int8
         FROM purchase_items pi JOIN products pr ON pr.id = pi.product_id GROUP BY pr.id, pr.name";

pub const BRANCH_DAILY_SALES_SQL: &str = "\
SELECT (purchased_at AT TIME ZONE current_setting('TimeZone'))::date, branch_id, count(*)::int8, sum(total_cents)::int8
         FROM purchases GROUP BY 1, 2";

pub const BRANCH_HOURLY_SALES_SQL: &str = "\
SELECT (purchased_at AT TIME ZONE current_setting('TimeZone'))::date,
                extract(hour FROM purchased_at AT TIME ZONE current_setting('TimeZone'))::int2,
                branch_id, count(*)::int8, sum(total_cents)::int8
         FROM purchases GROUP BY 1, 2, 3";

pub const DAILY_CUSTOMERS_SQL: &str = "\
SELECT DISTINCT (purchased_at AT TIME ZONE current_setting('TimeZone'))::date, customer_id FROM purchases";

pub const DAILY_UNIQUE_CUSTOMERS_SQL: &str = "\
SELECT (purchased_at AT TIME ZONE current_setting('TimeZone'))::date, count(DISTINCT customer_id)::int8
         FROM purchases GROUP BY 1";

/// Sets the transaction's `TimeZone` to the store time zone (IANA name),
/// which the `*_SQL` constants read. Fails if PostgreSQL does not know it.
pub async fn use_store_time_zone(
    client: &impl GenericClient,
    time_zone: &str,
) -> Result<(), tokio_postgres::Error> {
    client
        .execute("SELECT set_config('TimeZone', $1, true)", &[&time_zone])
        .await
        .map(|_| ())
}

/// Chain-wide figures of the whole history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryTotals {
    pub purchases: i64,
    pub revenue_cents: i64,
    /// Distinct customers who bought.
    pub customers: i64,
    pub items_sold: i64,
    /// The newest purchase time, if any.
    pub newest_purchase_at: Option<DateTime<Utc>>,
}

pub async fn totals(client: &impl GenericClient) -> Result<HistoryTotals, tokio_postgres::Error> {
    let row = client
        .query_one(
            "SELECT count(*)::int8, coalesce(sum(total_cents), 0)::int8, count(DISTINCT customer_id)::int8,
                    (SELECT count(*) FROM purchase_items)::int8, max(purchased_at)
             FROM purchases",
            &[],
        )
        .await?;
    Ok(HistoryTotals {
        purchases: row.get(0),
        revenue_cents: row.get(1),
        customers: row.get(2),
        items_sold: row.get(3),
        newest_purchase_at: row.get(4),
    })
}
