//! Reading and validating the three CSV files, with no file or database I/O.
//!
//! Every function takes a reader (or text) and the rules it needs, so tests
//! and a fuzz target can drive it with in-memory bytes. A bad row becomes a
//! [`RowError`] naming its line in the file (1-based, the header is line 1).
//! [`contract`] states what holds for any input, as checks the fuzz targets
//! (`fuzz/`) and the tests run.

pub mod contract;

use std::collections::{HashSet, VecDeque};
use std::fmt;
use std::io::{self, Read};
use std::sync::LazyLock;

use chrono::format::{Item, Parsed, StrftimeItems};
use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use csv::ByteRecord;
use supermarket_domain::{
    BasketLine, Branches, Catalog, CustomerId, Money, Product, ProductId, ProductRef, Purchase,
    PurchaseError, PurchaseId, branch::is_valid_branch_id, catalog::normalize_product_name,
};

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// The header of the purchases file, column by column.
pub const PURCHASES_HEADER: [&str; 5] = [
    "supermarket_id",
    "timestamp",
    "user_id",
    "items_list",
    "total_amount",
];
/// The header of the products file.
pub const PRODUCTS_HEADER: [&str; 2] = ["product_name", "unit_price"];
/// The header of the branches file.
pub const BRANCHES_HEADER: [&str; 2] = ["supermarket_id", "name"];

/// One bad row: its line in the file and why it was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowError {
    pub line: u64,
    pub reason: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

/// The CSV reader this module uses (see [`csv_reader`]).
pub type CsvReader<R> = csv::Reader<LineCounter<R>>;

/// A CSV reader over `input` that skips a UTF-8 byte order mark and accepts
/// CRLF or LF line ends. Headers and column counts are checked row by row
/// here (the reader is flexible), to report each bad line rather than stop
/// at the first.
///
/// The mark is skipped by [`LineCounter`], whatever pieces the input comes
/// in; a second mark would be text (and fail the header check).
pub fn csv_reader<R: Read>(input: R) -> io::Result<CsvReader<R>> {
    Ok(csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .buffer_capacity(1 << 16)
        .from_reader(LineCounter::new(input)?))
}

/// Skips a byte order mark and counts the line ends of the bytes the CSV
/// parser reads, to give records their true line numbers.
///
/// The csv crate's own `Position::line` is off after CRLF line ends and
/// blank lines (it counts the previous record's `\n` late and skipped blank
/// lines not at all), so a report built on it would name the wrong lines.
#[derive(Debug)]
pub struct LineCounter<R> {
    inner: R,
    /// The first bytes of the input, read to look for a byte order mark,
    /// that are still to be handed out (`head[head_start..head_end]`).
    head: [u8; 3],
    head_start: usize,
    head_end: usize,
    consumed: u64,
    /// Offsets of line ends read ahead but not yet passed by a record.
    pending: VecDeque<u64>,
    passed: u64,
    /// The offset of a `\r` that ended the last read: a line end of its own
    /// unless the next read starts with `\n`.
    trailing_cr: Option<u64>,
    /// A read has returned the end of the input.
    at_end: bool,
}

impl<R: Read> LineCounter<R> {
    fn new(mut inner: R) -> io::Result<LineCounter<R>> {
        // A byte order mark may come in several reads (a pipe, a slow disk):
        // read until three bytes or the end, not just what one read gives.
        let mut head = [0; 3];
        let mut filled = 0;
        while filled < head.len() {
            match inner.read(&mut head[filled..]) {
                Ok(0) => break,
                Ok(read) => filled += read,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(error),
            }
        }
        let head_start = if head[..filled] == *UTF8_BOM {
            filled
        } else {
            0
        };
        Ok(LineCounter {
            inner,
            head,
            head_start,
            head_end: filled,
            consumed: 0,
            pending: VecDeque::new(),
            passed: 0,
            trailing_cr: None,
            at_end: false,
        })
    }
}

impl<R> LineCounter<R> {
    /// The line the reading has reached: where a read that fails stopped.
    fn line_reached(&self) -> u64 {
        1 + self.passed + self.pending.len() as u64 + u64::from(self.trailing_cr.is_some())
    }

    /// How many line ends lie before `offset`. Offsets must not decrease
    /// from one call to the next.
    fn line_ends_before(&mut self, offset: u64) -> u64 {
        while self
            .pending
            .front()
            .is_some_and(|&newline| newline < offset)
        {
            self.pending.pop_front();
            self.passed += 1;
        }
        self.passed
    }
}

impl<R: Read> Read for LineCounter<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // csv-core skips a byte order mark too, when the first bytes it
        // parses hold all three: the first read hands out one byte, so that
        // it never does (the mark is skipped here, and only one is).
        let buf = match buf {
            [first, ..] if self.consumed == 0 => std::slice::from_mut(first),
            _ => buf,
        };
        let read = if self.head_start < self.head_end {
            let read = (self.head_end - self.head_start).min(buf.len());
            buf[..read].copy_from_slice(&self.head[self.head_start..self.head_start + read]);
            self.head_start += read;
            read
        } else {
            self.inner.read(buf)?
        };
        self.at_end |= read == 0 && !buf.is_empty();
        let bytes = &buf[..read];
        let start = self.consumed;
        if let Some(cr) = self.trailing_cr.take()
            && bytes.first() != Some(&b'\n')
        {
            self.pending.push_back(cr);
        }
        // Line ends as the CSV reader ends records: `\n`, `\r\n` (counted
        // at its `\n`) and a lone `\r`.
        for i in memchr::memchr2_iter(b'\n', b'\r', bytes) {
            if bytes[i] == b'\n' {
                self.pending.push_back(start + i as u64);
            } else if i + 1 == read {
                self.trailing_cr = Some(start + i as u64);
            } else if bytes[i + 1] != b'\n' {
                self.pending.push_back(start + i as u64);
            }
        }
        self.consumed += read as u64;
        Ok(read)
    }
}

/// The 1-based line where the record just read starts.
///
/// The reader stands just past the record's terminator (`\r` or `\n`, the
/// CSV reader returns a record as soon as it reads one), or at the end of
/// the input for a last record without a terminator (the reader returns it
/// only after a read found the end). The line ends before the terminator, or
/// before the end, give the line the record ends on, minus the line ends
/// quoted inside its fields.
fn line_of<R: Read>(reader: &mut CsvReader<R>, record: &ByteRecord) -> u64 {
    let position = reader.position().byte();
    let counter = reader.get_mut();
    let end = if counter.at_end {
        position
    } else {
        position.saturating_sub(1)
    };
    let end_line = 1 + counter.line_ends_before(end);
    let inside: u64 = record.iter().map(line_ends).sum();
    end_line.saturating_sub(inside).max(1)
}

/// The line ends in `bytes`: `\n`, `\r\n` and a lone `\r`.
fn line_ends(bytes: &[u8]) -> u64 {
    memchr::memchr2_iter(b'\n', b'\r', bytes)
        .filter(|&i| bytes[i] == b'\n' || bytes.get(i + 1) != Some(&b'\n'))
        .count() as u64
}

/// Checks a header row against the expected column names.
pub fn check_header(record: &ByteRecord, expected: &[&str]) -> Result<(), String> {
    let found: Vec<String> = record
        .iter()
        .map(|field| String::from_utf8_lossy(field).trim().to_owned())
        .collect();
    if found.len() == expected.len()
        && found
            .iter()
            .zip(expected)
            .all(|(found, expected)| found == expected)
    {
        Ok(())
    } else {
        Err(format!(
            "the header must be `{}`, found `{}`",
            expected.join(","),
            found.join(",")
        ))
    }
}

fn field<'r>(record: &'r ByteRecord, index: usize, name: &str) -> Result<&'r str, String> {
    let bytes = record.get(index).unwrap_or_default();
    std::str::from_utf8(bytes).map_err(|_| format!("column {name} is not valid UTF-8"))
}

fn check_columns(record: &ByteRecord, expected: usize) -> Result<(), String> {
    if record.len() == expected {
        Ok(())
    } else {
        Err(format!(
            "expected {expected} columns, found {}",
            record.len()
        ))
    }
}

/// Refuses a NUL character, which PostgreSQL text cannot hold: the database
/// would refuse the whole load without naming the line.
fn check_no_nul(text: &str, what: &str) -> Result<(), String> {
    if text.contains('\0') {
        Err(format!(
            "{what} `{}` holds a NUL character",
            text.escape_debug()
        ))
    } else {
        Ok(())
    }
}

/// Reads a whole small file (products, branches): the header check, then
/// `row` for every data record. Returns the good rows with their lines, or
/// every bad row.
fn read_small_file<R: Read, T>(
    input: R,
    header: &[&str],
    mut row: impl FnMut(&ByteRecord) -> Result<T, String>,
) -> Result<Vec<(u64, T)>, Vec<RowError>> {
    let unreadable = |line: u64, error: &dyn fmt::Display| {
        vec![RowError {
            line,
            reason: format!("cannot read the file: {error}"),
        }]
    };
    let mut reader = csv_reader(input).map_err(|e| unreadable(1, &e))?;
    let mut record = ByteRecord::new();
    match reader.read_byte_record(&mut record) {
        Ok(true) => {
            let line = line_of(&mut reader, &record);
            check_header(&record, header).map_err(|reason| vec![RowError { line, reason }])?
        }
        Ok(false) => {
            return Err(vec![RowError {
                line: 1,
                reason: format!(
                    "the file is empty: expected the header `{}`",
                    header.join(",")
                ),
            }]);
        }
        Err(error) => return Err(unreadable(reader.get_ref().line_reached(), &error)),
    }
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(true) => {
                let line = line_of(&mut reader, &record);
                match check_columns(&record, header.len()).and_then(|()| row(&record)) {
                    Ok(value) => rows.push((line, value)),
                    Err(reason) => errors.push(RowError { line, reason }),
                }
            }
            Ok(false) => break,
            Err(error) => {
                // An I/O error: the csv crate gives it no position.
                errors.push(RowError {
                    line: reader.get_ref().line_reached(),
                    reason: format!("unreadable CSV: {error}"),
                });
                break;
            }
        }
    }
    if errors.is_empty() {
        Ok(rows)
    } else {
        Err(errors)
    }
}

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

/// What a purchase row is checked against.
#[derive(Clone, Debug)]
pub struct PurchaseRules {
    pub catalog: Catalog,
    pub branches: Branches,
    /// The zone of the stores' clocks, for timestamps written without one.
    pub zone: Tz,
}

/// Reads a time stamp. One without a zone (`2025-05-26T19:51:00.539354`, as
/// the tills write them) is a wall-clock time in `zone`; one with an offset
/// or `Z` (RFC 3339) is taken as written. A wall-clock time that a DST change
/// makes ambiguous or nonexistent is refused rather than guessed.
pub fn parse_timestamp(text: &str, zone: Tz) -> Result<DateTime<Utc>, String> {
    let text = text.trim();
    match parse_naive(text) {
        Some(naive) => match zone.from_local_datetime(&naive) {
            chrono::LocalResult::Single(local) => Ok(local.with_timezone(&Utc)),
            chrono::LocalResult::Ambiguous(_, _) => Err(format!(
                "timestamp `{text}` is ambiguous in {zone} (a daylight-saving change repeats that hour): write it with an offset"
            )),
            chrono::LocalResult::None => {
                Err(format!("timestamp `{text}` does not exist in {zone} (skipped by a daylight-saving change)"))
            }
        },
        None => DateTime::parse_from_rfc3339(text).map(|t| t.to_utc()).map_err(|_| {
            format!("`{text}` is not a timestamp like 2025-05-26T19:51:00.539354 (or with an offset, like 2025-05-26T19:51:00Z)")
        }),
    }
}

/// A zone-less ISO timestamp, `T` or space between date and time, with a
/// four-digit year: `%Y` also reads signed years like `-5000`, which
/// PostgreSQL cannot store (it stops at 4713 BC), as RFC 3339 never has.
fn parse_naive(text: &str) -> Option<NaiveDateTime> {
    let year = text.as_bytes().get(..5)?;
    if !(year[..4].iter().all(u8::is_ascii_digit) && year[4] == b'-') {
        return None;
    }
    // The format strings are compiled once: re-reading them for every row
    // was a tenth of the parser's time on ten million rows.
    static FORMATS: LazyLock<[Vec<Item<'static>>; 2]> = LazyLock::new(|| {
        ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"]
            .map(|format| StrftimeItems::new(format).parse().unwrap_or_default())
    });
    FORMATS.iter().find_map(|items| {
        let mut parsed = Parsed::new();
        chrono::format::parse(&mut parsed, text, items.iter()).ok()?;
        parsed.to_naive_datetime_with_offset(0).ok()
    })
}

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

#[cfg(test)]
mod tests {
    use super::*;

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

    fn rows(text: &str) -> Vec<Result<Purchase, RowError>> {
        PurchaseRows::new(text.as_bytes(), rules(Tz::UTC))
            .unwrap()
            .collect()
    }

    const HEADER: &str = "supermarket_id,timestamp,user_id,items_list,total_amount";
    const CUSTOMER: &str = "01e1e159-8045-43c2-88dd-5682b18bd680";

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
    fn line_numbers_are_those_of_the_file() {
        let text = format!(
            "{HEADER}\r\nSMKT001,2025-05-26T19:51:00,{CUSTOMER},\"eggs,milk\",4.5\r\n\r\nSMKT009,2025-05-26T19:51:00,{CUSTOMER},milk,1.5\r\nSMKT001,2025-05-26T19:51:00,{CUSTOMER},caviar,1.5\r\n"
        );
        let errors: Vec<RowError> = rows(&text).into_iter().filter_map(Result::err).collect();
        assert_eq!(
            errors.iter().map(|e| e.line).collect::<Vec<_>>(),
            vec![4, 5]
        );
        assert!(
            errors[0].reason.contains("unknown branch `SMKT009`"),
            "{}",
            errors[0].reason
        );
        assert!(
            errors[1].reason.contains("unknown product `caviar`"),
            "{}",
            errors[1].reason
        );

        // Blank lines and a quoted field spanning two lines, in LF and CRLF.
        for newline in ["\n", "\r\n"] {
            let text = [
                HEADER,
                "",
                &format!("SMKT001,2025-05-26T19:51:00,{CUSTOMER},\"eggs,"),
                "milk\",4.5",
                "",
                "",
                &format!("SMKT001,2025-05-26T19:51:00,{CUSTOMER},caviar,1.5"),
                &format!("SMKT001,2025-05-26T19:51:00,{CUSTOMER},\"caviar,"),
                "milk\",1.5",
            ]
            .join(newline);
            let results = rows(&text);
            assert_eq!(results.len(), 3, "{newline:?}: {results:?}");
            assert!(results[0].is_ok(), "{results:?}");
            let lines: Vec<u64> = results
                .iter()
                .filter_map(|r| r.as_ref().err())
                .map(|e| e.line)
                .collect();
            assert_eq!(lines, vec![7, 8], "{newline:?}");
        }
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
    fn time_zones_shift_wall_clock_times() {
        let paris: Tz = "Europe/Paris".parse().unwrap();
        let summer = parse_timestamp("2025-05-26T19:51:00", paris).unwrap();
        assert_eq!(summer.to_rfc3339(), "2025-05-26T17:51:00+00:00");
        assert!(
            parse_timestamp("2025-03-30T02:30:00", paris)
                .unwrap_err()
                .contains("does not exist")
        );
        assert!(
            parse_timestamp("2025-10-26T02:30:00", paris)
                .unwrap_err()
                .contains("ambiguous")
        );
        assert_eq!(
            parse_timestamp("2025-05-26T19:51:00Z", paris)
                .unwrap()
                .to_rfc3339(),
            "2025-05-26T19:51:00+00:00"
        );
    }

    #[test]
    fn identical_rows_make_the_same_id_and_item_order_does_not_matter() {
        let text = format!(
            "{HEADER}\nSMKT001,2025-05-26T19:51:00,{CUSTOMER},\"eggs,milk\",4.5\nSMKT001,2025-05-26T19:51:00,{CUSTOMER},\"Milk, eggs\",4.5\n"
        );
        let purchases: Vec<Purchase> = rows(&text).into_iter().map(Result::unwrap).collect();
        assert_eq!(purchases[0].id(), purchases[1].id());
    }

    #[test]
    fn quantities_are_recognized_in_several_spellings() {
        assert_eq!(split_quantity("milk x2"), Some(("milk", 2)));
        assert_eq!(split_quantity("milk*3"), Some(("milk", 3)));
        assert_eq!(split_quantity("toilet paper:2"), Some(("toilet paper", 2)));
        assert_eq!(split_quantity("2x milk"), Some(("milk", 2)));
        assert_eq!(split_quantity("2 milk"), Some(("milk", 2)));
        assert_eq!(split_quantity("milk"), None);
    }

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
