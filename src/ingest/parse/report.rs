//! The `wirefeed parse` command: parse files and print the normalized JSON
//! that the differential conformance tools compare against feedparser.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use chrono::{DateTime, Utc};
use serde::{Serialize, Serializer};
use serde_json::Value;
use url::Url;

use super::model::{ParseContext, ParseError, ParsedEntry, ParsedFeed, TextKind};
use super::parse_feed;

/// Where feedparser's test suite serves its `http` fixtures.
pub const FIXTURE_URL_ROOT: &str = "http://127.0.0.1:8097/tests/";

fn date<S: Serializer>(d: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.collect_str(&d.format("%Y-%m-%dT%H:%M:%SZ")),
        None => s.serialize_none(),
    }
}

/// The report of one file, borrowing from the parse result so that a
/// 50 MB feed is not copied again into a JSON tree before printing.
#[derive(Serialize)]
struct FileView<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<&'a str>,
    ok: bool,
    bozo: bool,
    version: &'a str,
    bozo_exception: Option<String>,
    feed: FeedView<'a>,
    entries: EntriesView<'a>,
    /// What the parser's caps cut (absent when nothing was).
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    notes: &'a [String],
}

#[derive(Serialize)]
struct FeedView<'a> {
    title: Option<&'a str>,
    link: Option<&'a str>,
    #[serde(serialize_with = "date")]
    updated: Option<DateTime<Utc>>,
    /// Beyond the conformance shape: the feed's own id and authors.
    id: Option<&'a str>,
    authors: &'a [String],
}

struct EntriesView<'a>(&'a [ParsedEntry]);

impl Serialize for EntriesView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(EntryView::new))
    }
}

#[derive(Serialize)]
struct EntryView<'a> {
    id: Option<&'a str>,
    title: Option<&'a str>,
    link: Option<&'a str>,
    #[serde(serialize_with = "date")]
    published: Option<DateTime<Utc>>,
    #[serde(serialize_with = "date")]
    updated: Option<DateTime<Utc>>,
    summary_len: Option<usize>,
    categories: &'a [String],
    /// RSS and Atom enclosures only, as feedparser counts them.
    enclosures: Vec<&'a str>,
    /// Beyond the conformance shape: whether the summary is text or HTML,
    /// the authors' names, and every attachment with what is known of it
    /// (Media RSS files included).
    summary_is_html: Option<bool>,
    authors: &'a [String],
    attachments: Vec<AttachmentView<'a>>,
}

#[derive(Serialize)]
struct AttachmentView<'a> {
    url: &'a str,
    #[serde(rename = "type")]
    mime: Option<&'a str>,
    length: Option<u64>,
    title: Option<&'a str>,
    duration: Option<u64>,
}

impl<'a> EntryView<'a> {
    fn new(e: &'a ParsedEntry) -> Self {
        // feedparser copies text/HTML content into an absent summary; the
        // shape mirrors that so lengths compare like for like.
        let summary = e.summary.as_deref().or(e.content.as_deref());
        EntryView {
            id: e.id.as_deref(),
            title: e.title.as_deref(),
            link: e.link.as_deref(),
            published: e.published,
            updated: e.updated,
            summary_len: summary.map(|s| s.chars().count()),
            categories: &e.categories,
            enclosures: e.enclosures.iter().filter(|x| !x.extension).map(|x| x.url.as_str()).collect(),
            summary_is_html: e.summary.as_ref().map(|_| e.summary_kind == TextKind::Html),
            authors: &e.authors,
            attachments: e
                .enclosures
                .iter()
                .map(|x| AttachmentView {
                    url: &x.url,
                    mime: x.mime.as_deref(),
                    length: x.length,
                    title: x.title.as_deref(),
                    duration: x.duration,
                })
                .collect(),
        }
    }
}

fn view<'a>(result: &'a Result<ParsedFeed, ParseError>, path: Option<&'a str>) -> FileView<'a> {
    match result {
        Ok(f) => FileView {
            path,
            ok: true,
            bozo: f.bozo,
            version: f.format.as_str(),
            bozo_exception: f.bozo_reason.clone(),
            feed: FeedView {
                title: f.title.as_deref(),
                link: f.link.as_deref(),
                updated: f.updated,
                id: f.id.as_deref(),
                authors: &f.authors,
            },
            entries: EntriesView(&f.entries),
            notes: &f.notes,
        },
        Err(e) => FileView {
            path,
            ok: false,
            bozo: true,
            version: "",
            bozo_exception: Some(e.to_string()),
            feed: FeedView { title: None, link: None, updated: None, id: None, authors: &[] },
            entries: EntriesView(&[]),
            notes: &[],
        },
    }
}

/// The JSON shape of the conformance README, section 2.
pub fn conformance_json(result: &Result<ParsedFeed, ParseError>) -> Value {
    serde_json::to_value(view(result, None)).unwrap_or(Value::Null)
}

/// The HTTP context feedparser's test suite serves a fixture with: its
/// `Header:` comment lines, a default `text/xml`, and the fixture URL as
/// the document location.
pub fn fixture_context(data: &[u8], relpath: &str) -> ParseContext {
    let text = super::to_utf8(data, None).text;
    let text = String::from_utf8_lossy(&text);
    let mut content_type = None;
    let mut location = None;
    for line in text.lines() {
        let Some(h) = line.strip_prefix("Header:") else { continue };
        if !h.starts_with(char::is_whitespace) {
            continue;
        }
        let Some((name, value)) = h.trim_start().split_once(':') else { continue };
        match name.trim().to_ascii_lowercase().as_str() {
            "content-type" => content_type = Some(value.trim().to_string()),
            "content-location" => location = Some(value.trim().to_string()),
            _ => {}
        }
    }
    let url = Url::parse(FIXTURE_URL_ROOT).and_then(|root| root.join(relpath.trim_start_matches("./"))).ok();
    let base = match (url, location) {
        (Some(u), Some(l)) => u.join(&l).ok(),
        (u, _) => u,
    };
    ParseContext { base_url: base, content_type: Some(content_type.unwrap_or_else(|| "text/xml".into())) }
}

/// Runs `wirefeed parse`: one JSON object per file (one line each with
/// `jsonl`, carrying a `path` key). `fixture_root`, when set, gives files
/// whose path contains `http` the fixture HTTP context relative to it.
pub fn run_parse_command(
    paths: &[String],
    jsonl: bool,
    base: Option<String>,
    content_type: Option<String>,
    fixture_root: Option<&Path>,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let base_url = base.as_deref().map(Url::parse).transpose().context("--base is not a URL")?;
    for path in paths {
        let data = std::fs::read(path).with_context(|| format!("reading {path}"))?;
        let mut ctx = ParseContext { base_url: base_url.clone(), content_type: content_type.clone() };
        if let Some(root) = fixture_root.filter(|_| path.contains("http")) {
            let abs = std::path::absolute(path)?;
            let rel = abs.strip_prefix(std::path::absolute(root)?).unwrap_or(&abs);
            ctx = fixture_context(&data, &rel.to_string_lossy());
        }
        let result = parse_feed(&data, &ctx);
        drop(data);
        if jsonl {
            serde_json::to_writer(&mut *out, &view(&result, Some(path)))?;
        } else {
            serde_json::to_writer_pretty(&mut *out, &view(&result, None))?;
        }
        out.write_all(b"\n")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn shape_matches_the_contract() {
        let doc = br#"<rss version="2.0"><channel><title>T</title><lastBuildDate>Tue, 02 Jan 2024 10:00:00 GMT</lastBuildDate>
            <item><guid>g1</guid><title>One</title><content:encoded xmlns:content="http://purl.org/rss/1.0/modules/content/">abc</content:encoded>
            <category>news</category><enclosure url="http://e.com/1.mp3" type="audio/mpeg"/></item></channel></rss>"#;
        let v = conformance_json(&parse_feed(doc, &ParseContext::default()));
        assert_eq!(v["ok"], true);
        assert_eq!(v["bozo"], false);
        assert_eq!(v["feed"]["updated"], "2024-01-02T10:00:00Z");
        let e = &v["entries"][0];
        assert_eq!(e["id"], "g1");
        assert_eq!(e["link"], "g1");
        assert_eq!(e["summary_len"], 3);
        assert_eq!(e["categories"], json!(["news"]));
        assert_eq!(e["enclosures"], json!(["http://e.com/1.mp3"]));
        assert_eq!(e["published"], Value::Null);
        assert_eq!(e["summary_is_html"], Value::Null, "only content, no summary");
        assert_eq!(
            e["attachments"],
            json!([{"url": "http://e.com/1.mp3", "type": "audio/mpeg", "length": null, "title": null, "duration": null}])
        );
        assert_eq!(v["feed"]["authors"], json!([]));
        assert_eq!(v["feed"]["id"], Value::Null);
    }

    #[test]
    fn fixture_headers_become_context() {
        let data = b"<!--\nHeader: Content-type: application/xml; charset=utf-8\nHeader: Content-Location: sub/\n-->\n<rss/>";
        let ctx = fixture_context(data, "wellformed/base/http_x.xml");
        assert_eq!(ctx.content_type.as_deref(), Some("application/xml; charset=utf-8"));
        assert_eq!(ctx.base_url.unwrap().as_str(), "http://127.0.0.1:8097/tests/wellformed/base/sub/");
    }
}
