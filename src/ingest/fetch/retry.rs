//! `Retry-After` (RFC 9110 §10.2.3): delay-seconds or an HTTP date.

use chrono::{DateTime, Duration, Utc};

/// The longest wait honoured: a typo must not silence a source for years.
const MAX_WAIT_DAYS: i64 = 7;

pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let v = value.trim();
    let until = match v.parse::<u64>() {
        Ok(secs) => now + Duration::seconds(secs.min(MAX_WAIT_DAYS as u64 * 24 * 3600) as i64),
        Err(_) => DateTime::parse_from_rfc2822(v).ok()?.with_timezone(&Utc),
    };
    Some(until.clamp(now, now + Duration::days(MAX_WAIT_DAYS)))
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
        assert_eq!(parse_retry_after("Mon, 01 Jan 2029 00:00:00 GMT", now), Some(now + Duration::days(7)));
    }
}
