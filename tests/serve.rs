//! `wirefeed serve` in process on 127.0.0.1 over a built output folder:
//! content types, validators and 304s, replaced files, HEAD, gzip and
//! brotli, path safety, health and metrics; and WebSub pings against an
//! in-process hub.

mod common;

use axum::http::{HeaderMap, StatusCode, header};
use common::{SEED, Site};
use std::io::{Read, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use wirefeed::operate::metrics::Metrics;
use wirefeed::operate::serve::{self, ServeOptions};

/// A server on its own runtime, stopped when dropped.
struct Server {
    rt: tokio::runtime::Runtime,
    addr: std::net::SocketAddr,
    client: reqwest::Client,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: header::HeaderName) -> &str {
        self.headers.get(&name).map(|v| v.to_str().unwrap()).unwrap_or_else(|| panic!("no {name} header in {:?}", self.headers))
    }
}

impl Server {
    fn start(root: &Path, metrics: Arc<Metrics>) -> Server {
        Server::start_with(
            ServeOptions {
                root: root.to_owned(),
                max_age: Duration::from_secs(300),
                access: Default::default(),
                embed_hosts: vec![],
                store: None,
            },
            metrics,
        )
    }

    fn start_with(options: ServeOptions, metrics: Arc<Metrics>) -> Server {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
        let addr = listener.local_addr().unwrap();
        rt.spawn(serve::serve(listener, serve::router(options, metrics), async move {
            let _ = stopped.await;
        }));
        // Raw bytes on the wire: no transparent decompression.
        let client = reqwest::Client::builder().no_gzip().no_brotli().no_deflate().no_proxy().build().unwrap();
        Server { rt, addr, client, stop: Some(stop) }
    }

    fn request(&self, method: reqwest::Method, path: &str, headers: &[(&str, &str)]) -> Answer {
        let mut req = self.client.request(method, format!("http://{}{path}", self.addr));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        self.rt.block_on(async {
            let resp = req.send().await.unwrap();
            Answer { status: resp.status(), headers: resp.headers().clone(), body: resp.bytes().await.unwrap().to_vec() }
        })
    }

    fn get(&self, path: &str, headers: &[(&str, &str)]) -> Answer {
        self.request(reqwest::Method::GET, path, headers)
    }

    /// The status of a request sent byte for byte as written (clients
    /// normalize `..` and percent-escapes away before sending).
    fn raw_status(&self, target: &str) -> u16 {
        let mut tcp = std::net::TcpStream::connect(self.addr).unwrap();
        write!(tcp, "GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").unwrap();
        let mut text = String::new();
        tcp.read_to_string(&mut text).unwrap();
        text.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("{target}: no status in {text:?}"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The seed stories built with the library into `feeds/`, with a WebSub hub.
fn built_site() -> Site {
    let site = Site::new(&[SEED]);
    let config = site.read("wirefeed.toml").replace("max_items = 50\n", "max_items = 50\nwebsub_hub = \"https://hub.example/\"\n");
    site.write("wirefeed.toml", config);
    let report = wirefeed::build(&site.config()).unwrap();
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    site
}

#[test]
fn feeds_have_their_content_types_and_validators() {
    let site = built_site();
    let server = Server::start(&site.path("feeds"), Arc::new(Metrics::new()));
    let cases = [
        ("/all.rss", "all.rss", "application/rss+xml; charset=utf-8"),
        ("/all.atom", "all.atom", "application/atom+xml; charset=utf-8"),
        ("/all.json", "all.json", "application/feed+json; charset=utf-8"),
        ("/topics/russia.rss", "topics/russia.rss", "application/rss+xml; charset=utf-8"),
        ("/", "index.html", "text/html; charset=utf-8"),
        ("/index.html", "index.html", "text/html; charset=utf-8"),
        ("/channels.opml", "channels.opml", "text/x-opml; charset=utf-8"),
    ];
    for (path, file, content_type) in cases {
        let a = server.get(path, &[]);
        assert_eq!(a.status, StatusCode::OK, "{path}");
        assert_eq!(a.header(header::CONTENT_TYPE), content_type, "{path}");
        assert_eq!(a.body, std::fs::read(site.path("feeds").join(file)).unwrap(), "{path}");
        assert!(a.headers.get(header::CONTENT_ENCODING).is_none(), "{path}: identity when not asked");
        assert_eq!(a.header(header::CACHE_CONTROL), "max-age=300");
        assert_eq!(a.header(header::VARY), "Accept-Encoding");
        let etag = a.header(header::ETAG).to_owned();
        assert!(etag.starts_with('"') && etag.ends_with('"'), "strong ETag: {etag}");
        let last_modified = a.header(header::LAST_MODIFIED).to_owned();
        let mtime = std::fs::metadata(site.path("feeds").join(file)).unwrap().modified().unwrap();
        assert_eq!(httpdate::parse_http_date(&last_modified).unwrap(), httpdate::parse_http_date(&httpdate::fmt_http_date(mtime)).unwrap());

        for inm in [etag.clone(), format!("\"nope\", W/{etag}"), "*".to_owned()] {
            let again = server.get(path, &[("if-none-match", &inm)]);
            assert_eq!(again.status, StatusCode::NOT_MODIFIED, "{path} If-None-Match: {inm}");
            assert!(again.body.is_empty());
            assert_eq!(again.header(header::ETAG), etag);
        }
        assert_eq!(server.get(path, &[("if-modified-since", &last_modified)]).status, StatusCode::NOT_MODIFIED, "{path}");
        let earlier = httpdate::fmt_http_date(mtime - Duration::from_secs(3600));
        assert_eq!(server.get(path, &[("if-modified-since", &earlier)]).status, StatusCode::OK, "{path}");
        // If-None-Match decides alone when present.
        let both = server.get(path, &[("if-none-match", "\"stale\""), ("if-modified-since", &last_modified)]);
        assert_eq!(both.status, StatusCode::OK, "{path}");
    }
}

#[test]
fn a_replaced_file_gets_a_new_etag_and_a_removed_one_a_404() {
    let site = built_site();
    let server = Server::start(&site.path("feeds"), Arc::new(Metrics::new()));
    let first = server.get("/all.json", &[]);
    let old_etag = first.header(header::ETAG).to_owned();
    let path = site.path("feeds/all.json");
    let changed = String::from_utf8(first.body.clone()).unwrap().replace("\"items\":[", "\"items\":[ ");
    wirefeed::publish::write::write_atomic(&path, changed.as_bytes()).unwrap();
    let second = server.get("/all.json", &[("if-none-match", &old_etag)]);
    assert_eq!(second.status, StatusCode::OK);
    assert_eq!(second.body, changed.as_bytes());
    let new_etag = second.header(header::ETAG).to_owned();
    assert_ne!(new_etag, old_etag);
    assert_eq!(server.get("/all.json", &[("if-none-match", &new_etag)]).status, StatusCode::NOT_MODIFIED);
    // Written in place (same inode), with a different length: seen too.
    std::fs::write(&path, b"{\"version\":\"x\"}\n").unwrap();
    assert_eq!(server.get("/all.json", &[]).body, b"{\"version\":\"x\"}\n");
    std::fs::remove_file(&path).unwrap();
    assert_eq!(server.get("/all.json", &[]).status, StatusCode::NOT_FOUND);
}

#[test]
fn head_has_the_headers_and_no_body() {
    let site = built_site();
    let server = Server::start(&site.path("feeds"), Arc::new(Metrics::new()));
    let get = server.get("/all.rss", &[]);
    let head = server.request(reqwest::Method::HEAD, "/all.rss", &[]);
    assert_eq!(head.status, StatusCode::OK);
    assert!(head.body.is_empty());
    assert_eq!(head.header(header::CONTENT_LENGTH), get.body.len().to_string());
    for h in [header::ETAG, header::LAST_MODIFIED, header::CONTENT_TYPE, header::CACHE_CONTROL] {
        assert_eq!(head.header(h.clone()), get.header(h));
    }
    let head_br = server.request(reqwest::Method::HEAD, "/all.rss", &[("accept-encoding", "br")]);
    assert_eq!(head_br.header(header::CONTENT_ENCODING), "br");
    assert!(head_br.body.is_empty());
    let post = server.request(reqwest::Method::POST, "/all.rss", &[]);
    assert_eq!(post.status, StatusCode::METHOD_NOT_ALLOWED);
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes).read_to_end(&mut out).unwrap();
    out
}

fn unbrotli(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    brotli::Decompressor::new(bytes, 4096).read_to_end(&mut out).unwrap();
    out
}

#[test]
fn gzip_and_brotli_follow_accept_encoding() {
    let site = built_site();
    let server = Server::start(&site.path("feeds"), Arc::new(Metrics::new()));
    let plain = server.get("/all.atom", &[]);
    let cases: [(&str, Option<&str>); 7] = [
        ("gzip", Some("gzip")),
        ("br", Some("br")),
        ("gzip, deflate, br", Some("br")),
        ("gzip;q=1.0, br;q=0.5", Some("gzip")),
        ("br;q=0, gzip", Some("gzip")),
        ("deflate", None),
        ("gzip;q=0, br;q=0", None),
    ];
    let mut etags = std::collections::HashMap::new();
    for (accept, expected) in cases {
        let a = server.get("/all.atom", &[("accept-encoding", accept)]);
        assert_eq!(a.status, StatusCode::OK);
        assert_eq!(a.headers.get(header::CONTENT_ENCODING).map(|v| v.to_str().unwrap()), expected, "{accept}");
        assert_eq!(a.header(header::VARY), "Accept-Encoding");
        let body = match expected {
            Some("gzip") => gunzip(&a.body),
            Some("br") => unbrotli(&a.body),
            _ => a.body.clone(),
        };
        assert_eq!(body, plain.body, "{accept}");
        if expected.is_some() {
            assert!(a.body.len() * 2 < plain.body.len(), "{accept}: {} of {} bytes", a.body.len(), plain.body.len());
        }
        assert_eq!(a.header(header::CONTENT_LENGTH), a.body.len().to_string());
        etags.insert(expected, a.header(header::ETAG).to_owned());
        // A 304 for the representation the client holds.
        let again = server.get("/all.atom", &[("accept-encoding", accept), ("if-none-match", a.header(header::ETAG))]);
        assert_eq!(again.status, StatusCode::NOT_MODIFIED, "{accept}");
    }
    assert_eq!(etags.len(), 3, "one ETag per encoding: {etags:?}");
    let gzip_etag = &etags[&Some("gzip")];
    assert_eq!(server.get("/all.atom", &[("accept-encoding", "br"), ("if-none-match", gzip_etag)]).status, StatusCode::OK);
}

#[test]
fn paths_outside_the_folder_hidden_and_temporary_files_are_404() {
    let site = built_site();
    let feeds = site.path("feeds");
    // Secrets beside and above the output folder.
    site.write("secret.txt", "secret");
    site.write("outside/inner.rss", "<rss/>");
    site.write("feeds/.wirefeed-abc123.tmp", "half-written");
    site.write("feeds/.hidden.rss", "<rss/>");
    #[cfg(unix)]
    {
        use std::os::unix::fs::symlink;
        symlink(site.path("secret.txt"), feeds.join("leak.txt")).unwrap();
        symlink("../secret.txt", feeds.join("topics/leak-relative.rss")).unwrap();
        symlink(site.path("outside"), feeds.join("out")).unwrap();
        // A symlink that stays inside is fine.
        symlink("all.rss", feeds.join("latest.rss")).unwrap();
    }
    let server = Server::start(&feeds, Arc::new(Metrics::new()));
    let abs = site.path("secret.txt");
    let attempts = [
        "/../secret.txt".to_owned(),
        "/topics/../../secret.txt".to_owned(),
        "/%2e%2e/secret.txt".to_owned(),
        "/%2E%2E%2Fsecret.txt".to_owned(),
        "/topics/..%2f..%2fsecret.txt".to_owned(),
        "/topics%2F..%2F..%2Fsecret.txt".to_owned(),
        "/..%5csecret.txt".to_owned(),
        "/topics%5c..%5c..%5csecret.txt".to_owned(),
        "/all.rss%00".to_owned(),
        "/all.rss%00.html".to_owned(),
        "//etc/passwd".to_owned(),
        "/etc/passwd".to_owned(),
        format!("/{}", abs.display()),
        format!("/{}", abs.display().to_string().replace('/', "%2F")),
        "/leak.txt".to_owned(),
        "/topics/leak-relative.rss".to_owned(),
        "/out/inner.rss".to_owned(),
        "/.wirefeed-abc123.tmp".to_owned(),
        "/%2ewirefeed-abc123.tmp".to_owned(),
        "/.hidden.rss".to_owned(),
        "/./all.rss".to_owned(),
        "/topics".to_owned(),
        "/nothing-here.rss".to_owned(),
    ];
    for target in &attempts {
        assert_eq!(server.raw_status(target), 404, "{target}");
    }
    assert_eq!(server.raw_status("/all.rss"), 200);
    #[cfg(unix)]
    assert_eq!(server.get("/latest.rss", &[]).body, std::fs::read(feeds.join("all.rss")).unwrap());
}

#[test]
fn healthz_and_metrics_report_what_the_scheduler_recorded() {
    let site = built_site();
    let metrics = Arc::new(Metrics::new());
    let server = Server::start(&site.path("feeds"), metrics.clone());
    let health = server.get("/healthz", &[]);
    assert_eq!(health.status, StatusCode::OK);
    let v: serde_json::Value = serde_json::from_slice(&health.body).unwrap();
    assert_eq!(v["status"], "no run yet");

    metrics.record_fetch("200");
    metrics.record_fetch("304");
    metrics.record_fetch("304");
    metrics.set_stories_stored(42);
    metrics.set_source_errors("Harbour Gazette", 2);
    let when = chrono::DateTime::from_timestamp(1_732_615_200, 0).unwrap();
    metrics.record_publish(when);
    metrics.record_run(when, true, "3 sources, 42 stories".into());

    let v: serde_json::Value = serde_json::from_slice(&server.get("/healthz", &[]).body).unwrap();
    assert_eq!(v["status"], "ok");
    assert_eq!(v["last_run"], "2024-11-26T10:00:00Z");
    assert_eq!(v["summary"], "3 sources, 42 stories");
    let m = server.get("/metrics", &[]);
    assert_eq!(m.status, StatusCode::OK);
    assert!(m.header(header::CONTENT_TYPE).starts_with("text/plain; version=0.0.4"));
    let text = String::from_utf8(m.body).unwrap();
    for line in [
        "wirefeed_fetches_total{status=\"304\"} 2",
        "wirefeed_stories_stored 42",
        "wirefeed_source_consecutive_errors{source=\"Harbour Gazette\"} 2",
        "wirefeed_last_publish_timestamp_seconds 1732615200",
        "wirefeed_last_run_timestamp_seconds 1732615200",
        "wirefeed_last_run_success 1",
    ] {
        assert!(text.lines().any(|l| l == line), "missing {line:?}:\n{text}");
    }
}

/// Polls `cond` every 50 ms for up to 10 s.
fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    for _ in 0..200 {
        if cond() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{what}: not within 10 s");
}

#[test]
fn standalone_healthz_and_metrics_read_each_sources_state_from_the_store() {
    let site = Site::new(&[SEED]);
    site.write(
        "good.xml",
        "<rss version=\"2.0\"><channel><title>Good</title><link>http://example.org/</link>\
         <item><title>Fine</title><link>http://example.org/fine</link></item></channel></rss>",
    );
    site.write_config(
        "[serve]\ndegraded_after = 2\n[[sources]]\nname = \"good\"\nurl = \"good.xml\"\n[[sources]]\nname = \"gone\"\nurl = \"missing.xml\"\n",
    );
    let metrics = Arc::new(Metrics::new());
    metrics.set_degraded_after(site.config().serve.degraded_after);
    let server = Server::start(&site.path("feeds"), metrics.clone());
    server.rt.spawn(wirefeed::operate::run::mirror_store_every(site.config().store.path, metrics.clone(), Duration::from_millis(50)));
    let health = || serde_json::from_slice::<serde_json::Value>(&server.get("/healthz", &[]).body).unwrap();
    let metrics_text = || String::from_utf8(server.get("/metrics", &[]).body).unwrap();
    assert_eq!(health()["status"], "no run yet");

    // One failed fetch of `gone`: reported per source, not yet degraded.
    assert_eq!(site.build().status.code(), Some(2));
    eventually("the first build's state", || metrics_text().contains("wirefeed_source_consecutive_errors{source=\"gone\"} 1"));
    let text = metrics_text();
    assert!(text.contains("wirefeed_source_consecutive_errors{source=\"good\"} 0"), "{text}");
    assert!(text.contains("wirefeed_source_last_success_timestamp_seconds{source=\"good\"} "), "{text}");
    assert!(!text.contains("wirefeed_source_last_success_timestamp_seconds{source=\"gone\"}"), "{text}");
    // The record of the run comes in the same read as the sources.
    eventually("ok", || health()["status"] == "ok");

    // Failed its last `degraded_after` fetches: degraded, and named.
    assert_eq!(site.build().status.code(), Some(2));
    eventually("degraded", || health()["status"] == "degraded");
    let h = health();
    let failing = h["failing_sources"].as_array().unwrap();
    assert_eq!(failing.len(), 1, "{h}");
    assert_eq!((failing[0]["source"].as_str(), failing[0]["consecutive_errors"].as_u64()), (Some("gone"), Some(2)), "{h}");

    // A story file that cannot be read: failed.
    site.write("stories/broken.md", "---\ntitle: [unclosed\n---\n");
    assert_eq!(site.build().status.code(), Some(2));
    eventually("failed", || health()["status"] == "failed");

    // All well again: ok, nothing failing.
    std::fs::remove_file(site.path("stories/broken.md")).unwrap();
    site.write_config("[[sources]]\nname = \"good\"\nurl = \"good.xml\"\n");
    assert_eq!(site.build().status.code(), Some(0), "{}", common::stderr(&site.build()));
    eventually("ok again", || health()["status"] == "ok" && health()["failing_sources"].as_array().is_some_and(|a| a.is_empty()));
    eventually("gone forgotten", || !metrics_text().contains("source=\"gone\""));
}

#[test]
fn a_missing_output_folder_is_404_until_it_exists() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("feeds");
    let server = Server::start(&root, Arc::new(Metrics::new()));
    assert_eq!(server.get("/", &[]).status, StatusCode::NOT_FOUND);
    std::fs::create_dir(&root).unwrap();
    std::fs::write(root.join("index.html"), "<!DOCTYPE html><title>x</title>").unwrap();
    assert_eq!(server.get("/", &[]).status, StatusCode::OK);
}

#[test]
fn index_lists_and_advertises_every_channel_and_feeds_name_the_hub() {
    let site = built_site();
    let index = site.read("feeds/index.html");
    let config = site.config();
    let alternates: Vec<&str> = index.lines().filter(|l| l.starts_with("<link rel=\"alternate\"")).collect();
    assert_eq!(alternates.len(), 3 * (1 + config.topics.len()), "{index}");
    assert!(alternates[0].contains("href=\"http://127.0.0.1:8080/all.rss\""), "merged channel first: {}", alternates[0]);
    for t in &config.topics {
        for ext in ["rss", "atom", "json"] {
            assert!(index.contains(&format!("href=\"http://127.0.0.1:8080/topics/{}.{ext}\"", t.slug)), "{}.{ext}", t.slug);
            assert!(index.contains(&format!("<a href=\"topics/{}.{ext}\"", t.slug)), "{}.{ext}", t.slug);
        }
    }
    // Each channel's story count and latest date, from its own feed.
    for (file, heading) in std::iter::once(("all".to_owned(), "All stories"))
        .chain(config.topics.iter().map(|t| (format!("topics/{}", t.slug), t.title.as_str())))
    {
        let feed: serde_json::Value = serde_json::from_str(&site.read(&format!("feeds/{file}.json"))).unwrap();
        let items = feed["items"].as_array().unwrap();
        let section = &index[index.find(&format!("\">{heading}</a></h3>")).unwrap_or_else(|| panic!("{heading}"))..];
        let section = &section[..section.find("</li>").unwrap()];
        match items.first() {
            Some(first) => {
                let n = items.len();
                let expected = format!(
                    "{n} {} · latest <time datetime=\"{}\">",
                    if n == 1 { "story" } else { "stories" },
                    first["date_published"].as_str().unwrap()
                );
                assert!(section.contains(&expected), "{expected} not in {section}");
            }
            None => assert!(section.contains("No stories yet."), "{section}"),
        }
    }
    assert!(index.contains("name=\"viewport\""));
    // No script, and no style or font from anywhere but the site itself.
    assert!(!index.contains("<script") && !index.contains("stylesheet\" href=\"http"));
    // Byte-stable: a second build writes nothing.
    let report = wirefeed::build(&config).unwrap();
    assert!(report.publish.written.is_empty(), "{:?}", report.publish.written);

    let rss = site.read("feeds/all.rss");
    assert!(rss.contains("<atom:link href=\"https://hub.example/\" rel=\"hub\"/>"), "{rss}");
    assert!(rss.contains("rel=\"self\""));
    let atom = site.read("feeds/topics/russia.atom");
    assert!(atom.contains("<link href=\"https://hub.example/\" rel=\"hub\"/>"), "{atom}");
    let json: serde_json::Value = serde_json::from_str(&site.read("feeds/all.json")).unwrap();
    assert_eq!(json["hubs"], serde_json::json!([{"type": "WebSub", "url": "https://hub.example/"}]));
}

/// A WebSub hub that records each ping's form and refuses feeds whose URL
/// contains "refuse".
/// Every ping's form fields, in arrival order.
type Pings = Arc<Mutex<Vec<Vec<(String, String)>>>>;

fn start_hub(rt: &tokio::runtime::Runtime, forms: Pings) -> url::Url {
    use axum::http::HeaderMap;
    let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().route(
        "/hub",
        axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| async move {
            assert_eq!(headers[header::CONTENT_TYPE], "application/x-www-form-urlencoded");
            let form: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
            let refuse = form.iter().any(|(_, v)| v.contains("refuse"));
            forms.lock().unwrap().push(form);
            if refuse { (StatusCode::BAD_REQUEST, "unknown topic") } else { (StatusCode::NO_CONTENT, "") }
        }),
    );
    rt.spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/hub").parse().unwrap()
}

#[test]
fn websub_notify_posts_one_form_per_feed_and_reports_failures() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let forms = Arc::new(Mutex::new(Vec::new()));
    let hub = start_hub(&rt, forms.clone());
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let feeds: Vec<url::Url> = ["https://news.example/all.rss", "https://news.example/topics/a b.atom", "https://news.example/refuse.json"]
        .iter()
        .map(|u| u.parse().unwrap())
        .collect();
    let results = rt.block_on(wirefeed::operate::websub::notify(&client, &hub, &feeds));
    assert_eq!(results.len(), 3);
    assert_eq!(results[0], (feeds[0].clone(), Ok(())));
    assert_eq!(results[1], (feeds[1].clone(), Ok(())));
    let err = results[2].1.as_ref().unwrap_err();
    assert!(err.contains("400") && err.contains("unknown topic"), "{err}");
    let mut got = forms.lock().unwrap().clone();
    got.sort();
    let mut want: Vec<Vec<(String, String)>> =
        feeds.iter().map(|f| vec![("hub.mode".to_owned(), "publish".to_owned()), ("hub.url".to_owned(), f.to_string())]).collect();
    want.sort();
    assert_eq!(got, want);

    // A hub that is not there: an error per feed, no panic.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let nowhere: url::Url = format!("http://{closed}/hub").parse().unwrap();
    let results = rt.block_on(wirefeed::operate::websub::notify(&client, &nowhere, &feeds[..1]));
    assert!(results[0].1.as_ref().is_err_and(|e| e.contains(&closed.to_string())), "{results:?}");
}

#[test]
fn serve_says_once_when_base_url_names_another_loopback_port() {
    let site = built_site();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    // base_url says 127.0.0.1:8080; serve listens elsewhere.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_wirefeed"))
        .args(["serve", "--addr", &format!("127.0.0.1:{port}"), "--config"])
        .arg(site.path("wirefeed.toml"))
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(700));
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    let err = common::stderr(&out);
    let warnings = err.lines().filter(|l| l.contains("base_url") && l.contains(&format!("127.0.0.1:{port}"))).count();
    assert_eq!(warnings, 1, "{err}");
}

#[test]
fn private_channels_need_a_password_or_token_and_are_never_listed() {
    // The entry `wirefeed passwd` prints goes into the config as it is.
    let mut passwd = std::process::Command::new(env!("CARGO_BIN_EXE_wirefeed"))
        .args(["passwd", "alice"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    passwd.stdin.take().unwrap().write_all(b"correct horse\n").unwrap();
    let out = passwd.wait_with_output().unwrap();
    assert!(out.status.success());
    let entry = String::from_utf8(out.stdout).unwrap();
    assert!(entry.starts_with("[[serve.users]]\nname = \"alice\"\npassword_hash = \"$argon2id$"), "{entry}");

    let site = Site::new(&[SEED]);
    site.write_config(&format!(
        "[[topics]]\nslug = \"board\"\ntitle = \"Board only\"\nsources = [\"Newsroom\"]\nprivate = true\n\
         [serve]\ntokens = [\"tok-abc-123\"]\n{entry}"
    ));
    let config = site.config();
    wirefeed::build(&config).unwrap();
    assert!(site.read("feeds/topics/board.rss").contains("<item>"), "the private channel is published");
    for page in ["feeds/all.html", "feeds/topics/russia.html", "feeds/sources.html"] {
        let text = site.read(page);
        assert!(!text.contains("topics/board") && !text.contains("Board only"), "{page} names the private channel:\n{text}");
    }
    for public in ["feeds/index.html", "feeds/channels.opml"] {
        let text = site.read(public);
        assert!(!text.contains("board") && !text.contains("Board only"), "{public} lists the private channel:\n{text}");
        assert!(text.contains("topics/russia.rss"), "{public} lost a public channel");
    }

    let server = Server::start_with(ServeOptions::from_config(&config), Arc::new(Metrics::new()));
    let basic = |user: &str, password: &str| {
        use base64::Engine;
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}")))
    };
    let right = basic("alice", "correct horse");
    let wrong = basic("alice", "correct hors");
    let nobody = basic("mallory", "correct horse");
    // (case, path, Authorization, status)
    for (case, path, auth, status) in [
        ("no credentials", "/topics/board.rss", None, 401),
        ("no credentials, other format", "/topics/board.json", None, 401),
        ("wrong password", "/topics/board.atom", Some(wrong.as_str()), 401),
        ("unknown user", "/topics/board.rss", Some(nobody.as_str()), 401),
        ("wrong token", "/topics/board.rss", Some("Bearer tok-abc-124"), 401),
        ("password", "/topics/board.rss", Some(right.as_str()), 200),
        ("password again (remembered)", "/topics/board.atom", Some(right.as_str()), 200),
        ("token", "/topics/board.json", Some("Bearer tok-abc-123"), 200),
        ("public channel, no credentials", "/topics/russia.rss", None, 200),
        ("merged channel, no credentials", "/all.rss", None, 200),
    ] {
        let headers: Vec<(&str, &str)> = auth.map(|a| ("authorization", a)).into_iter().collect();
        let answer = server.get(path, &headers);
        assert_eq!(answer.status.as_u16(), status, "{case}");
        if status == 401 {
            let challenges: Vec<&str> = answer.headers.get_all(header::WWW_AUTHENTICATE).iter().map(|v| v.to_str().unwrap()).collect();
            assert_eq!(challenges, ["Basic realm=\"wirefeed\", charset=\"UTF-8\"", "Bearer realm=\"wirefeed\""], "{case}");
            assert!(!String::from_utf8_lossy(&answer.body).contains("<rss"), "{case}: leaked the feed");
        } else if path.contains("board") {
            assert_eq!(answer.header(header::CACHE_CONTROL), "private, max-age=300", "{case}");
        }
    }
    assert_eq!(server.request(reqwest::Method::HEAD, "/topics/board.rss", &[]).status, StatusCode::UNAUTHORIZED);
    // Credentials in the URL, as feed readers take them.
    let url = format!("http://alice:correct%20horse@{}/topics/board.rss", server.addr);
    let status = server.rt.block_on(async { server.client.get(&url).send().await.unwrap().status() });
    assert_eq!(status, StatusCode::OK);
    let url = format!("http://alice:nope@{}/topics/board.rss", server.addr);
    let status = server.rt.block_on(async { server.client.get(&url).send().await.unwrap().status() });
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}
