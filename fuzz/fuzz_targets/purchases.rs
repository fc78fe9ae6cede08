//! The purchases file against the repository's catalog and branches, read
//! in a time zone picked by the input's length. See
//! `supermarket_loader_csv::contract` for what is checked.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use supermarket_loader_csv::PurchaseRules;
use supermarket_loader_csv::contract::{self, ZONES};

static RULES: LazyLock<Vec<PurchaseRules>> = LazyLock::new(|| {
    ZONES
        .iter()
        .map(|&zone| {
            contract::rules(
                include_bytes!("../../data/products_list.csv"),
                include_bytes!("../../data/supermarkets.csv"),
                zone,
            )
        })
        .collect()
});

fuzz_target!(|data: &[u8]| {
    let zone = contract::zone_for(data);
    let rules = RULES
        .iter()
        .find(|r| r.zone == zone)
        .expect("one rule set per zone");
    contract::purchases(data, rules);
});
