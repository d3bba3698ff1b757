//! `wirefeed run` against a real HTTP server on 127.0.0.1 (in process): due
//! times kept in the store, Retry-After, backoff and recovery, folder
//! watching, and a clean exit on SIGTERM with nothing partial.

mod common;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use common::Site;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use wirefeed::operate::metrics::Metrics;
use wirefeed::operate::run::Runner;
use wirefeed::store::Reader;
use wirefeed::store::sources::SourceSummary;

/// What the server answers per path, and how often each was asked.
#[derive(Default)]
struct Server {
    hits: HashMap<String, usize>,
    /// Path → (status, body); `/slow` sleeps first.
    answers: HashMap<String, (u16, String)>,
}

type Shared = Arc<Mutex<Server>>;

fn rss(title: &str, items: &[&str]) -> String {
    let items: String = items
        .iter()
        .map(|t| {
            format!("<item><title>{t}</title><link>http://example.org/{}</link><description>{t}.</description></item>", t.replace(' ', "-"))
        })
        .collect();
    format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>{title}</title><link>http://example.org/</link>{items}</channel></rss>"
    )
}

async fn handler(State(server): State<Shared>, req: Request) -> Response {
    let path = req.uri().path().to_owned();
    let answer = {
        let mut s = server.lock().unwrap();
        *s.hits.entry(path.clone()).or_default() += 1;
        s.answers.get(&path).cloned()
    };
    if path == "/slow" {
        tokio::time::sleep(Duration::from_secs(30)).await;
    }
    match answer {
        Some((429, _)) => (StatusCode::TOO_MANY_REQUESTS, [(header::RETRY_AFTER, HeaderValue::from_static("3600"))]).into_response(),
        Some((status, body)) => {
            (StatusCode::from_u16(status).unwrap(), [(header::CONTENT_TYPE, "application/rss+xml")], body).into_response()
        }
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

fn start_server(server: Shared) -> String {
    format!("http://{}", common::serve_in_background(Router::new().fallback(handler).with_state(server)))
}

fn answer(server: &Shared, path: &str, status: u16, body: String) {
    server.lock().unwrap().answers.insert(path.to_owned(), (status, body));
}

fn hits(server: &Shared, path: &str) -> usize {
    server.lock().unwrap().hits.get(path).copied().unwrap_or(0)
}

fn source(site: &Site, name: &str) -> SourceSummary {
    let config = site.config();
    let reader = Reader::open(&config.store.path).unwrap();
    reader.source_summaries().unwrap().into_iter().find(|s| s.name == name).unwrap_or_else(|| panic!("no source {name}"))
}

fn sources_config(base: &str, names: &[&str]) -> String {
    names.iter().map(|n| format!("[[sources]]\nname = \"{n}\"\nurl = \"{base}/{n}\"\n")).collect()
}

fn runner(site: &Site) -> Runner {
    Runner::new(site.config(), Arc::new(Metrics::new())).unwrap()
}

fn once(site: &Site) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let (_tx, rx) = tokio::sync::watch::channel(false);
        runner(site).run(true, rx).await.unwrap();
    });
}

#[test]
fn due_times_live_in_the_store_so_a_restart_does_not_refetch() {
    let server = Shared::default();
    let base = start_server(server.clone());
    answer(&server, "/a", 200, rss("A", &["First story"]));
    let site = Site::new(&[]);
    site.write_config(&format!("[run]\ninterval = \"10m\"\njitter = 0\n{}", sources_config(&base, &["a"])));
    once(&site);
    assert_eq!(hits(&server, "/a"), 1);
    let a = source(&site, "a");
    let (fetched, next) = (a.state.last_fetch.unwrap(), a.state.next_fetch.unwrap());
    assert_eq!((next - fetched).num_seconds(), 600, "interval of 10m with no jitter");
    // A second process (a restart, or cron) finds nothing due.
    once(&site);
    assert_eq!(hits(&server, "/a"), 1, "refetched before its due time");
    assert!(site.read("feeds/all.rss").contains("First story"));
}

#[test]
fn retry_after_is_honoured_and_errors_back_off_then_recover() {
    let server = Shared::default();
    let base = start_server(server.clone());
    answer(&server, "/busy", 429, String::new());
    answer(&server, "/flaky", 500, String::new());
    let site = Site::new(&[]);
    site.write_config(&format!("[run]\ninterval = \"10m\"\njitter = 0\n{}", sources_config(&base, &["busy", "flaky"])));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut runner = runner(&site);
    let (_tx, rx) = tokio::sync::watch::channel(false);
    let now = chrono::Utc::now();
    rt.block_on(runner.pass(vec![0, 1], rx.clone())).unwrap();
    let busy = source(&site, "busy");
    let until = busy.state.retry_until.expect("Retry-After kept");
    assert!(until >= now + chrono::Duration::seconds(3590), "{until}");
    assert!(busy.state.next_fetch.unwrap() >= until, "due before Retry-After");
    assert!(!runner.due_sources(now + chrono::Duration::seconds(3000)).unwrap().contains(&0));
    // Even a forced pass (`build`) does not ask before then.
    rt.block_on(runner.pass(vec![0], rx.clone())).unwrap();
    assert_eq!(hits(&server, "/busy"), 1, "asked again before Retry-After");

    // Backoff: each failure waits longer; the first success resets it.
    let mut waits = Vec::new();
    for _ in 0..3 {
        let flaky = source(&site, "flaky");
        waits.push((flaky.state.next_fetch.unwrap() - flaky.state.last_fetch.unwrap()).num_seconds());
        rt.block_on(runner.pass(vec![1], rx.clone())).unwrap();
    }
    assert!(waits.windows(2).all(|w| w[1] > w[0]), "backoff must grow: {waits:?}");
    assert_eq!(source(&site, "flaky").state.consecutive_errors, 4);
    answer(&server, "/flaky", 200, rss("Flaky", &["Back again"]));
    rt.block_on(runner.pass(vec![1], rx)).unwrap();
    let flaky = source(&site, "flaky");
    assert_eq!((flaky.state.consecutive_errors, flaky.state.last_error.as_deref()), (0, None));
    assert_eq!((flaky.state.next_fetch.unwrap() - flaky.state.last_fetch.unwrap()).num_seconds(), 600, "recovered to its interval");
}

#[test]
fn story_folders_are_watched_and_republished() {
    let site = Site::new(&[]);
    site.write("stories/one.md", "---\ntitle: First local story\ndate: 2026-01-02\n---\nBody.\n");
    site.write_config("[run]\nwatch_interval = \"100ms\"\n");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (tx, rx) = tokio::sync::watch::channel(false);
    let mut runner = runner(&site);
    let handle = std::thread::spawn(move || rt.block_on(async move { runner.run(false, rx).await }));
    let wait_for = |needle: &str| {
        for _ in 0..200 {
            if std::fs::read_to_string(site.path("feeds/all.rss")).is_ok_and(|t| t.contains(needle)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("{needle} never published");
    };
    wait_for("First local story");
    site.write("stories/two.md", "---\ntitle: Second local story\ndate: 2026-01-03\n---\nBody.\n");
    wait_for("Second local story");
    tx.send(true).unwrap();
    handle.join().unwrap().unwrap();
}

#[cfg(unix)]
#[test]
fn sigterm_mid_fetch_exits_zero_quickly_with_nothing_partial() {
    let server = Shared::default();
    let base = start_server(server.clone());
    answer(&server, "/fast", 200, rss("Fast", &["Quick story"]));
    answer(&server, "/slow", 200, rss("Slow", &["Late story"]));
    let site = Site::new(&[]);
    site.write_config(&format!("[fetch]\ntimeout = \"60s\"\n{}", sources_config(&base, &["fast", "slow"])));
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_wirefeed"))
        .args(["run", "--config"])
        .arg(site.path("wirefeed.toml"))
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    for _ in 0..200 {
        if hits(&server, "/slow") > 0 && hits(&server, "/fast") > 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    assert!(hits(&server, "/slow") > 0, "the slow fetch never started");
    std::thread::sleep(Duration::from_millis(300));
    let sent = std::time::Instant::now();
    assert!(std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap().success());
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(sent.elapsed() < Duration::from_secs(15), "still running 15 s after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert_eq!(status.code(), Some(0), "{err}");
    assert!(err.contains("abandoned"), "{err}");
    // What finished was published, completely; nothing temporary is left.
    let feed = site.read("feeds/all.rss");
    assert!(feed.contains("Quick story") && feed.trim_end().ends_with("</rss>"), "{feed}");
    for dir in ["feeds", "feeds/topics"] {
        for e in std::fs::read_dir(site.path(dir)).unwrap() {
            let name = e.unwrap().file_name().into_string().unwrap();
            assert!(!name.starts_with('.'), "left behind: {dir}/{name}");
        }
    }
    assert_eq!(source(&site, "fast").stories, 1);
}

/// A server whose `/stall` sends half a feed and then nothing for a
/// minute; `/quick` answers whatever `answers` holds.
fn start_stalling_server(server: Shared) -> String {
    use axum::body::Body;
    async fn stall(State(server): State<Shared>) -> Response {
        *server.lock().unwrap().hits.entry("/stall".into()).or_default() += 1;
        let feed = rss("Stall", &["Never finished"]);
        let half = bytes::Bytes::from(feed[..feed.len() / 2].to_owned());
        let chunks = futures_util::stream::unfold(0, move |n| {
            let half = half.clone();
            async move {
                match n {
                    0 => Some((Ok::<_, std::io::Error>(half), 1)),
                    _ => {
                        tokio::time::sleep(Duration::from_secs(60)).await;
                        None
                    }
                }
            }
        });
        ([(header::CONTENT_TYPE, "application/rss+xml")], Body::from_stream(chunks)).into_response()
    }
    let router = Router::new().route("/stall", axum::routing::get(stall)).fallback(handler).with_state(server);
    format!("http://{}", common::serve_in_background(router))
}

/// Polls `cond` every 50 ms for up to `secs` seconds.
fn eventually(secs: u64, what: &str, mut cond: impl FnMut() -> bool) {
    let until = std::time::Instant::now() + Duration::from_secs(secs);
    while std::time::Instant::now() < until {
        if cond() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{what}: not within {secs} s");
}

fn published(site: &Site, needle: &str) -> bool {
    std::fs::read_to_string(site.path("feeds/all.rss")).is_ok_and(|t| t.contains(needle))
}

#[test]
fn a_stalled_source_delays_neither_story_folders_nor_other_sources() {
    let server = Shared::default();
    let base = start_stalling_server(server.clone());
    answer(&server, "/quick", 200, rss("Quick", &["Quick first"]));
    let site = Site::new(&[]);
    site.write("stories/one.md", "---\ntitle: Local first\ndate: 2026-01-02\n---\nBody.\n");
    // `quick` is due every second; `stall` hangs far longer than the test.
    let quick = format!("[[sources]]\nname = \"quick\"\nurl = \"{base}/quick\"\ninterval = \"1s\"\n");
    let stall = format!("[[sources]]\nname = \"stall\"\nurl = \"{base}/stall\"\n");
    site.write_config(&format!("[run]\nwatch_interval = \"200ms\"\njitter = 0\n[fetch]\ntimeout = \"50s\"\n{quick}{stall}"));
    let (tx, rx) = tokio::sync::watch::channel(false);
    let mut runner = runner(&site);
    let handle = std::thread::spawn(move || tokio::runtime::Runtime::new().unwrap().block_on(async move { runner.run(false, rx).await }));
    eventually(10, "the stalled fetch starts", || hits(&server, "/stall") > 0);
    eventually(10, "the first publish", || published(&site, "Local first") && published(&site, "Quick first"));
    // While `stall` is still mid-body: a story file edited, and another
    // source with something new, both reach the feed.
    site.write("stories/two.md", "---\ntitle: Local second\ndate: 2026-01-03\n---\nBody.\n");
    answer(&server, "/quick", 200, rss("Quick", &["Quick first", "Quick second"]));
    eventually(10, "the story file and the other source's news", || published(&site, "Local second") && published(&site, "Quick second"));
    let stalled = source(&site, "stall");
    assert!(stalled.state.last_fetch.is_none(), "the stalled fetch ended: {:?}", stalled.state);
    assert!(hits(&server, "/quick") >= 2, "the other source was not fetched again");
    assert_eq!(hits(&server, "/stall"), 1, "a source in flight was started again");
    tx.send(true).unwrap();
    let outcome = handle.join().unwrap().unwrap();
    assert!(outcome.failed_sources.is_empty(), "{outcome:?}");
    assert!(published(&site, "Local second"));
}

#[test]
fn run_once_exits_2_when_a_source_fails_and_warns_naming_it() {
    let server = Shared::default();
    let base = start_server(server.clone());
    answer(&server, "/good", 200, rss("Good", &["Good story"]));
    answer(&server, "/broken", 500, String::new());
    let site = Site::new(&[]);
    site.write_config(&sources_config(&base, &["good", "broken"]));
    let run = |site: &Site| {
        std::process::Command::new(env!("CARGO_BIN_EXE_wirefeed"))
            .args(["run", "--once", "-q", "--config"])
            .arg(site.path("wirefeed.toml"))
            .env("RUST_LOG", "warn")
            .output()
            .unwrap()
    };
    let out = run(&site);
    let err = common::stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    let warning = err.lines().find(|l| l.contains("WARN") && l.contains("broken")).unwrap_or_else(|| panic!("no warning:\n{err}"));
    assert!(warning.contains("500"), "the reason is missing: {warning}");
    assert!(!err.contains("source=good"), "a good source warned: {err}");
    assert!(site.read("feeds/all.rss").contains("Good story"));
    // A story file that cannot be read fails the run too.
    let site = Site::new(&[]);
    site.write("stories/bad.md", "---\ntitle: [unclosed\n---\n");
    site.write_config("");
    let out = run(&site);
    assert_eq!(out.status.code(), Some(2), "{}", common::stderr(&out));
    // All well: 0.
    let site = Site::new(&[]);
    site.write("stories/fine.md", "---\ntitle: Fine\ndate: 2026-01-02\n---\nBody.\n");
    site.write_config(&sources_config(&base, &["good"]));
    let out = run(&site);
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
}

#[cfg(unix)]
#[test]
fn a_source_that_keeps_failing_warns_once_not_at_every_retry() {
    let server = Shared::default();
    let base = start_server(server.clone());
    answer(&server, "/down", 503, String::new());
    let site = Site::new(&[]);
    site.write_config(&format!(
        "[run]\ninterval = \"1s\"\nmax_backoff = \"1s\"\njitter = 0\n[[sources]]\nname = \"down\"\nurl = \"{base}/down\"\n"
    ));
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_wirefeed"))
        .args(["run", "--config"])
        .arg(site.path("wirefeed.toml"))
        .env("RUST_LOG", "warn")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    eventually(12, "three failed fetches", || hits(&server, "/down") >= 3);
    assert!(std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap().success());
    let out = child.wait_with_output().unwrap();
    let err = common::stderr(&out);
    let warnings = err.lines().filter(|l| l.contains("WARN") && l.contains("down") && l.contains("fetch failed")).count();
    assert_eq!(warnings, 1, "{} fetches:\n{err}", hits(&server, "/down"));
}
