//! The products and branches files: each read whole, every row checked,
//! and a name or an id listed twice refused on the line of the repeat.

use std::collections::HashSet;
use std::io::Read;

use supermarket_domain::{
    Catalog, Money, Product, ProductId, branch::is_valid_branch_id, catalog::normalize_product_name,
};

use crate::line_reader::{RowError, check_no_nul, field, read_small_file};

/// The header of the products file.
pub const PRODUCTS_HEADER: [&str; 2] = ["product_name", "unit_price"];
/// The header of the branches file.
pub const BRANCHES_HEADER: [&str; 2] = ["supermarket_id", "name"];

/// A product as the products file states it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProductRow {
    /// Normalized: trimmed and lower-case, as the catalog stores it.
    pub name: String,
    pub price: Money,
}

/// Reads `product_name,unit_price` rows: names are normalized, prices are
/// exact amounts above zero, and no name appears twice.
pub fn parse_products<R: Read>(input: R) -> Result<Vec<ProductRow>, Vec<RowError>> {
    let rows = read_small_file(input, &PRODUCTS_HEADER, |record| {
        let name =
            normalize_product_name(field(record, 0, "product_name")?).map_err(|e| e.to_string())?;
        check_no_nul(&name, "product name")?;
        let price_text = field(record, 1, "unit_price")?.trim();
        let price: Money = price_text
            .parse()
            .map_err(|e: supermarket_domain::MoneyError| e.to_string())?;
        // The catalog stores prices as a 32-bit integer of cents.
        if price.cents() <= 0 || price.cents() > i64::from(i32::MAX) {
            return Err(format!(
                "product `{name}` has price {price_text}: it must be above 0 and at most 21474836.47"
            ));
        }
        Ok(ProductRow { name, price })
    })?;
    listed_once(rows, "product", |product| &product.name)
}

/// A branch as the branches file states it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BranchRow {
    pub id: String,
    pub name: String,
}

/// Reads `supermarket_id,name` rows with the domain's rules for branch ids.
pub fn parse_branches<R: Read>(input: R) -> Result<Vec<BranchRow>, Vec<RowError>> {
    let rows = read_small_file(input, &BRANCHES_HEADER, |record| {
        let id = field(record, 0, "supermarket_id")?.trim().to_owned();
        let name = field(record, 1, "name")?.trim().to_owned();
        if !is_valid_branch_id(&id) {
            return Err(format!(
                "`{id}` is not a valid branch id: use 1 to 32 capital letters, digits, `-` or `_`"
            ));
        }
        if name.is_empty() || name.chars().count() > 200 {
            return Err(format!("branch `{id}` needs a name of 1 to 200 characters"));
        }
        check_no_nul(&name, "branch name")?;
        Ok(BranchRow { id, name })
    })?;
    listed_once(rows, "branch", |branch| &branch.id)
}

/// The rows of a small file whose `key` appears once each; otherwise an
/// error on the line of every repeat, naming the `what` listed twice.
fn listed_once<T>(
    rows: Vec<(u64, T)>,
    what: &str,
    key: impl Fn(&T) -> &str,
) -> Result<Vec<T>, Vec<RowError>> {
    let mut seen = HashSet::new();
    let errors: Vec<RowError> = rows
        .iter()
        .filter(|(_, row)| !seen.insert(key(row)))
        .map(|(line, row)| RowError {
            line: *line,
            reason: format!("{what} `{}` is listed twice", key(row)),
        })
        .collect();
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(rows.into_iter().map(|(_, row)| row).collect())
}

/// Checks that the products file describes a valid catalog (the domain's
/// rules), before anything is written.
pub fn catalog_of(products: &[ProductRow]) -> Result<Catalog, String> {
    Catalog::new(products.iter().enumerate().map(|(index, row)| Product {
        id: ProductId(i32::try_from(index).unwrap_or(i32::MAX)),
        name: row.name.clone(),
        price: row.price,
    }))
    .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn products_and_branches_files_are_checked_row_by_row() {
        let products = parse_products(
            "\u{feff}product_name,unit_price\r\nMilk ,1.5\r\nbread,2\r\n".as_bytes(),
        )
        .unwrap();
        assert_eq!(
            products[0],
            ProductRow {
                name: "milk".into(),
                price: Money::from_cents(150)
            }
        );
        let errors =
            parse_products("product_name,unit_price\nmilk,1.5\nmilk,2\nbread,-1\n".as_bytes())
                .unwrap_err();
        assert_eq!(
            errors.iter().map(|e| e.line).collect::<Vec<_>>(),
            vec![4],
            "{errors:?}"
        );
        let errors =
            parse_products("product_name,unit_price\nmilk,1.5\nmilk,2\n".as_bytes()).unwrap_err();
        assert_eq!(errors[0].line, 3);
        assert!(
            parse_products("name,price\nmilk,1\n".as_bytes()).unwrap_err()[0]
                .reason
                .contains("header")
        );

        let branches = parse_branches("supermarket_id,name\nSMKT001,Central\n".as_bytes()).unwrap();
        assert_eq!(
            branches,
            vec![BranchRow {
                id: "SMKT001".into(),
                name: "Central".into()
            }]
        );
        let errors =
            parse_branches("supermarket_id,name\nsmkt1,x\nSMKT001,\nSMKT002,a,b\n".as_bytes())
                .unwrap_err();
        assert_eq!(
            errors.iter().map(|e| e.line).collect::<Vec<_>>(),
            vec![2, 3, 4]
        );
    }
}
