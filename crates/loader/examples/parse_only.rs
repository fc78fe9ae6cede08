//! Parses and validates a purchases file without a database, to measure the
//! parser alone: `parse_only <purchases.csv> [products.csv] [branches.csv]`.

use std::fs::File;
use std::time::Instant;

use anyhow::Context;
use supermarket_domain::Branches;
use supermarket_loader::parse::{
    PurchaseRows, PurchaseRules, catalog_of, parse_branches, parse_products,
};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let purchases = args
        .next()
        .context("usage: parse_only <purchases.csv> [products.csv] [branches.csv]")?;
    let products = args
        .next()
        .unwrap_or_else(|| "data/products_list.csv".into());
    let branches = args
        .next()
        .unwrap_or_else(|| "data/supermarkets.csv".into());
    let products = parse_products(File::open(&products)?).map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let branches = parse_branches(File::open(&branches)?).map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let rules = PurchaseRules {
        catalog: catalog_of(&products).map_err(anyhow::Error::msg)?,
        branches: Branches::new(branches.into_iter().map(|b| (b.id, b.name)))?,
        zone: chrono_tz::Tz::UTC,
    };
    let started = Instant::now();
    let (mut good, mut bad) = (0u64, 0u64);
    for row in PurchaseRows::new(File::open(&purchases)?, rules)? {
        match row {
            Ok(_) => good += 1,
            Err(_) => bad += 1,
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "parsed {good} good and {bad} bad rows in {seconds:.2} s: {:.0} rows/s",
        (good + bad) as f64 / seconds
    );
    Ok(())
}
