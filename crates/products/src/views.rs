//! The JSON shapes of catalog resources, shared with the purchases service
//! (which serves the same lists from its in-memory catalog).

use serde::{Deserialize, Serialize};
use supermarket_domain::{Branch, Product};
use utoipa::ToSchema;

/// A product with its exact price: integer cents and a decimal string.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ProductView {
    #[schema(example = 1)]
    pub id: i32,
    /// Lower-case, unique name.
    #[schema(example = "milk")]
    pub name: String,
    /// Price in integer cents (exact).
    #[schema(example = 150)]
    pub price_cents: i64,
    /// The same price as a decimal string with two decimals (exact).
    #[schema(example = "1.50")]
    pub price: String,
}

impl From<&Product> for ProductView {
    fn from(product: &Product) -> ProductView {
        ProductView {
            id: product.id.0,
            name: product.name.clone(),
            price_cents: product.price.cents(),
            price: product.price.to_string(),
        }
    }
}

/// A branch (supermarket) of the chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BranchView {
    #[schema(example = "SMKT001")]
    pub id: String,
    #[schema(example = "Central")]
    pub name: String,
}

impl From<&Branch> for BranchView {
    fn from(branch: &Branch) -> BranchView {
        BranchView {
            id: branch.id.as_str().to_owned(),
            name: branch.name.clone(),
        }
    }
}
