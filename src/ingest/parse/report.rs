//! The `wirefeed parse` command: parse files and print the normalized JSON
//! that the differential conformance tools compare against feedparser.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use url::Url;

use super::model::{ParseContext, ParseError, ParsedEntry, ParsedFeed};
use super::parse_feed;

/// Where feedparser's test suite serves its `http` fixtures.
pub const FIXTURE_URL_ROOT: &str = "http://127.0.0.1:8097/tests/";

fn date(d: Option<DateTime<Utc>>) -> Value {
    d.map_or(Value::Null, |d| Value::String(d.format("%Y-%m-%dT%H:%M:%SZ").to_string()))
}

fn entry_json(e: &ParsedEntry) -> Value {
    // feedparser copies text/HTML content into an absent summary; the
    // shape mirrors that so lengths compare like for like.
    let summary = e.summary.as_deref().or(e.content.as_deref());
    json!({
        "id": e.id,
        "title": e.title,
        "link": e.link,
        "published": date(e.published),
        "updated": date(e.updated),
        "summary_len": summary.map(|s| s.chars().count()),
        "categories": e.categories,
        "enclosures": e.enclosures.iter().map(|x| x.url.as_str()).collect::<Vec<_>>(),
    })
}

/// The JSON shape of the conformance README, section 2.
pub fn conformance_json(result: &Result<ParsedFeed, ParseError>) -> Value {
    match result {
        Ok(f) => json!({
            "ok": true,
            "bozo": f.bozo,
            "version": f.format.as_str(),
            "bozo_exception": f.bozo_reason,
            "feed": {"title": f.title, "link": f.link, "updated": date(f.updated)},
            "entries": f.entries.iter().map(entry_json).collect::<Vec<_>>(),
        }),
        Err(e) => json!({
            "ok": false,
            "bozo": true,
            "version": "",
            "bozo_exception": e.to_string(),
            "feed": {"title": null, "link": null, "updated": null},
            "entries": [],
        }),
    }
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
        let mut value = conformance_json(&parse_feed(&data, &ctx));
        if jsonl {
            if let Value::Object(map) = &mut value {
                map.insert("path".into(), Value::String(path.clone()));
            }
            serde_json::to_writer(&mut *out, &value)?;
        } else {
            serde_json::to_writer_pretty(&mut *out, &value)?;
        }
        out.write_all(b"\n")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
    }

    #[test]
    fn fixture_headers_become_context() {
        let data = b"<!--\nHeader: Content-type: application/xml; charset=utf-8\nHeader: Content-Location: sub/\n-->\n<rss/>";
        let ctx = fixture_context(data, "wellformed/base/http_x.xml");
        assert_eq!(ctx.content_type.as_deref(), Some("application/xml; charset=utf-8"));
        assert_eq!(ctx.base_url.unwrap().as_str(), "http://127.0.0.1:8097/tests/wellformed/base/sub/");
    }
}
