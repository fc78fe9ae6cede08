//! The `timestamp` column: a wall-clock time in the stores' zone, or a time
//! with an offset.

use std::sync::LazyLock;

use chrono::format::{Item, Parsed, StrftimeItems};
use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
