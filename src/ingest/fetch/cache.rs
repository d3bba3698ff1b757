//! How long a response says it stays fresh (RFC 9111 §4.2.1), read from
//! a 200 or 304 so the scheduler does not ask again sooner.
//!
//! `max-age` wins over `Expires`, as in HTTP caches. `s-maxage` is read
//! only when `max-age` is absent: it is meant for shared caches, but a
//! server that sends only it still says how often the feed changes.
//! `no-cache` and `no-store` are ignored: they say a copy must be
//! revalidated or not stored, not how often to poll, and conditional GETs
//! already revalidate. The `Age` a cache in front of the server reports is
//! subtracted, since that much of the lifetime is already spent.

use chrono::{DateTime, Utc};
use reqwest::header::{self, HeaderMap};
use std::time::Duration;

use crate::ingest::parse::parse_date;

/// The freshness a response announced.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheHints {
    /// Time left before the response is stale; `None` when the server said
    /// nothing, zero when it is already stale.
    pub max_age: Option<Duration>,
}

impl CacheHints {
    /// Reads `Cache-Control`, `Expires` (against the response's `Date`,
    /// else `now`) and `Age` from response headers.
    pub fn from_headers(headers: &HeaderMap, now: DateTime<Utc>) -> CacheHints {
        let text = |name: header::HeaderName| headers.get_all(name).iter().filter_map(|v| v.to_str().ok()).collect::<Vec<_>>().join(",");
        let lifetime = cache_control_max_age(&text(header::CACHE_CONTROL)).or_else(|| {
            let expires = headers.get(header::EXPIRES)?.to_str().unwrap_or("");
            let date = headers.get(header::DATE).and_then(|d| d.to_str().ok()).and_then(parse_date).unwrap_or(now);
            Some(expires_lifetime(expires, date))
        });
        let age = headers.get(header::AGE).and_then(|a| a.to_str().ok()).and_then(|a| a.trim().parse::<u64>().ok()).unwrap_or(0);
        CacheHints { max_age: lifetime.map(|l| l.saturating_sub(Duration::from_secs(age))) }
    }
}

/// `max-age`, else `s-maxage`, from a `Cache-Control` value (directives
/// joined with commas; names in any case, values possibly quoted).
fn cache_control_max_age(value: &str) -> Option<Duration> {
    let mut max_age = None;
    let mut s_maxage = None;
    for directive in value.split(',') {
        let (name, arg) = directive.split_once('=').unwrap_or((directive, ""));
        let secs = || arg.trim().trim_matches('"').parse::<u64>().ok().map(Duration::from_secs);
        match name.trim().to_ascii_lowercase().as_str() {
            "max-age" => max_age = max_age.or_else(secs),
            "s-maxage" => s_maxage = s_maxage.or_else(secs),
            _ => {}
        }
    }
    max_age.or(s_maxage)
}

/// `Expires` minus `Date`; a date in the past or one that does not parse
/// (`0`, `-1`) means already stale, as RFC 9111 §5.3 says.
fn expires_lifetime(expires: &str, date: DateTime<Utc>) -> Duration {
    parse_date(expires).and_then(|e| (e - date).to_std().ok()).unwrap_or(Duration::ZERO)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use reqwest::header::HeaderValue;

    fn hints(pairs: &[(&str, &str)]) -> Option<Duration> {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(header::HeaderName::from_bytes(k.as_bytes()).unwrap(), HeaderValue::from_str(v).unwrap());
        }
        let now = Utc.with_ymd_and_hms(2024, 11, 26, 10, 0, 0).unwrap();
        CacheHints::from_headers(&h, now).max_age
    }

    const fn secs(s: u64) -> Option<Duration> {
        Some(Duration::from_secs(s))
    }

    #[test]
    fn cache_control_max_age() {
        assert_eq!(hints(&[("cache-control", "public, max-age=600")]), secs(600));
        assert_eq!(hints(&[("cache-control", "no-cache, Max-Age=\"120\", must-revalidate")]), secs(120), "no-cache is no reason to poll");
        assert_eq!(hints(&[("cache-control", "no-store"), ("cache-control", "max-age=60")]), secs(60), "several header lines");
        assert_eq!(hints(&[("cache-control", "s-maxage=900")]), secs(900));
        assert_eq!(hints(&[("cache-control", "s-maxage=900, max-age=300")]), secs(300), "max-age first");
        assert_eq!(hints(&[("cache-control", "max-age=soon")]), None);
        assert_eq!(hints(&[]), None);
        assert_eq!(hints(&[("cache-control", "max-age=600"), ("age", "200")]), secs(400), "Age is spent lifetime");
        assert_eq!(hints(&[("cache-control", "max-age=600"), ("age", "900")]), secs(0));
    }

    #[test]
    fn expires_against_date_or_now() {
        let exp = ("expires", "Tue, 26 Nov 2024 11:00:00 GMT");
        assert_eq!(hints(&[exp]), secs(3600), "relative to now without Date");
        assert_eq!(hints(&[exp, ("date", "Tue, 26 Nov 2024 10:30:00 GMT")]), secs(1800), "relative to the server's Date");
        assert_eq!(hints(&[exp, ("cache-control", "max-age=60")]), secs(60), "max-age overrides Expires");
        assert_eq!(hints(&[("expires", "Tue, 26 Nov 2024 09:00:00 GMT")]), secs(0), "already past");
        assert_eq!(hints(&[("expires", "0")]), secs(0), "invalid means stale");
    }
}
