//! The store time zone (`STORE_TIMEZONE`): which calendar day and hour a
//! purchase belongs to.
//!
//! A purchase made at 23:30 in Paris on 1 May belongs to 1 May even though
//! it is 21:30 UTC. Conversion happens in SQL (`purchased_at AT TIME ZONE
//! <zone>`) in both the incremental consumer and the rebuild, so both use
//! PostgreSQL's time zone database and always agree; chrono-tz only checks
//! the name at start (an unknown zone stops the process with a message) and
//! computes "today" for the API. Changing the zone requires a rebuild.

use std::str::FromStr;

use chrono_tz::Tz;

/// The `STORE_TIMEZONE` setting.
#[derive(clap::Args, Debug, Clone)]
pub struct StoreTimeZone {
    /// IANA time zone of the stores (e.g. Europe/Paris): calendar days and
    /// hours of the sales reports are local to it.
    #[arg(long = "store-timezone", env = "STORE_TIMEZONE", value_name = "STORE_TIMEZONE", default_value = "UTC",
          value_parser = parse_time_zone)]
    pub store_timezone: Tz,
}

impl StoreTimeZone {
    pub fn utc() -> StoreTimeZone {
        StoreTimeZone {
            store_timezone: Tz::UTC,
        }
    }

    /// The zone's IANA name, as given to PostgreSQL.
    pub fn name(&self) -> &'static str {
        self.store_timezone.name()
    }

    /// Today's date in the store time zone.
    pub fn today(&self) -> chrono::NaiveDate {
        chrono::Utc::now()
            .with_timezone(&self.store_timezone)
            .date_naive()
    }
}

fn parse_time_zone(name: &str) -> Result<Tz, String> {
    Tz::from_str(name.trim())
        .map_err(|_| format!("`{name}` is not an IANA time zone name such as UTC or Europe/Paris"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn accepts_iana_names_only() {
        assert_eq!(
            super::parse_time_zone("Europe/Paris").map(|tz| tz.name()),
            Ok("Europe/Paris")
        );
        assert!(super::parse_time_zone("Mars/Olympus").is_err());
    }
}
