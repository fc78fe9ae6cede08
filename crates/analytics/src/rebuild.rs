//! `supermarket analytics rebuild`: recomputes every read model from the
//! OLTP database and replaces the analytics tables in one transaction.
//!
//! Order matters for correctness while consumers keep running:
//! 1. the analytics transaction locks every read-model table (in the same
//!    order the consumer writes them, `processed_events` first) and
//!    truncates them: consumers wait;
//! 2. only then does the OLTP snapshot start (`REPEATABLE READ`), so every
//!    event a consumer applied before step 1 is in the snapshot;
//! 3. each table is streamed OLTP → analytics with binary `COPY`, and
//!    `processed_events` receives every purchase id of the snapshot, so a
//!    later delivery of any of them is a no-op; purchases committed after
//!    the snapshot are applied by the consumers once we commit.
//!
//! Dead letters are kept: they are not derived from OLTP.

use anyhow::Context as _;
use futures_util::{SinkExt as _, StreamExt as _};
use tokio_postgres::{IsolationLevel, Transaction};

use crate::timezone::StoreTimeZone;

/// Settings of the rebuild.
#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    #[command(flatten)]
    pub database: supermarket_storage::DatabaseArgs,
    #[command(flatten)]
    pub analytics: supermarket_storage::AnalyticsDatabaseArgs,
    #[command(flatten)]
    pub time_zone: StoreTimeZone,
}

/// What the rebuild found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rebuilt {
    pub purchases: i64,
    pub customers: i64,
}

/// Every table the consumer writes, in its lock order.
const TABLES: &str = "processed_events, customer_stats, customer_purchase_histogram, product_sales, branch_daily_sales, \
                      branch_hourly_sales, daily_customers, daily_unique_customers, sales_totals, pipeline_freshness";

/// (target table and columns, OLTP query producing exactly those column types).
/// `current_setting('TimeZone')` is the store time zone, set for the snapshot.
const COPIES: [(&str, &str); 8] = [
    ("processed_events (event_id)", "SELECT id FROM purchases"),
    (
        "customer_stats (customer_id, purchases, total_spent_cents, first_purchase_at, last_purchase_at)",
        "SELECT customer_id, count(*)::int8, sum(total_cents)::int8, min(purchased_at), max(purchased_at)
         FROM purchases GROUP BY customer_id",
    ),
    (
        "customer_purchase_histogram (purchases, customers)",
        "SELECT n, count(*)::int8 FROM (SELECT count(*)::int8 AS n FROM purchases GROUP BY customer_id) AS c GROUP BY n",
    ),
    (
        "product_sales (product_id, product_name, units_sold, revenue_cents)",
        "SELECT pr.id, pr.name, sum(pi.quantity)::int8, sum(pi.unit_price_cents * pi.quantity)::int8
         FROM purchase_items pi JOIN products pr ON pr.id = pi.product_id GROUP BY pr.id, pr.name",
    ),
    (
        "branch_daily_sales (day, branch_id, purchases, revenue_cents)",
        "SELECT (purchased_at AT TIME ZONE current_setting('TimeZone'))::date, branch_id, count(*)::int8, sum(total_cents)::int8
         FROM purchases GROUP BY 1, 2",
    ),
    (
        "branch_hourly_sales (day, hour, branch_id, purchases, revenue_cents)",
        "SELECT (purchased_at AT TIME ZONE current_setting('TimeZone'))::date,
                extract(hour FROM purchased_at AT TIME ZONE current_setting('TimeZone'))::int2,
                branch_id, count(*)::int8, sum(total_cents)::int8
         FROM purchases GROUP BY 1, 2, 3",
    ),
    (
        "daily_customers (day, customer_id)",
        "SELECT DISTINCT (purchased_at AT TIME ZONE current_setting('TimeZone'))::date, customer_id FROM purchases",
    ),
    (
        "daily_unique_customers (day, customers)",
        "SELECT (purchased_at AT TIME ZONE current_setting('TimeZone'))::date, count(DISTINCT customer_id)::int8
         FROM purchases GROUP BY 1",
    ),
];

/// `supermarket analytics rebuild`.
pub async fn run(args: Args) -> anyhow::Result<()> {
    supermarket_http::telemetry::init();
    let mut oltp = supermarket_storage::connect_waiting(
        &args.database.database_url,
        "DATABASE_URL",
        args.database.db_wait(),
    )
    .await?;
    let mut analytics = supermarket_storage::connect_waiting(
        &args.analytics.analytics_database_url,
        "ANALYTICS_DATABASE_URL",
        args.analytics.analytics_db_wait(),
    )
    .await?;
    let started = std::time::Instant::now();
    let rebuilt = rebuild(&mut oltp, &mut analytics, &args.time_zone).await?;
    tracing::info!(
        purchases = rebuilt.purchases,
        customers = rebuilt.customers,
        elapsed_ms = started.elapsed().as_millis() as u64,
        time_zone = args.time_zone.name(),
        "analytics read models rebuilt"
    );
    println!(
        "rebuilt the read models from {} purchases of {} customers",
        rebuilt.purchases, rebuilt.customers
    );
    Ok(())
}

/// Replaces every read model with one computed from `oltp`.
pub async fn rebuild(
    oltp: &mut tokio_postgres::Client,
    analytics: &mut tokio_postgres::Client,
    time_zone: &StoreTimeZone,
) -> anyhow::Result<Rebuilt> {
    let target = analytics.transaction().await?;
    target
        .batch_execute(&format!("LOCK TABLE {TABLES} IN ACCESS EXCLUSIVE MODE"))
        .await
        .context("cannot lock the read models")?;
    target
        .batch_execute(
            "TRUNCATE processed_events, customer_stats, customer_purchase_histogram, product_sales, branch_daily_sales,
                      branch_hourly_sales, daily_customers, daily_unique_customers",
        )
        .await?;

    let source = oltp
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await?;
    source
        .execute(
            "SELECT set_config('TimeZone', $1, true)",
            &[&time_zone.name()],
        )
        .await
        .context("STORE_TIMEZONE unknown to PostgreSQL")?;
    for (table, query) in COPIES {
        copy(&source, &target, table, query)
            .await
            .with_context(|| format!("cannot rebuild {table}"))?;
    }
    let totals = source
        .query_one(
            "SELECT count(*)::int8, coalesce(sum(total_cents), 0)::int8, count(DISTINCT customer_id)::int8,
                    (SELECT count(*) FROM purchase_items)::int8, max(purchased_at)
             FROM purchases",
            &[],
        )
        .await?;
    let (purchases, revenue, customers, items): (i64, i64, i64, i64) =
        (totals.get(0), totals.get(1), totals.get(2), totals.get(3));
    let newest: Option<chrono::DateTime<chrono::Utc>> = totals.get(4);
    target
        .execute(
            "UPDATE sales_totals SET purchases = $1, revenue_cents = $2, customers = $3, items_sold = $4",
            &[&purchases, &revenue, &customers, &items],
        )
        .await?;
    target
        .execute(
            "UPDATE pipeline_freshness SET events_applied = $1, last_purchased_at = $2, last_published_at = NULL,
                 last_applied_at = clock_timestamp()",
            &[&purchases, &newest],
        )
        .await?;
    target
        .commit()
        .await
        .context("cannot commit the rebuilt read models")?;
    source.commit().await?;
    Ok(Rebuilt {
        purchases,
        customers,
    })
}

/// Streams `query`'s rows from OLTP into `table` with binary COPY.
async fn copy(
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
