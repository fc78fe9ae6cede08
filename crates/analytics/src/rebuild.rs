//! `supermarket analytics rebuild`: recomputes every read model from the
//! OLTP database and replaces the analytics tables in one transaction.
//!
//! Order matters for correctness while consumers keep running:
//! 1. the analytics transaction locks every read-model table (in the same
//!    order the consumer writes them, `processed_events` first) and
//!    truncates them: consumers wait;
//! 2. only then does the OLTP snapshot start (`REPEATABLE READ`), so every
//!    event a consumer applied before step 1 is in the snapshot;
//! 3. each table is streamed OLTP → analytics with binary `COPY` (each
//!    read model's `rebuild` in [`crate::read_models`], from the queries of
//!    [`supermarket_storage::oltp::history`]), and `processed_events`
//!    receives every purchase id of the snapshot, so a later delivery of
//!    any of them is a no-op; purchases committed after the snapshot are
//!    applied by the consumers once we commit.
//!
//! Dead letters are kept: they are not derived from OLTP.

use anyhow::Context as _;
use supermarket_storage::oltp::history;
use tokio_postgres::IsolationLevel;

use crate::read_models;
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

/// `supermarket analytics rebuild`.
pub async fn run(args: Args) -> anyhow::Result<()> {
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
    history::use_store_time_zone(&source, time_zone.name())
        .await
        .context("STORE_TIMEZONE unknown to PostgreSQL")?;
    // The consumer's order (crate::apply): the tables are locked already,
    // but one order in both places makes them easy to compare.
    read_models::copy(
        &source,
        &target,
        "processed_events (event_id)",
        history::PROCESSED_EVENTS_SQL,
    )
    .await?;
    read_models::customers::rebuild(&source, &target).await?;
    read_models::products::rebuild(&source, &target).await?;
    read_models::branch_sales::rebuild(&source, &target).await?;
    read_models::daily_customers::rebuild(&source, &target).await?;
    let totals = history::totals(&source).await?;
    read_models::totals::rebuild(&target, &totals).await?;
    read_models::freshness::rebuild(&target, &totals).await?;
    target
        .commit()
        .await
        .context("cannot commit the rebuilt read models")?;
    source.commit().await?;
    Ok(Rebuilt {
        purchases: totals.purchases,
        customers: totals.customers,
    })
}
