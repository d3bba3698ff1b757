//! `Retry-After` (RFC 9110 §10.2.3): delay-seconds or an HTTP date.

use chrono::{DateTime, Duration, Utc};

pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        // Cap absurd values at a week: a typo must not silence a source for years.
        return Some(now + Duration::seconds(secs.min(7 * 24 * 3600) as i64));
    }
    DateTime::parse_from_rfc2822(v).ok().map(|d| d.with_timezone(&Utc).max(now))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn seconds_and_http_dates() {
        let now = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
        assert_eq!(parse_retry_after("120", now), Some(now + Duration::seconds(120)));
        assert_eq!(parse_retry_after("Mon, 01 Jan 2024 01:00:00 GMT", now), Some(now + Duration::hours(1)));
        assert_eq!(parse_retry_after("Sun, 31 Dec 2023 01:00:00 GMT", now), Some(now));
        assert_eq!(parse_retry_after("soon", now), None);
    }
}
