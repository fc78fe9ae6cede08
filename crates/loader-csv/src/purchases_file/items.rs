//! The `items_list` column: product names resolved against the catalog,
//! and quantities stated beside a name, which the domain refuses.

use supermarket_domain::{BasketLine, Catalog, ProductId, ProductRef, PurchaseError};

/// Splits `milk x2`, `milk*2`, `milk:2`, `2 x milk`, `2x milk` or `2 milk`
/// into a name and a quantity, so a stated quantity is refused with the
/// domain's quantity rule rather than as an unknown product.
pub fn split_quantity(piece: &str) -> Option<(&str, i64)> {
    let piece = piece.trim();
    let number = |s: &str| -> Option<i64> {
        let s = s.trim();
        if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
            s.parse().ok()
        } else {
            None
        }
    };
    for separator in ['x', 'X', '*', ':'] {
        if let Some((name, quantity)) = piece.rsplit_once(separator)
            && let Some(quantity) = number(quantity)
            && !name.trim().is_empty()
        {
            return Some((name.trim(), quantity));
        }
    }
    let digits = piece.bytes().take_while(u8::is_ascii_digit).count();
    if digits > 0 {
        let quantity = number(&piece[..digits])?;
        let rest = piece[digits..].trim_start();
        let rest = rest.strip_prefix(['x', 'X', '*']).unwrap_or(rest).trim();
        if !rest.is_empty() {
            return Some((rest, quantity));
        }
    }
    None
}

/// Reads the `items_list` column: comma-separated product names, one unit
/// each. Names resolve against the catalog (any case, outer spaces ignored).
pub fn parse_items(text: &str, catalog: &Catalog) -> Result<Vec<BasketLine>, String> {
    if text.trim().is_empty() {
        return Err(PurchaseError::EmptyBasket.to_string());
    }
    text.split(',')
        .map(|piece| {
            let name = piece.trim();
            if name.is_empty() {
                return Err(format!("the items list `{text}` has an empty product name"));
            }
            if let Some(product) = catalog.by_name(name) {
                return Ok(BasketLine::one(ProductRef::Id(product.id)));
            }
            match split_quantity(name) {
                Some((base, quantity)) if catalog.by_name(base).is_some() => {
                    let product = catalog.by_name(base).map_or(ProductId(0), |p| p.id);
                    Ok(BasketLine {
                        product: ProductRef::Id(product),
                        quantity,
                    })
                }
                _ => Err(PurchaseError::UnknownProduct(name.to_owned()).to_string()),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_are_recognized_in_several_spellings() {
        assert_eq!(split_quantity("milk x2"), Some(("milk", 2)));
        assert_eq!(split_quantity("milk*3"), Some(("milk", 3)));
        assert_eq!(split_quantity("toilet paper:2"), Some(("toilet paper", 2)));
        assert_eq!(split_quantity("2x milk"), Some(("milk", 2)));
        assert_eq!(split_quantity("2 milk"), Some(("milk", 2)));
        assert_eq!(split_quantity("milk"), None);
    }
}
