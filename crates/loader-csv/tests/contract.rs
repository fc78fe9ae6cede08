//! The fuzz targets' checks (`supermarket_loader_csv::contract`) over the
//! fuzzer's seed files and the repository's data files, so that the checks
//! themselves run with the test suite, without cargo-fuzz.

use std::fs;
use std::path::{Path, PathBuf};

use supermarket_loader_csv::contract;

const PRODUCTS: &[u8] = include_bytes!("../../../data/products_list.csv");
const BRANCHES: &[u8] = include_bytes!("../../../data/supermarkets.csv");

fn repository() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

fn seeds(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = repository().join("fuzz/seeds").join(target);
    let mut files: Vec<_> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no seeds in {}", dir.display());
    files
        .into_iter()
        .map(|path| {
            let bytes = fs::read(&path).expect("a readable seed");
            (path, bytes)
        })
        .collect()
}

/// What the `purchases` fuzz target does with one input.
fn purchases_target(input: &[u8]) {
    let rules = contract::rules(PRODUCTS, BRANCHES, contract::zone_for(input));
    contract::purchases(input, &rules);
}

/// What the `files` fuzz target does with one input.
fn files_target(input: &[u8]) {
    let [products, branches, purchases] = contract::split_files(input);
    contract::files(products, branches, purchases, contract::zone_for(input));
}

#[test]
fn the_purchases_seeds_keep_the_contract() {
    for (path, bytes) in seeds("purchases") {
        eprintln!("{}", path.display());
        purchases_target(&bytes);
    }
}

#[test]
fn the_files_seeds_keep_the_contract() {
    for (path, bytes) in seeds("files") {
        eprintln!("{}", path.display());
        files_target(&bytes);
    }
}

#[test]
fn the_repository_files_keep_the_contract_in_every_zone() {
    let purchases = fs::read(repository().join("data/purchases.csv")).expect("data/purchases.csv");
    for zone in contract::ZONES {
        contract::files(PRODUCTS, BRANCHES, &purchases, zone);
    }
}

#[test]
fn line_count_knows_the_three_line_ends() {
    assert_eq!(contract::line_count(b""), 1);
    assert_eq!(contract::line_count(b"a"), 1);
    assert_eq!(contract::line_count(b"a\n"), 2);
    assert_eq!(contract::line_count(b"a\r\nb"), 2);
    assert_eq!(contract::line_count(b"a\rb\r"), 3);
    assert_eq!(contract::line_count(b"\r\r\n\n"), 4);
}
