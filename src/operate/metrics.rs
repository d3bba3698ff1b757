//! What the aggregator reports about itself, for `/metrics` (Prometheus
//! text exposition) and `/healthz` (JSON).
//!
//! One [`Metrics`] is shared (in an `Arc`) between the scheduler, which
//! records fetches, publishes and runs, and the server, which only reads.
//! Counters are atomics or short-held mutexes: recording never waits on a
//! scrape for longer than a map copy.

use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU32, AtomicU64, Ordering};

use crate::store::pg::leases::FleetStatus;

/// Sentinel for "never happened" in the timestamp atomics.
const NEVER: i64 = i64::MIN;

/// Aggregator figures, updated by the scheduler and read by the server.
#[derive(Debug)]
pub struct Metrics {
    fetches: Mutex<BTreeMap<String, u64>>,
    stories_stored: AtomicU64,
    last_publish: AtomicI64,
    sources: Mutex<BTreeMap<String, SourceHealth>>,
    degraded_after: AtomicU32,
    last_run: Mutex<Option<RunRecord>>,
    runs_ok: AtomicU64,
    runs_failed: AtomicU64,
    fleet: Mutex<Option<FleetStatus>>,
}

#[derive(Debug, Clone)]
struct RunRecord {
    time: DateTime<Utc>,
    ok: bool,
    summary: String,
}

/// What `/metrics` and `/healthz` know of one source (an external feed,
/// or a story folder).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SourceHealth {
    /// Failed fetches (or reads) in a row; 0 after a success.
    pub consecutive_errors: u64,
    /// Unix time of the last success.
    pub last_success: Option<i64>,
    /// A `[[stories]]` folder rather than a feed: its failure is an input
    /// that could not be read, so `/healthz` says "failed" at once.
    pub files: bool,
}

/// The body of `/healthz`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Health {
    /// `"ok"`; `"degraded"` (some feeds failed their last
    /// `[serve] degraded_after` fetches: `failing_sources` names them);
    /// `"failed"` (a story folder could not be read, or the last run failed
    /// for a reason other than a feed's fetch); or `"no run yet"`.
    pub status: &'static str,
    /// RFC 3339 time of the last run's end.
    pub last_run: Option<String>,
    pub summary: Option<String>,
    /// RFC 3339 time of the last publish that wrote files.
    pub last_publish: Option<String>,
    /// Sources that failed their last `degraded_after` fetches (or a story
    /// folder that failed its last read), by name.
    pub failing_sources: Vec<FailingSource>,
    /// On a PostgreSQL store: the fleet of `run` workers as the store saw
    /// it last (live workers, leases held, sources overdue). Sources
    /// overdue make the status "degraded": the fleet is short of workers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fleet: Option<FleetStatus>,
}

/// One entry of [`Health::failing_sources`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FailingSource {
    pub source: String,
    pub consecutive_errors: u64,
    /// RFC 3339 time of the last success, if there ever was one.
    pub last_success: Option<String>,
}

/// `[serve] degraded_after`'s default.
pub const DEGRADED_AFTER: u32 = 3;

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            fetches: Mutex::default(),
            stories_stored: AtomicU64::new(0),
            last_publish: AtomicI64::new(NEVER),
            sources: Mutex::default(),
            degraded_after: AtomicU32::new(DEGRADED_AFTER),
            last_run: Mutex::new(None),
            runs_ok: AtomicU64::new(0),
            runs_failed: AtomicU64::new(0),
            fleet: Mutex::new(None),
        }
    }
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

impl Metrics {
    pub fn new() -> Metrics {
        Metrics::default()
    }

    /// One fetch ended with `status_label`: an HTTP status (`"200"`,
    /// `"304"`), `"error"` or `"skipped"`.
    pub fn record_fetch(&self, status_label: &str) {
        let mut map = self.fetches.lock().unwrap_or_else(|e| e.into_inner());
        match map.get_mut(status_label) {
            Some(n) => *n += 1,
            None => {
                map.insert(status_label.to_owned(), 1);
            }
        }
    }

    /// Stories held in the store after the last run.
    pub fn set_stories_stored(&self, n: u64) {
        self.stories_stored.store(n, Ordering::Relaxed);
    }

    /// A publish wrote at least one file at `time`.
    pub fn record_publish(&self, time: DateTime<Utc>) {
        self.last_publish.store(time.timestamp(), Ordering::Relaxed);
    }

    /// Consecutive failed fetches of one source (0 after a success).
    pub fn set_source_errors(&self, source_name: &str, consecutive_errors: u64) {
        let mut map = self.sources.lock().unwrap_or_else(|e| e.into_inner());
        map.entry(source_name.to_owned()).or_default().consecutive_errors = consecutive_errors;
    }

    /// One source's state after a fetch (or a folder's after a read).
    pub fn set_source(&self, source_name: &str, health: SourceHealth) {
        self.sources.lock().unwrap_or_else(|e| e.into_inner()).insert(source_name.to_owned(), health);
    }

    /// Every source at once (as the store has them): sources no longer
    /// listed are forgotten.
    pub fn replace_sources(&self, sources: BTreeMap<String, SourceHealth>) {
        *self.sources.lock().unwrap_or_else(|e| e.into_inner()) = sources;
    }

    /// A source no longer configured.
    pub fn forget_source(&self, source_name: &str) {
        self.sources.lock().unwrap_or_else(|e| e.into_inner()).remove(source_name);
    }

    /// `[serve] degraded_after`: failed fetches in a row that make a
    /// source count against `/healthz`.
    pub fn set_degraded_after(&self, n: u32) {
        self.degraded_after.store(n.max(1), Ordering::Relaxed);
    }

    /// The fleet as last read from the store (PostgreSQL only).
    pub fn set_fleet(&self, status: FleetStatus) {
        *self.fleet.lock().unwrap_or_else(|e| e.into_inner()) = Some(status);
    }

    /// A scheduler run ended at `time`; `summary` is one human line.
    pub fn record_run(&self, time: DateTime<Utc>, ok: bool, summary: String) {
        if ok { &self.runs_ok } else { &self.runs_failed }.fetch_add(1, Ordering::Relaxed);
        *self.last_run.lock().unwrap_or_else(|e| e.into_inner()) = Some(RunRecord { time, ok, summary });
    }

    fn last_publish(&self) -> Option<DateTime<Utc>> {
        match self.last_publish.load(Ordering::Relaxed) {
            NEVER => None,
            secs => DateTime::from_timestamp(secs, 0),
        }
    }

    pub fn health(&self) -> Health {
        let run = self.last_run.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let sources = self.sources.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let threshold = u64::from(self.degraded_after.load(Ordering::Relaxed));
        let failing: Vec<FailingSource> = sources
            .iter()
            .filter(|(_, h)| h.consecutive_errors >= if h.files { 1 } else { threshold })
            .map(|(name, h)| FailingSource {
                source: name.clone(),
                consecutive_errors: h.consecutive_errors,
                last_success: h.last_success.and_then(|t| DateTime::from_timestamp(t, 0)).map(rfc3339),
            })
            .collect();
        let folder_failed = sources.values().any(|h| h.files && h.consecutive_errors > 0);
        // A run that failed only because some feed's fetch did is told by
        // the per-source counts: one failed fetch is not an outage.
        let feed_failing = sources.values().any(|h| !h.files && h.consecutive_errors > 0);
        let fleet = self.fleet.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let short_handed = fleet.as_ref().is_some_and(|f| f.sources_overdue > 0);
        Health {
            status: match &run {
                None => "no run yet",
                Some(_) if folder_failed => "failed",
                Some(r) if !r.ok && !feed_failing => "failed",
                Some(_) if !failing.is_empty() || short_handed => "degraded",
                Some(_) => "ok",
            },
            last_run: run.as_ref().map(|r| rfc3339(r.time)),
            summary: run.map(|r| r.summary),
            last_publish: self.last_publish().map(rfc3339),
            failing_sources: failing,
            fleet,
        }
    }

    /// Prometheus text exposition format 0.0.4.
    pub fn render_prometheus(&self) -> String {
        let mut out = String::with_capacity(1024);
        let fetches = self.fetches.lock().unwrap_or_else(|e| e.into_inner()).clone();
        family(&mut out, "wirefeed_fetches_total", "counter", "Source fetches by outcome (HTTP status, error or skipped).");
        for (status, n) in &fetches {
            sample(&mut out, "wirefeed_fetches_total", &[("status", status)], *n as f64);
        }
        family(&mut out, "wirefeed_stories_stored", "gauge", "Stories held in the store after the last run.");
        sample(&mut out, "wirefeed_stories_stored", &[], self.stories_stored.load(Ordering::Relaxed) as f64);
        let sources = self.sources.lock().unwrap_or_else(|e| e.into_inner()).clone();
        family(&mut out, "wirefeed_source_consecutive_errors", "gauge", "Consecutive failed fetches per source (0 after a success).");
        for (source, h) in &sources {
            sample(&mut out, "wirefeed_source_consecutive_errors", &[("source", source)], h.consecutive_errors as f64);
        }
        if sources.values().any(|h| h.last_success.is_some()) {
            family(
                &mut out,
                "wirefeed_source_last_success_timestamp_seconds",
                "gauge",
                "Unix time of each source's last successful fetch.",
            );
        }
        for (source, h) in &sources {
            if let Some(t) = h.last_success {
                sample(&mut out, "wirefeed_source_last_success_timestamp_seconds", &[("source", source)], t as f64);
            }
        }
        family(&mut out, "wirefeed_runs_total", "counter", "Scheduler runs by result.");
        sample(&mut out, "wirefeed_runs_total", &[("result", "ok")], self.runs_ok.load(Ordering::Relaxed) as f64);
        sample(&mut out, "wirefeed_runs_total", &[("result", "failed")], self.runs_failed.load(Ordering::Relaxed) as f64);
        // Timestamps are left out until known: a 0 would read as 1970.
        if let Some(t) = self.last_publish() {
            family(&mut out, "wirefeed_last_publish_timestamp_seconds", "gauge", "Unix time of the last publish that wrote files.");
            sample(&mut out, "wirefeed_last_publish_timestamp_seconds", &[], t.timestamp() as f64);
        }
        if let Some(run) = self.last_run.lock().unwrap_or_else(|e| e.into_inner()).clone() {
            family(&mut out, "wirefeed_last_run_timestamp_seconds", "gauge", "Unix time of the end of the last run.");
            sample(&mut out, "wirefeed_last_run_timestamp_seconds", &[], run.time.timestamp() as f64);
            family(&mut out, "wirefeed_last_run_success", "gauge", "1 if the last run had no failures, else 0.");
            sample(&mut out, "wirefeed_last_run_success", &[], if run.ok { 1.0 } else { 0.0 });
        }
        if let Some(fleet) = self.fleet.lock().unwrap_or_else(|e| e.into_inner()).clone() {
            let gauges = [
                ("wirefeed_fleet_workers_alive", "Workers of the fleet with a recent heartbeat.", fleet.workers_alive),
                ("wirefeed_fleet_leases_held", "Sources claimed by a worker (leases not expired).", fleet.leases_held),
                (
                    "wirefeed_fleet_sources_overdue",
                    "Enabled sources due over a minute ago that no worker has claimed.",
                    fleet.sources_overdue,
                ),
            ];
            for (name, help, value) in gauges {
                family(&mut out, name, "gauge", help);
                sample(&mut out, name, &[], value as f64);
            }
        }
        out
    }
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    // HELP text escapes backslash and newline (label values also escape `"`).
    let help = help.replace('\\', "\\\\").replace('\n', "\\n");
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

fn sample(out: &mut String, name: &str, labels: &[(&str, &str)], value: f64) {
    out.push_str(name);
    if !labels.is_empty() {
        out.push('{');
        for (i, (k, v)) in labels.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let _ = write!(out, "{k}=\"{}\"", escape_label(v));
        }
        out.push('}');
    }
    let _ = writeln!(out, " {value}");
}

/// Label values escape `\`, `"` and newline, per the exposition format.
pub fn escape_label(value: &str) -> String {
    let mut s = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => s.push_str("\\\\"),
            '"' => s.push_str("\\\""),
            '\n' => s.push_str("\\n"),
            c => s.push(c),
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_metrics_expose_zeros_and_no_timestamps() {
        let m = Metrics::new();
        let text = m.render_prometheus();
        assert!(text.contains("# TYPE wirefeed_fetches_total counter\n"), "{text}");
        assert!(text.contains("wirefeed_stories_stored 0\n"), "{text}");
        assert!(text.contains("wirefeed_runs_total{result=\"ok\"} 0\n"), "{text}");
        assert!(!text.contains("timestamp_seconds"), "{text}");
        assert_eq!(
            m.health(),
            Health { status: "no run yet", last_run: None, summary: None, last_publish: None, failing_sources: vec![], fleet: None }
        );
        assert!(!text.contains("wirefeed_fleet"), "no fleet on a SQLite store: {text}");
    }

    #[test]
    fn a_fleet_is_reported_and_overdue_sources_degrade_the_health() {
        let m = Metrics::new();
        m.record_run(DateTime::from_timestamp(1_732_615_200, 0).unwrap(), true, "ok".into());
        m.set_fleet(FleetStatus { workers_alive: 3, leases_held: 40, sources_overdue: 0 });
        let text = m.render_prometheus();
        for line in ["wirefeed_fleet_workers_alive 3\n", "wirefeed_fleet_leases_held 40\n", "wirefeed_fleet_sources_overdue 0\n"] {
            assert!(text.contains(line), "{line:?} in {text}");
        }
        assert_eq!(m.health().status, "ok");
        assert_eq!(serde_json::to_value(m.health()).unwrap()["fleet"]["workers_alive"], 3);
        m.set_fleet(FleetStatus { workers_alive: 1, leases_held: 16, sources_overdue: 250 });
        assert_eq!(m.health().status, "degraded", "sources nobody claims: the fleet is short of workers");
    }

    #[test]
    fn exposition_format_has_help_type_and_escaped_labels() {
        let m = Metrics::new();
        m.record_fetch("200");
        m.record_fetch("200");
        m.record_fetch("304");
        m.record_fetch("error");
        m.set_stories_stored(1234);
        m.set_source_errors("Harbour \"Gazette\"\\daily\nnews", 3);
        m.set_source_errors("Calm", 0);
        let t = DateTime::from_timestamp(1_732_615_200, 0).unwrap();
        m.record_publish(t);
        m.record_run(t, false, "2 sources failed".into());
        let text = m.render_prometheus();
        let expected = [
            "# HELP wirefeed_fetches_total Source fetches by outcome (HTTP status, error or skipped).",
            "# TYPE wirefeed_fetches_total counter",
            "wirefeed_fetches_total{status=\"200\"} 2",
            "wirefeed_fetches_total{status=\"304\"} 1",
            "wirefeed_fetches_total{status=\"error\"} 1",
            "wirefeed_stories_stored 1234",
            "wirefeed_source_consecutive_errors{source=\"Calm\"} 0",
            "wirefeed_source_consecutive_errors{source=\"Harbour \\\"Gazette\\\"\\\\daily\\nnews\"} 3",
            "wirefeed_runs_total{result=\"failed\"} 1",
            "wirefeed_last_publish_timestamp_seconds 1732615200",
            "wirefeed_last_run_timestamp_seconds 1732615200",
            "wirefeed_last_run_success 0",
        ];
        let lines: Vec<&str> = text.lines().collect();
        for e in expected {
            assert!(lines.contains(&e), "missing {e:?} in:\n{text}");
        }
        // Every sample belongs to a family declared by HELP and TYPE before it.
        let mut declared = Vec::new();
        for line in &lines {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                declared.push(rest.split(' ').next().unwrap().to_owned());
            } else if !line.starts_with('#') {
                let name = line.split(['{', ' ']).next().unwrap();
                assert_eq!(declared.last().map(String::as_str), Some(name), "{line}");
            }
        }
        assert!(text.ends_with('\n'));
        let h = m.health();
        // The failing run is told by the source that failed 3 times in a row.
        assert_eq!(h.status, "degraded");
        assert_eq!(h.last_run.as_deref(), Some("2024-11-26T10:00:00Z"));
        assert_eq!(h.summary.as_deref(), Some("2 sources failed"));
        m.set_source_errors("Harbour \"Gazette\"\\daily\nnews", 0);
        m.record_run(t, true, "ok".into());
        assert_eq!(m.health().status, "ok");
    }

    #[test]
    fn health_status_from_the_run_and_each_sources_errors() {
        let feed = |n| SourceHealth { consecutive_errors: n, last_success: Some(1_732_615_200), files: false };
        let folder = |n| SourceHealth { consecutive_errors: n, last_success: None, files: true };
        let t = DateTime::from_timestamp(1_732_615_200, 0).unwrap();
        // (case, last run ok?, sources, status, failing names)
        type Case = (&'static str, Option<bool>, Vec<(&'static str, SourceHealth)>, &'static str, Vec<&'static str>);
        let cases: &[Case] = &[
            ("no run", None, vec![("a", feed(5))], "no run yet", vec!["a"]),
            ("all well", Some(true), vec![("a", feed(0)), ("files:stories", folder(0))], "ok", vec![]),
            ("one failed fetch is not an outage", Some(false), vec![("a", feed(1)), ("b", feed(0))], "ok", vec![]),
            ("below the threshold", Some(false), vec![("a", feed(2))], "ok", vec![]),
            ("at the threshold", Some(false), vec![("a", feed(3)), ("b", feed(0))], "degraded", vec!["a"]),
            ("still degraded after an ok run of others", Some(true), vec![("a", feed(9)), ("b", feed(4))], "degraded", vec!["a", "b"]),
            (
                "an unreadable story folder",
                Some(false),
                vec![("files:stories", folder(1)), ("a", feed(0))],
                "failed",
                vec!["files:stories"],
            ),
            ("a failed run no source explains", Some(false), vec![("a", feed(0))], "failed", vec![]),
        ];
        for (case, run, sources, status, failing) in cases {
            let m = Metrics::new();
            m.replace_sources(sources.iter().map(|(n, h)| (n.to_string(), *h)).collect());
            if let Some(ok) = run {
                m.record_run(t, *ok, "summary".into());
            }
            let h = m.health();
            assert_eq!(h.status, *status, "{case}");
            let names: Vec<&str> = h.failing_sources.iter().map(|f| f.source.as_str()).collect();
            assert_eq!(&names, failing, "{case}");
        }
        let m = Metrics::new();
        m.set_degraded_after(1);
        m.set_source("a", feed(1));
        m.record_run(t, false, "x".into());
        assert_eq!(m.health().status, "degraded", "degraded_after = 1");
        assert_eq!(m.health().failing_sources[0].last_success.as_deref(), Some("2024-11-26T10:00:00Z"));
    }
}
