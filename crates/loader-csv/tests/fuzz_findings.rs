//! Inputs on which the fuzz targets (`fuzz/`) once found a broken promise,
//! minimized, each with the behaviour it now has (and one the contract
//! caught on a seed written after reading the code). Each input also goes
//! through the whole contract, as the fuzz target would run it.

use std::io::{self, Read};

use supermarket_loader_csv::{
    PurchaseRows, PurchaseRules, RowError, contract, parse_branches, parse_products,
};

const PRODUCTS: &[u8] = include_bytes!("../../../data/products_list.csv");
const BRANCHES: &[u8] = include_bytes!("../../../data/supermarkets.csv");
const HEADER: &str = "supermarket_id,timestamp,user_id,items_list,total_amount";
const CUSTOMER: &str = "01e1e159-8045-43c2-88dd-5682b18bd680";

fn rules() -> PurchaseRules {
    contract::rules(PRODUCTS, BRANCHES, chrono_tz::Tz::UTC)
}

/// An in-memory file that hands out `step` bytes per read, then fails if
/// `fail` is set: a pipe, or a disk that goes away.
struct Pieces<'a> {
    data: &'a [u8],
    step: usize,
    fail: bool,
}

impl Read for Pieces<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.data.is_empty() && self.fail {
            return Err(io::Error::other("the disk went away"));
        }
        let n = self.data.len().min(buf.len()).min(self.step);
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

fn read(input: impl Read) -> Vec<Result<String, RowError>> {
    PurchaseRows::new(input, rules())
        .expect("a readable start")
        .map(|row| row.map(|purchase| purchase.branch().to_string()))
        .collect()
}

fn error_lines(results: &[Result<String, RowError>]) -> Vec<u64> {
    results
        .iter()
        .filter_map(|r| r.as_ref().err())
        .map(|e| e.line)
        .collect()
}

fn contract_holds(input: &[u8]) {
    contract::purchases(input, &rules());
}

/// A read that fails midway was reported on line 0: the csv crate gives an
/// I/O error no position. It is now the line the reading had reached.
#[test]
fn a_failed_read_names_the_line_it_reached() {
    let input = format!("{HEADER}\nSMKT001,2025-05-26T19:51:00,{CUSTOMER},milk,1.5\nSMKT0");
    let results = read(Pieces {
        data: input.as_bytes(),
        step: 1,
        fail: true,
    });
    assert_eq!(results.len(), 2, "{results:?}");
    assert_eq!(results[0], Ok("SMKT001".to_owned()));
    let error = results[1].as_ref().unwrap_err();
    assert_eq!(error.line, 3, "{error}");
    assert!(error.reason.contains("the disk went away"), "{error}");

    // In the header of the fuzzer's input: line 1, not 0.
    let header = &HEADER.as_bytes()[..20];
    let results = read(Pieces {
        data: header,
        step: 1,
        fail: true,
    });
    assert_eq!(error_lines(&results), [1]);

    // The products and branches files too.
    let errors = parse_products(Pieces {
        data: b"product_name,unit_price\nmilk,1.5\n\nbre",
        step: 4,
        fail: true,
    })
    .unwrap_err();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].line, 4, "{}", errors[0]);
    contract_holds(input.as_bytes());
}

/// A byte order mark that came in pieces (a pipe hands out what it has)
/// was taken for text: the header was refused.
#[test]
fn a_byte_order_mark_in_pieces_is_skipped() {
    let input = format!(
        "\u{feff}{HEADER}\r\nSMKT003,2025-05-26T19:51:00.539354,{CUSTOMER},\"eggs,milk\",4.5\r\n"
    );
    for step in [1, 2, 3, 4, usize::MAX] {
        let results = read(Pieces {
            data: input.as_bytes(),
            step,
            fail: false,
        });
        assert_eq!(results, [Ok("SMKT003".to_owned())], "{step} bytes per read");
    }
    let products = parse_products(Pieces {
        data: PRODUCTS,
        step: 1,
        fail: false,
    })
    .expect("data/products_list.csv starts with a byte order mark");
    assert_eq!(products.len(), 10);
    contract_holds(input.as_bytes());
}

/// A second byte order mark was skipped too when the whole file came in one
/// read (the csv crate skips one of its own), and was text when it came in
/// pieces. It is text now: the header is refused, however the file arrives.
#[test]
fn a_second_byte_order_mark_is_text() {
    let input =
        format!("\u{feff}\u{feff}{HEADER}\nSMKT001,2025-05-26T19:51:00,{CUSTOMER},milk,1.5\n");
    for step in [1, usize::MAX] {
        let results = read(Pieces {
            data: input.as_bytes(),
            step,
            fail: false,
        });
        assert_eq!(results.len(), 1, "{results:?}");
        let error = results[0].as_ref().unwrap_err();
        assert_eq!(error.line, 1);
        assert!(
            error.reason.contains("found `\u{feff}supermarket_id"),
            "{error}"
        );
    }
    contract_holds(input.as_bytes());
}

/// A lone `\r` ends a record (as old Mac files end lines), but only `\n`
/// counted as a line end: two rows were reported on the same line.
#[test]
fn a_lone_carriage_return_ends_a_line() {
    let input = format!("{HEADER}\n2\r2");
    assert_eq!(error_lines(&read(input.as_bytes())), [2, 3]);
    contract_holds(input.as_bytes());

    let mac = format!(
        "{HEADER}\rSMKT009,2025-05-26T19:51:00,{CUSTOMER},milk,1.5\r\rSMKT001,x,{CUSTOMER},milk,1.5\r"
    );
    assert_eq!(error_lines(&read(mac.as_bytes())), [2, 4]);
    contract_holds(mac.as_bytes());

    // A `\r` quoted inside a field counts as well; `\r\n` stays one line end.
    let quoted = format!(
        "{HEADER}\r\nSMKT001,2025-05-26T19:51:00,{CUSTOMER},\"milk,\r\rcaviar\",1.5\r\nx\r\n"
    );
    assert_eq!(error_lines(&read(quoted.as_bytes())), [2, 5]);
    contract_holds(quoted.as_bytes());
}

/// The last record of a file without a final line end, whose quoted field
/// ends with a newline, was placed one line too early (on the line of the
/// record before it).
#[test]
fn a_last_record_without_a_line_end_keeps_its_line() {
    let input = format!("{HEADER}\nk\n,\"\n");
    assert_eq!(error_lines(&read(input.as_bytes())), [2, 3]);
    contract_holds(input.as_bytes());

    let unterminated =
        format!("{HEADER}\nk\nSMKT001,2025-05-26T19:51:00,{CUSTOMER},\"milk\ncaviar\",1.5");
    assert_eq!(error_lines(&read(unterminated.as_bytes())), [2, 3]);
    contract_holds(unterminated.as_bytes());
}

/// A NUL character in a branch (or product) name passed the parser; the
/// database then refused the whole load with an error that named no line.
#[test]
fn a_nul_character_in_a_name_is_refused_on_its_line() {
    let errors =
        parse_branches("supermarket_id,name\nSMKT001,Central\nSMKT-2,No tsj\0\0\0e\n".as_bytes())
            .unwrap_err();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].line, 3);
    assert!(
        errors[0]
            .reason
            .contains("branch name `No tsj\\0\\0\\0e` holds a NUL character"),
        "{}",
        errors[0]
    );

    let errors =
        parse_products("product_name,unit_price\nmilk,1.5\nbre\0ad,2\n".as_bytes()).unwrap_err();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].line, 3);
    assert!(
        errors[0].reason.contains("holds a NUL character"),
        "{}",
        errors[0]
    );

    let products =
        b"\xEF\xBB\xBFproduct_name,unit_price\nMilk,1.5\r\nbread,2\r\ntoilet paper,4\r\n";
    let branches = b"supermarket_id,name\nSMKT001,Central\nSMKT-2,No tsj\0\0\0e\n";
    contract::files(products, branches, b"", chrono_tz::Tz::UTC);
}

/// Not found by the fuzzer (ten minutes did not reach it) but by the
/// contract's timestamp check on a seed: `%Y` reads signed years, and
/// `-5000-01-01T00:00:00` passed the parser while PostgreSQL stores nothing
/// before 4713 BC, so the load failed without naming a line. Wall-clock
/// timestamps now need a four-digit year, as RFC 3339 ones always did.
#[test]
fn a_signed_year_is_not_a_timestamp() {
    for (at, accepted) in [
        ("-5000-01-01T00:00:00", false),
        ("+12345-01-01T00:00:00", false),
        ("+2025-05-26T19:51:00", false),
        ("0000-01-01T00:00:00", true),
        ("9999-12-31 23:59:59.999999", true),
    ] {
        let input = format!("{HEADER}\nSMKT001,{at},{CUSTOMER},milk,1.5\n");
        let results = read(input.as_bytes());
        assert_eq!(results.len(), 1);
        match &results[0] {
            Ok(_) => assert!(accepted, "{at} was accepted"),
            Err(error) => {
                assert!(!accepted, "{at}: {error}");
                assert_eq!(error.line, 2);
                assert!(error.reason.contains("is not a timestamp"), "{error}");
            }
        }
        contract_holds(input.as_bytes());
    }
}
