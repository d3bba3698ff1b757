//! Publishing for a fleet on a PostgreSQL store (feature
//! `postgres-tests`): the files live in the store's `published_files`
//! table, a publish is rendered once under the publish lock, every
//! `serve` on the store answers the same bytes and ETags and picks up a
//! new publish within about a second, and `export` writes what serve
//! answers.
#![cfg(feature = "postgres-tests")]

mod common;

use axum::http::{HeaderMap, StatusCode, header};
use common::backend::Backend;
use common::{SEED, Site};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use wirefeed::operate::metrics::Metrics;
use wirefeed::operate::serve::{self, ServeOptions};
use wirefeed::store::pg::files::{PgFiles, etag_of};
use wirefeed::store::{Location, Store};

const SECOND_STORY: &str = "fixtures/stories/2024-11-26-gulf-port-reopens.md";

/// A site whose store is a fresh PostgreSQL database; returns it and the
/// database's URL.
fn pg_site(files: &[&str]) -> (Site, String) {
    let Location::Postgres(url) = Backend::Postgres.fresh().location else { unreachable!() };
    let site = Site::new(files);
    site.write_config(&format!("\n[store]\nurl = {url:?}\n"));
    (site, url)
}

fn build(site: &Site) -> wirefeed::build::BuildReport {
    wirefeed::build::build(&site.config()).unwrap()
}

/// What the table holds: path → ETag.
fn stored(url: &str) -> HashMap<String, String> {
    PgFiles::open(url).unwrap().index().unwrap()
}

struct Server {
    rt: tokio::runtime::Runtime,
    addr: std::net::SocketAddr,
    client: reqwest::Client,
    _stop: tokio::sync::oneshot::Sender<()>,
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: header::HeaderName) -> String {
        self.headers.get(&name).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_else(|| panic!("no {name} in {:?}", self.headers))
    }
}

impl Server {
    /// `serve` as `wirefeed serve` starts it for the site's config.
    fn start(site: &Site) -> Server {
        let options = ServeOptions::from_config(&site.config());
        assert!(options.store.is_some(), "a PostgreSQL store is served from the store");
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
        let addr = listener.local_addr().unwrap();
        let router = serve::router(options, Arc::new(Metrics::new()));
        rt.spawn(serve::serve(listener, router, async move {
            let _ = stopped.await;
        }));
        let client = reqwest::Client::builder().no_gzip().no_brotli().no_deflate().no_proxy().build().unwrap();
        Server { rt, addr, client, _stop: stop }
    }

    fn get(&self, path: &str, headers: &[(&str, &str)]) -> Answer {
        let mut req = self.client.get(format!("http://{}{path}", self.addr));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        self.rt.block_on(async {
            let resp = req.send().await.unwrap();
            Answer { status: resp.status(), headers: resp.headers().clone(), body: resp.bytes().await.unwrap().to_vec() }
        })
    }
}

const PATHS: &[&str] = &["/all.rss", "/all.atom", "/all.json", "/topics/russia.rss", "/all.html", "/", "/channels.opml", "/sources.html"];

#[test]
fn two_servers_on_one_store_answer_the_same_bytes_and_etags() {
    let (site, _) = pg_site(&[SEED]);
    build(&site);
    let (a, b) = (Server::start(&site), Server::start(&site));
    for path in PATHS {
        for encoding in ["identity", "gzip", "br"] {
            let headers = [("accept-encoding", encoding)];
            let (x, y) = (a.get(path, &headers), b.get(path, &headers));
            assert_eq!((x.status, y.status), (StatusCode::OK, StatusCode::OK), "{path}");
            assert!(!x.body.is_empty(), "{path}");
            assert_eq!(x.body, y.body, "{path} ({encoding})");
            assert_eq!(x.header(header::ETAG), y.header(header::ETAG), "{path} ({encoding})");
            assert_eq!(x.header(header::LAST_MODIFIED), y.header(header::LAST_MODIFIED), "{path} ({encoding})");
            assert_eq!(x.header(header::CONTENT_TYPE), y.header(header::CONTENT_TYPE), "{path}");
        }
    }
}

#[test]
fn the_etag_one_server_gave_gets_304_from_another() {
    let (site, _) = pg_site(&[SEED]);
    build(&site);
    let (a, b) = (Server::start(&site), Server::start(&site));
    for path in PATHS {
        let etag = a.get(path, &[]).header(header::ETAG);
        let again = b.get(path, &[("if-none-match", &etag)]);
        assert_eq!(again.status, StatusCode::NOT_MODIFIED, "{path}");
        assert!(again.body.is_empty(), "{path}");
        assert_eq!(again.header(header::ETAG), etag, "{path}");
    }
}

#[test]
fn the_served_etag_is_the_one_stored_with_the_bytes() {
    let (site, url) = pg_site(&[SEED]);
    build(&site);
    let server = Server::start(&site);
    let table = stored(&url);
    let answer = server.get("/all.atom", &[]);
    assert_eq!(answer.header(header::ETAG), format!("\"{}\"", table["all.atom"]));
    assert_eq!(etag_of(&answer.body), table["all.atom"]);
}

#[test]
fn a_new_publish_is_served_within_two_seconds() {
    let (site, _) = pg_site(&[SEED]);
    build(&site);
    let server = Server::start(&site);
    let before = server.get("/all.rss", &[]);
    assert!(!String::from_utf8_lossy(&before.body).contains("Gulf Port Reopens"));
    std::fs::copy(SECOND_STORY, site.path("stories/2024-11-26-gulf-port-reopens.md")).unwrap();
    build(&site);
    let published = Instant::now();
    let deadline = published + Duration::from_secs(2);
    loop {
        let now = server.get("/all.rss", &[]);
        if now.header(header::ETAG) != before.header(header::ETAG) {
            assert!(String::from_utf8_lossy(&now.body).contains("Gulf Port Reopens"), "the new version has the new story");
            eprintln!("new version served {} ms after the publish", published.elapsed().as_millis());
            break;
        }
        assert!(Instant::now() < deadline, "the new publish was not served within 2 s");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_publish_while_another_worker_publishes_reports_busy_and_writes_nothing() {
    let (site, url) = pg_site(&[SEED]);
    let config = site.config();
    let store = Store::open(&config).unwrap();
    let mut other = PgFiles::open(&url).unwrap();
    assert!(other.try_lock().unwrap());
    let published = wirefeed::build::publish_from_store(&config, &store).unwrap();
    assert!(published.busy);
    assert!(published.report.written.is_empty());
    assert_eq!(other.version().unwrap(), 0, "nothing went into the table");
    assert!(stored(&url).is_empty());
    assert!(!config.publish.output_dir.join("all.rss").exists(), "nothing went into the folder");
}

#[test]
fn once_the_other_worker_is_done_the_publish_goes_through() {
    let (site, url) = pg_site(&[SEED]);
    let config = site.config();
    let store = Store::open(&config).unwrap();
    let mut other = PgFiles::open(&url).unwrap();
    assert!(other.try_lock().unwrap());
    assert!(wirefeed::build::publish_from_store(&config, &store).unwrap().busy);
    drop(other);
    let published = wirefeed::build::publish_from_store(&config, &store).unwrap();
    assert!(!published.busy);
    assert!(stored(&url).contains_key("all.rss"));
}

/// Two workers, each with its store, publishing at once. (While a store
/// holds the writer's lock for its lifetime the second waits for the
/// first to finish and then renders nothing; with a per-call writer lock
/// they race on the publish lock and one reports busy.)
#[test]
fn two_publishes_racing_render_once() {
    let (site, url) = pg_site(&[SEED]);
    let config = site.config();
    let start = std::sync::Barrier::new(2);
    let results: Vec<wirefeed::build::Published> = std::thread::scope(|s| {
        let racers: Vec<_> = (0..2)
            .map(|_| {
                s.spawn(|| {
                    start.wait();
                    let store = Store::open(&config).unwrap();
                    wirefeed::build::publish_from_store(&config, &store).unwrap()
                })
            })
            .collect();
        racers.into_iter().map(|r| r.join().unwrap()).collect()
    });
    let rendered = results.iter().filter(|p| !p.report.written.is_empty()).count();
    assert_eq!(rendered, 1, "busy: {:?}", results.iter().map(|p| p.busy).collect::<Vec<_>>());
    let other = results.iter().find(|p| p.report.written.is_empty()).unwrap();
    assert!(other.busy || other.report.unchanged.iter().any(|p| p.ends_with("all.rss")), "the other reports busy or renders nothing");
    assert_eq!(PgFiles::open(&url).unwrap().version().unwrap(), 1, "one publish changed the table");
}

#[test]
fn a_second_publish_of_unchanged_channels_changes_nothing() {
    let (site, url) = pg_site(&[SEED]);
    build(&site);
    let version = PgFiles::open(&url).unwrap().version().unwrap();
    let again = build(&site);
    assert!(again.publish.written.is_empty(), "{:?}", again.publish.written);
    assert_eq!(PgFiles::open(&url).unwrap().version().unwrap(), version);
}

#[test]
fn export_writes_the_bytes_serve_returns() {
    let (site, _) = pg_site(&[SEED]);
    build(&site);
    let server = Server::start(&site);
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("site");
    let run = site.run(&["export", dir.to_str().unwrap()]);
    assert!(run.status.success(), "{}", common::stderr(&run));
    for path in PATHS {
        let rel = if *path == "/" { "index.html" } else { &path[1..] };
        let answer = server.get(path, &[]);
        let file = std::fs::read(dir.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
        assert_eq!(file, answer.body, "{rel}");
        assert_eq!(format!("\"{}\"", etag_of(&file)), answer.header(header::ETAG), "{rel}");
    }
}

#[test]
fn export_on_a_sqlite_store_says_it_applies_to_postgresql() {
    let site = Site::new(&[SEED]);
    let dir = site.path("exported");
    let run = site.run(&["export", dir.to_str().unwrap()]);
    assert!(!run.status.success());
    assert!(common::stderr(&run).contains("PostgreSQL"), "{}", common::stderr(&run));
    assert!(!dir.exists());
}

#[test]
fn a_removed_topic_leaves_the_table() {
    let (site, url) = pg_site(&[SEED]);
    build(&site);
    assert!(stored(&url).keys().any(|p| p.starts_with("topics/gaza.")));
    // The same config without the gaza topic.
    let text = site.read("wirefeed.toml");
    let start = text.find("[[topics]]\nslug = \"gaza\"").unwrap();
    let end = start + text[start..].find("[[topics]]\nslug = \"empty\"").unwrap();
    site.write("wirefeed.toml", format!("{}{}", &text[..start], &text[end..]));
    build(&site);
    let left: Vec<String> = stored(&url).into_keys().filter(|p| p.contains("gaza")).collect();
    assert!(left.is_empty(), "{left:?}");
    assert!(stored(&url).contains_key("topics/russia.rss"), "the other topics stay");
}

#[test]
fn the_publishing_worker_mirrors_the_table_into_its_output_folder() {
    let (site, url) = pg_site(&[SEED]);
    build(&site);
    let out = site.config().publish.output_dir;
    for (path, etag) in stored(&url) {
        let bytes = std::fs::read(out.join(&path)).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!(etag_of(&bytes), etag, "{path}");
    }
}

/// The bytes of one stored file, as text ("" when there is none).
fn stored_text(url: &str, path: &str) -> String {
    let files = PgFiles::open(url).unwrap().read(&[path.to_owned()]).unwrap();
    files.first().map(|f| String::from_utf8_lossy(&f.body).into_owned()).unwrap_or_default()
}

#[test]
fn run_keeps_a_change_made_while_another_worker_publishes_and_publishes_it_after() {
    let (site, url) = pg_site(&[]);
    site.write("stories/one.md", "---\ntitle: First local story\ndate: 2026-01-02\n---\nBody.\n");
    site.write_config(&format!("[run]\nwatch_interval = \"100ms\"\n\n[store]\nurl = {url:?}\n"));
    let mut runner = wirefeed::operate::run::Runner::new(site.config(), Arc::new(Metrics::new())).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (tx, rx) = tokio::sync::watch::channel(false);
    let handle = std::thread::spawn(move || rt.block_on(async move { runner.run(false, rx).await }));
    let wait_for = |needle: &str| {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !stored_text(&url, "all.rss").contains(needle) {
            assert!(Instant::now() < deadline, "{needle} never published");
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    wait_for("First local story");
    // Another worker publishing (for longer than run's publish gap).
    let mut other = PgFiles::open(&url).unwrap();
    while !other.try_lock().unwrap() {
        std::thread::sleep(Duration::from_millis(10));
    }
    site.write("stories/two.md", "---\ntitle: Second local story\ndate: 2026-01-03\n---\nBody.\n");
    std::thread::sleep(Duration::from_millis(2500));
    assert!(!stored_text(&url, "all.rss").contains("Second local story"), "published through the other worker's lock");
    drop(other);
    wait_for("Second local story");
    tx.send(true).unwrap();
    handle.join().unwrap().unwrap();
}

#[test]
fn serve_keeps_answering_with_the_last_files_when_the_store_goes_away() {
    let (site, url) = pg_site(&[SEED]);
    build(&site);
    let server = Server::start(&site);
    let before = server.get("/all.rss", &[]);
    let (base, name) = url.rsplit_once('/').unwrap();
    let mut admin = postgres::Client::connect(&format!("{base}/postgres"), postgres::NoTls).unwrap();
    admin.batch_execute(&format!("DROP DATABASE {name} WITH (FORCE)")).unwrap();
    // Past a few polls (every 500 ms), each failing.
    std::thread::sleep(Duration::from_secs(2));
    let after = server.get("/all.rss", &[]);
    assert_eq!(after.status, StatusCode::OK);
    assert_eq!(after.body, before.body);
    assert_eq!(after.header(header::ETAG), before.header(header::ETAG));
}

/// Figures, not a check: `cargo test --features postgres-tests --test
/// publish_fleet -- --ignored --nocapture publish_figures`. A site of
/// 300 newsroom stories (river pages of 4 channels), published on
/// each backend: the first publish, one that finds nothing changed, and
/// on PostgreSQL the first load of a `serve`.
#[test]
#[ignore]
fn publish_figures() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let fresh = backend.fresh();
        let site = Site::new(&[]);
        for i in 0..300 {
            let body = format!("Paragraph {i} about the Kremlin and the port. ").repeat(40);
            site.write(
                &format!("stories/s{i:03}.md"),
                format!("---\ntitle: Story number {i}\ndate: 2026-01-02T{:02}:{:02}:00Z\n---\n{body}\n", i / 60, i % 60),
            );
        }
        site.write_config(&format!("\n[store]\n{}", Backend::config_line(&fresh.location)));
        let config = site.config();
        let started = Instant::now();
        let files = build(&site).publish.written.len();
        let first = started.elapsed();
        let store = Store::open(&config).unwrap();
        let started = Instant::now();
        let again = wirefeed::build::publish_from_store(&config, &store).unwrap();
        let unchanged = started.elapsed();
        assert!(again.report.written.is_empty());
        drop(store);
        eprint!(
            "{backend:?}: build with first publish {} ms, publish of nothing changed {} ms ({files} files)",
            first.as_millis(),
            unchanged.as_millis()
        );
        if let Location::Postgres(url) = &fresh.location {
            let bytes: usize = PgFiles::open(url).unwrap().snapshot(0).unwrap().changed.iter().map(|f| f.body.len()).sum();
            let started = Instant::now();
            let server = Server::start(&site);
            eprint!(", serve's first load {} ms ({} KB in the table)", started.elapsed().as_millis(), bytes / 1024);
            assert_eq!(server.get("/all.html", &[]).status, StatusCode::OK);
        }
        eprintln!();
    }
}

/// A `wirefeed serve` process on a free port, killed when dropped.
struct ServeProcess {
    child: std::process::Child,
    base: String,
}

impl ServeProcess {
    fn start(site: &Site) -> ServeProcess {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_wirefeed"))
            .args(["serve", "--addr", &format!("127.0.0.1:{port}"), "--config"])
            .arg(site.path("wirefeed.toml"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        ServeProcess { child, base: format!("http://127.0.0.1:{port}") }
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn two_serve_processes_answer_the_same_bytes_and_etags() {
    let (site, _) = pg_site(&[SEED]);
    build(&site);
    let servers = [ServeProcess::start(&site), ServeProcess::start(&site)];
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let client = reqwest::Client::builder().no_gzip().no_brotli().no_deflate().no_proxy().build().unwrap();
    let get = |base: &str, path: &str| {
        rt.block_on(async {
            let resp = client.get(format!("{base}{path}")).header("accept-encoding", "gzip").send().await.ok()?;
            let etag = resp.headers().get(header::ETAG)?.to_str().ok()?.to_owned();
            Some((resp.status(), etag, resp.bytes().await.ok()?.to_vec()))
        })
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    for server in &servers {
        while get(&server.base, "/all.rss").is_none_or(|(status, _, _)| status != StatusCode::OK) {
            assert!(Instant::now() < deadline, "{} never answered", server.base);
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    for path in PATHS {
        let (a, b) = (get(&servers[0].base, path).unwrap(), get(&servers[1].base, path).unwrap());
        assert_eq!(a.0, StatusCode::OK, "{path}");
        assert_eq!(a, b, "{path}");
    }
}
