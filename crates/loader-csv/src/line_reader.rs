//! The CSV reader every file goes through, and what it tells about a row:
//! its true line number in the file, whether the header and the column count
//! are right, and whether a text holds a NUL character.
//!
//! The products and branches files are small and read whole by
//! `read_small_file`; the purchases file is streamed row by row by
//! [`PurchaseRows`](crate::PurchaseRows), on the same reader.

use std::collections::VecDeque;
use std::fmt;
use std::io::{self, Read};

use csv::ByteRecord;

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

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
    pub(crate) fn line_reached(&self) -> u64 {
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
pub(crate) fn line_of<R: Read>(reader: &mut CsvReader<R>, record: &ByteRecord) -> u64 {
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

pub(crate) fn field<'r>(
    record: &'r ByteRecord,
    index: usize,
    name: &str,
) -> Result<&'r str, String> {
    let bytes = record.get(index).unwrap_or_default();
    std::str::from_utf8(bytes).map_err(|_| format!("column {name} is not valid UTF-8"))
}

pub(crate) fn check_columns(record: &ByteRecord, expected: usize) -> Result<(), String> {
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
pub(crate) fn check_no_nul(text: &str, what: &str) -> Result<(), String> {
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
pub(crate) fn read_small_file<R: Read, T>(
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

#[cfg(test)]
mod tests {
    use super::RowError;
    use crate::purchases_file::tests::{CUSTOMER, HEADER, rows};

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
}
