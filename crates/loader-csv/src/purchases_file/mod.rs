//! The purchases file, streamed row by row: each row checked against the
//! catalog, the branches and the stores' time zone ([`PurchaseRules`]) and
//! turned into the domain's [`Purchase`].
//!
//! Module map:
//! - [`timestamp`]: the `timestamp` column, wall-clock or with an offset.
//! - [`items`]: the `items_list` column, and quantities stated in it.
//! - this module: one row as a whole ([`parse_purchase`]) and the file
//!   ([`PurchaseRows`]).

pub mod items;
pub mod timestamp;

use std::io::{self, Read};

use chrono_tz::Tz;
use csv::ByteRecord;
use supermarket_domain::{Branches, Catalog, CustomerId, Money, ProductRef, Purchase, PurchaseId};

use crate::line_reader::{
    CsvReader, RowError, check_columns, check_header, csv_reader, field, line_of,
};
use items::parse_items;
use timestamp::parse_timestamp;

/// The header of the purchases file, column by column.
pub const PURCHASES_HEADER: [&str; 5] = [
    "supermarket_id",
    "timestamp",
    "user_id",
    "items_list",
    "total_amount",
];

/// What a purchase row is checked against.
#[derive(Clone, Debug)]
pub struct PurchaseRules {
    pub catalog: Catalog,
    pub branches: Branches,
    /// The zone of the stores' clocks, for timestamps written without one.
    pub zone: Tz,
}

/// Validates one purchase record (the header and column count are checked by
/// the caller): known branch, customer UUID, timestamp, a basket the domain
/// accepts, and a stated total equal to the catalog's sum.
pub fn parse_purchase(record: &ByteRecord, rules: &PurchaseRules) -> Result<Purchase, String> {
    check_columns(record, PURCHASES_HEADER.len())?;
    let branch_text = field(record, 0, "supermarket_id")?.trim();
    let branch = rules
        .branches
        .parse(branch_text)
        .map_err(|e| e.to_string())?;
    let purchased_at = parse_timestamp(field(record, 1, "timestamp")?, rules.zone)?;
    let customer: CustomerId = field(record, 2, "user_id")?
        .trim()
        .parse()
        .map_err(|e: supermarket_domain::UuidError| e.to_string())?;
    let lines = parse_items(field(record, 3, "items_list")?, &rules.catalog)?;
    let total_text = field(record, 4, "total_amount")?.trim();
    let stated_total: Money = total_text
        .parse()
        .map_err(|e: supermarket_domain::MoneyError| e.to_string())?;

    // The id hashes the catalog's names, so `Milk` and `milk` are one purchase.
    let names: Vec<&str> = lines
        .iter()
        .filter_map(|line| match &line.product {
            ProductRef::Id(id) => rules.catalog.by_id(*id).map(|p| p.name.as_str()),
            ProductRef::Name(name) => Some(name.as_str()),
        })
        .collect();
    let id = PurchaseId::historical(branch, customer, purchased_at, &names);
    let purchase = Purchase::new(
        id,
        branch_text,
        customer,
        purchased_at,
        lines,
        &rules.catalog,
        &rules.branches,
    )
    .map_err(|e| e.to_string())?;
    if purchase.total() != stated_total {
        return Err(format!(
            "total_amount {total_text} differs from the catalog's sum {} of {}",
            purchase.total(),
            purchase
                .items()
                .iter()
                .map(|item| item.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    Ok(purchase)
}

/// The rows of a purchases file, each validated, with its line number.
///
/// The first item is an error on line 1 if the header is wrong (and then the
/// iteration stops: the columns cannot be trusted).
pub struct PurchaseRows<R: Read> {
    reader: CsvReader<R>,
    record: ByteRecord,
    rules: PurchaseRules,
    header_checked: bool,
    finished: bool,
}

impl<R: Read> PurchaseRows<R> {
    pub fn new(input: R, rules: PurchaseRules) -> io::Result<PurchaseRows<R>> {
        Ok(PurchaseRows {
            reader: csv_reader(input)?,
            record: ByteRecord::new(),
            rules,
            header_checked: false,
            finished: false,
        })
    }

    /// The byte offset reached in the input (for a progress bar).
    pub fn bytes_read(&self) -> u64 {
        self.reader.position().byte()
    }
}

impl<R: Read> Iterator for PurchaseRows<R> {
    type Item = Result<Purchase, RowError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.finished {
            return None;
        }
        match self.reader.read_byte_record(&mut self.record) {
            Ok(true) => {}
            Ok(false) => {
                self.finished = true;
                if !self.header_checked {
                    let reason = format!(
                        "the file is empty: expected the header `{}`",
                        PURCHASES_HEADER.join(",")
                    );
                    return Some(Err(RowError { line: 1, reason }));
                }
                return None;
            }
            Err(error) => {
                // An I/O error: the csv crate gives it no position.
                self.finished = true;
                return Some(Err(RowError {
                    line: self.reader.get_ref().line_reached(),
                    reason: format!("unreadable CSV: {error}"),
                }));
            }
        }
        let line = line_of(&mut self.reader, &self.record);
        if !self.header_checked {
            self.header_checked = true;
            if let Err(reason) = check_header(&self.record, &PURCHASES_HEADER) {
                self.finished = true;
                return Some(Err(RowError { line, reason }));
            }
            return self.next();
        }
        Some(parse_purchase(&self.record, &self.rules).map_err(|reason| RowError { line, reason }))
    }
}

/// Its `rows` helper also serves `line_reader`'s tests, which check line
/// numbers on purchases files.
#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::catalog_files::{catalog_of, parse_products};

    fn rules(zone: Tz) -> PurchaseRules {
        let products = parse_products(
            "product_name,unit_price\nmilk,1.5\nbread,2\neggs,3\ntoilet paper,4\n".as_bytes(),
        )
        .unwrap();
        let branches = Branches::new([
            ("SMKT001".into(), "Central".into()),
            ("SMKT002".into(), "North".into()),
        ])
        .unwrap();
        PurchaseRules {
            catalog: catalog_of(&products).unwrap(),
            branches,
            zone,
        }
    }

    pub(crate) fn rows(text: &str) -> Vec<Result<Purchase, RowError>> {
        PurchaseRows::new(text.as_bytes(), rules(Tz::UTC))
            .unwrap()
            .collect()
    }

    pub(crate) const HEADER: &str = "supermarket_id,timestamp,user_id,items_list,total_amount";
    pub(crate) const CUSTOMER: &str = "01e1e159-8045-43c2-88dd-5682b18bd680";

    fn one_error(text: &str) -> RowError {
        let mut errors: Vec<RowError> = rows(text).into_iter().filter_map(Result::err).collect();
        assert_eq!(errors.len(), 1, "{errors:?}");
        errors.remove(0)
    }

    #[test]
    fn reads_the_original_shape_with_bom_and_crlf() {
        let text = format!(
            "\u{feff}{HEADER}\r\nSMKT001,2025-05-26T19:51:00.539354,{CUSTOMER},\"eggs,milk\",4.5\r\nSMKT002,2025-05-26T19:52:00,{CUSTOMER},\"toilet paper,bread\",6\r\n"
        );
        let purchases: Vec<Purchase> = rows(&text).into_iter().map(Result::unwrap).collect();
        assert_eq!(purchases.len(), 2);
        assert_eq!(purchases[0].total(), Money::from_cents(450));
        assert_eq!(
            purchases[0].purchased_at().to_rfc3339(),
            "2025-05-26T19:51:00.539354+00:00"
        );
        assert_eq!(purchases[1].items()[0].name, "toilet paper");
        assert_eq!(
            purchases[0].id().0.get_version_num(),
            8,
            "historical ids are UUIDv8"
        );
        // The same rows with LF only and no BOM give the same purchases.
        let lf = text.trim_start_matches('\u{feff}').replace("\r\n", "\n");
        let again: Vec<Purchase> = rows(&lf).into_iter().map(Result::unwrap).collect();
        assert_eq!(again, purchases);
    }

    #[test]
    fn every_rule_names_its_reason() {
        let row = |branch: &str, at: &str, customer: &str, items: &str, total: &str| {
            format!("{HEADER}\n{branch},{at},{customer},\"{items}\",{total}\n")
        };
        let at = "2025-05-26T19:51:00.539354";
        let cases = [
            (
                row("SMKT001", at, CUSTOMER, "milk,milk", "3"),
                "more than once",
            ),
            (
                row("SMKT001", at, CUSTOMER, "milk,caviar", "3"),
                "unknown product `caviar`",
            ),
            (
                row("SMKT001", at, "not-a-uuid", "milk", "1.5"),
                "is not a UUID",
            ),
            (
                row("SMKT001", "26/05/2025 19:51", CUSTOMER, "milk", "1.5"),
                "is not a timestamp",
            ),
            (
                row("SMKT001", at, CUSTOMER, "milk", "1.6"),
                "differs from the catalog's sum 1.50",
            ),
            (row("SMKT001", at, CUSTOMER, "", "1.5"), "basket is empty"),
            (
                row("SMKT001", at, CUSTOMER, "milk,,eggs", "4.5"),
                "empty product name",
            ),
            (row("SMKT001", at, CUSTOMER, "milk x2", "3"), "quantity 2"),
            (row("SMKT001", at, CUSTOMER, "2 x eggs", "6"), "quantity 2"),
            (
                row("SMKT001", at, CUSTOMER, "milk", "1,5"),
                "expected 5 columns, found 6",
            ),
            (
                row("SMKT001", at, CUSTOMER, "milk", "abc"),
                "is not an amount",
            ),
        ];
        for (text, expected) in cases {
            let error = one_error(&text);
            assert_eq!(error.line, 2);
            assert!(
                error.reason.contains(expected),
                "{text:?}: {} lacks {expected:?}",
                error.reason
            );
        }
    }

    #[test]
    fn a_wrong_header_stops_at_line_one() {
        let errors =
            rows("supermarket,timestamp,user_id,items_list,total_amount\nSMKT001,x,y,z,1\n");
        assert_eq!(errors.len(), 1);
        let error = errors[0].clone().unwrap_err();
        assert_eq!(error.line, 1);
        assert!(error.reason.contains("the header must be"));
        assert_eq!(rows("").len(), 1, "an empty file lacks its header");
    }

    #[test]
    fn identical_rows_make_the_same_id_and_item_order_does_not_matter() {
        let text = format!(
            "{HEADER}\nSMKT001,2025-05-26T19:51:00,{CUSTOMER},\"eggs,milk\",4.5\nSMKT001,2025-05-26T19:51:00,{CUSTOMER},\"Milk, eggs\",4.5\n"
        );
        let purchases: Vec<Purchase> = rows(&text).into_iter().map(Result::unwrap).collect();
        assert_eq!(purchases[0].id(), purchases[1].id());
    }
}
