//! Reading the branches and the product catalog.

use anyhow::Context;
use supermarket_domain::{Branches, Catalog, Money, Product, ProductId};
use tokio_postgres::GenericClient;

pub async fn load_branches(client: &impl GenericClient) -> anyhow::Result<Branches> {
    let rows = client
        .query("SELECT id, name FROM branches ORDER BY id", &[])
        .await?;
    Branches::new(
        rows.iter()
            .map(|row| (row.get::<_, String>(0), row.get::<_, String>(1))),
    )
    .context("the branches table breaks a rule")
}

pub async fn load_catalog(client: &impl GenericClient) -> anyhow::Result<Catalog> {
    let rows = client
        .query(
            "SELECT id, name, price_cents FROM products ORDER BY id",
            &[],
        )
        .await?;
    Catalog::new(rows.iter().map(|row| Product {
        id: ProductId(row.get(0)),
        name: row.get(1),
        price: Money::from_cents(i64::from(row.get::<_, i32>(2))),
    }))
    .context("the products table breaks a rule")
}
