//! A purchase (one receipt), which can only be built if it obeys every rule.

use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::branch::{BranchError, BranchId, Branches};
use crate::catalog::{Catalog, ProductId, ProductRef};
use crate::money::Money;

/// The id of a purchase; also the id of the event that announces it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PurchaseId(pub Uuid);

/// Names the namespace of historical purchase ids (a fixed, random UUID).
const HISTORICAL_NAMESPACE: Uuid = Uuid::from_u128(0x6f1d_2c55_8a0e_4b53_9c41_5e7a_d3b2_0f19);

impl PurchaseId {
    /// A fresh id for a live sale: UUIDv7, so ids grow with time and the
    /// primary-key index takes appends rather than random inserts.
    pub fn new_live() -> PurchaseId {
        PurchaseId(Uuid::now_v7())
    }

    /// The stable id of a historical purchase, derived from its content so
    /// that loading the same file twice stores nothing new.
    ///
    /// Layout (UUIDv8): the first 48 bits are the purchase time in Unix
    /// milliseconds, like UUIDv7, which keeps index inserts local; the rest
    /// comes from a name-based (SHA-1, UUIDv5) hash of the branch, customer,
    /// exact timestamp and the sorted product names.
    pub fn historical(
        branch: &BranchId,
        customer: CustomerId,
        purchased_at: DateTime<Utc>,
        product_names: &[&str],
    ) -> PurchaseId {
        let mut names: Vec<&str> = product_names.to_vec();
        names.sort_unstable();
        let mut key = String::with_capacity(96);
        key.push_str(branch.as_str());
        key.push('|');
        key.push_str(&customer.0.hyphenated().to_string());
        key.push('|');
        key.push_str(&purchased_at.timestamp_micros().to_string());
        for name in names {
            key.push('|');
            key.push_str(name);
        }
        let hash = Uuid::new_v5(&HISTORICAL_NAMESPACE, key.as_bytes());
        let mut bytes = *hash.as_bytes();
        let millis = purchased_at.timestamp_millis().max(0) as u64;
        bytes[..6].copy_from_slice(&millis.to_be_bytes()[2..]);
        PurchaseId(Uuid::new_v8(bytes))
    }
}

impl fmt::Display for PurchaseId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

/// The id of a customer (the loyalty card number), a UUID.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CustomerId(pub Uuid);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a UUID like 01e1e159-8045-43c2-88dd-5682b18bd680")]
pub struct UuidError(pub String);

impl CustomerId {
    /// A new customer, for a sale without a loyalty card.
    pub fn new_random() -> CustomerId {
        CustomerId(Uuid::new_v4())
    }
}

/// What [`CustomerId`]'s `from_str` accepts, as a regular expression for API
/// documents: the hyphenated UUID form, any case.
pub const CUSTOMER_ID_PATTERN: &str =
    "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";

impl FromStr for CustomerId {
    type Err = UuidError;

    /// Accepts the hyphenated form only (any case), as written in the files.
    fn from_str(text: &str) -> Result<CustomerId, UuidError> {
        if text.len() != 36 {
            return Err(UuidError(text.to_owned()));
        }
        Uuid::try_parse(text)
            .map(CustomerId)
            .map_err(|_| UuidError(text.to_owned()))
    }
}

impl fmt::Display for CustomerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

/// One line of a basket as a client or a file states it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BasketLine {
    pub product: ProductRef,
    pub quantity: i64,
}

impl BasketLine {
    pub fn one(product: ProductRef) -> BasketLine {
        BasketLine {
            product,
            quantity: 1,
        }
    }
}

/// A product on a receipt, priced from the catalog at the time of sale.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineItem {
    pub product_id: ProductId,
    pub name: String,
    pub unit_price: Money,
}

/// Why a purchase cannot exist.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PurchaseError {
    #[error(transparent)]
    UnknownBranch(#[from] BranchError),
    #[error("the basket is empty: a purchase needs at least one product")]
    EmptyBasket,
    #[error("unknown product `{0}`")]
    UnknownProduct(String),
    #[error(
        "product `{0}` appears more than once: a purchase holds at most one unit of each product"
    )]
    RepeatedProduct(String),
    #[error(
        "product `{product}` has quantity {quantity}: the quantity of every product is exactly 1"
    )]
    QuantityNotOne { product: String, quantity: i64 },
}

/// A valid purchase: a known branch, a customer, and a non-empty set of
/// distinct catalog products, one unit each, priced from the catalog.
///
/// The fields are private: the only way to get one is [`Purchase::new`],
/// which checks every rule, so holding a `Purchase` proves it is valid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Purchase {
    id: PurchaseId,
    branch: BranchId,
    customer: CustomerId,
    purchased_at: DateTime<Utc>,
    items: Vec<LineItem>,
    total: Money,
}

impl Purchase {
    /// Checks and prices a basket. The total is always the catalog's sum;
    /// a total stated by a client or a file is compared by the caller.
    pub fn new(
        id: PurchaseId,
        branch: &str,
        customer: CustomerId,
        purchased_at: DateTime<Utc>,
        lines: impl IntoIterator<Item = BasketLine>,
        catalog: &Catalog,
        branches: &Branches,
    ) -> Result<Purchase, PurchaseError> {
        let branch = branches.parse(branch)?.clone();
        let mut seen = HashSet::new();
        let mut items = Vec::new();
        for line in lines {
            let product = catalog
                .resolve(&line.product)
                .ok_or_else(|| PurchaseError::UnknownProduct(line.product.to_string()))?;
            if line.quantity != 1 {
                return Err(PurchaseError::QuantityNotOne {
                    product: product.name.clone(),
                    quantity: line.quantity,
                });
            }
            if !seen.insert(product.id) {
                return Err(PurchaseError::RepeatedProduct(product.name.clone()));
            }
            items.push(LineItem {
                product_id: product.id,
                name: product.name.clone(),
                unit_price: product.price,
            });
        }
        if items.is_empty() {
            return Err(PurchaseError::EmptyBasket);
        }
        let total = items.iter().map(|item| item.unit_price).sum();
        Ok(Purchase {
            id,
            branch,
            customer,
            purchased_at,
            items,
            total,
        })
    }

    pub fn id(&self) -> PurchaseId {
        self.id
    }
    pub fn branch(&self) -> &BranchId {
        &self.branch
    }
    pub fn customer(&self) -> CustomerId {
        self.customer
    }
    pub fn purchased_at(&self) -> DateTime<Utc> {
        self.purchased_at
    }
    /// The products in the order the basket listed them.
    pub fn items(&self) -> &[LineItem] {
        &self.items
    }
    pub fn total(&self) -> Money {
        self.total
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::sample_catalog;

    fn branches() -> Branches {
        Branches::new([("SMKT001".to_owned(), "Central".to_owned())]).unwrap()
    }

    fn names(list: &[&str]) -> Vec<BasketLine> {
        list.iter()
            .map(|n| BasketLine::one(ProductRef::Name((*n).to_owned())))
            .collect()
    }

    fn build(branch: &str, lines: Vec<BasketLine>) -> Result<Purchase, PurchaseError> {
        Purchase::new(
            PurchaseId::new_live(),
            branch,
            CustomerId::new_random(),
            Utc::now(),
            lines,
            &sample_catalog(),
            &branches(),
        )
    }

    #[test]
    fn a_valid_basket_is_priced_from_the_catalog() {
        let purchase = build("SMKT001", names(&["eggs", "milk"])).unwrap();
        assert_eq!(purchase.total(), Money::from_cents(450));
        assert_eq!(purchase.items().len(), 2);
        assert_eq!(purchase.items()[0].name, "eggs");
        let by_id = build(
            "SMKT001",
            vec![BasketLine::one(ProductRef::Id(ProductId(5)))],
        )
        .unwrap();
        assert_eq!(by_id.items()[0].name, "toilet paper");
    }

    #[test]
    fn every_rule_is_enforced() {
        assert_eq!(
            build("SMKT001", vec![]).unwrap_err(),
            PurchaseError::EmptyBasket
        );
        assert_eq!(
            build("SMKT009", names(&["milk"])).unwrap_err(),
            PurchaseError::UnknownBranch(BranchError::Unknown("SMKT009".into()))
        );
        assert_eq!(
            build("SMKT001", names(&["milk", "caviar"])).unwrap_err(),
            PurchaseError::UnknownProduct("caviar".into())
        );
        assert_eq!(
            build("SMKT001", names(&["milk", "Milk"])).unwrap_err(),
            PurchaseError::RepeatedProduct("milk".into())
        );
        let two_milks = vec![BasketLine {
            product: ProductRef::Name("milk".into()),
            quantity: 2,
        }];
        assert_eq!(
            build("SMKT001", two_milks).unwrap_err(),
            PurchaseError::QuantityNotOne {
                product: "milk".into(),
                quantity: 2
            }
        );
        let by_name_and_id = vec![
            BasketLine::one(ProductRef::Name("milk".into())),
            BasketLine::one(ProductRef::Id(ProductId(1))),
        ];
        assert_eq!(
            build("SMKT001", by_name_and_id).unwrap_err(),
            PurchaseError::RepeatedProduct("milk".into())
        );
    }

    #[test]
    fn customer_ids_must_be_hyphenated_uuids() {
        assert!(
            "01e1e159-8045-43c2-88dd-5682b18bd680"
                .parse::<CustomerId>()
                .is_ok()
        );
        assert!(
            "01E1E159-8045-43C2-88DD-5682B18BD680"
                .parse::<CustomerId>()
                .is_ok()
        );
        for bad in [
            "",
            "not-a-uuid",
            "01e1e15980454c2288dd5682b18bd680",
            "01e1e159-8045-43c2-88dd-5682b18bd68z",
        ] {
            assert!(bad.parse::<CustomerId>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn historical_ids_are_stable_time_ordered_and_ignore_item_order() {
        let branch = BranchId::new_unchecked("SMKT001");
        let customer: CustomerId = "01e1e159-8045-43c2-88dd-5682b18bd680".parse().unwrap();
        let at = DateTime::parse_from_rfc3339("2025-05-26T19:51:00.539354Z")
            .unwrap()
            .to_utc();
        let a = PurchaseId::historical(&branch, customer, at, &["eggs", "milk"]);
        let b = PurchaseId::historical(&branch, customer, at, &["milk", "eggs"]);
        assert_eq!(a, b);
        assert_eq!(a.0.get_version_num(), 8);
        let later = PurchaseId::historical(
            &branch,
            customer,
            at + chrono::Duration::seconds(1),
            &["eggs", "milk"],
        );
        assert!(later > a, "ids grow with time");
        let other = PurchaseId::historical(&branch, customer, at, &["eggs"]);
        assert_ne!(a, other);
    }
}
