//! What a feed says about how often to fetch it: RSS `<ttl>`,
//! `<skipHours>` and `<skipDays>`, and the syndication module's
//! `sy:updatePeriod` and `sy:updateFrequency`.
//!
//! Read leniently: these only tune the scheduler, so a bad value is
//! dropped, never an error and never a reason to call the feed bozo.

use chrono::Weekday;
use std::time::Duration;

use super::item::children;
use super::xml::{Elem, XmlReader};

const HOUR: u64 = 3600;
const DAY: u64 = 24 * HOUR;

/// The publisher's hints, one shape for every format (JSON Feed has none).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FeedHints {
    /// RSS `<ttl>`: how long readers may keep the feed before asking again.
    pub ttl: Option<Duration>,
    /// `sy:updatePeriod` divided by `sy:updateFrequency`: how often the
    /// publisher says the feed changes.
    pub update_period: Option<Duration>,
    /// `<skipHours>`: bit `h` set means "do not fetch during hour `h`" (GMT, 0–23).
    pub skip_hours: u32,
    /// `<skipDays>`: bit 0 is Monday … bit 6 Sunday (GMT).
    pub skip_days: u8,
}

impl FeedHints {
    pub fn skips_hour(&self, hour: u32) -> bool {
        hour < 24 && self.skip_hours & (1 << hour) != 0
    }

    pub fn skips_day(&self, day: Weekday) -> bool {
        self.skip_days & (1 << day.num_days_from_monday()) != 0
    }
}

/// RSS `<ttl>` in minutes; zero or garbage is no hint.
pub fn ttl_from_minutes(minutes: Option<u32>) -> Option<Duration> {
    minutes.filter(|m| *m > 0).map(|m| Duration::from_secs(u64::from(m) * 60))
}

/// The syndication module's elements as found; [`Syndication::period`]
/// combines them.
#[derive(Debug, Default)]
pub struct Syndication {
    period: Option<Duration>,
    frequency: Option<u32>,
}

impl Syndication {
    /// Reads `sy:updatePeriod` or `sy:updateFrequency`; false for other
    /// elements (`sy:updateBase` says when the period started, which a
    /// poller does not need).
    pub fn read<'a>(&mut self, xr: &mut XmlReader<'a>, e: &Elem<'a>) -> bool {
        match e.name() {
            b"updateperiod" => self.period = period_named(&xr.read_text()).or(self.period),
            b"updatefrequency" => self.frequency = xr.read_text().trim().parse().ok().filter(|f| *f > 0).or(self.frequency),
            _ => return false,
        }
        true
    }

    /// The interval between updates: the period (daily when only a
    /// frequency is given, as the module specifies) over the frequency
    /// (once per period when absent or bad).
    pub fn period(&self) -> Option<Duration> {
        if self.period.is_none() && self.frequency.is_none() {
            return None;
        }
        let period = self.period.unwrap_or(Duration::from_secs(DAY));
        Some(period / self.frequency.unwrap_or(1))
    }
}

/// Months and years are taken as 30 and 365 days: a scheduler needs an
/// interval, not a calendar.
fn period_named(name: &str) -> Option<Duration> {
    let secs = match name.trim().to_ascii_lowercase().as_str() {
        "hourly" => HOUR,
        "daily" => DAY,
        "weekly" => 7 * DAY,
        "monthly" => 30 * DAY,
        "yearly" => 365 * DAY,
        _ => return None,
    };
    Some(Duration::from_secs(secs))
}

/// `<skipHours><hour>…</hour>…</skipHours>` as a bitmask. Hour 24 is read
/// as 0, because Netscape's RSS 0.91 counted hours 1–24.
pub fn read_skip_hours(xr: &mut XmlReader<'_>) -> u32 {
    let mut mask = 0u32;
    children(xr, |xr, e| {
        if !e.ns.is_rss() || e.name() != b"hour" {
            return false;
        }
        if let Ok(h) = xr.read_text().trim().parse::<u32>()
            && h <= 24
        {
            mask |= 1 << (h % 24);
        }
        true
    });
    mask
}

/// `<skipDays><day>Monday</day>…</skipDays>` as a bitmask; names in any
/// case, and their three-letter forms.
pub fn read_skip_days(xr: &mut XmlReader<'_>) -> u8 {
    let mut mask = 0u8;
    children(xr, |xr, e| {
        if !e.ns.is_rss() || e.name() != b"day" {
            return false;
        }
        if let Ok(day) = xr.read_text().trim().parse::<Weekday>() {
            mask |= 1 << day.num_days_from_monday();
        }
        true
    });
    mask
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::parse::{ParseContext, ParsedFeed, parse_feed};

    fn parse(doc: &str) -> ParsedFeed {
        parse_feed(doc.as_bytes(), &ParseContext::default()).unwrap()
    }

    fn rss(channel: &str) -> FeedHints {
        let doc = format!(
            r#"<rss version="2.0" xmlns:sy="http://purl.org/rss/1.0/modules/syndication/"><channel><title>t</title>{channel}</channel></rss>"#
        );
        parse(&doc).hints
    }

    const MIN: u64 = 60;

    #[test]
    fn ttl_is_minutes_and_bad_values_are_dropped() {
        assert_eq!(rss("<ttl>45</ttl>").ttl, Some(Duration::from_secs(45 * MIN)));
        assert_eq!(rss("<ttl> 90 </ttl>").ttl, Some(Duration::from_secs(90 * MIN)));
        for bad in ["<ttl>0</ttl>", "<ttl>soon</ttl>", "<ttl>-5</ttl>", "<ttl>1.5</ttl>", ""] {
            assert_eq!(rss(bad).ttl, None, "{bad}");
        }
        let f = parse("<rss version=\"2.0\"><channel><ttl>30</ttl></channel></rss>");
        assert_eq!(f.ttl, Some(30), "the raw ttl is still there");
    }

    #[test]
    fn update_period_over_frequency() {
        let p = |c: &str| rss(c).update_period;
        assert_eq!(p("<sy:updatePeriod>hourly</sy:updatePeriod>"), Some(Duration::from_secs(HOUR)));
        assert_eq!(
            p("<sy:updatePeriod> Daily </sy:updatePeriod><sy:updateFrequency>4</sy:updateFrequency>"),
            Some(Duration::from_secs(6 * HOUR))
        );
        assert_eq!(
            p("<sy:updatePeriod>weekly</sy:updatePeriod><sy:updateFrequency>0</sy:updateFrequency>"),
            Some(Duration::from_secs(7 * DAY))
        );
        assert_eq!(p("<sy:updatePeriod>monthly</sy:updatePeriod>"), Some(Duration::from_secs(30 * DAY)));
        assert_eq!(
            p("<sy:updatePeriod>yearly</sy:updatePeriod><sy:updateFrequency>x</sy:updateFrequency>"),
            Some(Duration::from_secs(365 * DAY))
        );
        assert_eq!(p("<sy:updateFrequency>2</sy:updateFrequency>"), Some(Duration::from_secs(12 * HOUR)), "daily by default");
        assert_eq!(p("<sy:updatePeriod>fortnightly</sy:updatePeriod>"), None);
        assert_eq!(p("<sy:updateBase>2000-01-01T12:00+00:00</sy:updateBase>"), None);
    }

    #[test]
    fn update_period_in_rss10_and_atom() {
        let rdf = r#"<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
            xmlns:sy="http://purl.org/rss/1.0/modules/syndication/"><channel rdf:about="x"><title>R</title>
            <sy:updatePeriod>hourly</sy:updatePeriod><sy:updateFrequency>2</sy:updateFrequency></channel></rdf:RDF>"#;
        assert_eq!(parse(rdf).hints.update_period, Some(Duration::from_secs(30 * MIN)));
        let atom = r#"<feed xmlns="http://www.w3.org/2005/Atom" xmlns:s="http://purl.org/rss/1.0/modules/syndication/">
            <title>A</title><s:updatePeriod>daily</s:updatePeriod><entry><title>e</title></entry></feed>"#;
        let f = parse(atom);
        assert_eq!(f.hints.update_period, Some(Duration::from_secs(DAY)));
        assert_eq!(f.entries.len(), 1);
        // The prefix alone, undeclared, still means the syndication module.
        let f = parse("<rss version=\"2.0\"><channel><sy:updatePeriod>hourly</sy:updatePeriod></channel></rss>");
        assert_eq!(f.hints.update_period, Some(Duration::from_secs(HOUR)));
    }

    #[test]
    fn skip_hours_as_a_mask() {
        let h = rss("<skipHours><hour>0</hour><hour> 7</hour><hour>23</hour><hour>25</hour><hour>x</hour></skipHours>");
        assert_eq!(h.skip_hours, 1 | 1 << 7 | 1 << 23);
        assert!(h.skips_hour(0) && h.skips_hour(7) && h.skips_hour(23) && !h.skips_hour(1));
        assert_eq!(rss("<skipHours><hour>24</hour></skipHours>").skip_hours, 1, "24 is midnight");
        assert_eq!(rss("").skip_hours, 0);
    }

    #[test]
    fn skip_days_as_a_mask() {
        let h = rss("<skipDays><day>Saturday</day><day>sunday</day><day>Mon</day><day>Caturday</day></skipDays>");
        assert_eq!(h.skip_days, 1 | 1 << 5 | 1 << 6);
        assert!(h.skips_day(Weekday::Sat) && h.skips_day(Weekday::Sun) && h.skips_day(Weekday::Mon));
        assert!(!h.skips_day(Weekday::Tue));
    }
}
