//! The OpenAPI schemas of the basket shapes, written by hand because the
//! items are parsed by hand (see `parse_item` in the parent module).

use serde_json::{Value, json};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};

// The shapes a basket may take are parsed by hand (see `parse_item`), so
// their schemas are written by hand too, with every rule of their shape:
// names have something besides white space and no comma (product names never
// do), ids are 32-bit integers, a quantity is 1, a list is not empty and has
// no item twice. Whether a well-formed name or id is in the catalog, and
// whether two spellings name the same product, only the catalog can tell.

fn schema_from(value: Value) -> RefOr<Schema> {
    serde_json::from_value(value).expect("a hand-written schema is a valid schema")
}

pub(super) fn basket_items_schema() -> RefOr<Schema> {
    schema_from(json!({
        "type": "array",
        "items": {"$ref": "#/components/schemas/BasketItem"},
        "minItems": 1,
        "uniqueItems": true,
        "example": ["milk", 2, {"product": "eggs", "quantity": 1}],
    }))
}

/// A product name as a client may write it (any case, surrounding spaces
/// ignored).
pub struct ProductName;

impl PartialSchema for ProductName {
    fn schema() -> RefOr<Schema> {
        schema_from(json!({
            "type": "string",
            "description": "A product name, in any case; surrounding white space is ignored. Never empty, never a comma.",
            "minLength": 1,
            "pattern": supermarket_domain::catalog::PRODUCT_NAME_PATTERN,
            "example": "milk",
        }))
    }
}

impl ToSchema for ProductName {}

/// A product named by name or id.
pub struct ProductKey;

impl PartialSchema for ProductKey {
    fn schema() -> RefOr<Schema> {
        schema_from(json!({
            "description": "A product, by name or by id.",
            "oneOf": [
                {"$ref": "#/components/schemas/ProductName"},
                {"type": "integer", "format": "int32", "description": "A product id."},
            ],
        }))
    }
}

impl ToSchema for ProductKey {}

/// An item of a basket (documentation of the accepted shapes).
pub struct BasketItem;

impl PartialSchema for BasketItem {
    fn schema() -> RefOr<Schema> {
        schema_from(json!({
            "description": "An item of a basket: a product name, a product id, or a product with its quantity.",
            "oneOf": [
                {"$ref": "#/components/schemas/ProductName"},
                {"type": "integer", "format": "int32", "description": "A product id."},
                {
                    "type": "object",
                    "description": "A product with an explicit quantity, which must be 1.",
                    "required": ["product"],
                    "properties": {
                        "product": {"$ref": "#/components/schemas/ProductKey"},
                        "quantity": {"type": ["integer", "null"], "minimum": 1, "maximum": 1,
                                     "description": "Always 1 (absent or null: 1)."},
                    },
                },
            ],
        }))
    }
}

impl ToSchema for BasketItem {}

/// `items_list` of the seed endpoint.
pub struct SeedItems;

impl PartialSchema for SeedItems {
    fn schema() -> RefOr<Schema> {
        schema_from(json!({
            "description": "Product names: a list, or one comma-separated string.",
            "oneOf": [
                {"type": "array", "items": {"$ref": "#/components/schemas/ProductName"}, "minItems": 1, "uniqueItems": true},
                {"type": "string", "description": "Names separated by commas, e.g. \"milk,bread\": at least one.",
                 "pattern": "[^,\\s]", "example": "milk,bread"},
            ],
        }))
    }
}

impl ToSchema for SeedItems {}
