//! Writes a synthetic purchases file in the original format, for benchmarks.
//!
//! UTF-8 BOM, CRLF, `supermarket_id,timestamp,user_id,items_list,total_amount`;
//! three branches, the products of `data/products_list.csv` (read at start,
//! so totals match the catalog), 2 to 4 distinct items (milk, eggs and bread
//! far more often than the rest, as in the original), returning customers
//! drawn with a skew (a few buy often, most rarely) and random microsecond
//! timestamps over a year, in no particular order.
//!
//! `cargo run --release -p supermarket-loader --example gen_purchases -- \
//!     --rows 10000000 --customers 3000000 --out bench/out/purchases.csv`

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

use anyhow::Context;
use chrono::{DateTime, Utc};
use clap::Parser;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use uuid::Uuid;

#[derive(Parser, Debug)]
struct Args {
    /// Purchase rows to write.
    #[arg(long, default_value_t = 1_000_000)]
    rows: u64,
    /// Distinct customers to draw from (default: 30% of the rows).
    #[arg(long)]
    customers: Option<u64>,
    /// The products file whose names and prices the rows use.
    #[arg(long, default_value = "data/products_list.csv")]
    products: PathBuf,
    #[arg(long)]
    out: PathBuf,
    /// Seed of the random generator: the same seed writes the same file.
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

/// Relative popularity, by product position in the file: the first three
/// (milk, bread, eggs in the original) dominate.
fn weight(position: usize) -> u32 {
    if position < 3 { 30 } else { 2 }
}

/// A stable customer id for a customer number (UUIDv4 layout).
fn customer_id(number: u64) -> Uuid {
    let mix = |mut z: u64| {
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let bytes = ((u128::from(mix(number)) << 64) | u128::from(mix(number ^ 0x9e37_79b9_7f4a_7c15)))
        .to_be_bytes();
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

/// `450` → `4.5`, `600` → `6`, `1225` → `12.25`: the files' style.
fn amount(cents: i64) -> String {
    match cents % 100 {
        0 => format!("{}", cents / 100),
        c if c % 10 == 0 => format!("{}.{}", cents / 100, c / 10),
        c => format!("{}.{c:02}", cents / 100),
    }
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let products = supermarket_loader::parse::parse_products(
        File::open(&args.products)
            .with_context(|| format!("cannot open {}", args.products.display()))?,
    )
    .map_err(|errors| anyhow::anyhow!("bad products file: {errors:?}"))?;
    let customers = args.customers.unwrap_or(args.rows * 3 / 10).max(1);
    let branches = ["SMKT001", "SMKT002", "SMKT003"];
    let weights: Vec<u32> = (0..products.len()).map(weight).collect();
    let weight_sum: u32 = weights.iter().sum();
    let start = DateTime::parse_from_rfc3339("2024-06-01T00:00:00Z")?.timestamp_micros();
    let year_micros: i64 = 365 * 24 * 3600 * 1_000_000;

    let mut rng = StdRng::seed_from_u64(args.seed);
    let mut out = BufWriter::with_capacity(
        1 << 20,
        File::create(&args.out).with_context(|| format!("cannot create {}", args.out.display()))?,
    );
    out.write_all(b"\xEF\xBB\xBFsupermarket_id,timestamp,user_id,items_list,total_amount\r\n")?;
    let mut chosen: Vec<usize> = Vec::with_capacity(4);
    for _ in 0..args.rows {
        let branch = branches[rng.random_range(0..branches.len())];
        let at = DateTime::<Utc>::from_timestamp_micros(start + rng.random_range(0..year_micros))
            .context("time")?;
        // Squaring a uniform draw skews toward low numbers: regulars.
        let u: f64 = rng.random();
        let customer = customer_id(((u * u) * customers as f64) as u64);
        let count = rng.random_range(2..=4usize).min(products.len());
        chosen.clear();
        while chosen.len() < count {
            let mut pick = rng.random_range(0..weight_sum);
            let position = weights
                .iter()
                .position(|&w| {
                    if pick < w {
                        true
                    } else {
                        pick -= w;
                        false
                    }
                })
                .unwrap_or(0);
            if !chosen.contains(&position) {
                chosen.push(position);
            }
        }
        let names: Vec<&str> = chosen.iter().map(|&i| products[i].name.as_str()).collect();
        let total: i64 = chosen.iter().map(|&i| products[i].price.cents()).sum();
        write!(
            out,
            "{branch},{},{},\"{}\",{}\r\n",
            at.format("%Y-%m-%dT%H:%M:%S%.6f"),
            customer.hyphenated(),
            names.join(","),
            amount(total)
        )?;
    }
    out.flush()?;
    eprintln!(
        "wrote {} rows ({} customers to draw from) to {}",
        args.rows,
        customers,
        args.out.display()
    );
    Ok(())
}
