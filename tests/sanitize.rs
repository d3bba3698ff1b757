//! Hostile HTML never reaches a reader: aggregate every file of
//! feedparser's `wellformed/sanitize/` corpus (745 XSS tricks) and scan
//! every published file, decoded the way a reader decodes it.

mod common;

use common::Site;
use regex::Regex;
use std::path::Path;

fn corpus() -> Vec<std::path::PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/conformance/feedparser/wellformed/sanitize");
    let mut files: Vec<_> =
        std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|x| x == "xml")).collect();
    files.sort();
    files
}

/// Every HTML-bearing string a reader would render, per output format.
fn rendered_html(site: &Site) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let rss = rss::Channel::read_from(site.read("feeds/all.rss").as_bytes()).unwrap();
    for it in rss.items {
        for (field, v) in [("title", it.title), ("description", it.description), ("content", it.content), ("link", it.link)] {
            out.extend(v.map(|v| (format!("rss {field}"), v)));
        }
    }
    let atom = atom_syndication::Feed::read_from(site.read("feeds/all.atom").as_bytes()).unwrap();
    for e in atom.entries {
        out.push(("atom title".into(), e.title.value));
        out.extend(e.summary.map(|s| ("atom summary".into(), s.value)));
        out.extend(e.content.and_then(|c| c.value).map(|c| ("atom content".into(), c)));
        out.extend(e.links.into_iter().map(|l| ("atom link".into(), l.href)));
    }
    let json: serde_json::Value = serde_json::from_str(&site.read("feeds/all.json")).unwrap();
    for item in json["items"].as_array().unwrap() {
        for field in ["content_html", "summary", "title", "url", "image"] {
            if let Some(v) = item[field].as_str() {
                out.push((format!("json {field}"), v.to_owned()));
            }
        }
    }
    // The page's own <head> (meta, style, link tags) is ours; stories appear in the body.
    let index = site.read("feeds/index.html");
    out.push(("index.html body".into(), index[index.find("<body>").unwrap()..].to_owned()));
    // Every river page and story page, and the sources page, likewise.
    let mut pages = vec![site.path("feeds/sources.html"), site.path("feeds/all.html")];
    for dir in ["feeds/all", "feeds/stories"] {
        if let Ok(entries) = std::fs::read_dir(site.path(dir)) {
            pages.extend(entries.flatten().map(|e| e.path()));
        }
    }
    for page in pages {
        let html = std::fs::read_to_string(&page).unwrap();
        out.push((format!("{} body", page.display()), html[html.find("<body>").unwrap()..].to_owned()));
    }
    out
}

#[test]
fn no_script_survives_aggregation() {
    let files = corpus();
    assert!(files.len() >= 700, "sanitize corpus has {} files", files.len());
    let site = Site::new(&[]);
    let mut extra = String::new();
    for (i, f) in files.iter().enumerate() {
        extra.push_str(&format!("[[sources]]\nname = \"s{i}\"\nurl = \"{}\"\n", f.display()));
    }
    site.write_config(&extra);
    let text = site.read("wirefeed.toml").replace("max_items = 50", "max_items = 5000");
    site.write("wirefeed.toml", text);
    let out = site.build();
    assert!(out.status.code() == Some(0) || out.status.code() == Some(2), "{}", common::stderr(&out));

    let fields = rendered_html(&site);
    let entries = fields.iter().filter(|(f, _)| f == "json content_html").count();
    // Many fixtures share one link (http://example.com/), and stories with
    // the same canonical link across sources are merged: fewer entries
    // than files is expected, but most must come through.
    assert!(entries >= 500, "only {entries} entries published");
    let forbidden = [
        Regex::new(r"(?i)<\s*/?\s*(script|iframe|object|embed|applet|meta|base|form|frame|frameset|link|style)\b").unwrap(),
        Regex::new(r"(?i)expression\s*\(").unwrap(),
        Regex::new(r#"(?i)<[^>]*\s(on[a-z]+)\s*="#).unwrap(),
        Regex::new(r#"(?i)<[^>]*=\s*["']?\s*(javascript|vbscript|livescript|data)\s*:"#).unwrap(),
        Regex::new(r"(?i)url\s*\(\s*['\x22]?\s*(javascript|vbscript):").unwrap(),
    ];
    let mut bad = Vec::new();
    for (field, html) in &fields {
        if field.ends_with("link") || field.ends_with("url") || field.ends_with("image") {
            let l = html.trim().to_ascii_lowercase();
            if !(l.starts_with("http://") || l.starts_with("https://")) {
                bad.push(format!("{field}: {html}"));
            }
            continue;
        }
        for re in &forbidden {
            if let Some(m) = re.find(html) {
                bad.push(format!("{field}: {:?} in {:.200}", m.as_str(), html));
            }
        }
    }
    assert!(
        bad.is_empty(),
        "{} hostile fragments published, e.g.:\n{}",
        bad.len(),
        bad.iter().take(10).cloned().collect::<Vec<_>>().join("\n")
    );
}
