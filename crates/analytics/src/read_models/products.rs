//! `product_sales`: units sold and revenue per product, under the product's
//! latest name.

use std::collections::BTreeMap;

use anyhow::Context as _;
use supermarket_storage::oltp::history;
use tokio_postgres::Transaction;

use super::NewEvent;

/// Adds the items of `events`, products in id order (a BTreeMap), and
/// returns how many items they hold.
pub(crate) async fn apply(tx: &Transaction<'_>, events: &[NewEvent]) -> anyhow::Result<i64> {
    // (name, units, revenue) per product id.
    let mut products: BTreeMap<i32, (String, i64, i64)> = BTreeMap::new();
    let mut items_sold = 0i64;
    for (event, _) in events {
        for item in &event.items {
            let entry = products
                .entry(item.product_id)
                .or_insert_with(|| (item.product_name.clone(), 0, 0));
            entry.0.clone_from(&item.product_name);
            // An item is one unit: OLTP's `purchase_items.quantity` is
            // always 1 (a CHECK), which the rebuild's sums rely on too.
            entry.1 += 1;
            entry.2 += item.unit_price_cents;
            items_sold += 1;
        }
    }
    let product_ids: Vec<i32> = products.keys().copied().collect();
    let names: Vec<&str> = products.values().map(|p| p.0.as_str()).collect();
    let units: Vec<i64> = products.values().map(|p| p.1).collect();
    let revenue: Vec<i64> = products.values().map(|p| p.2).collect();
    tx.execute(
        "INSERT INTO product_sales AS s (product_id, product_name, units_sold, revenue_cents)
         SELECT * FROM unnest($1::int4[], $2::text[], $3::int8[], $4::int8[]) AS t(id, name, units, revenue) ORDER BY id
         ON CONFLICT (product_id) DO UPDATE SET
             product_name = EXCLUDED.product_name,
             units_sold = s.units_sold + EXCLUDED.units_sold,
             revenue_cents = s.revenue_cents + EXCLUDED.revenue_cents",
        &[&product_ids, &names, &units, &revenue],
    )
    .await
    .context("cannot update product_sales")?;
    Ok(items_sold)
}

/// Refills the (truncated) table from the OLTP history.
pub(crate) async fn rebuild(
    source: &Transaction<'_>,
    target: &Transaction<'_>,
) -> anyhow::Result<()> {
    super::copy(
        source,
        target,
        "product_sales (product_id, product_name, units_sold, revenue_cents)",
        history::PRODUCT_SALES_SQL,
    )
    .await
}
