//! Totals to check the OLTP database against the read models and the lake:
//! every stored purchase with its items, the rows left in the outbox, the
//! product names. Read-only; the fault-injection suite checks a run with
//! them (nothing lost, nothing counted twice).

use std::collections::HashMap;

use anyhow::Context;
use chrono::{DateTime, Utc};
use tokio_postgres::GenericClient;
use uuid::Uuid;

/// A purchase as the OLTP database stores it, with its items.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredPurchase {
    pub id: Uuid,
    pub idempotency_key: Option<Uuid>,
    pub branch_id: String,
    pub customer_id: Uuid,
    pub purchased_at: DateTime<Utc>,
    pub total_cents: i64,
    /// `(product id, unit price in cents)`, by product id.
    pub items: Vec<(i32, i64)>,
}

/// Every stored purchase with its items.
pub async fn stored_purchases(client: &impl GenericClient) -> anyhow::Result<Vec<StoredPurchase>> {
    let rows = client
        .query(
            "SELECT p.id, p.idempotency_key, p.branch_id, p.customer_id, p.purchased_at, p.total_cents,
                    coalesce(array_agg(i.product_id ORDER BY i.product_id) FILTER (WHERE i.product_id IS NOT NULL), '{}'),
                    coalesce(array_agg(i.unit_price_cents::int8 ORDER BY i.product_id) FILTER (WHERE i.product_id IS NOT NULL), '{}')
             FROM purchases p LEFT JOIN purchase_items i ON i.purchase_id = p.id
             GROUP BY p.id",
            &[],
        )
        .await
        .context("cannot read the OLTP purchases")?;
    Ok(rows
        .iter()
        .map(|row| {
            let products: Vec<i32> = row.get(6);
            let prices: Vec<i64> = row.get(7);
            StoredPurchase {
                id: row.get(0),
                idempotency_key: row.get(1),
                branch_id: row.get(2),
                customer_id: row.get(3),
                purchased_at: row.get(4),
                total_cents: row.get(5),
                items: products.into_iter().zip(prices).collect(),
            }
        })
        .collect())
}

/// Rows still in the outbox (not yet published by the relay).
pub async fn outbox_rows(client: &impl GenericClient) -> anyhow::Result<i64> {
    Ok(client
        .query_one("SELECT count(*) FROM outbox", &[])
        .await?
        .get(0))
}

/// Purchases stored and outbox rows left, read in one statement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PurchaseCounts {
    pub purchases: i64,
    pub outbox: i64,
}

/// [`PurchaseCounts`] now.
pub async fn purchase_counts(client: &impl GenericClient) -> anyhow::Result<PurchaseCounts> {
    let row = client
        .query_one(
            "SELECT (SELECT count(*) FROM purchases), (SELECT count(*) FROM outbox)",
            &[],
        )
        .await?;
    Ok(PurchaseCounts {
        purchases: row.get(0),
        outbox: row.get(1),
    })
}

/// Every product's name by id.
pub async fn product_names(client: &impl GenericClient) -> anyhow::Result<HashMap<i32, String>> {
    Ok(client
        .query("SELECT id, name FROM products", &[])
        .await?
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect())
}
