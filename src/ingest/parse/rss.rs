//! RSS 0.9x and 2.0 (`<rss><channel>`), and RSS 0.90/1.0 (`<rdf:RDF>`).
//!
//! The two families share their element names, so one item reader serves
//! both; they differ in where items live (inside the channel, or beside it)
//! and in how an item is identified (`guid`, or `rdf:about`).

use super::atom::{self, EntryState};
use super::date::parse_date;
use super::ext::{entry_ext, feed_ext};
use super::model::{Enclosure, FeedFormat, ParsedEntry, ParsedFeed, resolve_link};
use super::text::plain_title;
use super::xml::{Elem, Ev, Ns, XmlReader};

fn version(v: Option<&str>) -> FeedFormat {
    match v.map(str::trim) {
        Some("2.0" | "2" | "2.0.1" | "2.01") => FeedFormat::Rss20,
        Some("0.91") => FeedFormat::Rss091,
        Some("0.92") => FeedFormat::Rss092,
        Some("0.93") => FeedFormat::Rss093,
        Some("0.94") => FeedFormat::Rss094,
        Some("0.90") => FeedFormat::Rss090,
        _ => FeedFormat::Rss,
    }
}

/// `<rss>` (or a bare `<channel>`) root.
pub fn parse<'a>(xr: &mut XmlReader<'a>, root: Elem<'a>) -> ParsedFeed {
    let format = version(xr.attr(&root, Ns::None, b"version").as_deref());
    let mut feed = ParsedFeed::new(format);
    // Elements in the root's namespace are RSS, whatever that namespace is.
    let home = root.ns;
    if root.name() == b"channel" {
        channel(xr, &mut feed, home);
        return feed;
    }
    children(xr, |xr, e| match e.name() {
        b"channel" if e.ns.is_rss() || e.ns == home => {
            channel(xr, &mut feed, home);
            true
        }
        b"item" if e.ns.is_rss() || e.ns == home => {
            let entry = item(xr, None, home);
            feed.entries.push(entry);
            true
        }
        _ => false,
    });
    feed
}

/// `<rdf:RDF>` root: RSS 0.90 and 1.0, items beside the channel.
pub fn parse_rdf(xr: &mut XmlReader<'_>) -> ParsedFeed {
    let mut feed = ParsedFeed::new(FeedFormat::Rss10);
    children(xr, |xr, e| match e.name() {
        b"channel" if e.ns.is_rss() => {
            if e.ns == Ns::Rss090 {
                feed.format = FeedFormat::Rss090;
            }
            channel(xr, &mut feed, Ns::None);
            true
        }
        b"item" if e.ns.is_rss() => {
            let about = xr.attr(e, Ns::Rdf, b"about").map(|a| a.trim().to_string()).filter(|a| !a.is_empty());
            let entry = item(xr, about, Ns::None);
            feed.entries.push(entry);
            true
        }
        _ => false,
    });
    feed
}

/// Calls `f` for every child element of the current one; a child `f` does
/// not consume is skipped whole.
pub fn children<'a>(xr: &mut XmlReader<'a>, mut f: impl FnMut(&mut XmlReader<'a>, &Elem<'a>) -> bool) {
    let depth = xr.depth();
    loop {
        match xr.next() {
            Ev::Start(e) => {
                let consumed = f(xr, &e);
                if !consumed {
                    xr.skip();
                }
            }
            Ev::End(_) if xr.depth() < depth => return,
            Ev::Eof => return,
            _ => {}
        }
    }
}

fn channel<'a>(xr: &mut XmlReader<'a>, feed: &mut ParsedFeed, home: Ns) {
    children(xr, |xr, e| {
        if !e.ns.is_rss() && e.ns != home {
            return match e.ns {
                Ns::Atom10 | Ns::Atom03 if e.name() == b"link" => {
                    if let Some(href) = atom::alternate_href(xr, e) {
                        feed.link.get_or_insert(href);
                    }
                    false
                }
                _ => feed_ext(xr, e, feed),
            };
        }
        match e.name() {
            b"title" => {
                let t = plain_title(&xr.read_text(), false);
                if feed.title.is_none() {
                    feed.title = t;
                }
            }
            b"link" if xr.attr(e, Ns::None, b"href").is_some() => {
                if let Some(href) = atom::alternate_href(xr, e) {
                    feed.link = Some(href);
                }
                return false;
            }
            b"link" => {
                let l = xr.read_text();
                if !l.trim().is_empty() {
                    feed.link = Some(resolve_link(&l, xr.base()));
                }
            }
            b"lastbuilddate" | b"updated" => feed.updated = parse_date(&xr.read_text()).or(feed.updated),
            b"pubdate" => feed.published = parse_date(&xr.read_text()).or(feed.published),
            b"ttl" => feed.ttl = xr.read_text().trim().parse().ok(),
            b"item" => {
                let entry = item(xr, None, home);
                feed.entries.push(entry);
            }
            _ => return false,
        }
        true
    });
}

fn item<'a>(xr: &mut XmlReader<'a>, about: Option<String>, home: Ns) -> ParsedEntry {
    let mut entry = ParsedEntry { id: about, ..Default::default() };
    let mut st = EntryState::default();
    children(xr, |xr, e| {
        if e.ns.is_rss() || e.ns.is_atom() || e.ns == home {
            item_child(xr, e, &mut entry, &mut st) || atom::entry_child(xr, e, &mut entry, &mut st)
        } else if e.ns == Ns::Xhtml && e.name() == b"body" {
            set_content(&mut entry, xr.read_markup());
            true
        } else {
            entry_ext(xr, e, &mut entry)
        }
    });
    st.finish(&mut entry);
    entry
}

fn set_content(entry: &mut ParsedEntry, c: String) {
    if entry.content.is_none() && !c.trim().is_empty() {
        entry.content = Some(c);
    }
}

/// One RSS element inside an item (also used for RSS names that Atom
/// entries borrow). Returns false, consuming nothing, for other names.
pub fn item_child<'a>(xr: &mut XmlReader<'a>, e: &Elem<'a>, entry: &mut ParsedEntry, st: &mut EntryState) -> bool {
    match e.name() {
        b"title" => entry.title = plain_title(&xr.read_text(), false).or(entry.title.take()),
        b"link" if xr.attr(e, Ns::None, b"href").is_some() => return atom::entry_child(xr, e, entry, st),
        b"link" => {
            let l = xr.read_text();
            st.link_seen = true;
            if !l.trim().is_empty() {
                entry.link = Some(resolve_link(&l, xr.base()));
            }
        }
        b"guid" => {
            let permalink = xr.attr(e, Ns::None, b"isPermaLink").is_none_or(|p| !p.trim().eq_ignore_ascii_case("false"));
            let base = xr.base().cloned();
            let value = xr.read_text().trim().to_string();
            if !value.is_empty() {
                let value = if permalink { resolve_link(&value, base.as_ref()) } else { value };
                st.id_link = permalink.then(|| value.clone());
                entry.id = Some(value);
            }
        }
        b"description" | b"abstract" => {
            let d = xr.read_markup();
            if entry.summary.is_none() {
                entry.summary = Some(d);
            }
        }
        b"fullitem" | b"body" => set_content(entry, xr.read_markup()),
        b"pubdate" => entry.published = parse_date(&xr.read_text()).or(entry.published),
        b"author" => {
            let a = xr.read_text();
            if !a.trim().is_empty() {
                entry.authors.push(a.trim().to_string());
            }
        }
        b"category" | b"keywords" => entry.add_category(&xr.read_text()),
        b"tags" => {
            for t in xr.read_text().split(',') {
                entry.add_category(t);
            }
        }
        b"enclosure" => {
            if let Some(url) = xr.attr(e, Ns::None, b"url").filter(|u| !u.trim().is_empty()) {
                entry.enclosures.push(Enclosure {
                    url: resolve_link(&url, xr.base()),
                    mime: xr.attr(e, Ns::None, b"type").map(|t| t.trim().to_string()),
                    length: xr.attr(e, Ns::None, b"length").and_then(|l| l.trim().parse().ok()),
                });
            }
            xr.skip();
        }
        _ => return false,
    }
    true
}

#[cfg(test)]
mod tests {
    use crate::ingest::parse::{FeedFormat, ParseContext, parse_feed};
    use url::Url;

    fn parse(doc: &str, base: Option<&str>) -> crate::ingest::parse::ParsedFeed {
        let ctx = ParseContext { base_url: base.map(|b| Url::parse(b).unwrap()), content_type: None };
        parse_feed(doc.as_bytes(), &ctx).unwrap()
    }

    #[test]
    fn rss20_item_with_extensions() {
        let doc = r#"<?xml version="1.0"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:c="http://purl.org/rss/1.0/modules/content/"
     xmlns:media="http://search.yahoo.com/mrss/" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd">
<channel><title>News</title><link>/home</link><ttl>30</ttl><lastBuildDate>Tue, 02 Jan 2024 10:00:00 +0000</lastBuildDate>
<item><title>First &amp; best</title><link>story/1</link><guid isPermaLink="false">id-1</guid>
<description>&lt;p&gt;Sum&lt;/p&gt;</description><c:encoded><![CDATA[<p>Body</p>]]></c:encoded>
<dc:creator>Ann</dc:creator><dc:subject>Politics</dc:subject><category>World</category>
<itunes:keywords>a, b</itunes:keywords><itunes:category text="News"><itunes:category text="Daily"/></itunes:category>
<media:content url="img.jpg" medium="image"><media:description>Cap</media:description><media:credit>AP</media:credit></media:content>
<enclosure url="a.mp3" type="audio/mpeg" length="123"/></item>
<item><guid isPermaLink="false">id-1</guid><title>dup</title></item>
</channel></rss>"#;
        let f = parse(doc, Some("http://e.com/feed/"));
        assert_eq!(f.format, FeedFormat::Rss20);
        assert!(!f.bozo, "{:?}", f.bozo_reason);
        assert_eq!((f.title.as_deref(), f.link.as_deref(), f.ttl), (Some("News"), Some("http://e.com/home"), Some(30)));
        assert_eq!(f.entries.len(), 1, "duplicate id dropped");
        let e = &f.entries[0];
        assert_eq!(e.title.as_deref(), Some("First & best"));
        assert_eq!(e.link.as_deref(), Some("http://e.com/feed/story/1"));
        assert_eq!(e.id.as_deref(), Some("id-1"));
        assert_eq!(e.summary.as_deref(), Some("<p>Sum</p>"));
        assert_eq!(e.content.as_deref(), Some("<p>Body</p>"));
        assert_eq!(e.authors, ["Ann"]);
        assert_eq!(e.categories, ["Politics", "World", "a", "b", "News", "Daily"]);
        let img = e.image.as_ref().unwrap();
        assert_eq!((img.url.as_str(), img.caption.as_deref(), img.credit.as_deref()), ("http://e.com/feed/img.jpg", Some("Cap"), Some("AP")));
        assert_eq!(e.enclosures[0].url, "http://e.com/feed/a.mp3");
        assert_eq!(e.enclosures[0].length, Some(123));
    }

    #[test]
    fn media_group_caption_before_picture() {
        let doc = r#"<rss xmlns:media="http://search.yahoo.com/mrss/"><channel><item><title>t</title>
            <media:group><media:credit>Reuters</media:credit><media:description>A cap</media:description>
            <media:thumbnail url="http://e.com/t.jpg"/></media:group></item>
            <item><title>u</title><media:credit>Nobody</media:credit></item></channel></rss>"#;
        let f = parse(doc, None);
        let img = f.entries[0].image.as_ref().unwrap();
        assert_eq!((img.url.as_str(), img.caption.as_deref(), img.credit.as_deref()), ("http://e.com/t.jpg", Some("A cap"), Some("Reuters")));
        assert_eq!(f.entries[1].image, None);
    }

    #[test]
    fn rdf_items_sit_beside_the_channel() {
        let doc = r#"<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
            xmlns:dc="http://purl.org/dc/elements/1.1/"><channel rdf:about="x"><title>R</title><dc:date>2024-01-01T00:00:00Z</dc:date></channel>
            <item rdf:about="http://e.com/1"><title>One</title><dc:date>2024-01-02T00:00:00+01:00</dc:date></item></rdf:RDF>"#;
        let f = parse(doc, None);
        assert_eq!(f.format, FeedFormat::Rss10);
        assert_eq!(f.updated.unwrap().to_rfc3339(), "2024-01-01T00:00:00+00:00");
        assert_eq!(f.entries[0].id.as_deref(), Some("http://e.com/1"));
        assert_eq!(f.entries[0].updated.unwrap().to_rfc3339(), "2024-01-01T23:00:00+00:00");
    }

    #[test]
    fn broken_rss_still_yields_items() {
        let f = parse("<rss><channel><TiTlE>caf&eacute; AT&T</TiTlE><item><title>a</title><PUBDATE>2 Jan 2024</PUBDATE><guid>http://e.com/a</guid>", None);
        assert_eq!(f.entries[0].published.unwrap().to_rfc3339(), "2024-01-02T00:00:00+00:00", "names match in any case");
        assert_eq!(f.format, FeedFormat::Rss);
        assert!(f.bozo);
        assert_eq!(f.title.as_deref(), Some("café AT&T"));
        assert_eq!(f.entries[0].link.as_deref(), Some("http://e.com/a"), "permalink guid doubles as link");
    }
}
