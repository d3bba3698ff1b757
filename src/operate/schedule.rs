//! When `wirefeed run` fetches a source next: a pure function of the last
//! fetch, so the loop stays simple and every rule is tested exactly.
//!
//! The rules, in order:
//!
//! 1. **Base**: the source's `interval`, else `[run] interval` (30 minutes).
//! 2. **Hints only stretch it**: the longest of the base, the feed's
//!    `<ttl>`, its `sy:updatePeriod`/`sy:updateFrequency`, and the HTTP
//!    freshness of the last 200/304 (`Cache-Control: max-age`, else
//!    `Expires`). What the hints add is capped at `[run] max_interval`
//!    (24 hours), so a month-long `ttl` does not silence a source; a base
//!    longer than that cap is kept as configured.
//! 3. **Errors back off**: after `n` errors in a row the delay is the one
//!    above × 2^(n−1), capped at `[run] max_backoff` (24 hours; never below
//!    the normal delay). The first success resets the count
//!    ([`errors_after`]), and the normal delay applies again.
//! 4. **Jitter**: up to `[run] jitter` (a fraction, 0.1) of the delay is
//!    added, derived from a seed ([`jitter_seed`]: source name and fetch
//!    time), so sources set alike spread out and tests are exact. Jitter
//!    only ever adds: a publisher's hint is never undercut.
//! 5. **Retry-After**: the due time is never before a 429/503's
//!    `Retry-After`.
//! 6. **skipHours/skipDays** (GMT): a due time in a skipped hour or on a
//!    skipped day moves to the next allowed hour, at the jitter's offset
//!    into it. A feed that skips every hour, or every day, has that hint
//!    ignored, since obeying it would mean never fetching.

use chrono::{DateTime, Datelike, TimeDelta, Timelike, Utc};
use std::time::Duration;

use crate::config::{RunConfig, SourceConfig};
use crate::ingest::fetch::CacheHints;
use crate::ingest::parse::FeedHints;

const HOUR: Duration = Duration::from_secs(3600);
const ALL_HOURS: u32 = (1 << 24) - 1;
const ALL_DAYS: u8 = (1 << 7) - 1;

/// One source's scheduling settings, from `[run]` and its `[[sources]]` entry.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SchedulePolicy {
    pub interval: Duration,
    pub max_interval: Duration,
    pub max_backoff: Duration,
    /// Fraction of the delay added at most, 0 to 1.
    pub jitter: f64,
}

impl SchedulePolicy {
    pub fn for_source(run: &RunConfig, source: &SourceConfig) -> SchedulePolicy {
        SchedulePolicy {
            interval: source.interval.unwrap_or(run.interval),
            max_interval: run.max_interval,
            max_backoff: run.max_backoff,
            jitter: run.jitter,
        }
    }
}

/// How a fetch went, as far as scheduling cares: a 200 that parsed or a
/// 304 is a success; anything else (errors, 429/503, a body that is not a
/// feed) is a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Failure,
}

/// The errors-in-a-row count after a fetch: reset by a success.
pub fn errors_after(previous: u32, outcome: Outcome) -> u32 {
    match outcome {
        Outcome::Success => 0,
        Outcome::Failure => previous.saturating_add(1),
    }
}

/// What the last fetch of a source told us.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LastFetch {
    /// Errors in a row, this fetch included ([`errors_after`]); 0 when it
    /// succeeded.
    pub consecutive_errors: u32,
    /// The feed's hints from its last successful parse (kept across 304s
    /// and errors: a 304 has no body to read them from).
    pub hints: FeedHints,
    /// The freshness this fetch's 200 or 304 announced; empty otherwise.
    pub cache: CacheHints,
    /// A 429/503's `Retry-After`, if still ahead.
    pub retry_until: Option<DateTime<Utc>>,
}

/// When to fetch the source again; see the module doc for the rules.
pub fn next_due(now: DateTime<Utc>, policy: &SchedulePolicy, last: &LastFetch, jitter_seed: u64) -> DateTime<Utc> {
    let normal = normal_delay(policy, &last.hints, &last.cache);
    let delay = match last.consecutive_errors {
        0 => normal,
        n => backoff(normal, n, policy.max_backoff),
    };
    let extra = delay.mul_f64(policy.jitter.clamp(0.0, 1.0) * unit(jitter_seed));
    let mut due = add(now, delay.saturating_add(extra));
    if let Some(until) = last.retry_until {
        due = due.max(until);
    }
    allowed(due, &last.hints, extra)
}

/// The delay after a success: the base, stretched by hints up to the cap.
pub fn normal_delay(policy: &SchedulePolicy, hints: &FeedHints, cache: &CacheHints) -> Duration {
    let hinted = [hints.ttl, hints.update_period, cache.max_age].into_iter().flatten().max().unwrap_or(Duration::ZERO);
    policy.interval.max(hinted.min(policy.max_interval))
}

/// `normal` × 2^(errors−1), at most `max_backoff` but never below `normal`.
fn backoff(normal: Duration, errors: u32, max_backoff: Duration) -> Duration {
    let factor = 1u32.checked_shl(errors.saturating_sub(1)).unwrap_or(u32::MAX);
    normal.saturating_mul(factor).min(max_backoff.max(normal))
}

/// A seed for [`next_due`]'s jitter that differs from source to source
/// and from fetch to fetch, yet is the same for the same inputs.
pub fn jitter_seed(source: &str, fetched_at: DateTime<Utc>) -> u64 {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    h.update(source.as_bytes());
    h.update(&[0]);
    h.update(&fetched_at.timestamp_micros().to_le_bytes());
    h.digest()
}

/// A number in [0, 1) from a seed (SplitMix64's finalizer spreads
/// neighbouring seeds apart).
fn unit(seed: u64) -> f64 {
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

fn add(t: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    TimeDelta::from_std(d).ok().and_then(|d| t.checked_add_signed(d)).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// `due`, or the start of the next hour neither skipped by hour nor by
/// day (GMT), plus `offset` modulo an hour.
fn allowed(due: DateTime<Utc>, hints: &FeedHints, offset: Duration) -> DateTime<Utc> {
    let hours = match hints.skip_hours & ALL_HOURS {
        ALL_HOURS => 0,
        h => h,
    };
    let days = match hints.skip_days & ALL_DAYS {
        ALL_DAYS => 0,
        d => d,
    };
    let skipped = |t: DateTime<Utc>| hours & (1 << t.hour()) != 0 || days & (1 << t.weekday().num_days_from_monday()) != 0;
    if !skipped(due) {
        return due;
    }
    let Some(mut t) = due.with_minute(0).and_then(|t| t.with_second(0)).and_then(|t| t.with_nanosecond(0)) else {
        return due;
    };
    // At least one hour of the week is allowed, so a week of steps finds it.
    for _ in 0..24 * 7 {
        t = add(t, HOUR);
        if !skipped(t) {
            return add(t, Duration::from_nanos((offset.as_nanos() % HOUR.as_nanos()) as u64));
        }
    }
    due
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    const MIN: Duration = Duration::from_secs(60);

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
    }

    /// Tuesday 26 November 2024, 10:00 GMT.
    fn now() -> DateTime<Utc> {
        at(2024, 11, 26, 10, 0)
    }

    fn policy() -> SchedulePolicy {
        SchedulePolicy { interval: 30 * MIN, max_interval: 24 * HOUR, max_backoff: 24 * HOUR, jitter: 0.0 }
    }

    fn due(last: LastFetch) -> DateTime<Utc> {
        next_due(now(), &policy(), &last, 7)
    }

    fn after(d: Duration) -> DateTime<Utc> {
        add(now(), d)
    }

    fn hints(f: impl FnOnce(&mut FeedHints)) -> LastFetch {
        let mut last = LastFetch::default();
        f(&mut last.hints);
        last
    }

    #[test]
    fn base_interval_from_the_source_else_run() {
        let run = RunConfig::default();
        let mut source: SourceConfig = toml::from_str("name = \"s\"\nurl = \"http://e.com/f\"\n").unwrap();
        assert_eq!(SchedulePolicy::for_source(&run, &source).interval, 30 * MIN);
        source.interval = Some(2 * HOUR);
        let p = SchedulePolicy::for_source(&run, &source);
        assert_eq!((p.interval, p.max_interval, p.max_backoff, p.jitter), (2 * HOUR, 24 * HOUR, 24 * HOUR, 0.1));
        assert_eq!(due(LastFetch::default()), after(30 * MIN));
    }

    #[test]
    fn ttl_stretches_but_never_shortens() {
        assert_eq!(due(hints(|h| h.ttl = Some(2 * HOUR))), after(2 * HOUR));
        assert_eq!(due(hints(|h| h.ttl = Some(5 * MIN))), after(30 * MIN));
    }

    #[test]
    fn update_period_stretches() {
        assert_eq!(due(hints(|h| h.update_period = Some(6 * HOUR))), after(6 * HOUR));
        let both = hints(|h| {
            h.update_period = Some(HOUR);
            h.ttl = Some(3 * HOUR);
        });
        assert_eq!(due(both), after(3 * HOUR), "the longest hint wins");
    }

    #[test]
    fn cache_freshness_stretches() {
        let last = LastFetch { cache: CacheHints { max_age: Some(90 * MIN) }, ..Default::default() };
        assert_eq!(due(last), after(90 * MIN));
        let stale = LastFetch { cache: CacheHints { max_age: Some(Duration::ZERO) }, ..Default::default() };
        assert_eq!(due(stale), after(30 * MIN));
    }

    #[test]
    fn hints_are_capped_by_max_interval_but_the_base_is_not() {
        assert_eq!(due(hints(|h| h.ttl = Some(30 * 24 * HOUR))), after(24 * HOUR));
        let long = SchedulePolicy { interval: 48 * HOUR, ..policy() };
        assert_eq!(next_due(now(), &long, &hints(|h| h.ttl = Some(30 * 24 * HOUR)), 7), after(48 * HOUR));
    }

    #[test]
    fn skip_hours_wrap_past_midnight() {
        // Due 10:30; hours 10 to 23 and 0 to 2 are skipped: 03:00 the next day.
        let last = hints(|h| h.skip_hours = (10..24).chain(0..3).fold(0, |m, h| m | 1 << h));
        assert_eq!(due(last), at(2024, 11, 27, 3, 0));
        // An allowed hour is kept as is.
        assert_eq!(due(hints(|h| h.skip_hours = 1 << 9)), after(30 * MIN));
        // Every hour skipped: the hint is ignored.
        assert_eq!(due(hints(|h| h.skip_hours = ALL_HOURS)), after(30 * MIN));
    }

    #[test]
    fn skip_days_wrap_past_the_week() {
        // Due Tuesday 10:30; Tuesday to Sunday skipped: Monday 00:00.
        let last = hints(|h| h.skip_days = 0b111_1110);
        assert_eq!(due(last), at(2024, 12, 2, 0, 0));
        // Skipped days and hours together: Monday's first hours too.
        let last = hints(|h| {
            h.skip_days = 0b111_1110;
            h.skip_hours = 0b111;
        });
        assert_eq!(due(last), at(2024, 12, 2, 3, 0));
        assert_eq!(due(hints(|h| h.skip_days = ALL_DAYS)), after(30 * MIN), "every day skipped: ignored");
    }

    #[test]
    fn errors_back_off_exponentially_up_to_the_cap() {
        let errors = |n| due(LastFetch { consecutive_errors: n, ..Default::default() });
        assert_eq!(errors(1), after(30 * MIN));
        assert_eq!(errors(2), after(60 * MIN));
        assert_eq!(errors(3), after(120 * MIN));
        assert_eq!(errors(6), after(16 * HOUR));
        assert_eq!(errors(7), after(24 * HOUR), "capped at max_backoff");
        assert_eq!(errors(u32::MAX), after(24 * HOUR));
        let short_cap = SchedulePolicy { max_backoff: 10 * MIN, ..policy() };
        assert_eq!(next_due(now(), &short_cap, &LastFetch { consecutive_errors: 5, ..Default::default() }, 7), after(30 * MIN));
    }

    #[test]
    fn first_success_recovers_the_normal_interval() {
        let mut count = 0;
        for _ in 0..5 {
            count = errors_after(count, Outcome::Failure);
        }
        assert_eq!(count, 5);
        assert_eq!(due(LastFetch { consecutive_errors: count, ..Default::default() }), after(16 * 30 * MIN));
        count = errors_after(count, Outcome::Success);
        assert_eq!(count, 0);
        assert_eq!(due(LastFetch { consecutive_errors: count, ..Default::default() }), after(30 * MIN));
        assert_eq!(errors_after(u32::MAX, Outcome::Failure), u32::MAX);
    }

    #[test]
    fn retry_after_is_a_lower_bound() {
        let later = after(5 * HOUR);
        assert_eq!(due(LastFetch { consecutive_errors: 1, retry_until: Some(later), ..Default::default() }), later);
        let sooner = after(MIN);
        assert_eq!(due(LastFetch { consecutive_errors: 1, retry_until: Some(sooner), ..Default::default() }), after(30 * MIN));
    }

    #[test]
    fn jitter_is_bounded_deterministic_and_spreads() {
        let p = SchedulePolicy { jitter: 0.1, ..policy() };
        let last = LastFetch::default();
        let mut seen = std::collections::HashSet::new();
        for seed in 0..200u64 {
            let d = next_due(now(), &p, &last, seed);
            assert!(d >= after(30 * MIN) && d < after(33 * MIN), "seed {seed}: {d}");
            assert_eq!(d, next_due(now(), &p, &last, seed), "same seed, same time");
            seen.insert(d);
        }
        assert!(seen.len() > 190, "only {} distinct times", seen.len());
        let s = jitter_seed("Harbour Gazette", now());
        assert_eq!(s, jitter_seed("Harbour Gazette", now()));
        assert_ne!(s, jitter_seed("Other", now()));
        assert_ne!(s, jitter_seed("Harbour Gazette", after(MIN)));
    }

    #[test]
    fn jitter_lands_inside_the_allowed_hour() {
        let p = SchedulePolicy { jitter: 1.0, ..policy() };
        let last = hints(|h| h.skip_hours = (10..14).fold(0, |m, h| m | 1 << h));
        for seed in 0..50u64 {
            let d = next_due(now(), &p, &last, seed);
            assert_eq!((d.date_naive(), d.hour()), (now().date_naive(), 14), "seed {seed}: {d}");
        }
    }
}
