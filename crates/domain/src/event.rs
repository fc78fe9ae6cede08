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

    /// The event announcing a purchase, in the current schema: its id is the
    /// purchase id (deduplication keys on it) and its total is the sum of
    /// its items.
    pub fn new(
        purchase_id: Uuid,
        branch_id: impl Into<String>,
        customer_id: Uuid,
        purchased_at: DateTime<Utc>,
        items: Vec<EventItem>,
    ) -> PurchaseCreated {
        PurchaseCreated {
            event_id: purchase_id,
            event_type: Self::EVENT_TYPE.to_owned(),
            schema_version: Self::SCHEMA_VERSION,
            purchase_id,
            branch_id: branch_id.into(),
            customer_id,
            purchased_at,
            total_cents: items.iter().map(|item| item.unit_price_cents).sum(),
            items,
        }
    }
}

impl From<&Purchase> for PurchaseCreated {
    fn from(purchase: &Purchase) -> PurchaseCreated {
        let items = purchase
            .items()
            .iter()
            .map(|item| EventItem {
                product_id: item.product_id.0,
                product_name: item.name.clone(),
                unit_price_cents: item.unit_price.cents(),
            })
            .collect();
        PurchaseCreated::new(
            purchase.id().0,
            purchase.branch().as_str(),
            purchase.customer().0,
            purchase.purchased_at(),
            items,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_is_keyed_by_its_purchase_and_totals_its_items() {
        let purchase_id = Uuid::now_v7();
        let items = vec![
            EventItem {
                product_id: 1,
                product_name: "milk".into(),
                unit_price_cents: 150,
            },
            EventItem {
                product_id: 3,
                product_name: "eggs".into(),
                unit_price_cents: 300,
            },
        ];
        let event = PurchaseCreated::new(purchase_id, "SMKT001", Uuid::new_v4(), Utc::now(), items);
        assert_eq!(event.event_id, purchase_id);
        assert_eq!(event.purchase_id, purchase_id);
        assert_eq!(event.event_type, "purchase.created");
        assert_eq!(event.schema_version, 1);
        assert_eq!(event.total_cents, 450);
    }
}
