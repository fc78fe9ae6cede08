//! The checks after the run, once the pipeline has drained: every
//! acknowledged sale is in OLTP as acknowledged, once; the analytics read
//! models equal the ground truth recomputed here from the OLTP rows (in
//! Rust, with its own time-zone arithmetic, not the SQL the services use);
//! the lake holds every purchase exactly once; the outbox is empty.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt::Debug;

use anyhow::Context as _;
use chrono::{DateTime, NaiveDate, Timelike as _, Utc};
use chrono_tz::Tz;
use tokio_postgres::Client;
use uuid::Uuid;

use crate::chaos::lake::LakeRow;
use crate::chaos::tills::Ledger;

/// A purchase as OLTP stores it.
#[derive(Debug, Clone)]
struct Stored {
    id: Uuid,
    key: Option<Uuid>,
    branch: String,
    customer: Uuid,
    at: DateTime<Utc>,
    total: i64,
    items: Vec<(i32, i64)>,
}

/// What the checks found. `problems` lists every failed check in words.
#[derive(Debug, Default, Clone)]
pub struct Verdict {
    pub acknowledged: usize,
    pub stored: usize,
    /// Acknowledged sales missing from OLTP.
    pub lost_oltp: u64,
    /// Purchases missing from the analytics read models (counted per
    /// customer: each missing application is one purchase fewer).
    pub lost_analytics: u64,
    /// Purchases missing from the lake.
    pub lost_lake: u64,
    /// A key with two purchases, a repeat that stored anew, an invalid sale stored.
    pub double_oltp: u64,
    /// Purchases applied twice to the read models.
    pub double_analytics: u64,
    /// Extra rows in the lake (a purchase twice, or one OLTP does not have).
    pub double_lake: u64,
    /// Sales the tills never got an answer for, and how many of them are stored.
    pub unacknowledged: usize,
    pub unacknowledged_stored: usize,
    pub lake_rows: usize,
    pub lake_files: usize,
    pub outbox_left: i64,
    pub problems: Vec<String>,
}

impl Verdict {
    pub fn lost(&self) -> u64 {
        self.lost_oltp + self.lost_analytics + self.lost_lake
    }

    pub fn double_counted(&self) -> u64 {
        self.double_oltp + self.double_analytics + self.double_lake
    }
}

/// Runs every check.
pub async fn verify(
    ledger: &Ledger,
    oltp: &Client,
    analytics: &Client,
    lake: &[LakeRow],
    time_zone: Tz,
) -> anyhow::Result<Verdict> {
    let stored = read_oltp(oltp).await?;
    let mut verdict = Verdict {
        acknowledged: ledger.acked.len(),
        stored: stored.len(),
        ..Verdict::default()
    };
    check_oltp(ledger, &stored, &mut verdict);
    verdict.outbox_left = oltp
        .query_one("SELECT count(*) FROM outbox", &[])
        .await?
        .get(0);
    if verdict.outbox_left != 0 {
        verdict.problems.push(format!(
            "the outbox still holds {} rows",
            verdict.outbox_left
        ));
    }
    let names: HashMap<i32, String> = oltp
        .query("SELECT id, name FROM products", &[])
        .await?
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();
    check_analytics(&stored, &names, analytics, time_zone, &mut verdict).await?;
    check_lake(&stored, lake, &mut verdict);
    if !ledger.unexpected.is_empty() {
        verdict.problems.push(format!(
            "{} unexpected answers, e.g. {}",
            ledger.unexpected.len(),
            ledger.unexpected[0]
        ));
    }
    Ok(verdict)
}

async fn read_oltp(oltp: &Client) -> anyhow::Result<Vec<Stored>> {
    let rows = oltp
        .query(
            "SELECT p.id, p.idempotency_key, p.branch_id, p.customer_id, p.purchased_at, p.total_cents,
                    coalesce(array_agg(i.product_id ORDER BY i.product_id) FILTER (WHERE i.product_id IS NOT NULL), '{}'),
                    coalesce(array_agg(i.unit_price_cents::int8 ORDER BY i.product_id) FILTER (WHERE i.product_id IS NOT NULL), '{}')
             FROM purchases p LEFT JOIN purchase_items i ON i.purchase_id = p.id
             GROUP BY p.id",
            &[],
        )
        .await
        .context("cannot read the OLTP purchases")?;
    Ok(rows
        .iter()
        .map(|row| {
            let products: Vec<i32> = row.get(6);
            let prices: Vec<i64> = row.get(7);
            Stored {
                id: row.get(0),
                key: row.get(1),
                branch: row.get(2),
                customer: row.get(3),
                at: row.get(4),
                total: row.get(5),
                items: products.into_iter().zip(prices).collect(),
            }
        })
        .collect())
}

fn check_oltp(ledger: &Ledger, stored: &[Stored], verdict: &mut Verdict) {
    let mut by_key: HashMap<Uuid, Vec<&Stored>> = HashMap::new();
    for purchase in stored {
        if let Some(key) = purchase.key {
            by_key.entry(key).or_default().push(purchase);
        }
        if purchase.items.is_empty()
            || purchase.total != purchase.items.iter().map(|(_, price)| price).sum::<i64>()
        {
            verdict.problems.push(format!(
                "purchase {} has {} items and a total of {} that is not their sum",
                purchase.id,
                purchase.items.len(),
                purchase.total
            ));
        }
    }
    for (key, purchases) in &by_key {
        if purchases.len() > 1 {
            verdict.double_oltp += (purchases.len() - 1) as u64;
            verdict.problems.push(format!(
                "idempotency key {key} has {} purchases",
                purchases.len()
            ));
        }
    }
    let mut mismatched = Vec::new();
    for ack in &ledger.acked {
        match by_key.get(&ack.key).and_then(|p| p.first()) {
            None => verdict.lost_oltp += 1,
            Some(purchase) => {
                let same = purchase.id == ack.purchase_id
                    && purchase.branch == ack.branch_id
                    && purchase.customer == ack.customer_id
                    && purchase.total == ack.total_cents
                    && purchase.items == ack.items;
                if !same {
                    mismatched.push(format!(
                        "sale {} acknowledged as {ack:?}, stored as {purchase:?}",
                        ack.key
                    ));
                }
            }
        }
    }
    if verdict.lost_oltp > 0 {
        verdict.problems.push(format!(
            "{} acknowledged sales are not in OLTP",
            verdict.lost_oltp
        ));
    }
    if !mismatched.is_empty() {
        verdict.problems.push(format!(
            "{} acknowledged sales are stored otherwise than acknowledged, e.g. {}",
            mismatched.len(),
            mismatched[0]
        ));
    }
    // A repeat that stored a second purchase, or an invalid basket stored.
    verdict.double_oltp += ledger.replay_mismatches.len() as u64;
    if let Some(first) = ledger.replay_mismatches.first() {
        verdict.problems.push(format!(
            "{} repeated sales were not replays, e.g. {first}",
            ledger.replay_mismatches.len()
        ));
    }
    let invalid_stored = ledger
        .invalid
        .iter()
        .filter(|key| by_key.contains_key(key))
        .count();
    if invalid_stored > 0 {
        verdict.double_oltp += invalid_stored as u64;
        verdict
            .problems
            .push(format!("{invalid_stored} invalid baskets are stored"));
    }
    verdict.unacknowledged = ledger.unacknowledged.len();
    verdict.unacknowledged_stored = ledger
        .unacknowledged
        .iter()
        .filter(|key| by_key.contains_key(key))
        .count();
    // Every stored purchase comes from a sale of the tills.
    let known: HashSet<Uuid> = ledger
        .acked
        .iter()
        .map(|a| a.key)
        .chain(ledger.unacknowledged.iter().copied())
        .collect();
    let strays: Vec<&Stored> = stored
        .iter()
        .filter(|p| p.key.is_none_or(|key| !known.contains(&key)))
        .collect();
    if let Some(first) = strays.first() {
        verdict.double_oltp += strays.len() as u64;
        verdict.problems.push(format!(
            "{} purchases in OLTP come from no sale of the tills, e.g. {first:?}",
            strays.len()
        ));
    }
}

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

async fn check_analytics(
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

fn check_lake(stored: &[Stored], lake: &[LakeRow], verdict: &mut Verdict) {
    verdict.lake_rows = lake.len();
    verdict.lake_files = lake
        .iter()
        .map(|row| row.file.as_str())
        .collect::<HashSet<_>>()
        .len();
    let by_id: HashMap<String, &Stored> = stored
        .iter()
        .map(|p| (p.id.hyphenated().to_string(), p))
        .collect();
    let mut seen: HashMap<&str, usize> = HashMap::new();
    let mut mismatched = Vec::new();
    for row in lake {
        *seen.entry(row.event_id.as_str()).or_default() += 1;
        let Some(purchase) = by_id.get(&row.event_id) else {
            verdict.double_lake += 1;
            continue;
        };
        let items: Vec<(i32, i64)> = {
            let mut items: Vec<(i32, i64)> = row
                .items
                .iter()
                .map(|(p, c)| (i32::try_from(*p).unwrap_or(-1), *c))
                .collect();
            items.sort_unstable();
            items
        };
        let same = row.purchase_id == row.event_id
            && row.branch_id == purchase.branch
            && row.customer_id == purchase.customer.hyphenated().to_string()
            && row.purchased_at == purchase.at.timestamp_micros()
            && row.total_cents == purchase.total
            && items == purchase.items
            && row.date_partition == purchase.at.format("%Y-%m-%d").to_string()
            && row.branch_partition == purchase.branch;
        if !same {
            mismatched.push(format!("{row:?} for {purchase:?}"));
        }
    }
    verdict.double_lake += seen.values().map(|n| (*n - 1) as u64).sum::<u64>();
    verdict.lost_lake = by_id
        .keys()
        .filter(|id| !seen.contains_key(id.as_str()))
        .count() as u64;
    if verdict.lost_lake + verdict.double_lake > 0 {
        verdict.problems.push(format!(
            "lake: {} purchases missing, {} extra rows",
            verdict.lost_lake, verdict.double_lake
        ));
    }
    if let Some(first) = mismatched.first() {
        verdict.problems.push(format!(
            "lake: {} rows differ from OLTP, e.g. {first}",
            mismatched.len()
        ));
    }
}
