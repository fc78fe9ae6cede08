//! The checks after the run, once the pipeline has drained: every
//! acknowledged sale is in OLTP as acknowledged, once; the analytics read
//! models equal the ground truth recomputed here from the OLTP rows (in
//! Rust, with its own time-zone arithmetic, not the SQL the services use);
//! the lake holds every purchase exactly once; the outbox is empty.
//!
//! Module map:
//! - this file: [`Verdict`], [`verify`] and the OLTP checks (read through
//!   `supermarket_storage::oltp::audit`).
//! - [`analytics`]: the ground truth and its comparison with every read model.
//! - [`lake`]: every purchase in the lake once, as stored.

mod analytics;
mod lake;

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use supermarket_storage::oltp::audit;
use tokio_postgres::Client;
use uuid::Uuid;

use crate::chaos::lake::LakeRow;
use crate::chaos::tills::Ledger;

/// A purchase as OLTP stores it.
#[derive(Debug, Clone)]
pub(crate) struct Stored {
    pub(crate) id: Uuid,
    pub(crate) key: Option<Uuid>,
    pub(crate) branch: String,
    pub(crate) customer: Uuid,
    pub(crate) at: DateTime<Utc>,
    pub(crate) total: i64,
    pub(crate) items: Vec<(i32, i64)>,
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
    verdict.outbox_left = audit::outbox_rows(oltp).await?;
    if verdict.outbox_left != 0 {
        verdict.problems.push(format!(
            "the outbox still holds {} rows",
            verdict.outbox_left
        ));
    }
    let names = audit::product_names(oltp).await?;
    analytics::check_analytics(&stored, &names, analytics, time_zone, &mut verdict).await?;
    lake::check_lake(&stored, lake, &mut verdict);
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
    Ok(audit::stored_purchases(oltp)
        .await?
        .into_iter()
        .map(|purchase| Stored {
            id: purchase.id,
            key: purchase.idempotency_key,
            branch: purchase.branch_id,
            customer: purchase.customer_id,
            at: purchase.purchased_at,
            total: purchase.total_cents,
            items: purchase.items,
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
