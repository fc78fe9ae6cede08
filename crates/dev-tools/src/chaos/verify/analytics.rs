//! The analytics checks: the read models recomputed here from the OLTP rows
//! (in Rust, with its own time-zone arithmetic, not the SQL the services
//! use) and compared row by row with what the consumer wrote.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt::Debug;

use chrono::{DateTime, NaiveDate, Timelike as _, Utc};
use chrono_tz::Tz;
use tokio_postgres::Client;
use uuid::Uuid;

use super::{Stored, Verdict};

/// The read models as the ground truth says they must be.
#[derive(Default)]
struct Truth {
    customers: BTreeMap<Uuid, (i64, i64, DateTime<Utc>, DateTime<Utc>)>,
    histogram: BTreeMap<i64, i64>,
    products: BTreeMap<i32, (String, i64, i64)>,
    daily: BTreeMap<(NaiveDate, String), (i64, i64)>,
    hourly: BTreeMap<(NaiveDate, i16, String), (i64, i64)>,
    daily_customers: BTreeSet<(NaiveDate, Uuid)>,
    daily_unique: BTreeMap<NaiveDate, i64>,
    totals: (i64, i64, i64, i64),
}

fn ground_truth(stored: &[Stored], names: &HashMap<i32, String>, time_zone: Tz) -> Truth {
    let mut truth = Truth::default();
    let mut items_sold = 0i64;
    for purchase in stored {
        let entry =
            truth
                .customers
                .entry(purchase.customer)
                .or_insert((0, 0, purchase.at, purchase.at));
        entry.0 += 1;
        entry.1 += purchase.total;
        entry.2 = entry.2.min(purchase.at);
        entry.3 = entry.3.max(purchase.at);
        for (product, price) in &purchase.items {
            let name = names.get(product).cloned().unwrap_or_default();
            let product = truth.products.entry(*product).or_insert((name, 0, 0));
            product.1 += 1;
            product.2 += price;
            items_sold += 1;
        }
        let local = purchase.at.with_timezone(&time_zone);
        let day = local.date_naive();
        let hour = i16::try_from(local.hour()).unwrap_or_default();
        let daily = truth
            .daily
            .entry((day, purchase.branch.clone()))
            .or_default();
        daily.0 += 1;
        daily.1 += purchase.total;
        let hourly = truth
            .hourly
            .entry((day, hour, purchase.branch.clone()))
            .or_default();
        hourly.0 += 1;
        hourly.1 += purchase.total;
        truth.daily_customers.insert((day, purchase.customer));
    }
    for (count, ..) in truth.customers.values() {
        *truth.histogram.entry(*count).or_default() += 1;
    }
    for (day, _) in &truth.daily_customers {
        *truth.daily_unique.entry(*day).or_default() += 1;
    }
    let revenue = stored.iter().map(|p| p.total).sum();
    truth.totals = (
        stored.len() as i64,
        revenue,
        truth.customers.len() as i64,
        items_sold,
    );
    truth
}

/// Compares two maps; a problem naming the table for any difference.
fn compare<K: Ord + Debug, V: PartialEq + Debug>(
    table: &str,
    truth: &BTreeMap<K, V>,
    actual: &BTreeMap<K, V>,
    problems: &mut Vec<String>,
) {
    let mut differences = Vec::new();
    for (key, expected) in truth {
        match actual.get(key) {
            Some(found) if found == expected => {}
            found => differences.push(format!("{key:?}: expected {expected:?}, found {found:?}")),
        }
    }
    for (key, found) in actual {
        if !truth.contains_key(key) {
            differences.push(format!("{key:?}: expected nothing, found {found:?}"));
        }
    }
    if !differences.is_empty() {
        problems.push(format!(
            "{table}: {} rows differ from the ground truth, e.g. {}",
            differences.len(),
            differences[..differences.len().min(3)].join("; ")
        ));
    }
}

pub(super) async fn check_analytics(
    stored: &[Stored],
    names: &HashMap<i32, String>,
    analytics: &Client,
    time_zone: Tz,
    verdict: &mut Verdict,
) -> anyhow::Result<()> {
    let truth = ground_truth(stored, names, time_zone);
    let problems = &mut verdict.problems;

    let applied: HashSet<Uuid> = analytics
        .query("SELECT event_id FROM processed_events", &[])
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let ids: HashSet<Uuid> = stored.iter().map(|p| p.id).collect();
    let unapplied = ids.difference(&applied).count();
    let phantom = applied.difference(&ids).count();
    if unapplied + phantom > 0 {
        problems.push(format!("processed_events: {unapplied} purchases never applied, {phantom} applied ids unknown to OLTP"));
    }

    let customers: BTreeMap<Uuid, (i64, i64, DateTime<Utc>, DateTime<Utc>)> = analytics
        .query("SELECT customer_id, purchases, total_spent_cents, first_purchase_at, last_purchase_at FROM customer_stats", &[])
        .await?
        .iter()
        .map(|r| (r.get(0), (r.get(1), r.get(2), r.get(3), r.get(4))))
        .collect();
    for (customer, (expected, ..)) in &truth.customers {
        let found = customers.get(customer).map_or(0, |c| c.0);
        verdict.lost_analytics += u64::try_from(expected - found).unwrap_or(0);
        verdict.double_analytics += u64::try_from(found - expected).unwrap_or(0);
    }
    for (customer, (found, ..)) in &customers {
        if !truth.customers.contains_key(customer) {
            verdict.double_analytics += u64::try_from(*found).unwrap_or(0);
        }
    }
    compare("customer_stats", &truth.customers, &customers, problems);

    let histogram: BTreeMap<i64, i64> = analytics
        .query(
            "SELECT purchases, customers FROM customer_purchase_histogram",
            &[],
        )
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    compare(
        "customer_purchase_histogram (unique and loyal customers)",
        &truth.histogram,
        &histogram,
        problems,
    );

    let products: BTreeMap<i32, (String, i64, i64)> = analytics
        .query(
            "SELECT product_id, product_name, units_sold, revenue_cents FROM product_sales",
            &[],
        )
        .await?
        .iter()
        .map(|r| (r.get(0), (r.get(1), r.get(2), r.get(3))))
        .collect();
    compare("product_sales", &truth.products, &products, problems);

    let daily: BTreeMap<(NaiveDate, String), (i64, i64)> = analytics
        .query(
            "SELECT day, branch_id, purchases, revenue_cents FROM branch_daily_sales",
            &[],
        )
        .await?
        .iter()
        .map(|r| ((r.get(0), r.get(1)), (r.get(2), r.get(3))))
        .collect();
    compare("branch_daily_sales", &truth.daily, &daily, problems);

    let hourly: BTreeMap<(NaiveDate, i16, String), (i64, i64)> = analytics
        .query(
            "SELECT day, hour, branch_id, purchases, revenue_cents FROM branch_hourly_sales",
            &[],
        )
        .await?
        .iter()
        .map(|r| ((r.get(0), r.get(1), r.get(2)), (r.get(3), r.get(4))))
        .collect();
    compare("branch_hourly_sales", &truth.hourly, &hourly, problems);

    let daily_customers: BTreeMap<(NaiveDate, Uuid), ()> = analytics
        .query("SELECT day, customer_id FROM daily_customers", &[])
        .await?
        .iter()
        .map(|r| ((r.get(0), r.get(1)), ()))
        .collect();
    let truth_daily_customers: BTreeMap<(NaiveDate, Uuid), ()> =
        truth.daily_customers.iter().map(|k| (*k, ())).collect();
    compare(
        "daily_customers",
        &truth_daily_customers,
        &daily_customers,
        problems,
    );

    let daily_unique: BTreeMap<NaiveDate, i64> = analytics
        .query("SELECT day, customers FROM daily_unique_customers", &[])
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    compare(
        "daily_unique_customers",
        &truth.daily_unique,
        &daily_unique,
        problems,
    );

    let row = analytics
        .query_one(
            "SELECT purchases, revenue_cents, customers, items_sold FROM sales_totals",
            &[],
        )
        .await?;
    let totals: (i64, i64, i64, i64) = (row.get(0), row.get(1), row.get(2), row.get(3));
    compare(
        "sales_totals",
        &BTreeMap::from([((), truth.totals)]),
        &BTreeMap::from([((), totals)]),
        problems,
    );

    let row = analytics.query_one("SELECT events_applied, dead_letters, (SELECT count(*) FROM dead_letters) FROM pipeline_freshness", &[]).await?;
    let (events_applied, dead_counted, dead_rows): (i64, i64, i64) =
        (row.get(0), row.get(1), row.get(2));
    if events_applied != stored.len() as i64 {
        problems.push(format!(
            "pipeline_freshness counts {events_applied} events applied for {} purchases",
            stored.len()
        ));
    }
    if dead_counted + dead_rows > 0 {
        problems.push(format!("{dead_rows} dead letters"));
    }
    if verdict.lost_analytics + verdict.double_analytics > 0 {
        verdict.problems.push(format!(
            "analytics: {} purchases lost, {} counted twice",
            verdict.lost_analytics, verdict.double_analytics
        ));
    }
    Ok(())
}
