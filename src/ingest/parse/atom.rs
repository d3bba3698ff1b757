//! Atom 1.0 (RFC 4287) and the Atom 0.3 draft still served by old blogs.
//!
//! 0.3 differs mostly in names (`modified`, `issued`) and in text
//! constructs typed by MIME type plus `mode`, so both share this module.
//! A feed parses into [`AtomFeed`], an entry into [`AtomItem`]; `adapt_*`
//! map them onto the shared model with Atom's precedence rules.

use chrono::{DateTime, Utc};

use super::date::parse_date;
use super::ext::ExtFeed;
use super::item::{ItemParts, Prefer, children, read_item};
use super::limits::LIST_CEILING;
use super::model::{Enclosure, FeedFormat, ParsedEntry, ParsedFeed, TextKind, push_unique, resolve_link};
use super::text::{decode_base64, plain_text};
use super::xml::{Elem, Ev, Ns, XmlReader, escape_into};
use crate::model::person::person_name;

/// The Atom elements of a feed, as found.
#[derive(Debug, Default)]
pub struct AtomFeed {
    title: Option<String>,
    link: Option<String>,
    /// The feed's `id`, resolved: its link when it has no alternate link.
    id: Option<String>,
    updated: Option<DateTime<Utc>>,
    published: Option<DateTime<Utc>>,
    /// `<author>` names.
    authors: Vec<String>,
    ext: ExtFeed,
}

/// The Atom elements of an entry, as found.
#[derive(Debug, Default)]
pub struct AtomItem {
    /// Resolved against the base: feedparser treats ids as permalinks.
    pub id: Option<String>,
    pub title: Option<String>,
    /// The last alternate HTML link.
    pub link: Option<String>,
    pub link_seen: bool,
    pub updated: Option<DateTime<Utc>>,
    pub published: Option<DateTime<Utc>>,
    pub summary: Option<String>,
    /// Whether `summary` is text or HTML, from its `type`.
    pub summary_kind: TextKind,
    /// Always HTML (text content is escaped).
    pub content: Option<String>,
    pub categories: Vec<String>,
    pub authors: Vec<String>,
    pub enclosures: Vec<Enclosure>,
}

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
    let mut head = AtomFeed::default();
    children(xr, |xr, e| {
        if !e.ns.is_atom() && e.ns != Ns::None && e.ns != home {
            return head.ext.read(xr, e);
        }
        match e.name() {
            b"title" => {
                let t = text_construct(xr, e);
                head.title = head.title.take().or(t);
            }
            b"link" => {
                head.link = alternate_href(xr, e).or(head.link.take());
                return false;
            }
            b"id" => head.id = read_id(xr).or(head.id.take()),
            b"author" => {
                if let Some(name) = read_person(xr) {
                    push_unique(&mut head.authors, name);
                }
            }
            b"updated" | b"modified" => head.updated = parse_date(&xr.read_text()).or(head.updated),
            b"published" | b"issued" => head.published = parse_date(&xr.read_text()).or(head.published),
            b"entry" | b"item" => {
                if xr.entry_fits(feed.entries.len()) {
                    feed.entries.push(adapt_entry(read_item(xr, home, Prefer::Atom)));
                }
            }
            _ => return false,
        }
        true
    });
    adapt_feed(head, &mut feed);
    feed
}

fn read_id(xr: &mut XmlReader<'_>) -> Option<String> {
    let base = xr.base().cloned();
    let id = xr.read_text();
    let id = id.trim();
    (!id.is_empty()).then(|| resolve_link(id, base.as_ref()))
}

impl AtomItem {
    /// Reads one Atom element of an entry (or of an RSS item that borrows
    /// it). Returns false, consuming nothing, for other names.
    pub fn read<'a>(&mut self, xr: &mut XmlReader<'a>, e: &Elem<'a>) -> bool {
        match e.name() {
            b"id" => self.id = read_id(xr).or(self.id.take()),
            b"title" => self.title = text_construct(xr, e).or(self.title.take()),
            b"link" => {
                self.link_seen = true;
                self.read_link(xr, e);
                xr.skip();
            }
            b"updated" | b"modified" => self.updated = parse_date(&xr.read_text()).or(self.updated),
            b"published" | b"issued" => self.published = parse_date(&xr.read_text()).or(self.published),
            b"summary" => {
                let (summary, kind) = summary_construct(xr, e);
                self.summary = Some(summary);
                self.summary_kind = kind;
            }
            b"content" if kind(xr, e) == Kind::Other => xr.skip(),
            b"content" => {
                let c = content_construct(xr, e);
                self.content.get_or_insert(c);
            }
            b"category" => match xr.attr(e, Ns::None, b"term").filter(|t| !t.trim().is_empty()) {
                Some(t) => {
                    push_unique(&mut self.categories, t.into_owned());
                    xr.skip();
                }
                None => push_unique(&mut self.categories, xr.read_text()),
            },
            b"author" | b"contributor" => {
                if let Some(name) = read_person(xr) {
                    push_unique(&mut self.authors, name);
                }
            }
            _ => return false,
        }
        true
    }

    fn read_link<'a>(&mut self, xr: &mut XmlReader<'a>, e: &Elem<'a>) {
        let [rel, href, ty, length, title] = xr.attrs(e, Ns::None, [b"rel", b"href", b"type", b"length", b"title"]);
        if rel.as_deref().map(str::trim) == Some("enclosure") {
            let href = href.filter(|h| !h.trim().is_empty() && self.enclosures.len() < LIST_CEILING);
            if let Some(href) = href {
                self.enclosures.push(Enclosure {
                    url: resolve_link(&href, xr.base()),
                    mime: ty.map(|t| t.trim().to_string()),
                    length: length.and_then(|l| l.trim().parse().ok()),
                    title: title.map(|t| t.trim().to_string()).filter(|t| !t.is_empty()),
                    ..Default::default()
                });
            }
        } else if let Some(href) = alternate(rel.as_deref(), ty.as_deref(), href.as_deref()) {
            self.link = Some(resolve_link(href, xr.base()));
        }
    }
}

/// Atom precedence: Atom elements first, then RSS ones the entry
/// borrowed, then extensions. The id is the link when no link was given.
pub fn adapt_entry(mut p: ItemParts) -> ParsedEntry {
    let link_seen = p.rss.link_seen || p.atom.link_seen;
    let permalink = p.atom.id.clone().or_else(|| p.rss.permalink());
    let mut entry = ParsedEntry {
        id: p.atom.id.take().or(p.rss.guid.take()),
        title: p.atom.title.take().or(p.rss.title.take()).or(p.ext.title.take()).or(p.ext.media_title.take()),
        link: p.atom.link.take().or(p.rss.link.take()).or(permalink.filter(|_| !link_seen)),
        published: p.atom.published.or(p.rss.pub_date).or(p.ext.issued),
        updated: p.atom.updated.or(p.ext.date),
        content: p.atom.content.take().or(p.ext.encoded.take()).or(p.rss.body.take()),
        ..Default::default()
    };
    (entry.summary, entry.summary_kind) = p.take_summary(Prefer::Atom);
    p.merge_lists(&mut entry);
    entry
}

fn adapt_feed(head: AtomFeed, feed: &mut ParsedFeed) {
    feed.title = head.title.or(head.ext.title);
    feed.id.clone_from(&head.id);
    feed.authors = head.authors;
    for name in head.ext.creators {
        push_unique(&mut feed.authors, name);
    }
    feed.link = head.link.or(head.id);
    feed.updated = head.updated.or(head.ext.date);
    feed.published = head.published.or(head.ext.issued);
    feed.hints.update_period = head.ext.sy.period();
}

/// The resolved `href` of a `<link>` that points at the HTML page
/// (`rel` alternate or absent, type HTML or absent).
pub fn alternate_href<'a>(xr: &mut XmlReader<'a>, e: &Elem<'a>) -> Option<String> {
    let [rel, ty, href] = xr.attrs(e, Ns::None, [b"rel", b"type", b"href"]);
    alternate(rel.as_deref(), ty.as_deref(), href.as_deref()).map(|href| resolve_link(href, xr.base()))
}

/// `href` when a link with these `rel` and `type` points at the HTML page.
fn alternate<'h>(rel: Option<&str>, ty: Option<&str>, href: Option<&'h str>) -> Option<&'h str> {
    if rel.is_some_and(|r| r.trim() != "alternate") {
        return None;
    }
    if ty.is_some_and(|t| !matches!(t.trim(), "text/html" | "application/xhtml+xml" | "html" | "xhtml" | "")) {
        return None;
    }
    href
}

/// An Atom person construct's name. Its `<email>` is never published,
/// and a person with only an e-mail has no name (see [`person_name`]); a
/// name written RSS-style (`desk@example.org (News Desk)`) is reduced the
/// same way.
fn read_person(xr: &mut XmlReader<'_>) -> Option<String> {
    let mut name = None;
    children(xr, |xr, c| {
        if c.name() != b"name" {
            return false;
        }
        let n = xr.read_text();
        if name.is_none() {
            name = person_name(&n);
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
    /// Base64-encoded (Atom 0.3 `mode="base64"`), of HTML or of text.
    Base64(TextKind),
    /// Not text at all (an image, a PDF): not a summary or HTML content.
    Other,
}

/// The kind of a text construct from Atom 1.0 `type`, or Atom 0.3 MIME
/// `type` and `mode`. Atom 0.3's `mode="escaped"` only says how the
/// content is carried: its `type` (default `text/plain`, as feedparser
/// reads it too) says whether it is HTML.
fn kind<'a>(xr: &mut XmlReader<'a>, e: &Elem<'a>) -> Kind {
    let [ty, mode] = xr.attrs(e, Ns::None, [b"type", b"mode"]);
    let ty = ty.map(|t| t.trim().to_ascii_lowercase());
    let html_type = matches!(ty.as_deref(), Some("html" | "text/html" | "xhtml" | "application/xhtml+xml"));
    if mode.as_deref().map(str::trim) == Some("base64") {
        return Kind::Base64(if html_type { TextKind::Html } else { TextKind::Text });
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

/// A text construct as plain text (for titles): `type="text"` is kept as
/// written, `<` and all; HTML is reduced to its text; XHTML gives the text
/// of its elements.
fn text_construct<'a>(xr: &mut XmlReader<'a>, e: &Elem<'a>) -> Option<String> {
    match kind(xr, e) {
        Kind::Text | Kind::Xhtml => plain_text(&xr.read_text(), TextKind::Text),
        Kind::Html => plain_text(&xr.read_text(), TextKind::Html),
        Kind::Base64(k) => plain_text(&decode_base64(xr.read_text().trim()), k),
        Kind::Other => plain_text(&decode_base64(xr.read_text().trim()), TextKind::Html),
    }
}

/// A summary as found, with its kind: text stays text (never parsed as
/// markup), HTML stays HTML, XHTML is serialized as HTML. "Text" that
/// holds child elements (naked markup, common in Atom 0.3) is markup
/// whatever its type says, and is kept as such rather than flattened.
fn summary_construct<'a>(xr: &mut XmlReader<'a>, e: &Elem<'a>) -> (String, TextKind) {
    match kind(xr, e) {
        Kind::Text => match xr.read_markup_checked() {
            (markup, true) => (markup, TextKind::Html),
            (text, false) => (text, TextKind::Text),
        },
        Kind::Base64(k) => (decode_base64(xr.read_text().trim()), k),
        Kind::Xhtml => (xhtml(xr), TextKind::Html),
        Kind::Html => (xr.read_markup(), TextKind::Html),
        // RFC 4287 4.1.3.3: other media types are base64-encoded.
        Kind::Other => (decode_base64(xr.read_text().trim()), TextKind::Html),
    }
}

/// Content as HTML: text is escaped, XHTML serialized without its
/// wrapping `<div>`, base64 decoded.
fn content_construct<'a>(xr: &mut XmlReader<'a>, e: &Elem<'a>) -> String {
    let (text, kind) = summary_construct(xr, e);
    match kind {
        TextKind::Text => {
            let mut html = String::with_capacity(text.len() + 8);
            escape_into(&mut html, &text);
            html
        }
        TextKind::Html => text,
    }
}

/// XHTML content (RFC 4287 4.1.3.3) as HTML: the wrapping `div` dropped,
/// every XHTML element written without its prefix (`<xhtml:p>` is `<p>`)
/// and without namespace declarations, so readers see the markup and not
/// only its text. Text between elements stays escaped.
fn xhtml(xr: &mut XmlReader<'_>) -> String {
    let depth = xr.depth();
    let mut out = String::new();
    let mut first_element = true;
    loop {
        match xr.next() {
            Ev::Start(c) => {
                let wrapper = first_element && c.name() == b"div" && matches!(c.ns, Ns::Xhtml | Ns::None);
                first_element = false;
                if wrapper {
                    out.push_str(&xr.read_markup());
                } else {
                    out.push_str(&xr.read_element_markup(&c));
                }
            }
            Ev::Text(t) => escape_into(&mut out, &t),
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
