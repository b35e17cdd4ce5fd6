//! Dates as Jekyll authors write them, resolved in the site's time zone.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, TimeZone};
use chrono_tz::Tz;

/// Parses a front matter or file name date. Dates without an offset are in `tz` (UTC if unset).
pub fn parse(text: &str, tz: Option<Tz>) -> Option<DateTime<FixedOffset>> {
    let t = text.trim();
    if let Ok(d) = DateTime::parse_from_rfc3339(t) {
        return Some(d);
    }
    for fmt in [
        "%Y-%m-%d %H:%M:%S %z",
        "%Y-%m-%d %H:%M:%S%.f %z",
        "%Y-%m-%d %H:%M %z",
        "%Y-%m-%dT%H:%M:%S%z",
        "%Y-%m-%d %H:%M:%S %:z",
    ] {
        if let Ok(d) = DateTime::parse_from_str(t, fmt) {
            return Some(d);
        }
    }
    for fmt in [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%d %H:%M:%S%.f",
    ] {
        if let Ok(n) = NaiveDateTime::parse_from_str(t, fmt) {
            return Some(localize(n, tz));
        }
    }
    let n = NaiveDate::parse_from_str(t, "%Y-%m-%d").ok()?;
    Some(localize(n.and_hms_opt(0, 0, 0)?, tz))
}

/// A wall-clock time in the site's zone (UTC if unset), as a fixed-offset instant.
pub fn localize(n: NaiveDateTime, tz: Option<Tz>) -> DateTime<FixedOffset> {
    match tz {
        Some(tz) => tz
            .from_local_datetime(&n)
            .earliest()
            .unwrap_or_else(|| tz.from_utc_datetime(&n))
            .fixed_offset(),
        None => n.and_utc().fixed_offset(),
    }
}

/// RFC 3339 with seconds, which both Tera's `date` filter and feed readers understand.
pub fn to_rfc3339(d: &DateTime<FixedOffset>) -> String {
    d.to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_jekyll_styles() {
        let utc = |s| parse(s, None).map(|d| to_rfc3339(&d));
        assert_eq!(
            utc("2024-01-02").as_deref(),
            Some("2024-01-02T00:00:00+00:00")
        );
        assert_eq!(
            utc("2024-01-02 10:30:00 +0100").as_deref(),
            Some("2024-01-02T10:30:00+01:00")
        );
        assert_eq!(
            utc("2024-01-02T10:30:00Z").as_deref(),
            Some("2024-01-02T10:30:00+00:00")
        );
        assert_eq!(
            utc("2024-01-02 10:30").as_deref(),
            Some("2024-01-02T10:30:00+00:00")
        );
        assert_eq!(utc("2024-13-02"), None);
    }

    #[test]
    fn naive_dates_use_site_zone() {
        let tz: Tz = "Europe/Berlin".parse().expect("known zone");
        let d = parse("2024-07-01 12:00:00", Some(tz)).expect("valid");
        assert_eq!(to_rfc3339(&d), "2024-07-01T12:00:00+02:00");
    }
}
