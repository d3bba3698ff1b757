//! The aggregator against a real HTTP server on 127.0.0.1 (in process):
//! every status a feed server gives, and the politeness that goes with it.

mod common;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use common::Site;
use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use wirefeed::ingest::sources::SourceStatus;

#[derive(Default)]
struct Log {
    hits: HashMap<String, usize>,
    headers: HashMap<String, Vec<HeaderMap>>,
}

type Shared = Arc<Mutex<Log>>;

fn rss(title: &str, items: &[(&str, &str)]) -> String {
    let items: String = items
        .iter()
        .map(|(t, link)| format!("<item><title>{t}</title><link>{link}</link><guid>{link}</guid><pubDate>Tue, 26 Nov 2024 10:00:00 GMT</pubDate><description>About {t}.</description></item>"))
        .collect();
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><rss version=\"2.0\"><channel><title>{title}</title><link>http://x/</link><description>d</description>{items}</channel></rss>"
    )
}

fn gzip_bomb() -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![b' '; 1 << 20];
    enc.write_all(b"<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>bomb</title>").unwrap();
    for _ in 0..40 {
        enc.write_all(&zeros).unwrap();
    }
    enc.finish().unwrap()
}

async fn handler(State(log): State<Shared>, req: Request) -> Response {
    let path = req.uri().path().to_owned();
    {
        let mut l = log.lock().unwrap();
        *l.hits.entry(path.clone()).or_default() += 1;
        l.headers.entry(path.clone()).or_default().push(req.headers().clone());
    }
    let redirect = |code: StatusCode, to: &str| (code, [(header::LOCATION, to.to_owned())]).into_response();
    match path.as_str() {
        "/ok.rss" => {
            if req.headers().get(header::IF_NONE_MATCH).is_some_and(|v| v == "\"v1\"") {
                return StatusCode::NOT_MODIFIED.into_response();
            }
            (
                [(header::ETAG, "\"v1\""), (header::LAST_MODIFIED, "Tue, 26 Nov 2024 10:00:00 GMT"), (header::CONTENT_TYPE, "application/rss+xml")],
                rss("Good", &[("Good story one", "http://good.example/1"), ("Good story two", "http://good.example/2")]),
            )
                .into_response()
        }
        "/second.rss" => ([(header::CONTENT_TYPE, "application/rss+xml")], rss("Second", &[("Second source story", "http://second.example/1")])).into_response(),
        "/moved301" => redirect(StatusCode::MOVED_PERMANENTLY, "/second.rss"),
        "/moved308" => redirect(StatusCode::PERMANENT_REDIRECT, "/second.rss"),
        "/loop-a" => redirect(StatusCode::FOUND, "/loop-b"),
        "/loop-b" => redirect(StatusCode::FOUND, "/loop-a"),
        "/gone" => StatusCode::GONE.into_response(),
        "/busy" => (StatusCode::TOO_MANY_REQUESTS, [(header::RETRY_AFTER, "3600")]).into_response(),
        "/error" => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        "/slow" => {
            tokio::time::sleep(Duration::from_secs(5)).await;
            rss("Slow", &[]).into_response()
        }
        "/huge" => {
            let big = rss("Huge", &[]).replace("<channel>", &format!("<channel><!--{}-->", "x".repeat(2 << 20)));
            ([(header::CONTENT_TYPE, "application/rss+xml")], big).into_response()
        }
        "/bomb" => ([(header::CONTENT_ENCODING, "gzip"), (header::CONTENT_TYPE, "application/rss+xml")], Body::from(gzip_bomb())).into_response(),
        "/mislabelled" => {
            // UTF-8 bytes, declared as Latin-1 by the server.
            let mut resp = rss("Mislabelled", &[("Café Société reopens", "http://mis.example/1")]).into_response();
            resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/xml; charset=iso-8859-1"));
            resp
        }
        "/page.html" => (
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            "<!DOCTYPE html><html><head><link rel=\"alternate\" type=\"application/rss+xml\" href=\"/discovered.rss\"></head><body>hi</body></html>",
        )
            .into_response(),
        "/garbage" => ([(header::ETAG, "\"g1\""), (header::CONTENT_TYPE, "application/rss+xml")], "this is not a feed at all").into_response(),
        "/as-html" => ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], rss("As HTML", &[("Served as text/html", "http://ct.example/html")])).into_response(),
        "/as-plain" => ([(header::CONTENT_TYPE, "text/plain")], rss("As text", &[("Served as text/plain", "http://ct.example/plain")])).into_response(),
        "/no-type" => Response::new(Body::from(rss("No type", &[("Served without a type", "http://ct.example/none")]))),
        "/atom-as-html" => (
            [(header::CONTENT_TYPE, "text/html")],
            "<?xml version=\"1.0\"?>\n<!-- generated -->\n<feed xmlns=\"http://www.w3.org/2005/Atom\"><id>urn:a</id><title>A</title><entry><id>urn:a:1</id><title>Atom served as text/html</title><link href=\"http://ct.example/atom\"/><updated>2024-11-26T10:00:00Z</updated></entry></feed>",
        )
            .into_response(),
        "/json-as-plain" => (
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            r#"{"version":"https://jsonfeed.org/version/1.1","title":"J","items":[{"id":"j1","url":"http://ct.example/json","title":"JSON Feed served as text/plain","content_text":"x","date_published":"2024-11-26T10:00:00Z"}]}"#,
        )
            .into_response(),
        "/page-as-rss" => (
            [(header::CONTENT_TYPE, "application/rss+xml")],
            "<!DOCTYPE html><html><head><link rel=\"alternate\" type=\"application/atom+xml\" href=\"/atom-as-html\"></head></html>",
        )
            .into_response(),
        "/fragment-as-html" => ([(header::CONTENT_TYPE, "text/html")], "<div>Down for maintenance</div>").into_response(),
        "/always-304" => StatusCode::NOT_MODIFIED.into_response(),
        "/discovered.rss" => ([(header::CONTENT_TYPE, "application/rss+xml")], rss("Disc", &[("Discovered story", "http://disc.example/1")])).into_response(),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

/// Starts the server on its own thread and runtime; returns its base URL.
fn start_server(log: Shared) -> String {
    format!("http://{}", common::serve_in_background(Router::new().fallback(handler).with_state(log)))
}

/// A loopback address where nothing listens (bound, then released).
fn closed_port() -> std::net::SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap()
}

const SOURCES: [(&str, &str, &str); 16] = [
    ("good", "/ok.rss", ""),
    ("moved301", "/moved301", ""),
    ("moved308", "/moved308", ""),
    ("loop", "/loop-a", ""),
    ("missing", "/missing", ""),
    ("gone", "/gone", ""),
    ("busy", "/busy", ""),
    ("error", "/error", ""),
    ("slow", "/slow", ""),
    ("huge", "/huge", ""),
    ("bomb", "/bomb", ""),
    ("mislabelled", "/mislabelled", ""),
    ("page", "/page.html", ""),
    ("discover", "/page.html", "discover = true\n"),
    ("refused", "CLOSED", ""),
    ("garbage", "/garbage", ""),
];

fn status(report: &wirefeed::BuildReport, name: &str) -> SourceStatus {
    report.sources.iter().find(|s| s.name == name).unwrap().status.clone()
}

fn failed_with(report: &wirefeed::BuildReport, name: &str, needle: &str) {
    match status(report, name) {
        SourceStatus::Failed(msg) => assert!(msg.contains(needle), "{name}: {msg:?} lacks {needle:?}"),
        other => panic!("{name}: expected failure with {needle:?}, got {other:?}"),
    }
}

#[test]
fn every_server_answer_is_handled_and_good_sources_still_publish() {
    let log: Shared = Default::default();
    let base = start_server(log.clone());
    let site = Site::new(&[]);
    let mut extra = String::from("[fetch]\ntimeout = \"1s\"\nmax_body_bytes = 1048576\n");
    for (name, path, more) in SOURCES {
        let url = if path == "CLOSED" { format!("http://{}/feed", closed_port()) } else { format!("{base}{path}") };
        extra.push_str(&format!("[[sources]]\nname = \"{name}\"\nurl = \"{url}\"\n{more}"));
    }
    site.write_config(&extra);
    let config = site.config();
    let report = wirefeed::build(&config).unwrap();

    assert_eq!(status(&report, "good"), SourceStatus::Updated { new: 2, changed: 0, total: 2 });
    // Both moved sources lead to one feed: whichever finished first stored
    // its story, the other found it already there (first seen wins).
    let new_of = |name| match status(&report, name) {
        SourceStatus::Updated { new, .. } => new,
        other => panic!("{name}: {other:?}"),
    };
    assert_eq!(new_of("moved301") + new_of("moved308"), 1);
    assert_eq!(report.duplicates, 1);
    let moved_note = &report.sources.iter().find(|s| s.name == "moved308").unwrap().notes;
    assert!(moved_note.iter().any(|n| n.contains("moved permanently to") && n.contains("/second.rss")), "{moved_note:?}");
    failed_with(&report, "loop", "redirect loop");
    failed_with(&report, "missing", "HTTP 404");
    failed_with(&report, "gone", "410 Gone");
    failed_with(&report, "busy", "HTTP 429");
    failed_with(&report, "error", "HTTP 500");
    failed_with(&report, "slow", "timed out");
    failed_with(&report, "huge", "larger than the 1048576-byte cap");
    failed_with(&report, "bomb", "larger than the 1048576-byte cap");
    failed_with(&report, "page", "HTML page, not a feed; it advertises");
    failed_with(&report, "page", "/discovered.rss");
    failed_with(&report, "refused", "cannot connect");
    failed_with(&report, "garbage", "not a usable feed");
    assert!(matches!(status(&report, "discover"), SourceStatus::Updated { new: 1, .. }));

    let all: serde_json::Value = serde_json::from_str(&site.read("feeds/all.json")).unwrap();
    let titles: Vec<&str> = all["items"].as_array().unwrap().iter().map(|i| i["title"].as_str().unwrap()).collect();
    for t in ["Good story one", "Good story two", "Second source story", "Discovered story", "Café Société reopens"] {
        assert!(titles.contains(&t), "{t} missing from {titles:?}");
    }
    // The two moved sources lead to one feed: its story is listed once.
    assert_eq!(titles.iter().filter(|t| **t == "Second source story").count(), 1);

    // Every request named wirefeed in its User-Agent.
    {
        let l = log.lock().unwrap();
        let ua = l.headers["/ok.rss"][0][header::USER_AGENT].to_str().unwrap().to_owned();
        assert!(ua.starts_with("wirefeed/") && ua.contains("http"), "{ua}");
    }

    // Second run: validators go back, 304 keeps the stories, Retry-After
    // and 410 are honoured, permanent moves are used directly.
    let report = wirefeed::build(&config).unwrap();
    assert_eq!(status(&report, "good"), SourceStatus::NotModified { total: 2 });
    assert!(matches!(status(&report, "busy"), SourceStatus::Skipped(s) if s.contains("wait until")));
    assert!(matches!(status(&report, "gone"), SourceStatus::Skipped(s) if s.contains("disabled")));
    let l = log.lock().unwrap();
    let second = &l.headers["/ok.rss"][1];
    assert_eq!(second[header::IF_NONE_MATCH], "\"v1\"");
    assert_eq!(second[header::IF_MODIFIED_SINCE], "Tue, 26 Nov 2024 10:00:00 GMT");
    assert_eq!(l.hits["/busy"], 1, "fetched again before Retry-After");
    assert_eq!(l.hits["/gone"], 1, "fetched again after 410");
    assert_eq!(l.hits["/moved301"], 1, "permanent redirect not remembered");
    assert_eq!(l.hits["/moved308"], 1, "permanent redirect not remembered");
    // The discovered feed is fetched directly; only the no-discover source reads the page again.
    assert_eq!(l.hits["/page.html"], 3, "discovered feed not remembered");
    // A body that did not parse earns no validators.
    assert!(l.headers["/garbage"][1].get(header::IF_NONE_MATCH).is_none());
    drop(l);
    let all: serde_json::Value = serde_json::from_str(&site.read("feeds/all.json")).unwrap();
    let titles: Vec<&str> = all["items"].as_array().unwrap().iter().map(|i| i["title"].as_str().unwrap()).collect();
    assert!(titles.contains(&"Good story one"), "a 304 must keep the last good stories: {titles:?}");
}

#[test]
fn local_file_sources_and_exit_status_two_for_a_failing_source() {
    let site = Site::new(&[]);
    site.write("feeds-in/a.rss", rss("A", &[("Local feed story", "http://local.example/1")]));
    site.write_config(
        "[[sources]]\nname = \"local\"\nurl = \"feeds-in/a.rss\"\n[[sources]]\nname = \"absent\"\nurl = \"feeds-in/none.rss\"\n",
    );
    let out = site.build();
    assert_eq!(out.status.code(), Some(2), "{}", common::stderr(&out));
    let err = common::stderr(&out);
    assert!(err.contains("source absent: error:") && err.contains("none.rss"), "{err}");
    assert!(site.read("feeds/all.rss").contains("Local feed story"));
}

#[test]
fn a_feed_is_read_as_a_feed_whatever_its_content_type_and_304_needs_a_condition() {
    let log: Shared = Default::default();
    let base = start_server(log.clone());
    let site = Site::new(&[]);
    let sources = [
        ("as-html", "/as-html"),
        ("as-plain", "/as-plain"),
        ("no-type", "/no-type"),
        ("atom-as-html", "/atom-as-html"),
        ("json-as-plain", "/json-as-plain"),
        ("page-as-rss", "/page-as-rss"),
        ("fragment-as-html", "/fragment-as-html"),
        ("always-304", "/always-304"),
    ];
    let mut extra = String::from("[fetch]\ntimeout = \"2s\"\n");
    for (name, path) in sources {
        extra.push_str(&format!("[[sources]]\nname = \"{name}\"\nurl = \"{base}{path}\"\n"));
    }
    // Validators the user configured as headers make the request conditional.
    extra.push_str(&format!(
        "[[sources]]\nname = \"validator-header\"\nurl = \"{base}/ok.rss\"\nheaders = {{ \"If-None-Match\" = '\"v1\"' }}\n"
    ));
    site.write_config(&extra);
    let config = site.config();
    let report = wirefeed::build(&config).unwrap();
    for name in ["as-html", "as-plain", "no-type", "atom-as-html", "json-as-plain"] {
        assert_eq!(status(&report, name), SourceStatus::Updated { new: 1, changed: 0, total: 1 }, "{name}");
    }
    // An HTML body is a page whatever its label; a fragment labelled HTML too.
    failed_with(&report, "page-as-rss", "HTML page, not a feed; it advertises");
    failed_with(&report, "page-as-rss", "/atom-as-html");
    failed_with(&report, "fragment-as-html", "HTML page, not a feed, and advertises no feed");
    // No validators were sent: a 304 cannot mean "nothing changed".
    failed_with(&report, "always-304", "answered 304 to an unconditional request");
    assert_eq!(status(&report, "validator-header"), SourceStatus::NotModified { total: 0 });
    {
        let l = log.lock().unwrap();
        let first = &l.headers["/always-304"][0];
        assert!(first.get(header::IF_NONE_MATCH).is_none() && first.get(header::IF_MODIFIED_SINCE).is_none());
    }
    let all: serde_json::Value = serde_json::from_str(&site.read("feeds/all.json")).unwrap();
    let titles: Vec<&str> = all["items"].as_array().unwrap().iter().map(|i| i["title"].as_str().unwrap()).collect();
    for t in [
        "Served as text/html",
        "Served as text/plain",
        "Served without a type",
        "Atom served as text/html",
        "JSON Feed served as text/plain",
    ] {
        assert!(titles.contains(&t), "{t} missing from {titles:?}");
    }

    // Second run: the failure repeats, since a failed fetch earns no
    // validators and there is still nothing to be "not modified" against.
    let report = wirefeed::build(&config).unwrap();
    failed_with(&report, "always-304", "unconditional request");
    assert_eq!(log.lock().unwrap().hits["/always-304"], 2);
}

#[test]
fn entries_without_authors_are_by_their_feed_and_no_address_is_published() {
    let site = Site::new(&[]);
    site.write(
        "in/j.json",
        r#"{"version":"https://jsonfeed.org/version/1.1","title":"J","authors":[{"name":"Feed Author"}],
            "items":[{"id":"j1","url":"http://authors.example/j1","title":"JSON item without authors","content_text":"x"},
                     {"id":"j2","url":"http://authors.example/j2","title":"JSON item with its author","content_text":"y","authors":[{"name":"Own Author"}]}]}"#,
    );
    site.write(
        "in/r.rss",
        r#"<rss version="2.0"><channel><title>R</title><managingEditor>desk@example.org (News Desk)</managingEditor>
            <item><guid>http://authors.example/r1</guid><title>RSS item without author</title><description>d</description></item>
            <item><guid>http://authors.example/r2</guid><title>RSS item by address</title><description>d</description><author>noreply@example.org</author></item>
            <item><guid>http://authors.example/r3</guid><title>RSS item by Jane</title><description>d</description><author>jane@example.org (Jane Doe)</author></item>
            </channel></rss>"#,
    );
    site.write_config("[[sources]]\nname = \"json\"\nurl = \"in/j.json\"\n[[sources]]\nname = \"rss\"\nurl = \"in/r.rss\"\n");
    let out = site.build();
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    let all: serde_json::Value = serde_json::from_str(&site.read("feeds/all.json")).unwrap();
    let by = |title: &str| -> Vec<String> {
        let item = all["items"].as_array().unwrap().iter().find(|i| i["title"] == title).unwrap_or_else(|| panic!("{title} missing"));
        item["authors"].as_array().into_iter().flatten().map(|a| a["name"].as_str().unwrap().to_owned()).collect()
    };
    let cases = [
        ("JSON item without authors", vec!["Feed Author"]),
        ("JSON item with its author", vec!["Own Author"]),
        ("RSS item without author", vec!["News Desk"]),
        ("RSS item by address", vec!["News Desk"]),
        ("RSS item by Jane", vec!["Jane Doe"]),
    ];
    for (title, want) in cases {
        assert_eq!(by(title), want, "{title}");
    }
    for file in ["feeds/all.json", "feeds/all.rss", "feeds/all.atom"] {
        let text = site.read(file);
        for address in ["desk@example.org", "noreply@example.org", "jane@example.org"] {
            assert!(!text.contains(address), "{file} publishes {address}");
        }
    }
}
