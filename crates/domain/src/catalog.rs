//! The product catalog: ten products with exact prices.

use std::collections::HashMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::money::Money;

/// The database id of a product.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ProductId(pub i32);

impl fmt::Display for ProductId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Product {
    pub id: ProductId,
    /// Lower-case display name, unique in the catalog ("toilet paper").
    pub name: String,
    pub price: Money,
}

/// How a client names a product in a basket: by id or by name.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ProductRef {
    Id(ProductId),
    Name(String),
}

impl fmt::Display for ProductRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProductRef::Id(id) => write!(f, "{id}"),
            ProductRef::Name(name) => f.write_str(name),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogError {
    #[error("product name `{0}` is empty or too long (1 to 100 characters)")]
    BadName(String),
    #[error("product `{0}` is listed twice")]
    DuplicateName(String),
    #[error("product id {0} is listed twice")]
    DuplicateId(ProductId),
    #[error("product `{0}` must have a price above zero")]
    NonPositivePrice(String),
}

/// The products a purchase may contain, looked up by id or by name.
///
/// Names are matched after trimming and lower-casing, so `" Milk"` finds `milk`.
#[derive(Clone, Debug, Default)]
pub struct Catalog {
    products: Vec<Product>,
    by_id: HashMap<ProductId, usize>,
    by_name: HashMap<String, usize>,
}

impl Catalog {
    pub fn new(products: impl IntoIterator<Item = Product>) -> Result<Catalog, CatalogError> {
        let mut catalog = Catalog::default();
        for mut product in products {
            product.name = normalize_product_name(&product.name)?;
            if product.price.cents() <= 0 {
                return Err(CatalogError::NonPositivePrice(product.name));
            }
            let index = catalog.products.len();
            if catalog.by_id.insert(product.id, index).is_some() {
                return Err(CatalogError::DuplicateId(product.id));
            }
            if catalog
                .by_name
                .insert(product.name.clone(), index)
                .is_some()
            {
                return Err(CatalogError::DuplicateName(product.name));
            }
            catalog.products.push(product);
        }
        Ok(catalog)
    }

    pub fn by_id(&self, id: ProductId) -> Option<&Product> {
        self.by_id.get(&id).map(|&i| &self.products[i])
    }

    pub fn by_name(&self, name: &str) -> Option<&Product> {
        if let Some(&i) = self.by_name.get(name) {
            return Some(&self.products[i]);
        }
        let normalized = name.trim().to_lowercase();
        self.by_name.get(&normalized).map(|&i| &self.products[i])
    }

    pub fn resolve(&self, product: &ProductRef) -> Option<&Product> {
        match product {
            ProductRef::Id(id) => self.by_id(*id),
            ProductRef::Name(name) => self.by_name(name),
        }
    }

    /// Products in catalog order (the order they were given in).
    pub fn iter(&self) -> impl Iterator<Item = &Product> {
        self.products.iter()
    }

    pub fn len(&self) -> usize {
        self.products.len()
    }

    pub fn is_empty(&self) -> bool {
        self.products.is_empty()
    }
}

/// A name that may name a product, as a regular expression for API
/// documents: no comma, and something besides white space (names are
/// matched after trimming and lower-casing).
pub const PRODUCT_NAME_PATTERN: &str = r"^[^,]*[^,\s][^,]*$";

/// Trims and lower-cases a product name, rejecting empty or over-long ones.
pub fn normalize_product_name(name: &str) -> Result<String, CatalogError> {
    let normalized = name.trim().to_lowercase();
    if normalized.is_empty() || normalized.chars().count() > 100 || normalized.contains(',') {
        return Err(CatalogError::BadName(name.to_owned()));
    }
    Ok(normalized)
}

#[cfg(test)]
pub(crate) fn sample_catalog() -> Catalog {
    let rows = [
        ("milk", 150),
        ("bread", 200),
        ("eggs", 300),
        ("chicken", 650),
        ("toilet paper", 450),
    ];
    Catalog::new(rows.iter().enumerate().map(|(i, (name, cents))| Product {
        id: ProductId(i as i32 + 1),
        name: (*name).to_owned(),
        price: Money::from_cents(*cents),
    }))
    .unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_products_by_id_or_by_name_in_any_case() {
        let catalog = sample_catalog();
        assert_eq!(catalog.by_name("toilet paper").unwrap().price.cents(), 450);
        assert_eq!(catalog.by_name(" Toilet Paper ").unwrap().id, ProductId(5));
        assert_eq!(
            catalog.resolve(&ProductRef::Id(ProductId(1))).unwrap().name,
            "milk"
        );
        assert!(catalog.by_name("caviar").is_none());
        assert!(catalog.by_id(ProductId(99)).is_none());
    }

    #[test]
    fn rejects_a_broken_catalog() {
        let product = |id, name: &str, cents| Product {
            id: ProductId(id),
            name: name.into(),
            price: Money::from_cents(cents),
        };
        assert!(matches!(
            Catalog::new([product(1, "milk", 1), product(2, "Milk", 1)]),
            Err(CatalogError::DuplicateName(_))
        ));
        assert!(matches!(
            Catalog::new([product(1, "a", 1), product(1, "b", 1)]),
            Err(CatalogError::DuplicateId(_))
        ));
        assert!(matches!(
            Catalog::new([product(1, "a", 0)]),
            Err(CatalogError::NonPositivePrice(_))
        ));
        assert!(matches!(
            Catalog::new([product(1, " ", 5)]),
            Err(CatalogError::BadName(_))
        ));
        assert!(matches!(
            Catalog::new([product(1, "a,b", 5)]),
            Err(CatalogError::BadName(_))
        ));
    }
}
