//! The `purchase.created` event: what analytics learns of each sale.
//!
//! It is a wire contract (JSON on the broker, rows in the data lake), so it
//! uses plain types and a version number rather than the domain newtypes.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::purchase::Purchase;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventItem {
    pub product_id: i32,
    pub product_name: String,
    pub unit_price_cents: i64,
}

/// Everything analytics needs to know about one purchase.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurchaseCreated {
    /// The event id, equal to the purchase id: deduplication keys on it.
    pub event_id: Uuid,
    pub event_type: String,
    pub schema_version: u32,
    pub purchase_id: Uuid,
    pub branch_id: String,
    pub customer_id: Uuid,
    pub purchased_at: DateTime<Utc>,
    pub items: Vec<EventItem>,
    pub total_cents: i64,
}

impl PurchaseCreated {
    pub const EVENT_TYPE: &'static str = "purchase.created";
    pub const SCHEMA_VERSION: u32 = 1;
}

impl From<&Purchase> for PurchaseCreated {
    fn from(purchase: &Purchase) -> PurchaseCreated {
        PurchaseCreated {
            event_id: purchase.id().0,
            event_type: Self::EVENT_TYPE.to_owned(),
            schema_version: Self::SCHEMA_VERSION,
            purchase_id: purchase.id().0,
            branch_id: purchase.branch().as_str().to_owned(),
            customer_id: purchase.customer().0,
            purchased_at: purchase.purchased_at(),
            items: purchase
                .items()
                .iter()
                .map(|item| EventItem {
                    product_id: item.product_id.0,
                    product_name: item.name.clone(),
                    unit_price_cents: item.unit_price.cents(),
                })
                .collect(),
            total_cents: purchase.total().cents(),
        }
    }
}
