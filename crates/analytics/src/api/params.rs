//! The query parameters of the reports, their parsing and validation:
//! paging, date ranges (and the days in them), customer id prefixes.

use chrono::NaiveDate;
use serde::Deserialize;
use supermarket_http::ApiError;
use utoipa::IntoParams;
use uuid::Uuid;

use super::plumbing::{bad_parameter, bad_range};

/// Longest date range of one daily report.
pub(super) const MAX_DAILY_RANGE_DAYS: i64 = 366;
/// Longest date range of one hourly report.
pub(super) const MAX_HOURLY_RANGE_DAYS: i64 = 31;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Paging {
    /// Largest number of customers returned (default: all).
    #[param(minimum = 0)]
    pub limit: Option<i64>,
    /// Customers skipped first (default 0).
    #[param(minimum = 0)]
    pub offset: Option<i64>,
}

pub(super) fn check_paging(
    limit: Option<i64>,
    offset: Option<i64>,
    max_limit: Option<i64>,
) -> Result<(Option<i64>, i64), ApiError> {
    if let Some(limit) = limit
        && (limit < 0 || max_limit.is_some_and(|max| limit > max))
    {
        let max = max_limit.map_or(String::new(), |m| format!(" and at most {m}"));
        return Err(bad_parameter(format!("`limit` must be 0 or more{max}")));
    }
    let offset = offset.unwrap_or(0);
    if offset < 0 {
        return Err(bad_parameter("`offset` must be 0 or more"));
    }
    Ok((limit, offset))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SalesRange {
    /// First day, YYYY-MM-DD (store time zone). Default: `to` minus 29 days (daily) or `to` (hourly).
    /// After `to`, or too far before it (366 days a daily report, 31 an hourly one): 400 `invalid-range`.
    #[param(value_type = Option<String>, format = Date)]
    pub from: Option<Day>,
    /// Last day, YYYY-MM-DD, included. Default: today.
    #[param(value_type = Option<String>, format = Date)]
    pub to: Option<Day>,
    /// Only this branch (e.g. SMKT001).
    #[param(pattern = "^[A-Z0-9_-]{1,32}$", example = "SMKT001")]
    pub branch: Option<String>,
}

/// A calendar day in a query, exactly `YYYY-MM-DD` (RFC 3339 `full-date`,
/// years 0000 to 9999): not chrono's wider syntax, which also takes signed
/// and six-digit years.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Day(pub NaiveDate);

impl std::str::FromStr for Day {
    type Err = String;

    fn from_str(text: &str) -> Result<Day, String> {
        let shaped = text.len() == 10
            && text.bytes().enumerate().all(|(i, b)| {
                if i == 4 || i == 7 {
                    b == b'-'
                } else {
                    b.is_ascii_digit()
                }
            });
        let invalid = || {
            format!(
                "`{}` is not a date of the form YYYY-MM-DD",
                text.chars().take(40).collect::<String>()
            )
        };
        if !shaped {
            return Err(invalid());
        }
        NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .map(Day)
            .map_err(|_| invalid())
    }
}

impl<'de> Deserialize<'de> for Day {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Day, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl SalesRange {
    pub(super) fn resolve(
        &self,
        today: NaiveDate,
        default_days: i64,
        max_days: i64,
    ) -> Result<(NaiveDate, NaiveDate, Option<String>), ApiError> {
        let to = self.to.map_or(today, |day| day.0);
        let from = match self.from {
            Some(day) => day.0,
            // Saturates at the earliest date rather than panicking.
            None => to
                .checked_sub_days(chrono::Days::new((default_days - 1) as u64))
                .unwrap_or(NaiveDate::MIN),
        };
        if from > to {
            return Err(bad_range("`from` must not be after `to`"));
        }
        if (to - from).num_days() >= max_days {
            return Err(bad_range(format!(
                "the range may cover at most {max_days} days"
            )));
        }
        if let Some(branch) = &self.branch
            && !supermarket_domain::branch::is_valid_branch_id(branch)
        {
            return Err(bad_parameter(format!(
                "`{branch}` is not a branch id such as SMKT001"
            )));
        }
        Ok((from, to, self.branch.clone()))
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LoyalQuery {
    /// Page size, 0 to 1000 (default 50).
    #[param(minimum = 0, maximum = 1000)]
    pub limit: Option<i64>,
    /// Customers skipped first (default 0).
    #[param(minimum = 0)]
    pub offset: Option<i64>,
    /// Only customers whose id starts with these hex digits (1 to 32 of them; dashes ignored); results are then ordered by id.
    #[param(pattern = "^-*([0-9a-fA-F]-*){1,32}$", example = "01e1e1")]
    pub prefix: Option<String>,
}

/// The smallest and largest UUIDs starting with `prefix` (hex digits, dashes ignored).
pub fn prefix_bounds(prefix: &str) -> Option<(Uuid, Uuid)> {
    let digits: String = prefix
        .chars()
        .filter(|c| *c != '-')
        .collect::<String>()
        .to_ascii_lowercase();
    if digits.is_empty() || digits.len() > 32 || !digits.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let low = format!("{digits:0<32}");
    let high = format!("{digits:f<32}");
    Some((Uuid::parse_str(&low).ok()?, Uuid::parse_str(&high).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_bounds_cover_exactly_the_prefix() {
        let (low, high) = prefix_bounds("01E1-e1").expect("valid");
        assert_eq!(low.to_string(), "01e1e100-0000-0000-0000-000000000000");
        assert_eq!(high.to_string(), "01e1e1ff-ffff-ffff-ffff-ffffffffffff");
        assert!(prefix_bounds("xyz").is_none());
        assert!(prefix_bounds("").is_none());
        assert!(prefix_bounds(&"a".repeat(33)).is_none());
    }

    #[test]
    fn days_are_exactly_yyyy_mm_dd() {
        assert_eq!(
            "2025-05-01".parse::<Day>(),
            Ok(Day(NaiveDate::from_ymd_opt(2025, 5, 1).unwrap()))
        );
        assert_eq!(
            "0000-01-01".parse::<Day>().map(|d| d.0.to_string()),
            Ok("0000-01-01".to_owned())
        );
        for text in [
            "-262143-01-01",
            "+2025-05-01",
            "2025-5-1",
            "20250501",
            "2025-02-30",
            "2025-05-01 ",
            "２０２５-05-01",
            "",
        ] {
            assert!(text.parse::<Day>().is_err(), "{text:?}");
        }
    }

    #[test]
    fn a_default_range_saturates_instead_of_panicking() {
        let range = SalesRange {
            from: None,
            to: Some(Day(NaiveDate::MIN)),
            branch: None,
        };
        let (from, to, _) = range
            .resolve(NaiveDate::MIN, 30, MAX_DAILY_RANGE_DAYS)
            .expect("a range");
        assert_eq!((from, to), (NaiveDate::MIN, NaiveDate::MIN));
    }
}
