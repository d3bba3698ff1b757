//! Logging a failure that repeats: `run` retries a failed publish every
//! few seconds, and a full disk can last hours. The first failure is
//! logged in full; the same failure again only at growing intervals
//! ([`FIRST_REMINDER`], doubling up to [`MAX_REMINDER`]) as a "still
//! failing (N times since …)" line; a different failure is logged in full
//! at once; and the first success after failures says so, with the count.

use chrono::{DateTime, Utc};
use std::time::{Duration, Instant};

/// The first "still failing" line comes this long after the first failure.
pub const FIRST_REMINDER: Duration = Duration::from_secs(60);

/// Reminders come at most this far apart.
pub const MAX_REMINDER: Duration = Duration::from_secs(3600);

/// What to log for one failure or success (see [`RepeatedFailure`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Say {
    /// A failure not seen just before: log it in full.
    New,
    /// The same failure again, not to be logged (at most at debug level).
    Quiet,
    /// The same failure again, `times` failures in a row in all since
    /// `since`: log a reminder.
    Still { times: u64, since: DateTime<Utc> },
    /// A success after `times` failures since `since`: log the recovery.
    Recovered { times: u64, since: DateTime<Utc> },
    /// A success after a success: nothing to add.
    Fine,
}

/// The state of one repeated operation's failures (a publish, say).
#[derive(Debug, Default)]
pub struct RepeatedFailure {
    current: Option<Streak>,
}

#[derive(Debug)]
struct Streak {
    message: String,
    /// Failures in a row, of any message.
    times: u64,
    since: DateTime<Utc>,
    next_reminder: Instant,
    gap: Duration,
}

impl RepeatedFailure {
    /// The operation failed with `message` at `now` (`wall` is the same
    /// instant on the wall clock, for the lines).
    pub fn failed(&mut self, message: &str, now: Instant, wall: DateTime<Utc>) -> Say {
        match &mut self.current {
            Some(streak) if streak.message == message => {
                streak.times += 1;
                if now < streak.next_reminder {
                    return Say::Quiet;
                }
                streak.next_reminder = now + streak.gap;
                streak.gap = (streak.gap * 2).min(MAX_REMINDER);
                Say::Still { times: streak.times, since: streak.since }
            }
            other => {
                // A new failure (or another one) starts its own reminders;
                // the count and start of the streak carry on.
                let (times, since) = other.as_ref().map_or((1, wall), |s| (s.times + 1, s.since));
                *other = Some(Streak {
                    message: message.to_owned(),
                    times,
                    since,
                    next_reminder: now + FIRST_REMINDER,
                    gap: (FIRST_REMINDER * 2).min(MAX_REMINDER),
                });
                Say::New
            }
        }
    }

    /// The operation succeeded.
    pub fn succeeded(&mut self) -> Say {
        match self.current.take() {
            Some(streak) => Say::Recovered { times: streak.times, since: streak.since },
            None => Say::Fine,
        }
    }

    /// Whether the last try failed.
    pub fn failing(&self) -> bool {
        self.current.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` failures of `message` `step` apart from `start`: what was said,
    /// leaving the quiet ones out, with the offset of each.
    fn fail_for(log: &mut RepeatedFailure, message: &str, start: Instant, step: Duration, n: u32) -> Vec<(Duration, Say)> {
        let wall = DateTime::UNIX_EPOCH;
        (0..n).map(|i| (step * i, log.failed(message, start + step * i, wall))).filter(|(_, say)| *say != Say::Quiet).collect()
    }

    #[test]
    fn a_failure_every_5_s_for_a_day_is_said_about_thirty_times() {
        let mut log = RepeatedFailure::default();
        let start = Instant::now();
        let step = Duration::from_secs(5);
        let n = 24 * 3600 / 5;
        let said = fail_for(&mut log, "publishing failed: disk full", start, step, n);
        assert_eq!(said[0], (Duration::ZERO, Say::New));
        // Reminders at 1, 3, 7, 15, 31, 63 minutes, then hourly.
        let minutes: Vec<u64> = said[1..].iter().map(|(at, _)| at.as_secs() / 60).collect();
        assert_eq!(&minutes[..7], &[1, 3, 7, 15, 31, 63, 123]);
        assert!(said.len() < 35, "{} lines", said.len());
        let Some((_, Say::Still { times, .. })) = said.last() else { panic!("{said:?}") };
        // The last reminder, at 23 h 3 min, counts every failure till then.
        assert_eq!(*times, (23 * 60 + 3) * 12 + 1);
        assert_eq!(log.succeeded(), Say::Recovered { times: u64::from(n), since: DateTime::UNIX_EPOCH });
        assert_eq!(log.succeeded(), Say::Fine);
        assert!(!log.failing());
    }

    #[test]
    fn a_different_failure_is_said_at_once_and_the_streak_goes_on() {
        let mut log = RepeatedFailure::default();
        let t = Instant::now();
        let wall = DateTime::UNIX_EPOCH;
        assert_eq!(log.failed("a", t, wall), Say::New);
        assert_eq!(log.failed("a", t + Duration::from_secs(5), wall), Say::Quiet);
        assert_eq!(log.failed("b", t + Duration::from_secs(10), wall + chrono::Duration::seconds(10)), Say::New);
        assert_eq!(log.failed("b", t + Duration::from_secs(15), wall), Say::Quiet);
        assert_eq!(log.succeeded(), Say::Recovered { times: 4, since: wall });
        // After a success, the same failure is new again.
        assert_eq!(log.failed("a", t + Duration::from_secs(20), wall), Say::New);
        assert!(log.failing());
    }
}
