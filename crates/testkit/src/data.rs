//! The repository's data files.

use std::path::PathBuf;

/// The catalog of `data/` (3 branches, 10 products) as SQL, for tests that
/// need it in a fresh database without running the loader.
pub const CATALOG_SQL: &str = "
    INSERT INTO branches (id, name) VALUES ('SMKT001', 'Central'), ('SMKT002', 'Northside'), ('SMKT003', 'Riverside');
    INSERT INTO products (id, name, price_cents) VALUES
        (1, 'milk', 150), (2, 'bread', 200), (3, 'eggs', 300), (4, 'chicken', 650), (5, 'apples', 80),
        (6, 'toilet paper', 400), (7, 'cereal', 350), (8, 'cheese', 500), (9, 'yogurt', 120), (10, 'orange juice', 280);";

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repository root")
}

pub fn products_csv() -> PathBuf {
    repo_root().join("data/products_list.csv")
}

pub fn purchases_csv() -> PathBuf {
    repo_root().join("data/purchases.csv")
}

pub fn branches_csv() -> PathBuf {
    repo_root().join("data/supermarkets.csv")
}
