//! The benchmark's throwaway databases: created fresh (dropped first if a
//! previous run left one), migrated and filled with the repository's
//! branches and products as `supermarket load` reads them.

use std::path::PathBuf;

use anyhow::Context;

/// One of the repository's data files, read with `parse`; its bad rows are
/// the error.
fn parse_csv<T>(
    path: PathBuf,
    parse: fn(std::fs::File) -> Result<Vec<T>, Vec<supermarket_loader_csv::RowError>>,
) -> anyhow::Result<Vec<T>> {
    let file = std::fs::File::open(&path).with_context(|| path.display().to_string())?;
    parse(file).map_err(|errors| {
        let errors: Vec<String> = errors.iter().map(ToString::to_string).collect();
        anyhow::anyhow!("{}: {}", path.display(), errors.join("; "))
    })
}

/// An empty database `name` (dropped first if it exists); its URL.
pub async fn fresh_database(admin_url: &str, name: &str) -> anyhow::Result<String> {
    let admin = supermarket_storage::connect(admin_url, "BENCH_ADMIN_URL").await?;
    // Two statements: DROP/CREATE DATABASE refuse to run in one implicit transaction.
    drop_database(admin_url, name).await?;
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await?;
    supermarket_testkit::db::with_database(admin_url, name)
}

pub async fn drop_database(admin_url: &str, name: &str) -> anyhow::Result<()> {
    let admin = supermarket_storage::connect(admin_url, "BENCH_ADMIN_URL").await?;
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await?;
    Ok(())
}

/// A fresh, migrated database with the repository's branches and products.
pub async fn setup(admin_url: &str, name: &str) -> anyhow::Result<String> {
    let url = fresh_database(admin_url, name).await?;
    let mut client = supermarket_storage::connect(&url, "bench database").await?;
    supermarket_storage::migrate::oltp(&mut client).await?;
    // Read as `supermarket load` reads them.
    let branches = parse_csv(
        supermarket_testkit::data::branches_csv(),
        supermarket_loader_csv::parse_branches,
    )?;
    for branch in &branches {
        client
            .execute(
                "INSERT INTO branches (id, name) VALUES ($1, $2)",
                &[&branch.id, &branch.name],
            )
            .await?;
    }
    let products = parse_csv(
        supermarket_testkit::data::products_csv(),
        supermarket_loader_csv::parse_products,
    )?;
    for product in &products {
        let cents = product.price.cents() as i32;
        client
            .execute(
                "INSERT INTO products (name, price_cents) VALUES ($1, $2)",
                &[&product.name, &cents],
            )
            .await?;
    }
    Ok(url)
}
