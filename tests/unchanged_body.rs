//! A feed body byte for byte the one read last (many servers send no
//! validators) counts as not modified for an hour: nothing is parsed or
//! stored again. What it was read under (the source's config) changing,
//! the hour passing, or one byte changing makes the next body read in full.

mod common;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use common::Site;
use std::sync::{Arc, Mutex};
use wirefeed::ingest::sources::SourceStatus;

/// What the server answers at `/feed` (no ETag, no Last-Modified), and
/// how many requests it has had.
#[derive(Default)]
struct Server {
    body: String,
    hits: usize,
}

type Shared = Arc<Mutex<Server>>;

async fn handler(State(server): State<Shared>, _req: Request) -> Response {
    let mut s = server.lock().unwrap();
    s.hits += 1;
    ([(header::CONTENT_TYPE, "application/rss+xml")], s.body.clone()).into_response()
}

fn rss(items: &[&str]) -> String {
    let items: String = items
        .iter()
        .map(|t| {
            format!(
                "<item><title>{t}</title><link>http://desk.example/{t}</link><guid>http://desk.example/{t}</guid>\
                 <pubDate>Mon, 30 Nov 2026 10:00:00 GMT</pubDate><description>About {t}.</description></item>"
            )
        })
        .collect();
    format!("<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Desk</title><link>http://desk.example/</link><description>d</description>{items}</channel></rss>")
}

struct Fixture {
    site: Site,
    server: Shared,
    url: String,
}

impl Fixture {
    fn new(body: String) -> Fixture {
        let server: Shared = Arc::new(Mutex::new(Server { body, hits: 0 }));
        let addr = common::serve_in_background(Router::new().fallback(handler).with_state(server.clone()));
        let fixture = Fixture { site: Site::new(&[]), server, url: format!("http://{addr}/feed") };
        fixture.configure("");
        fixture
    }

    /// The one source, with `extra` lines in its `[[sources]]` table.
    fn configure(&self, extra: &str) {
        self.site.write_config(&format!("[[sources]]\nname = \"desk\"\nurl = \"{}\"\n{extra}", self.url));
    }

    fn build(&self) -> SourceStatus {
        let report = wirefeed::build(&self.site.config()).expect("the build runs");
        report.sources.iter().find(|s| s.name == "desk").expect("the source is reported").status.clone()
    }

    fn hits(&self) -> usize {
        self.server.lock().unwrap().hits
    }

    /// Moves the source's last full read `hours` into the past.
    fn age_last_read(&self, hours: i64) {
        let conn = rusqlite::Connection::open(self.site.path(".wirefeed/state.db")).unwrap();
        let n = conn.execute("UPDATE sources SET body_read = body_read - ?1 WHERE name = 'desk'", [hours * 3600]).unwrap();
        assert_eq!(n, 1, "the source's row");
    }
}

fn updated(new: usize, total: usize) -> SourceStatus {
    SourceStatus::Updated { new, changed: 0, total }
}

fn not_modified(total: usize) -> SourceStatus {
    SourceStatus::NotModified { total }
}

#[test]
fn the_same_body_again_is_not_modified_and_one_changed_byte_is_read() {
    let f = Fixture::new(rss(&["One", "Two"]));
    assert_eq!(f.build(), updated(2, 2), "first read");
    assert_eq!(f.build(), not_modified(2), "the same bytes");
    assert_eq!(f.hits(), 2, "it was still fetched");
    f.server.lock().unwrap().body = rss(&["One", "Two", "Three"]);
    assert_eq!(f.build(), updated(1, 3), "a new entry");
    f.server.lock().unwrap().body = rss(&["One", "Two", "Three"]).replace("About One.", "About One!");
    assert_eq!(f.build(), SourceStatus::Updated { new: 0, changed: 1, total: 3 }, "one byte of one entry");
    assert_eq!(f.build(), not_modified(3), "and then the same again");
}

#[test]
fn an_identical_body_is_read_in_full_again_once_the_hour_is_over() {
    let f = Fixture::new(rss(&["One"]));
    assert_eq!(f.build(), updated(1, 1));
    // Cases: (hours since the last full read, what the same body is then).
    for (hours, want) in [(0, not_modified(1)), (2, updated(0, 1)), (0, not_modified(1))] {
        f.age_last_read(hours);
        assert_eq!(f.build(), want, "{hours} h after the last full read");
    }
}

#[test]
fn a_change_to_the_source_config_reads_the_same_body_in_full() {
    let f = Fixture::new(rss(&["Budget vote", "Harbour plan"]));
    assert_eq!(f.build(), updated(2, 2));
    // A filter added: the entries it leaves out must be decided now, not in an hour.
    f.configure("exclude = \"harbour\"\n");
    assert_eq!(f.build(), updated(0, 2), "read again under the new filter");
    assert_eq!(f.build(), not_modified(2), "and then not again");
    f.configure("exclude = \"harbour\"\ntopics = [\"russia\"]\n");
    assert_eq!(f.build(), updated(0, 2), "read again under new topics");
}

#[test]
fn a_body_that_failed_to_parse_fails_again_and_is_never_not_modified() {
    let f = Fixture::new("this is not a feed".into());
    for turn in ["first", "second"] {
        match f.build() {
            SourceStatus::Failed(why) => assert!(why.contains("not a usable feed"), "{turn}: {why}"),
            other => panic!("{turn}: expected a failure, got {other:?}"),
        }
    }
    // Fixed: read, then not modified.
    f.server.lock().unwrap().body = rss(&["Back"]);
    assert_eq!(f.build(), updated(1, 1));
    assert_eq!(f.build(), not_modified(1));
}
