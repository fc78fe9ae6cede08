//! The lake check: every OLTP purchase in the lake exactly once, with the
//! same fields and in the right partition.

use std::collections::HashMap;
use std::collections::HashSet;

use crate::chaos::lake::LakeRow;

use super::{Stored, Verdict};

pub(super) fn check_lake(stored: &[Stored], lake: &[LakeRow], verdict: &mut Verdict) {
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
