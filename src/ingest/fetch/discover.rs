//! Feed autodiscovery: the `<link rel="alternate">` tags a web page uses
//! to point at its feeds.

use url::Url;

const FEED_TYPES: [&str; 4] = ["application/rss+xml", "application/atom+xml", "application/feed+json", "application/json"];

/// What a response body is, judged from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    /// Its root element is a feed's (`rss`, `feed`, `rdf:RDF`, `channel`),
    /// or it is a JSON object (a JSON Feed, for the parser to confirm).
    Feed,
    /// An HTML page: an HTML doctype or an `<html>` root.
    Html,
    /// Neither, as far as the first bytes tell.
    Unknown,
}

/// The part of `s` after the first `close`.
fn skip_past<'a>(s: &'a [u8], close: &[u8]) -> Option<&'a [u8]> {
    memchr::memmem::find(s, close).map(|i| &s[i + close.len()..])
}

/// How much of a body is looked at: prologs (comments, a DTD) can be long.
const SNIFF_BYTES: usize = 16 * 1024;

/// Sniffs a body, whatever the server said it is: servers send feeds as
/// `text/html`, `text/plain` or with no type at all, and pages as
/// `application/rss+xml`. Skips a byte order mark, white space, the XML
/// declaration, processing instructions, comments and a non-HTML DOCTYPE,
/// then reads the root element's name. UTF-16 and UTF-32 bodies are read
/// through their ASCII bytes.
pub fn sniff(body: &[u8]) -> BodyKind {
    let head = &body[..body.len().min(SNIFF_BYTES)];
    let ascii: Vec<u8>;
    let mut s: &[u8] = if head.iter().take(64).any(|b| *b == 0) {
        ascii = head.iter().copied().filter(|b| *b != 0).collect();
        &ascii
    } else {
        head
    };
    for bom in [&b"\xEF\xBB\xBF"[..], b"\xFE\xFF", b"\xFF\xFE"] {
        s = s.strip_prefix(bom).unwrap_or(s);
    }
    loop {
        s = s.trim_ascii_start();
        if s.starts_with(b"{") {
            return BodyKind::Feed;
        } else if s.starts_with(b"<?") {
            let Some(rest) = skip_past(s, b"?>") else { return BodyKind::Unknown };
            s = rest;
        } else if s.starts_with(b"<!--") {
            let Some(rest) = skip_past(s, b"-->") else { return BodyKind::Unknown };
            s = rest;
        } else if s.len() >= 9 && s[..9].eq_ignore_ascii_case(b"<!doctype") {
            let name: Vec<u8> =
                s[9..].trim_ascii_start().iter().take_while(|b| b.is_ascii_alphanumeric()).map(u8::to_ascii_lowercase).collect();
            if name == b"html" {
                return BodyKind::Html;
            }
            let Some(rest) = skip_past(s, b">") else { return BodyKind::Unknown };
            s = rest;
        } else if let Some(tag) = s.strip_prefix(b"<") {
            let name = tag.iter().take_while(|b| !(b.is_ascii_whitespace() || matches!(b, b'>' | b'/'))).copied().collect::<Vec<u8>>();
            let local = name.rsplit(|b| *b == b':').next().unwrap_or(&[]).to_ascii_lowercase();
            return match local.as_slice() {
                b"rss" | b"feed" | b"rdf" | b"channel" => BodyKind::Feed,
                b"html" => BodyKind::Html,
                _ => BodyKind::Unknown,
            };
        } else {
            return BodyKind::Unknown;
        }
    }
}

/// Is this body an HTML page (for feed discovery) rather than a feed? The
/// body decides; `Content-Type` only counts when the body is neither a
/// feed nor recognisably HTML (a page fragment served as `text/html`).
pub fn looks_like_html(content_type: Option<&str>, body: &[u8]) -> bool {
    match sniff(body) {
        BodyKind::Feed => false,
        BodyKind::Html => true,
        BodyKind::Unknown => content_type.is_some_and(|ct| ct.trim().to_ascii_lowercase().starts_with("text/html")),
    }
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

    #[test]
    fn the_body_decides_what_a_response_is() {
        let utf16: Vec<u8> = "\u{feff}<?xml version=\"1.0\" encoding=\"utf-16\"?><rss version=\"2.0\"/>"
            .encode_utf16()
            .flat_map(|u| u.to_le_bytes())
            .collect();
        // (case, body, Content-Type, what the body is, treated as a page)
        type Case = (&'static str, Vec<u8>, Option<&'static str>, BodyKind, bool);
        let cases: Vec<Case> = vec![
            ("RSS as text/html", b"<?xml version=\"1.0\"?>\n<rss version=\"2.0\"><channel/></rss>".to_vec(), Some("text/html"), BodyKind::Feed, false),
            ("Atom as text/plain", b"<feed xmlns=\"http://www.w3.org/2005/Atom\"/>".to_vec(), Some("text/plain"), BodyKind::Feed, false),
            ("RDF without a type", b"<rdf:RDF xmlns:rdf=\"x\"/>".to_vec(), None, BodyKind::Feed, false),
            (
                "feed after comments, a stylesheet PI and a DOCTYPE",
                b"\xEF\xBB\xBF <!-- generated --><?xml-stylesheet href=\"s.xsl\"?><!DOCTYPE rss PUBLIC \"-//Netscape//DTD RSS 0.91//EN\" \"x\"><rss/>".to_vec(),
                Some("text/html; charset=utf-8"),
                BodyKind::Feed,
                false,
            ),
            ("JSON Feed as text/html", br#"  {"version":"https://jsonfeed.org/version/1.1"}"#.to_vec(), Some("text/html"), BodyKind::Feed, false),
            ("UTF-16 feed as text/html", utf16, Some("text/html"), BodyKind::Feed, false),
            ("HTML page as application/rss+xml", b"<!DOCTYPE html><html><head></head></html>".to_vec(), Some("application/rss+xml"), BodyKind::Html, true),
            ("XHTML page", b"<?xml version=\"1.0\"?><!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Strict//EN\" \"x\"><html/>".to_vec(), None, BodyKind::Html, true),
            ("html root without doctype", b"<HTML><body/></HTML>".to_vec(), None, BodyKind::Html, true),
            ("page fragment labelled text/html", b"<div>Maintenance</div>".to_vec(), Some("text/html"), BodyKind::Unknown, true),
            ("page fragment with no type", b"<div>Maintenance</div>".to_vec(), None, BodyKind::Unknown, false),
            ("plain text", b"Service unavailable".to_vec(), Some("text/plain"), BodyKind::Unknown, false),
            ("empty", Vec::new(), Some("text/html"), BodyKind::Unknown, true),
        ];
        for (name, body, ct, kind, html) in cases {
            assert_eq!(sniff(&body), kind, "{name}");
            assert_eq!(looks_like_html(ct, &body), html, "{name}");
        }
    }
}
