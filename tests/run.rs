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

/// A `wirefeed run` child whose stderr is collected as it comes.
#[cfg(unix)]
struct Child {
    child: std::process::Child,
    log: Arc<Mutex<String>>,
}

#[cfg(unix)]
impl Child {
    fn start(site: &Site) -> Child {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_wirefeed"))
            .args(["run", "--config"])
            .arg(site.path("wirefeed.toml"))
            .env("RUST_LOG", "info")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let (stderr, sink) = (child.stderr.take().unwrap(), log.clone());
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        Child { child, log }
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    fn signal(&self, name: &str) {
        assert!(std::process::Command::new("kill").args([&format!("-{name}"), &self.child.id().to_string()]).status().unwrap().success());
    }

    fn wait_log(&self, what: &str, needle: &str) {
        eventually(10, what, || self.log().contains(needle));
    }

    fn stop(mut self) -> String {
        self.signal("TERM");
        let status = self.child.wait().unwrap();
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(status.code(), Some(0), "{}", self.log());
        self.log()
    }
}

/// A test that fails midway leaves no `run` behind.
#[cfg(unix)]
impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The message `wirefeed build` gives for the config as it is now.
#[cfg(unix)]
fn config_error(site: &Site) -> String {
    let out = site.build();
    assert_eq!(out.status.code(), Some(1));
    common::stderr(&out).trim().strip_prefix("error: ").expect("an error line").to_owned()
}

#[cfg(unix)]
#[test]
fn config_reloads_on_sighup_and_when_the_file_changes() {
    let server = Shared::default();
    let base = start_server(server.clone());
    for name in ["a", "b", "c"] {
        answer(&server, &format!("/{name}"), 200, rss(name, &[&format!("Story of {name}")]));
    }
    let site = Site::new(&[]);
    let entry =
        |name: &str, interval: &str| format!("[[sources]]\nname = \"{name}\"\nurl = \"{base}/{name}\"\ninterval = \"{interval}\"\n");
    // A long watch_interval: only SIGHUP reloads at first.
    let slow = "[run]\njitter = 0\nwatch_interval = \"1h\"\n";
    site.write_config(&format!("{slow}{}", entry("a", "1h")));
    let run = Child::start(&site);
    eventually(10, "a fetched", || hits(&server, "/a") == 1);

    // SIGHUP, valid: `b` is new (fetched at once), `a`'s interval changed
    // (its due time recomputed from its last fetch).
    site.write_config(&format!("{slow}{}{}", entry("a", "2h"), entry("b", "1h")));
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(hits(&server, "/b"), 0, "reloaded without a signal");
    run.signal("HUP");
    eventually(10, "b fetched after SIGHUP", || hits(&server, "/b") == 1);
    eventually(10, "b published", || published(&site, "Story of b"));
    let a = source(&site, "a");
    assert_eq!((a.state.next_fetch.unwrap() - a.state.last_fetch.unwrap()).num_seconds(), 7200, "a's due time not recomputed");
    assert_eq!(hits(&server, "/a"), 1, "a fetched again on reload");

    // SIGHUP, invalid: the message `build` gives, and the config stays.
    site.write_config(slow);
    site.write("wirefeed.toml", site.read("wirefeed.toml").replace("max_items = 50\n", "max_items = 0\n"));
    let message = config_error(&site);
    run.signal("HUP");
    run.wait_log("the invalid config reported", &message);
    assert!(run.log().contains("the running config stays"), "{}", run.log());

    // A valid file with a short watch_interval, then changes picked up
    // without a signal: `c` added, `a` removed (dropped with its stories).
    let fast = "[run]\njitter = 0\nwatch_interval = \"200ms\"\n";
    site.write_config(&format!("{fast}{}{}", entry("a", "2h"), entry("b", "1h")));
    let reloads = run.log().matches("config reloaded").count();
    run.signal("HUP");
    eventually(10, "reloaded", || run.log().matches("config reloaded").count() > reloads);
    let reloads = reloads + 1;
    site.write_config(&format!("{fast}{}{}", entry("b", "1h"), entry("c", "1h")));
    eventually(10, "c fetched after the file changed", || hits(&server, "/c") == 1);
    eventually(10, "c published and a dropped", || published(&site, "Story of c") && !published(&site, "Story of a"));
    let names: Vec<String> =
        Reader::open(&site.config().store.path).unwrap().source_summaries().unwrap().into_iter().map(|s| s.name).collect();
    assert!(!names.contains(&"a".to_owned()) && names.contains(&"c".to_owned()), "{names:?}");
    assert_eq!(run.log().matches("config reloaded").count(), reloads + 1, "{}", run.log());

    // An invalid file: reported once, and the running config goes on (a
    // story file still reaches the feed).
    site.write_config(&format!("{fast}{}[[sources]]\nname = \"d\"\nurl = \"{base}/d\"\ninterval = \"0s\"\n", entry("b", "1h")));
    let message = config_error(&site);
    run.wait_log("the invalid file reported", &message);
    site.write("stories/new.md", "---\ntitle: Written after the bad edit\ndate: 2026-01-05\n---\nBody.\n");
    eventually(10, "a story file published under the running config", || published(&site, "Written after the bad edit"));
    assert_eq!(hits(&server, "/d"), 0);
    let log = run.stop();
    assert_eq!(log.matches(&message).count(), 1, "reported more than once:\n{log}");
}

#[test]
fn fetch_command_without_a_running_run_fetches_itself() {
    let server = Shared::default();
    let base = start_server(server.clone());
    answer(&server, "/a", 200, rss("A", &["Fetched on demand"]));
    answer(&server, "/b", 500, String::new());
    let site = Site::new(&[]);
    site.write_config(&format!("[run]\ninterval = \"1h\"\n{}", sources_config(&base, &["a", "b"])));
    let out = site.run(&["fetch", "a"]);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", common::stderr(&out));
    assert!(stdout.starts_with("a: ok: 1 new"), "{stdout}");
    assert!(site.read("feeds/all.rss").contains("Fetched on demand"));
    assert_eq!((hits(&server, "/a"), hits(&server, "/b")), (1, 0));
    // Not due for an hour, fetched anyway; the failure exits 2.
    let out = site.run(&["fetch", "--all"]);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(2), "{stdout}");
    assert!(stdout.contains("a: not modified") || stdout.contains("a: ok"), "{stdout}");
    assert!(stdout.lines().any(|l| l.starts_with("b: error:") && l.contains("500")), "{stdout}");
    assert_eq!(hits(&server, "/a"), 2);
    for (args, code, says) in [
        (vec!["fetch", "nope"], 1, "no source named \"nope\""),
        (vec!["fetch", "a", "nope"], 1, "no source named \"nope\""),
        (vec!["fetch"], 1, "--all"),
        (vec!["fetch", "a", "--all"], 1, "cannot be used with"),
    ] {
        let out = site.run(&args);
        let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), common::stderr(&out));
        assert_eq!(out.status.code(), Some(code), "{args:?}: {all}");
        assert!(all.contains(says), "{args:?}: {all}");
    }
}

#[cfg(unix)]
#[test]
fn fetch_command_asks_the_running_run() {
    let server = Shared::default();
    let base = start_server(server.clone());
    answer(&server, "/a", 200, rss("A", &["Before"]));
    answer(&server, "/b", 500, String::new());
    let site = Site::new(&[]);
    // Were `fetch` to wait for the store's lock, it would wait a minute.
    site.write_config(&format!("[store]\nlock_timeout = \"60s\"\n[run]\ninterval = \"1h\"\n{}", sources_config(&base, &["a", "b"])));
    let run = Child::start(&site);
    eventually(10, "first fetch", || hits(&server, "/a") == 1 && published(&site, "Before"));
    answer(&server, "/a", 200, rss("A", &["Before", "After"]));
    let out = site.run(&["fetch", "A"]);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(0), "{stdout}{}\n{}", common::stderr(&out), run.log());
    assert_eq!(stdout.trim(), "a: ok: 1 new, 0 updated, 2 stories");
    assert_eq!(hits(&server, "/a"), 2);
    eventually(10, "published by the run", || published(&site, "After"));
    assert!(run.log().contains("`wirefeed fetch` asked"), "{}", run.log());
    let out = site.run(&["fetch", "--all"]);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(2), "{stdout}");
    assert!(stdout.contains("b: error:") && stdout.contains("a: "), "{stdout}");
    run.stop();
}

#[test]
fn a_second_run_fails_on_the_store_lock_before_it_takes_a_port() {
    let site = Site::new(&[]);
    site.write_config("[store]\nlock_timeout = \"200ms\"\n");
    let config = site.config();
    // Holding the store as a first `run` would, and the port it serves on.
    let _store = wirefeed::store::Store::open(&config).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = port.local_addr().unwrap().to_string();
    let out = site.run(&["run", "--serve", &addr]);
    let err = common::stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("in use by another wirefeed"), "{err}");
    assert!(!err.contains("cannot listen"), "it tried the port first: {err}");
}

#[test]
fn config_strings_take_environment_variables_and_a_missing_one_is_named() {
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let record = seen.clone();
    let router = Router::new().fallback(move |req: Request| {
        let record = record.clone();
        async move {
            let auth = req.headers().get(header::AUTHORIZATION).map(|v| v.to_str().unwrap().to_owned());
            record.lock().unwrap().push(format!("{} {}", req.uri(), auth.unwrap_or_default()));
            ([(header::CONTENT_TYPE, "application/rss+xml")], rss("Keyed", &["Behind a key"])).into_response()
        }
    });
    let base = format!("http://{}", common::serve_in_background(router));
    let site = Site::new(&[]);
    site.write_config(&format!(
        "[[sources]]\nname = \"keyed\"\nurl = \"{base}/${{WF_TEST_PATH}}\"\nheaders = {{ Authorization = \"Bearer ${{WF_TEST_TOKEN}}\" }}\n"
    ));
    let fetch = |vars: &[(&str, &str)]| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_wirefeed"));
        cmd.args(["fetch", "--all", "--config"]).arg(site.path("wirefeed.toml")).env_remove("WF_TEST_TOKEN").env_remove("WF_TEST_PATH");
        cmd.envs(vars.iter().copied()).output().unwrap()
    };
    let out = fetch(&[("WF_TEST_TOKEN", "s3cret"), ("WF_TEST_PATH", "feed.xml")]);
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    assert_eq!(*seen.lock().unwrap(), ["/feed.xml Bearer s3cret"]);
    let out = fetch(&[("WF_TEST_PATH", "feed.xml")]);
    let err = common::stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("WF_TEST_TOKEN is not set") && err.contains("sources[0].headers.Authorization"), "{err}");
    assert_eq!(seen.lock().unwrap().len(), 1, "fetched with a missing variable");
}

#[test]
fn init_then_build_works_and_commands_outside_a_project_say_how_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let wirefeed = |args: &[&str], cwd: &std::path::Path| {
        std::process::Command::new(env!("CARGO_BIN_EXE_wirefeed")).args(args).current_dir(cwd).output().unwrap()
    };
    // Outside a project.
    for command in [&["build"][..], &["run", "--once"], &["serve"], &["sources"], &["fetch", "--all"]] {
        let out = wirefeed(command, dir.path());
        let err = common::stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{command:?}: {err}");
        assert!(err.contains("wirefeed init"), "{command:?}: {err}");
    }
    let out = wirefeed(&["init", "news"], dir.path());
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{said}{}", common::stderr(&out));
    assert!(said.contains("cd news && wirefeed build") && said.contains("wirefeed serve"), "{said}");
    let project = dir.path().join("news");
    assert!(project.join("feeds").is_dir());
    let out = wirefeed(&["build"], &project);
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    let feed = std::fs::read_to_string(project.join("feeds/all.rss")).unwrap();
    assert!(feed.contains("Council opens the new town hall"), "{feed}");
    let local = std::fs::read_to_string(project.join("feeds/topics/local.rss")).unwrap();
    assert!(local.contains("Council opens the new town hall"), "the sample story is in the sample topic");
    // A second init changes nothing.
    let out = wirefeed(&["init", "news"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    assert!(common::stderr(&out).contains("already exists"));
}
