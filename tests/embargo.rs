//! Embargoes and expiry of the newsroom's own stories: a story dated in
//! the future is held out of every output until its time, front matter
//! `expires` takes one down at its time; `run` does both on its own
//! within a `watch_interval` of the time, with no file changing.

mod common;

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use common::{Site, stderr};
use std::sync::Arc;
use wirefeed::operate::metrics::Metrics;
use wirefeed::operate::run::Runner;

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn story(title: &str, date: DateTime<Utc>, expires: Option<DateTime<Utc>>) -> String {
    let expires = expires.map(|e| format!("expires: \"{}\"\n", rfc3339(e))).unwrap_or_default();
    format!("---\ntitle: {title}\ndate: \"{}\"\n{expires}---\nBody of {title}.\n", rfc3339(date))
}

/// Every file under `feeds/` that names `needle`.
fn outputs_naming(site: &Site, needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut dirs = vec![site.path("feeds")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if std::fs::read_to_string(&path).is_ok_and(|t| t.contains(needle)) {
                found.push(path.display().to_string());
            }
        }
    }
    found
}

fn build_ok(site: &Site) -> String {
    let out = site.build();
    assert!(out.status.success(), "{}", stderr(&out));
    stderr(&out)
}

#[test]
fn a_story_dated_in_the_future_is_held_out_of_every_output_and_said_so() {
    let site = Site::new(&[]);
    let due = Utc::now() + Duration::hours(3);
    site.write("stories/held.md", story("Embargoed budget story", due, None));
    site.write("stories/now.md", story("Ordinary story", Utc::now() - Duration::hours(1), None));
    let log = build_ok(&site);
    assert!(log.contains(&format!("held until {}", rfc3339(due))), "no held note in: {log}");
    assert!(log.contains("held.md"), "the note names the file: {log}");
    assert!(!outputs_naming(&site, "Ordinary story").is_empty(), "the other story is published");
    assert_eq!(outputs_naming(&site, "Embargoed"), Vec::<String>::new(), "held story leaked");
    // Still held on the next build; moving the date back publishes it.
    assert!(build_ok(&site).contains("held until"));
    site.write("stories/held.md", story("Embargoed budget story", Utc::now() - Duration::minutes(5), None));
    let log = build_ok(&site);
    assert!(!log.contains("held until"), "{log}");
    assert!(site.read("feeds/all.rss").contains("Embargoed budget story"));
}

#[test]
fn expires_takes_a_story_down_and_removing_it_brings_it_back() {
    let site = Site::new(&[]);
    let day_ago = Utc::now() - Duration::days(1);
    let cases = [
        ("expired an hour ago", Some(Utc::now() - Duration::hours(1)), false),
        ("expires tomorrow", Some(Utc::now() + Duration::days(1)), true),
        ("never expires", None, true),
    ];
    for (i, (title, expires, _)) in cases.iter().enumerate() {
        site.write(&format!("stories/{i}.md"), story(title, day_ago, *expires));
    }
    build_ok(&site);
    let all = site.read("feeds/all.rss");
    for (title, _, shown) in &cases {
        assert_eq!(all.contains(title), *shown, "{title}");
    }
    // Published first, then expired: it comes down at the next build.
    site.write("stories/1.md", story("expires tomorrow", day_ago, Some(Utc::now() - Duration::seconds(1))));
    build_ok(&site);
    assert_eq!(outputs_naming(&site, "expires tomorrow"), Vec::<String>::new());
    // Not a takedown: without `expires` it is back, under the same id.
    site.write("stories/0.md", story("expired an hour ago", day_ago, None));
    build_ok(&site);
    assert!(site.read("feeds/all.rss").contains("expired an hour ago"));
}

#[test]
fn a_bad_expires_date_is_an_error_naming_the_file_and_key() {
    let site = Site::new(&[]);
    site.write("stories/bad.md", "---\ntitle: T\nexpires: next week\n---\nB\n");
    let out = site.build();
    let log = stderr(&out);
    assert!(log.contains("bad.md") && log.contains("`expires`"), "{log}");
}

/// Polls `cond` every 50 ms for up to `secs` seconds.
fn eventually(secs: u64, what: &str, mut cond: impl FnMut() -> bool) {
    let until = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while std::time::Instant::now() < until {
        if cond() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("{what}: not within {secs} s");
}

#[test]
fn run_publishes_a_held_story_and_takes_an_expiring_one_down_on_time() {
    let site = Site::new(&[]);
    site.write_config("[run]\nwatch_interval = \"200ms\"\njitter = 0\n");
    // Whole seconds: the front matter carries no fraction.
    let start = DateTime::from_timestamp(Utc::now().timestamp(), 0).unwrap();
    site.write("stories/held.md", story("Held until shortly", start + Duration::seconds(2), None));
    site.write("stories/going.md", story("Going shortly", start - Duration::hours(1), Some(start + Duration::seconds(2))));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (tx, rx) = tokio::sync::watch::channel(false);
    let mut runner = Runner::new(site.config(), Arc::new(Metrics::new())).unwrap();
    let handle = std::thread::spawn(move || rt.block_on(async move { runner.run(false, rx).await }));
    let all = || std::fs::read_to_string(site.path("feeds/all.rss")).unwrap_or_default();
    eventually(5, "first publish", || all().contains("Going shortly"));
    // Time has to pass for the next two; until then neither changes.
    if Utc::now() < start + Duration::seconds(2) {
        assert!(!all().contains("Held until shortly"), "published before its time");
    }
    // Due at start + 2 s: published within watch_interval plus the
    // publish debounce, with no file touched.
    eventually(6, "held story published", || all().contains("Held until shortly"));
    eventually(6, "expired story taken down", || !all().contains("Going shortly"));
    assert!(Utc::now() >= start + Duration::seconds(2));
    tx.send(true).unwrap();
    handle.join().unwrap().unwrap();
}
