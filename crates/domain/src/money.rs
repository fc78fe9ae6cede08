//! Exact money: an amount of integer cents.

use std::fmt;
use std::iter::Sum;
use std::ops::Add;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// An exact, non-negative amount of money in cents.
///
/// Parsed from decimal text such as `"1.5"`, `"2"` or `"10.25"` and displayed
/// with two decimals (`"1.50"`). Arithmetic never goes through floating point.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Money(i64);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("`{0}` is not an amount: expected digits with at most two decimals, like 1.5 or 10.25")]
    Malformed(String),
    #[error("`{0}` is too large an amount")]
    TooLarge(String),
}

impl Money {
    pub const ZERO: Money = Money(0);
    /// The largest amount we accept from text: one billion currency units.
    const MAX_CENTS: i64 = 100_000_000_000;

    pub const fn from_cents(cents: i64) -> Money {
        Money(cents)
    }

    pub const fn cents(self) -> i64 {
        self.0
    }

    /// The amount as a JSON-friendly decimal number (`1.5` for 150 cents).
    /// Only for presentation: every computation stays in cents.
    pub fn as_decimal_f64(self) -> f64 {
        self.0 as f64 / 100.0
    }
}

impl FromStr for Money {
    type Err = MoneyError;

    fn from_str(text: &str) -> Result<Money, MoneyError> {
        let malformed = || MoneyError::Malformed(text.to_owned());
        let (units, fraction) = match text.split_once('.') {
            Some((units, fraction)) => (units, fraction),
            None => (text, ""),
        };
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if units.is_empty() || !all_digits(units) || !all_digits(fraction) || fraction.len() > 2 {
            return Err(malformed());
        }
        if text.ends_with('.') {
            return Err(malformed());
        }
        if units.len() > 12 {
            return Err(MoneyError::TooLarge(text.to_owned()));
        }
        let units: i64 = units.parse().map_err(|_| malformed())?;
        let fraction_cents: i64 = match fraction.len() {
            0 => 0,
            1 => fraction.parse::<i64>().map_err(|_| malformed())? * 10,
            _ => fraction.parse().map_err(|_| malformed())?,
        };
        let cents = units * 100 + fraction_cents;
        if cents > Self::MAX_CENTS {
            return Err(MoneyError::TooLarge(text.to_owned()));
        }
        Ok(Money(cents))
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

impl Add for Money {
    type Output = Money;
    fn add(self, other: Money) -> Money {
        Money(self.0 + other.0)
    }
}

impl Sum for Money {
    fn sum<I: Iterator<Item = Money>>(iter: I) -> Money {
        iter.fold(Money::ZERO, Add::add)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_shapes_of_the_original_files() {
        assert_eq!("1.5".parse::<Money>().unwrap().cents(), 150);
        assert_eq!("2".parse::<Money>().unwrap().cents(), 200);
        assert_eq!("10.25".parse::<Money>().unwrap().cents(), 1025);
        assert_eq!("4.50".parse::<Money>().unwrap().cents(), 450);
        assert_eq!("0.05".parse::<Money>().unwrap().cents(), 5);
    }

    #[test]
    fn rejects_what_is_not_an_exact_amount() {
        for bad in [
            "", ".", "1.", ".5", "1.555", "-1", "1,5", "abc", "1e3", " 1", "1.5 ", "+1",
        ] {
            assert!(bad.parse::<Money>().is_err(), "{bad:?} should be rejected");
        }
        assert!(matches!(
            "9999999999999".parse::<Money>(),
            Err(MoneyError::TooLarge(_))
        ));
    }

    #[test]
    fn displays_two_decimals_and_sums_exactly() {
        let total: Money = ["0.1", "0.2"]
            .iter()
            .map(|s| s.parse::<Money>().unwrap())
            .sum();
        assert_eq!(total.to_string(), "0.30");
        assert_eq!(Money::from_cents(450).to_string(), "4.50");
        assert_eq!(Money::from_cents(7).to_string(), "0.07");
    }
}
