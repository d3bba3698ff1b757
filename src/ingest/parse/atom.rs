//! Atom 1.0 (RFC 4287) and the Atom 0.3 draft still served by old blogs.
//!
//! 0.3 differs mostly in names (`modified`, `issued`) and in text
//! constructs typed by MIME type plus `mode`, so both share this module.

use super::date::parse_date;
use super::ext::{entry_ext, feed_ext};
use super::model::{Enclosure, FeedFormat, ParsedEntry, ParsedFeed, resolve_link};
use super::rss::{children, item_child};
use super::text::{decode_base64, plain_title};
use super::xml::{Elem, Ev, Ns, XmlReader, escape_into};

pub fn parse<'a>(xr: &mut XmlReader<'a>, root: Elem<'a>) -> ParsedFeed {
    let format = match root.ns {
        Ns::Atom03 => FeedFormat::Atom03,
        _ if xr.attr(&root, Ns::None, b"version").is_some_and(|v| v.trim() == "0.3") => FeedFormat::Atom03,
        _ => FeedFormat::Atom10,
    };
    // Elements in the root's namespace are Atom even when that namespace
    // is unknown (pre-release drafts, typos), as feedparser reads them.
    let home = root.ns;
    let mut feed = ParsedFeed::new(format);
    let mut id_link = None;
    children(xr, |xr, e| {
        if !e.ns.is_atom() && e.ns != Ns::None && e.ns != home {
            return feed_ext(xr, e, &mut feed);
        }
        match e.name() {
            b"title" => {
                let t = text_construct(xr, e);
                if feed.title.is_none() {
                    feed.title = t;
                }
            }
            b"link" => {
                if let Some(href) = alternate_href(xr, e) {
                    feed.link = Some(href);
                }
                return false;
            }
            b"id" => {
                let base = xr.base().cloned();
                let id = xr.read_text();
                if !id.trim().is_empty() {
                    id_link = Some(resolve_link(&id, base.as_ref()));
                }
            }
            b"updated" | b"modified" => feed.updated = parse_date(&xr.read_text()).or(feed.updated),
            b"published" | b"issued" => feed.published = parse_date(&xr.read_text()).or(feed.published),
            b"entry" | b"item" => {
                let entry = entry(xr, home);
                feed.entries.push(entry);
            }
            _ => return false,
        }
        true
    });
    if feed.link.is_none() {
        feed.link = id_link;
    }
    feed
}

/// What an entry reader remembers between elements.
#[derive(Default)]
pub struct EntryState {
    /// A permalink id (RSS `guid`, Atom `id`): the link when none is given.
    pub id_link: Option<String>,
    pub link_seen: bool,
}

impl EntryState {
    pub fn finish(self, entry: &mut ParsedEntry) {
        if entry.link.is_none() && !self.link_seen {
            entry.link = self.id_link;
        }
        // A caption or credit without any picture is no image.
        if entry.image.as_ref().is_some_and(|i| i.url.is_empty()) {
            entry.image = None;
        }
    }
}

fn entry<'a>(xr: &mut XmlReader<'a>, home: Ns) -> ParsedEntry {
    let mut entry = ParsedEntry::default();
    let mut st = EntryState::default();
    children(xr, |xr, e| {
        if e.ns.is_atom() || e.ns == Ns::None || e.ns == home {
            entry_child(xr, e, &mut entry, &mut st) || item_child(xr, e, &mut entry, &mut st)
        } else {
            entry_ext(xr, e, &mut entry)
        }
    });
    st.finish(&mut entry);
    entry
}

/// One Atom element inside an entry (also used for Atom elements that RSS
/// items borrow). Returns false, consuming nothing, for other names.
pub fn entry_child<'a>(xr: &mut XmlReader<'a>, e: &Elem<'a>, entry: &mut ParsedEntry, st: &mut EntryState) -> bool {
    match e.name() {
        b"id" => {
            let base = xr.base().cloned();
            let id = xr.read_text();
            let id = id.trim();
            if !id.is_empty() {
                st.id_link = Some(resolve_link(id, base.as_ref()));
                entry.id = st.id_link.clone();
            }
        }
        b"title" => {
            entry.title = text_construct(xr, e).or(entry.title.take());
        }
        b"link" => {
            st.link_seen = true;
            link(xr, e, entry);
            xr.skip();
        }
        b"updated" | b"modified" => entry.updated = parse_date(&xr.read_text()).or(entry.updated),
        b"published" | b"issued" => entry.published = parse_date(&xr.read_text()).or(entry.published),
        b"summary" => match raw_construct(xr, e, false) {
            Some(s) => entry.summary = Some(s),
            None => xr.skip(),
        },
        b"content" if kind(xr, e) == Kind::Other => xr.skip(),
        b"content" => match raw_construct(xr, e, true) {
            Some(c) => {
                entry.content.get_or_insert(c);
            }
            None => xr.skip(),
        },
        b"category" => {
            let term = xr.attr(e, Ns::None, b"term");
            match term.filter(|t| !t.trim().is_empty()) {
                Some(t) => {
                    entry.add_category(&t);
                    xr.skip();
                }
                None => entry.add_category(&xr.read_text()),
            }
        }
        b"author" | b"contributor" => {
            if let Some(name) = person_name(xr) {
                entry.authors.push(name);
            }
        }
        _ => return false,
    }
    true
}

fn link<'a>(xr: &mut XmlReader<'a>, e: &Elem<'a>, entry: &mut ParsedEntry) {
    let rel = xr.attr(e, Ns::None, b"rel");
    if rel.as_deref().map(str::trim) == Some("enclosure") {
        if let Some(href) = xr.attr(e, Ns::None, b"href").filter(|h| !h.trim().is_empty()) {
            entry.enclosures.push(Enclosure {
                url: resolve_link(&href, xr.base()),
                mime: xr.attr(e, Ns::None, b"type").map(|t| t.trim().to_string()),
                length: xr.attr(e, Ns::None, b"length").and_then(|l| l.trim().parse().ok()),
            });
        }
    } else if let Some(href) = alternate_href(xr, e) {
        entry.link = Some(href);
    }
}

/// The resolved `href` of a `<link>` that points at the HTML page
/// (`rel` alternate or absent, type HTML or absent).
pub fn alternate_href<'a>(xr: &mut XmlReader<'a>, e: &Elem<'a>) -> Option<String> {
    let rel = xr.attr(e, Ns::None, b"rel");
    if rel.as_deref().is_some_and(|r| r.trim() != "alternate") {
        return None;
    }
    let ty = xr.attr(e, Ns::None, b"type");
    if ty.as_deref().is_some_and(|t| !matches!(t.trim(), "text/html" | "application/xhtml+xml" | "html" | "xhtml" | "")) {
        return None;
    }
    let href = xr.attr(e, Ns::None, b"href")?;
    Some(resolve_link(&href, xr.base()))
}

fn person_name(xr: &mut XmlReader<'_>) -> Option<String> {
    let mut name = None;
    children(xr, |xr, c| {
        if c.name() != b"name" {
            return false;
        }
        let n = xr.read_text();
        if !n.trim().is_empty() {
            name = Some(n.trim().to_string());
        }
        true
    });
    name
}

#[derive(PartialEq)]
enum Kind {
    Text,
    Html,
    Xhtml,
    Base64,
    /// Not text at all (an image, a PDF): not a summary or HTML content.
    Other,
}

/// The kind of a text construct from Atom 1.0 `type`, or Atom 0.3 MIME
/// `type` and `mode`.
fn kind<'a>(xr: &mut XmlReader<'a>, e: &Elem<'a>) -> Kind {
    let ty = xr.attr(e, Ns::None, b"type").map(|t| t.trim().to_ascii_lowercase());
    let mode = xr.attr(e, Ns::None, b"mode");
    if mode.as_deref() == Some("base64") {
        return Kind::Base64;
    }
    match ty.as_deref() {
        Some("html" | "text/html") => Kind::Html,
        Some("xhtml" | "application/xhtml+xml") if mode.as_deref() != Some("escaped") => Kind::Xhtml,
        Some("xhtml" | "application/xhtml+xml") => Kind::Html,
        _ if mode.as_deref() == Some("xml") => Kind::Xhtml,
        None | Some("text" | "") => Kind::Text,
        Some(t) if t.starts_with("text/") || t.ends_with("+xml") || t.ends_with("/xml") => Kind::Text,
        Some(_) => Kind::Other,
    }
}

/// A text construct as plain text (for titles).
fn text_construct<'a>(xr: &mut XmlReader<'a>, e: &Elem<'a>) -> Option<String> {
    match kind(xr, e) {
        Kind::Text => plain_title(&xr.read_text(), false),
        Kind::Html => plain_title(&xr.read_text(), true),
        Kind::Xhtml => plain_title(&xr.read_text(), false),
        Kind::Base64 | Kind::Other => plain_title(&decode_base64(xr.read_text().trim()), true),
    }
}

/// A text construct as found: HTML stays HTML, XHTML is serialized
/// without its wrapping `<div>`, base64 decoded.
/// `as_html` escapes plain text so that `content` is always HTML, as the
/// model expects; a summary stays as the feed had it.
fn raw_construct<'a>(xr: &mut XmlReader<'a>, e: &Elem<'a>, as_html: bool) -> Option<String> {
    match kind(xr, e) {
        Kind::Xhtml => Some(xhtml(xr)),
        // RFC 4287 4.1.3.3: other media types are base64-encoded.
        Kind::Base64 | Kind::Other => Some(decode_base64(xr.read_text().trim())),
        Kind::Text if as_html => {
            let mut html = String::new();
            escape_into(&mut html, &xr.read_text());
            Some(html)
        }
        Kind::Text | Kind::Html => Some(xr.read_markup()),
    }
}

fn xhtml(xr: &mut XmlReader<'_>) -> String {
    let depth = xr.depth();
    let mut out = String::new();
    loop {
        match xr.next() {
            Ev::Start(c) if c.name() == b"div" && xr.depth() == depth + 1 => out.push_str(&xr.read_markup()),
            Ev::Start(_) => out.push_str(&xr.read_markup()),
            Ev::Text(t) => out.push_str(&t),
            Ev::End(_) if xr.depth() < depth => return out,
            Ev::Eof => return out,
            Ev::End(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::ingest::parse::{FeedFormat, ParseContext, parse_feed};

    #[test]
    fn atom10_entry_with_xml_base_and_constructs() {
        let doc = r#"<feed xmlns="http://www.w3.org/2005/Atom" xml:base="http://e.com/blog/"><title type="html">A &amp;lt;b&amp;gt; feed</title>
<link href="/"/><link rel="self" href="feed.xml"/><updated>2024-01-02T10:00:00Z</updated>
<entry xml:base="2024/"><id>tag:e.com,2024:1</id><title type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">Hi <b>there</b></div></title>
<link rel="alternate" type="text/html" href="post.html"/><link rel="enclosure" href="a.mp3" length="9" type="audio/mpeg"/>
<published>2024-01-01T08:30:00+02:00</published><category term="rust"/><author><name>Bo</name></author>
<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>Body</p></div></content></entry></feed>"#;
        let f = parse_feed(doc.as_bytes(), &ParseContext::default()).unwrap();
        assert_eq!(f.format, FeedFormat::Atom10);
        assert_eq!(f.title.as_deref(), Some("A <b> feed"));
        assert_eq!(f.link.as_deref(), Some("http://e.com/"));
        let e = &f.entries[0];
        assert_eq!(e.title.as_deref(), Some("Hi there"));
        assert_eq!(e.link.as_deref(), Some("http://e.com/blog/2024/post.html"));
        assert_eq!(e.enclosures[0].url, "http://e.com/blog/2024/a.mp3");
        assert_eq!(e.published.unwrap().to_rfc3339(), "2024-01-01T06:30:00+00:00");
        assert_eq!(e.content.as_deref(), Some("<p>Body</p>"));
        assert_eq!((e.categories.clone(), e.authors.clone()), (vec!["rust".to_string()], vec!["Bo".to_string()]));
    }

    #[test]
    fn atom03_modes() {
        let doc = r#"<feed version="0.3" xmlns="http://purl.org/atom/ns#"><entry><id>i</id>
<title mode="base64" type="text/html">RXhhbXBsZSA8Yj5BdG9tPC9iPg==</title><modified>2003-12-13T18:30:02Z</modified>
<issued>2003-12-13T08:29:29-04:00</issued><content type="text/html" mode="escaped">&lt;p&gt;x&lt;/p&gt;</content></entry></feed>"#;
        let f = parse_feed(doc.as_bytes(), &ParseContext::default()).unwrap();
        assert_eq!(f.format, FeedFormat::Atom03);
        let e = &f.entries[0];
        assert_eq!(e.title.as_deref(), Some("Example Atom"));
        assert_eq!(e.updated.unwrap().to_rfc3339(), "2003-12-13T18:30:02+00:00");
        assert_eq!(e.published.unwrap().to_rfc3339(), "2003-12-13T12:29:29+00:00");
        assert_eq!(e.content.as_deref(), Some("<p>x</p>"));
    }

    #[test]
    fn text_content_becomes_html_but_summary_stays() {
        let doc = r#"<feed xmlns="http://www.w3.org/2005/Atom"><entry><summary>a &lt; b</summary><content>x &amp; &lt;y&gt;</content></entry></feed>"#;
        let e = &parse_feed(doc.as_bytes(), &ParseContext::default()).unwrap().entries[0];
        assert_eq!(e.summary.as_deref(), Some("a < b"));
        assert_eq!(e.content.as_deref(), Some("x &amp; &lt;y&gt;"));
    }
}
