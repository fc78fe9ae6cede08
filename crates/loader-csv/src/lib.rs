//! Reading and validating the three CSV files, with no file or database I/O.
//!
//! Every function takes a reader (or text) and the rules it needs, so tests
//! and a fuzz target can drive it with in-memory bytes. A bad row becomes a
//! [`RowError`] naming its line in the file (1-based, the header is line 1).
//! `contract` (with the `fuzzing` feature) states what holds for any input,
//! as checks the fuzz targets (`fuzz/`) and the tests run.
//!
//! Module map:
//! - [`line_reader`]: the CSV reader all three files go through
//!   ([`csv_reader`], [`LineCounter`]): byte order mark, CRLF/LF, the true
//!   line number of each row, and the header, column count and NUL checks.
//! - [`catalog_files`]: the products and branches files ([`parse_products`],
//!   [`parse_branches`]) and the catalog they describe ([`catalog_of`]).
//! - [`purchases_file`]: the purchases file, row by row ([`PurchaseRows`]),
//!   against [`PurchaseRules`]: timestamps, items lists, totals.
//! - `contract`, only with the `fuzzing` feature: the promises above as
//!   panicking checks, for the fuzz targets and the tests (this crate's
//!   tests turn the feature on through a dev-dependency on the crate
//!   itself).
//!
//! The items are re-exported here: callers name them from the crate root.

pub mod catalog_files;
#[cfg(feature = "fuzzing")]
pub mod contract;
pub mod line_reader;
pub mod purchases_file;

pub use catalog_files::{
    BRANCHES_HEADER, BranchRow, PRODUCTS_HEADER, ProductRow, catalog_of, parse_branches,
    parse_products,
};
pub use line_reader::{CsvReader, LineCounter, RowError, check_header, csv_reader};
pub use purchases_file::items::{parse_items, split_quantity};
pub use purchases_file::timestamp::parse_timestamp;
pub use purchases_file::{PURCHASES_HEADER, PurchaseRows, PurchaseRules, parse_purchase};
