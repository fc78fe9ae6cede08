//! The repository's data files.

use std::path::PathBuf;

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
