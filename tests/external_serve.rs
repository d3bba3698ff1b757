//! `wirefeed serve` read by real clients: newsboat subscribes to the
//! merged channel, headless Chromium opens the index (on a phone-sized
//! window too). Behind the `external-tests` feature; `.ci/run` installs
//! newsboat and chromium first. A missing program fails the test.
#![cfg(feature = "external-tests")]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use wirefeed::operate::metrics::Metrics;
use wirefeed::operate::serve::{self, ServeOptions};

fn shared() -> PathBuf {
    std::env::var_os("WIREFEED_SHARED").map(PathBuf::from).unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared"))
}

/// The bundled default config, built into a temporary folder and served
/// on 127.0.0.1 (its `base_url` is the served address, so self links are
/// right).
struct Served {
    dir: tempfile::TempDir,
    base: String,
    config: wirefeed::Config,
    /// Every request's path and status, in order.
    log: RequestLog,
    _rt: tokio::runtime::Runtime,
}

type RequestLog = Arc<Mutex<Vec<(String, u16)>>>;

fn serve_default_config() -> Served {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let base = format!("http://{}/", listener.local_addr().unwrap());
    let repo = env!("CARGO_MANIFEST_DIR");
    let text = std::fs::read_to_string(Path::new(repo).join("wirefeed.toml")).unwrap();
    assert!(text.contains("base_url = \"http://127.0.0.1:8080/\""));
    // Inputs from the repository, output and state in the temporary folder.
    let text = text.replace("\"fixtures/", &format!("\"{repo}/fixtures/")).replace("http://127.0.0.1:8080/", &base);
    let dir = tempfile::tempdir().unwrap();
    let config = wirefeed::Config::from_toml(&text, &dir.path().join("wirefeed.toml")).unwrap();
    let report = wirefeed::build(&config).unwrap();
    assert!(report.failures.is_empty() && report.failed_sources().count() == 0, "{:?}", report.failures);
    let log = RequestLog::default();
    let record = log.clone();
    let router = serve::router(ServeOptions::from_config(&config), Arc::new(Metrics::new())).layer(axum::middleware::from_fn(
        move |req: axum::extract::Request, next: axum::middleware::Next| {
            let record = record.clone();
            async move {
                let path = req.uri().path().to_owned();
                let response = next.run(req).await;
                record.lock().unwrap().push((path, response.status().as_u16()));
                response
            }
        },
    ));
    rt.spawn(serve::serve(listener, router, std::future::pending()));
    Served { dir, base, config, log, _rt: rt }
}

fn json_titles(path: &Path) -> Vec<String> {
    let feed: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    feed["items"].as_array().unwrap().iter().map(|i| i["title"].as_str().unwrap().to_owned()).collect()
}

#[test]
fn newsboat_stores_every_item_of_the_served_channel() {
    let served = serve_default_config();
    let script = shared().join("tools/conformance/newsboat_check.sh");
    assert!(script.is_file(), "{} missing (set WIREFEED_SHARED)", script.display());
    let url = format!("{}all.rss", served.base);
    let out = Command::new("bash").arg(&script).arg(&url).output().expect("running newsboat_check.sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "newsboat_check.sh {url} failed ({}):\n{stdout}{}", out.status, String::from_utf8_lossy(&out.stderr));
    let want = json_titles(&served.config.publish.output_dir.join("all.json"));
    assert!(want.len() >= 5, "{want:?}");
    let mut lines = stdout.lines();
    assert!(lines.next().unwrap().starts_with(&format!("feed: {}", served.config.publish.title)), "{stdout}");
    assert_eq!(lines.next().unwrap(), format!("items: {}", want.len()), "{stdout}");
    let got: Vec<&str> = lines.take(want.len()).collect();
    assert_eq!(got, want, "{stdout}");
}

#[test]
fn newsboat_keeps_the_podcast_enclosure() {
    let served = serve_default_config();
    let script = shared().join("tools/conformance/newsboat_check.sh");
    let url = format!("{}all.rss", served.base);
    let out = Command::new("bash").arg(&script).arg("-v").arg(&url).output().expect("running newsboat_check.sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "newsboat_check.sh -v {url} failed:\n{stdout}");
    // TSV rows: guid, link, pubDate, author, enclosure url, enclosure type, content length.
    let row = stdout
        .lines()
        .filter(|l| l.matches('\t').count() >= 6)
        .find(|l| l.contains("hanseatic-league"))
        .unwrap_or_else(|| panic!("no row for the podcast item:\n{stdout}"));
    let cols: Vec<&str> = row.split('\t').collect();
    assert_eq!((cols[4], cols[5]), ("https://media.example.org/iot/hanseatic.mp3", "audio/mpeg"), "{row}");
}

/// Headless Chromium with a fresh profile; returns (stdout, stderr).
fn chromium(profile: &Path, args: &[&str]) -> (String, String) {
    let out = Command::new("/usr/bin/chromium")
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"])
        .args(["--disable-background-networking", "--disable-component-update", "--disable-sync"])
        .args(["--enable-logging=stderr", "--v=0", "--virtual-time-budget=5000"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .output()
        .expect("running /usr/bin/chromium (apt-get install chromium)");
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned());
    assert!(out.status.success(), "chromium {args:?} failed ({}):\n{stderr}", out.status);
    (stdout, stderr)
}

/// Console messages, script errors and failed loads in Chromium's log.
/// (Headless Chromium does not log a failed load of a subresource; the
/// server's request log catches those.)
fn page_errors(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| ["CONSOLE", "Uncaught", "Failed to load resource", "net::ERR_"].iter().any(|needle| l.contains(needle)))
        .collect()
}

/// Requests the browser made that did not get a 200.
fn failed_requests(log: &RequestLog) -> Vec<(String, u16)> {
    log.lock().unwrap().iter().filter(|(_, status)| *status != 200).cloned().collect()
}

#[test]
fn chromium_shows_every_channel_with_its_links_and_no_errors() {
    let served = serve_default_config();
    let profile = tempfile::tempdir().unwrap();
    let (dom, log) = chromium(profile.path(), &["--dump-dom", &served.base]);
    assert!(dom.contains("<h1>Wirefeed Newsroom</h1>"), "{dom}");
    let channels = std::iter::once(("all".to_owned(), "All stories".to_owned()))
        .chain(served.config.topics.iter().map(|t| (format!("topics/{}", t.slug), t.title.clone())));
    for (path, title) in channels {
        let heading = format!("<h3><a href=\"{path}.html\">{}</a></h3>", title.replace('&', "&amp;"));
        assert!(dom.contains(&heading), "{heading} missing from:\n{dom}");
        for (ext, label) in [("rss", "RSS"), ("atom", "Atom"), ("json", "JSON Feed")] {
            let link = format!("<a href=\"{path}.{ext}\" type=\"");
            assert!(dom.contains(&link), "{link} missing");
            assert!(dom.contains(&format!(">{label}</a>")));
        }
    }
    assert!(dom.contains("href=\"channels.opml\""));
    let errors = page_errors(&log);
    assert!(errors.is_empty(), "browser errors: {errors:#?}");
    assert!(served.log.lock().unwrap().iter().any(|(path, status)| path == "/" && *status == 200));
    assert_eq!(failed_requests(&served.log), vec![], "failed loads");

    // A phone-sized window renders too.
    let shot = served.dir.path().join("index.png");
    let (_, log) = chromium(
        profile.path(),
        &[&format!("--screenshot={}", shot.display()), "--window-size=390,844", "--hide-scrollbars", &served.base],
    );
    let png = std::fs::read(&shot).unwrap_or_else(|e| panic!("{}: {e}\n{log}", shot.display()));
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let (width, height) = (u32::from_be_bytes(png[16..20].try_into().unwrap()), u32::from_be_bytes(png[20..24].try_into().unwrap()));
    assert_eq!((width, height), (390, 844));
    assert!(page_errors(&log).is_empty(), "{log}");
    assert_eq!(failed_requests(&served.log), vec![], "failed loads");
    // `WIREFEED_SCREENSHOT=docs/index.png` keeps it (for the README).
    if let Some(keep) = std::env::var_os("WIREFEED_SCREENSHOT") {
        std::fs::copy(&shot, Path::new(env!("CARGO_MANIFEST_DIR")).join(keep)).unwrap();
    }
}
