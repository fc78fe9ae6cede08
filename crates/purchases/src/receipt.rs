//! The receipt: what the service answers for a stored purchase.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use supermarket_domain::{Catalog, Money, ProductId, Purchase};
use supermarket_storage::oltp::purchases::StoredPurchase;
use utoipa::ToSchema;
use uuid::Uuid;

/// A purchase as the till prints it. Items are listed in product-id order,
/// so a new purchase and its replay or `GET` read the same.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Receipt {
    pub purchase_id: Uuid,
    #[schema(example = "SMKT001")]
    pub branch_id: String,
    pub customer_id: Uuid,
    /// Server time of the sale, RFC 3339 UTC.
    pub purchased_at: DateTime<Utc>,
    pub items: Vec<ReceiptItem>,
    /// Exact total in cents: the catalog's sum, never a client's number.
    #[schema(example = 350)]
    pub total_cents: i64,
    /// The same total as a decimal string.
    #[schema(example = "3.50")]
    pub total: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReceiptItem {
    #[schema(example = 1)]
    pub product_id: i32,
    #[schema(example = "milk")]
    pub name: String,
    /// Price at the time of sale, in cents.
    #[schema(example = 150)]
    pub unit_price_cents: i64,
    #[schema(example = "1.50")]
    pub unit_price: String,
}

impl From<&Purchase> for Receipt {
    fn from(purchase: &Purchase) -> Receipt {
        let mut items: Vec<ReceiptItem> = purchase
            .items()
            .iter()
            .map(|item| ReceiptItem {
                product_id: item.product_id.0,
                name: item.name.clone(),
                unit_price_cents: item.unit_price.cents(),
                unit_price: item.unit_price.to_string(),
            })
            .collect();
        items.sort_by_key(|item| item.product_id);
        Receipt {
            purchase_id: purchase.id().0,
            branch_id: purchase.branch().as_str().to_owned(),
            customer_id: purchase.customer().0,
            purchased_at: purchase.purchased_at(),
            items,
            total_cents: purchase.total().cents(),
            total: purchase.total().to_string(),
        }
    }
}

impl Receipt {
    /// A stored purchase, named with the current catalog (names do not
    /// change in practice; a product since removed shows as `product <id>`).
    pub fn from_stored(stored: &StoredPurchase, catalog: &Catalog) -> Receipt {
        let items = stored
            .items
            .iter()
            .map(|&(product_id, cents)| ReceiptItem {
                product_id,
                name: catalog
                    .by_id(ProductId(product_id))
                    .map(|p| p.name.clone())
                    .unwrap_or_else(|| format!("product {product_id}")),
                unit_price_cents: cents,
                unit_price: Money::from_cents(cents).to_string(),
            })
            .collect();
        Receipt {
            purchase_id: stored.id,
            branch_id: stored.branch_id.clone(),
            customer_id: stored.customer_id,
            purchased_at: stored.purchased_at,
            items,
            total_cents: stored.total_cents,
            total: Money::from_cents(stored.total_cents).to_string(),
        }
    }
}
