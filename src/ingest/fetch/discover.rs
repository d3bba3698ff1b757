//! Feed autodiscovery: the `<link rel="alternate">` tags a web page uses
//! to point at its feeds.

use url::Url;

const FEED_TYPES: [&str; 4] = ["application/rss+xml", "application/atom+xml", "application/feed+json", "application/json"];

/// Does this body look like an HTML page rather than a feed?
pub fn looks_like_html(content_type: Option<&str>, body: &[u8]) -> bool {
    if content_type.is_some_and(|ct| ct.to_ascii_lowercase().starts_with("text/html")) {
        return true;
    }
    let head = &body[..body.len().min(512)];
    let head = String::from_utf8_lossy(head).trim_start_matches('\u{FEFF}').trim_start().to_ascii_lowercase();
    head.starts_with("<!doctype html") || head.starts_with("<html")
}

/// The first `limit` feed URLs advertised by an HTML page, in page order,
/// resolved against `page_url`.
pub fn feed_links(html: &[u8], page_url: &Url, limit: usize) -> Vec<Url> {
    let text = String::from_utf8_lossy(html);
    let lower = text.to_ascii_lowercase();
    let mut out: Vec<Url> = Vec::new();
    let mut pos = 0;
    while out.len() < limit
        && let Some(found) = lower[pos..].find("<link")
    {
        let start = pos + found;
        let end = lower[start..].find('>').map_or(lower.len(), |e| start + e);
        let attrs = attributes(&text[start + 5..end]);
        pos = end;
        let get = |name: &str| attrs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
        let rel_alternate = get("rel").is_some_and(|r| r.split_whitespace().any(|t| t.eq_ignore_ascii_case("alternate")));
        let feed_type = get("type").is_some_and(|t| FEED_TYPES.iter().any(|f| t.trim().eq_ignore_ascii_case(f)));
        if let (true, true, Some(href)) = (rel_alternate, feed_type, get("href"))
            && let Ok(url) = page_url.join(href.trim())
            && !out.contains(&url)
        {
            out.push(url);
        }
    }
    out
}

/// `name="value"` pairs of a tag, names lowercased; quotes optional.
fn attributes(tag: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = tag.trim_start();
    while !rest.is_empty() {
        let name_end = rest.find(|c: char| c == '=' || c.is_whitespace() || c == '/').unwrap_or(rest.len());
        let name = rest[..name_end].to_ascii_lowercase();
        rest = rest[name_end..].trim_start();
        let value = if let Some(after) = rest.strip_prefix('=') {
            let after = after.trim_start();
            let (v, r) = match after.chars().next() {
                Some(q @ ('"' | '\'')) => {
                    let close = after[1..].find(q).map_or(after.len(), |i| i + 1);
                    (&after[1..close], after.get(close + 1..).unwrap_or(""))
                }
                _ => {
                    let e = after.find(char::is_whitespace).unwrap_or(after.len());
                    (&after[..e], &after[e..])
                }
            };
            rest = r;
            v.to_owned()
        } else {
            if name.is_empty() {
                rest = rest.get(1..).unwrap_or("");
            }
            String::new()
        };
        if !name.is_empty() {
            out.push((name, quick_xml::escape::unescape(&value).map(|c| c.into_owned()).unwrap_or(value)));
        }
        rest = rest.trim_start();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_advertised_feeds_in_page_order() {
        let page = br#"<!DOCTYPE html><html><head>
            <link rel="stylesheet" href="/s.css">
            <LINK REL="alternate" TYPE="application/atom+xml" href="/feed.atom" title="Atom">
            <link type='application/rss+xml' rel='alternate home' href='https://cdn.example.org/rss.xml'>
            <link rel=alternate type=application/feed+json href=feed.json>
            <link rel="alternate" type="text/html" href="/fr/">
            </head></html>"#;
        let base = Url::parse("https://news.example.org/section/").unwrap();
        let links: Vec<String> = feed_links(page, &base, 10).into_iter().map(String::from).collect();
        assert_eq!(feed_links(page, &base, 1).len(), 1);
        assert_eq!(
            links,
            vec!["https://news.example.org/feed.atom", "https://cdn.example.org/rss.xml", "https://news.example.org/section/feed.json"]
        );
        assert!(looks_like_html(None, page));
        assert!(!looks_like_html(Some("application/rss+xml"), b"<?xml version='1.0'?><rss/>"));
    }
}
