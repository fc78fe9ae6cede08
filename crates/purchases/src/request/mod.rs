//! What a client sends, and how it becomes a valid [`Purchase`] or a precise
//! problem document.
//!
//! Items are parsed by hand from JSON values (not by a serde untagged enum)
//! so that a bad item is reported by position and value, not as "did not
//! match any variant".
//!
//! Module map:
//! - `schema`: the hand-written OpenAPI schemas of the basket shapes
//!   ([`ProductName`], [`ProductKey`], [`BasketItem`], [`SeedItems`]).
//! - this file: the request bodies, item parsing into an [`Order`], the
//!   problem documents, the `Idempotency-Key` header, [`validate`] and
//!   [`request_hash`].
// A `Problem` is large, but it is only built when a request is refused: the
// happy path never moves one, so boxing it would buy nothing.
#![allow(clippy::result_large_err)]

use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, SubsecRound, Utc};
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use supermarket_domain::{
    BasketLine, BranchError, CustomerId, ProductId, ProductRef, Purchase, PurchaseError, PurchaseId,
};
use supermarket_http::Problem;
use supermarket_storage::oltp::purchases::{Idempotency, NewPurchase};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::catalog::Snapshot;

mod schema;

pub use schema::{BasketItem, ProductKey, ProductName, SeedItems};

/// `POST /api/v1/purchases`. Unknown members (such as a `total`) are ignored:
/// prices and totals always come from the catalog.
#[derive(Debug, Deserialize, ToSchema)]
pub struct PurchaseRequest {
    /// One of the predefined branches (`GET /api/v1/branches`); an id of the
    /// right shape that names no branch is a 422 `unknown-branch`.
    #[schema(
        example = "SMKT001",
        min_length = 1,
        max_length = 32,
        pattern = "^[A-Z0-9_-]{1,32}$"
    )]
    pub branch_id: String,
    /// The customer's loyalty id (a hyphenated UUID). Absent or null: a new
    /// customer, whose id the server assigns and returns.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Uuid, example = "01e1e159-8045-43c2-88dd-5682b18bd680",
             pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")]
    pub customer_id: Option<String>,
    /// Products by name, by id, or as `{"product": ..., "quantity": 1}`;
    /// each product at most once, quantity exactly 1. A product the catalog
    /// does not hold is a 422 `unknown-product`; the same product twice
    /// (also spelled differently: `"milk"` and `1`) is a 422 `repeated-product`.
    #[schema(schema_with = schema::basket_items_schema)]
    pub items: Vec<Value>,
}

/// `POST /purchase`, the shape of the original specification.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SeedPurchaseRequest {
    /// One of the predefined branches.
    #[schema(
        example = "SMKT001",
        min_length = 1,
        max_length = 32,
        pattern = "^[A-Z0-9_-]{1,32}$"
    )]
    pub supermarket_id: String,
    /// The customer's id (a hyphenated UUID); absent or null: a new customer.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Uuid,
             pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")]
    pub user_id: Option<String>,
    /// A list of product names, or one comma-separated string.
    #[schema(value_type = SeedItems)]
    pub items_list: Value,
}

/// A request in one shape, whichever endpoint received it.
#[derive(Debug)]
pub struct Order {
    pub branch_id: String,
    pub customer_id: Option<String>,
    pub lines: Vec<BasketLine>,
}

impl TryFrom<PurchaseRequest> for Order {
    type Error = Problem;

    fn try_from(request: PurchaseRequest) -> Result<Order, Problem> {
        let lines = request
            .items
            .iter()
            .enumerate()
            .map(|(index, item)| parse_item(index, item))
            .collect::<Result<_, _>>()?;
        Ok(Order {
            branch_id: request.branch_id,
            customer_id: request.customer_id,
            lines,
        })
    }
}

impl TryFrom<SeedPurchaseRequest> for Order {
    type Error = Problem;

    fn try_from(request: SeedPurchaseRequest) -> Result<Order, Problem> {
        let names: Vec<String> = match &request.items_list {
            Value::String(joined) => joined
                .split(',')
                .map(str::trim)
                .filter(|name| !name.is_empty())
                .map(str::to_owned)
                .collect(),
            Value::Array(items) => items
                .iter()
                .enumerate()
                .map(|(index, item)| match item {
                    Value::String(name) => Ok(name.clone()),
                    other => Err(invalid_item(
                        index,
                        other,
                        "items_list holds product names (strings)",
                    )),
                })
                .collect::<Result<_, _>>()?,
            _ => {
                return Err(Problem::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid-item",
                    "Invalid basket item",
                )
                .with_detail(
                    "items_list must be a list of product names or a comma-separated string",
                ));
            }
        };
        let lines = names
            .into_iter()
            .map(|name| BasketLine::one(ProductRef::Name(name)))
            .collect();
        Ok(Order {
            branch_id: request.supermarket_id,
            customer_id: request.user_id,
            lines,
        })
    }
}

fn invalid_item(index: usize, value: &Value, expected: &str) -> Problem {
    Problem::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid-item",
        "Invalid basket item",
    )
    .with_detail(format!("item {index} ({value}) is not valid: {expected}"))
    .with_extension("item_index", index)
}

const ITEM_SHAPES: &str =
    "use a product name, a product id, or {\"product\": name or id, \"quantity\": 1}";

fn product_ref(index: usize, item: &Value, value: &Value) -> Result<ProductRef, Problem> {
    match value {
        Value::String(name) => Ok(ProductRef::Name(name.clone())),
        Value::Number(number) => match number.as_i64().and_then(|n| i32::try_from(n).ok()) {
            Some(id) => Ok(ProductRef::Id(ProductId(id))),
            // Out of range or fractional: no product has such an id.
            None => Err(unknown_product(&number.to_string())),
        },
        _ => Err(invalid_item(index, item, ITEM_SHAPES)),
    }
}

fn parse_item(index: usize, item: &Value) -> Result<BasketLine, Problem> {
    match item {
        Value::Object(fields) => {
            let product = fields.get("product").ok_or_else(|| {
                invalid_item(index, item, "an item object needs a `product` member")
            })?;
            let product = product_ref(index, item, product)?;
            let quantity = match fields.get("quantity") {
                None | Some(Value::Null) => 1,
                Some(Value::Number(n)) => match n.as_i64() {
                    Some(q) => q,
                    None => return Err(invalid_quantity(&product.to_string(), &n.to_string())),
                },
                Some(other) => {
                    return Err(invalid_quantity(&product.to_string(), &other.to_string()));
                }
            };
            Ok(BasketLine { product, quantity })
        }
        other => Ok(BasketLine::one(product_ref(index, item, other)?)),
    }
}

fn unknown_product(product: &str) -> Problem {
    Problem::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown-product",
        "Unknown product",
    )
    .with_detail(format!(
        "unknown product `{product}`: it is not in the catalog"
    ))
    .with_extension("product", product)
}

fn invalid_quantity(product: &str, quantity: &str) -> Problem {
    Problem::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid-quantity",
        "Quantity must be 1",
    )
    .with_detail(format!(
        "product `{product}` has quantity {quantity}: the quantity of every product is exactly 1"
    ))
    .with_extension("product", product)
}

/// The problem for a rule the basket breaks.
pub fn purchase_problem(error: PurchaseError, snapshot: &Snapshot) -> Problem {
    match error {
        PurchaseError::UnknownBranch(BranchError::Unknown(branch)) | PurchaseError::UnknownBranch(BranchError::BadId(branch)) => {
            let known: Vec<&str> = snapshot.branches.iter().map(|b| b.id.as_str()).collect();
            Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "unknown-branch", "Unknown branch")
                .with_detail(format!("unknown branch `{branch}`: known branches are {}", known.join(", ")))
                .with_extension("branch_id", branch)
        }
        PurchaseError::UnknownBranch(other) => Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "unknown-branch", "Unknown branch")
            .with_detail(other.to_string()),
        PurchaseError::EmptyBasket => Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "empty-basket", "Empty basket")
            .with_detail("the basket is empty: a purchase needs at least one product"),
        PurchaseError::UnknownProduct(product) => unknown_product(&product),
        PurchaseError::RepeatedProduct(product) => {
            Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "repeated-product", "Repeated product")
                .with_detail(format!("product `{product}` appears more than once: a purchase holds at most one unit of each product"))
                .with_extension("product", product)
        }
        PurchaseError::QuantityNotOne { product, quantity } => invalid_quantity(&product, &quantity.to_string()),
    }
}

/// The `Idempotency-Key` header: absent, or a UUID.
pub fn idempotency_key(headers: &HeaderMap) -> Result<Option<Uuid>, Problem> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let text = value.to_str().unwrap_or("").trim();
    Uuid::try_parse(text).map(Some).map_err(|_| {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid-idempotency-key",
            "Invalid Idempotency-Key",
        )
        .with_detail(format!(
            "Idempotency-Key `{}` is not a UUID",
            text.chars().take(64).collect::<String>()
        ))
    })
}

/// Validates and prices `order` against the catalog snapshot, stamping it
/// with the server clock (to the microsecond PostgreSQL keeps, so a replay
/// shows the very same time).
pub fn validate(
    order: Order,
    key: Option<Uuid>,
    snapshot: &Snapshot,
    now: DateTime<Utc>,
) -> Result<NewPurchase, Problem> {
    let customer = match order.customer_id.as_deref() {
        None => None,
        Some(text) => Some(text.parse::<CustomerId>().map_err(|_| {
            Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid-customer-id",
                "Invalid customer id",
            )
            .with_detail(format!(
                "customer id `{}` is not a UUID like 01e1e159-8045-43c2-88dd-5682b18bd680",
                text.chars().take(64).collect::<String>()
            ))
        })?),
    };
    let purchase = Purchase::new(
        PurchaseId::new_live(),
        &order.branch_id,
        customer.unwrap_or_else(CustomerId::new_random),
        now.trunc_subsecs(6),
        order.lines,
        &snapshot.catalog,
        &snapshot.branches,
    )
    .map_err(|error| purchase_problem(error, snapshot))?;
    let idempotency = key.map(|key| Idempotency {
        key,
        request_hash: request_hash(&purchase, customer),
    });
    Ok(NewPurchase {
        purchase,
        idempotency,
    })
}

/// SHA-256 of the canonical form of a validated request: branch, the
/// customer as sent (empty when the server assigned one) and the sorted
/// product ids. Two requests that mean the same sale hash the same, whatever
/// the endpoint, item spelling or order.
pub fn request_hash(purchase: &Purchase, sent_customer: Option<CustomerId>) -> [u8; 32] {
    let mut ids: Vec<i32> = purchase
        .items()
        .iter()
        .map(|item| item.product_id.0)
        .collect();
    ids.sort_unstable();
    let ids: Vec<String> = ids.iter().map(i32::to_string).collect();
    let customer = sent_customer.map(|c| c.to_string()).unwrap_or_default();
    let canonical = format!(
        "purchase/v1\n{}\n{}\n{}",
        purchase.branch(),
        customer,
        ids.join(",")
    );
    Sha256::digest(canonical.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_every_item_shape() {
        let lines: Vec<BasketLine> = [
            json!("milk"),
            json!(3),
            json!({"product": "eggs"}),
            json!({"product": 2, "quantity": 1}),
        ]
        .iter()
        .enumerate()
        .map(|(i, v)| parse_item(i, v).unwrap())
        .collect();
        assert_eq!(lines[0].product, ProductRef::Name("milk".into()));
        assert_eq!(lines[1].product, ProductRef::Id(ProductId(3)));
        assert_eq!(lines[3].quantity, 1);
        assert_eq!(
            parse_item(0, &json!({"product": "milk", "quantity": 2}))
                .unwrap()
                .quantity,
            2
        );
        assert_eq!(
            parse_item(4, &json!(true)).unwrap_err().type_uri,
            "/problems/invalid-item"
        );
        assert_eq!(
            parse_item(0, &json!({"quantity": 1})).unwrap_err().type_uri,
            "/problems/invalid-item"
        );
        assert_eq!(
            parse_item(0, &json!({"product": "milk", "quantity": 1.5}))
                .unwrap_err()
                .type_uri,
            "/problems/invalid-quantity"
        );
    }
}
