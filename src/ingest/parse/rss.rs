//! RSS 0.9x and 2.0 (`<rss><channel>`), and RSS 0.90/1.0 (`<rdf:RDF>`).
//!
//! The two families share their element names, so one item struct serves
//! both; they differ in where items live (inside the channel, or beside it)
//! and in how an item is identified (`guid`, or `rdf:about`). The channel
//! and its items parse into [`RssChannel`] and [`RssItem`]; `adapt_*` map
//! them onto the shared model with RSS's precedence rules.

use chrono::{DateTime, Utc};

use super::atom;
use super::date::parse_date;
use super::ext::ExtFeed;
use super::hints::{FeedHints, read_skip_days, read_skip_hours, ttl_from_minutes};
use super::item::{ItemParts, Prefer, children, read_item};
use super::limits::LIST_CEILING;
use super::model::{Enclosure, FeedFormat, ParsedEntry, ParsedFeed, push_unique, resolve_link};
use super::text::guessed_title;
use super::xml::{Elem, Ns, XmlReader};
use crate::model::person::person_name;

/// The RSS elements of a channel, as found.
#[derive(Debug, Default)]
pub struct RssChannel {
    title: Option<String>,
    link: Option<String>,
    /// `<atom:link rel="alternate">` or an Atom-style `<link href>`.
    alternate: Option<String>,
    last_build_date: Option<DateTime<Utc>>,
    pub_date: Option<DateTime<Utc>>,
    ttl: Option<u32>,
    /// `managingEditor` and a channel `author`, as names.
    authors: Vec<String>,
    /// `<skipHours>` and `<skipDays>` as bitmasks (see [`FeedHints`]).
    skip_hours: u32,
    skip_days: u8,
    ext: ExtFeed,
}

/// The RSS elements of an item, as found.
#[derive(Debug, Default)]
pub struct RssItem {
    pub title: Option<String>,
    pub link: Option<String>,
    /// A `<link>` was present, even empty: then a permalink guid is not
    /// the link.
    pub link_seen: bool,
    pub guid: Option<String>,
    pub guid_is_permalink: bool,
    pub description: Option<String>,
    /// `fullitem`, `body`, `xhtml:body`: full content in old dialects.
    pub body: Option<String>,
    pub pub_date: Option<DateTime<Utc>>,
    pub authors: Vec<String>,
    pub categories: Vec<String>,
    pub enclosures: Vec<Enclosure>,
}

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
    let mut feed = ParsedFeed::new(version(xr.attr(&root, Ns::None, b"version").as_deref()));
    let mut channel = RssChannel::default();
    // Elements in the root's namespace are RSS, whatever that namespace is.
    let home = root.ns;
    if root.name() == b"channel" {
        read_channel(xr, &mut channel, &mut feed.entries, home);
    } else {
        children(xr, |xr, e| match e.name() {
            b"channel" if e.ns.is_rss() || e.ns == home => {
                read_channel(xr, &mut channel, &mut feed.entries, home);
                true
            }
            b"item" if e.ns.is_rss() || e.ns == home => {
                if xr.entry_fits(feed.entries.len()) {
                    feed.entries.push(adapt_item(read_item(xr, home, Prefer::Rss), None));
                }
                true
            }
            _ => false,
        });
    }
    adapt_channel(channel, &mut feed);
    feed
}

/// `<rdf:RDF>` root: RSS 0.90 and 1.0, items beside the channel.
pub fn parse_rdf(xr: &mut XmlReader<'_>) -> ParsedFeed {
    let mut feed = ParsedFeed::new(FeedFormat::Rss10);
    let mut channel = RssChannel::default();
    children(xr, |xr, e| match e.name() {
        b"channel" if e.ns.is_rss() => {
            if e.ns == Ns::Rss090 {
                feed.format = FeedFormat::Rss090;
            }
            read_channel(xr, &mut channel, &mut feed.entries, Ns::None);
            true
        }
        b"item" if e.ns.is_rss() => {
            if xr.entry_fits(feed.entries.len()) {
                let about = xr.attr(e, Ns::Rdf, b"about").map(|a| a.trim().to_string()).filter(|a| !a.is_empty());
                feed.entries.push(adapt_item(read_item(xr, Ns::None, Prefer::Rss), about));
            }
            true
        }
        _ => false,
    });
    adapt_channel(channel, &mut feed);
    feed
}

/// Reads a channel; its items are adapted as they come, so a 30,000-item
/// feed never holds two forms of every item.
fn read_channel<'a>(xr: &mut XmlReader<'a>, ch: &mut RssChannel, entries: &mut Vec<ParsedEntry>, home: Ns) {
    children(xr, |xr, e| {
        if !e.ns.is_rss() && e.ns != home {
            if e.ns.is_atom() && e.name() == b"link" {
                ch.alternate = atom::alternate_href(xr, e).or(ch.alternate.take());
                return false;
            }
            return ch.ext.read(xr, e);
        }
        match e.name() {
            b"title" => {
                let t = guessed_title(&xr.read_text());
                ch.title = ch.title.take().or(t);
            }
            b"managingeditor" | b"author" => {
                if let Some(name) = person_name(&xr.read_text()) {
                    push_unique(&mut ch.authors, name);
                }
            }
            b"link" if xr.attr(e, Ns::None, b"href").is_some() => {
                ch.alternate = atom::alternate_href(xr, e).or(ch.alternate.take());
                return false;
            }
            b"link" => {
                let l = xr.read_text();
                if !l.trim().is_empty() {
                    ch.link = Some(resolve_link(&l, xr.base()));
                }
            }
            b"lastbuilddate" | b"updated" => ch.last_build_date = parse_date(&xr.read_text()).or(ch.last_build_date),
            b"pubdate" => ch.pub_date = parse_date(&xr.read_text()).or(ch.pub_date),
            b"ttl" => ch.ttl = xr.read_text().trim().parse().ok(),
            b"skiphours" => ch.skip_hours |= read_skip_hours(xr),
            b"skipdays" => ch.skip_days |= read_skip_days(xr),
            b"item" => {
                if xr.entry_fits(entries.len()) {
                    entries.push(adapt_item(read_item(xr, home, Prefer::Rss), None));
                }
            }
            _ => return false,
        }
        true
    });
}

impl RssItem {
    pub fn set_body(&mut self, c: String) {
        if self.body.is_none() && !c.trim().is_empty() {
            self.body = Some(c);
        }
    }

    /// Reads one RSS element of an item. Returns false, consuming nothing,
    /// for other names (an Atom-style `<link href>` included).
    pub fn read<'a>(&mut self, xr: &mut XmlReader<'a>, e: &Elem<'a>) -> bool {
        match e.name() {
            b"title" => self.title = guessed_title(&xr.read_text()).or(self.title.take()),
            b"link" if xr.attr(e, Ns::None, b"href").is_some() => return false,
            b"link" => {
                let l = xr.read_text();
                self.link_seen = true;
                if !l.trim().is_empty() {
                    self.link = Some(resolve_link(&l, xr.base()));
                }
            }
            b"guid" => self.read_guid(xr, e),
            b"description" | b"abstract" => {
                let d = xr.read_markup();
                self.description.get_or_insert(d);
            }
            b"fullitem" | b"body" => self.set_body(xr.read_markup()),
            b"pubdate" => self.pub_date = parse_date(&xr.read_text()).or(self.pub_date),
            b"author" => {
                if let Some(name) = person_name(&xr.read_text()) {
                    push_unique(&mut self.authors, name);
                }
            }
            b"category" | b"keywords" => push_unique(&mut self.categories, xr.read_text()),
            b"tags" => {
                for t in xr.read_text().split(',') {
                    push_unique(&mut self.categories, t.to_string());
                }
            }
            b"enclosure" => {
                let [url, ty, length] = xr.attrs(e, Ns::None, [b"url", b"type", b"length"]);
                let url = url.filter(|u| !u.trim().is_empty() && self.enclosures.len() < LIST_CEILING);
                if let Some(url) = url {
                    self.enclosures.push(Enclosure {
                        url: resolve_link(&url, xr.base()),
                        mime: ty.map(|t| t.trim().to_string()),
                        length: length.and_then(|l| l.trim().parse().ok()),
                        ..Default::default()
                    });
                }
                xr.skip();
            }
            _ => return false,
        }
        true
    }

    /// A permalink guid (the default) is a URL, resolved like a link.
    fn read_guid<'a>(&mut self, xr: &mut XmlReader<'a>, e: &Elem<'a>) {
        let permalink = xr.attr(e, Ns::None, b"isPermaLink").is_none_or(|p| !p.trim().eq_ignore_ascii_case("false"));
        // The guid's own base, taken before the element is read; only a
        // permalink needs it.
        let base = if permalink { xr.base().cloned() } else { None };
        let value = xr.read_text();
        let value = value.trim();
        if !value.is_empty() {
            self.guid = Some(if permalink { resolve_link(value, base.as_ref()) } else { value.to_string() });
            self.guid_is_permalink = permalink;
        }
    }

    /// The guid when it doubles as the item's URL.
    pub fn permalink(&self) -> Option<String> {
        self.guid.clone().filter(|_| self.guid_is_permalink)
    }
}

/// RSS precedence: RSS elements first, then Atom ones the item borrowed,
/// then extensions. A permalink guid is the link when no link was given.
pub fn adapt_item(mut p: ItemParts, about: Option<String>) -> ParsedEntry {
    let link_seen = p.rss.link_seen || p.atom.link_seen;
    let permalink = p.rss.permalink().or_else(|| p.atom.id.clone());
    let mut entry = ParsedEntry {
        id: p.rss.guid.take().or(p.atom.id.take()).or(about),
        title: p.rss.title.take().or(p.atom.title.take()).or(p.ext.title.take()).or(p.ext.media_title.take()),
        link: p.rss.link.take().or(p.atom.link.take()).or(permalink.filter(|_| !link_seen)),
        published: p.rss.pub_date.or(p.atom.published).or(p.ext.issued),
        updated: p.atom.updated.or(p.ext.date),
        content: p.ext.encoded.take().or(p.rss.body.take()).or(p.atom.content.take()),
        ..Default::default()
    };
    (entry.summary, entry.summary_kind) = p.take_summary(Prefer::Rss);
    p.merge_lists(&mut entry);
    entry
}

fn adapt_channel(ch: RssChannel, feed: &mut ParsedFeed) {
    feed.title = ch.title.or(ch.ext.title);
    feed.link = ch.link.or(ch.alternate);
    feed.updated = ch.ext.date.or(ch.last_build_date);
    feed.published = ch.pub_date.or(ch.ext.issued);
    feed.authors = ch.authors;
    for name in ch.ext.creators {
        push_unique(&mut feed.authors, name);
    }
    feed.ttl = ch.ttl;
    feed.hints =
        FeedHints { ttl: ttl_from_minutes(ch.ttl), update_period: ch.ext.sy.period(), skip_hours: ch.skip_hours, skip_days: ch.skip_days };
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
        assert_eq!(e.categories, ["World", "Politics", "a", "b", "News", "Daily"]);
        let img = e.image.as_ref().unwrap();
        assert_eq!(
            (img.url.as_str(), img.caption.as_deref(), img.credit.as_deref()),
            ("http://e.com/feed/img.jpg", Some("Cap"), Some("AP"))
        );
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
        assert_eq!(
            (img.url.as_str(), img.caption.as_deref(), img.credit.as_deref()),
            ("http://e.com/t.jpg", Some("A cap"), Some("Reuters"))
        );
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
        let f = parse(
            "<rss><channel><TiTlE>caf&eacute; AT&T</TiTlE><item><title>a</title><PUBDATE>2 Jan 2024</PUBDATE><guid>http://e.com/a</guid>",
            None,
        );
        assert_eq!(f.entries[0].published.unwrap().to_rfc3339(), "2024-01-02T00:00:00+00:00", "names match in any case");
        assert_eq!(f.format, FeedFormat::Rss);
        assert!(f.bozo);
        assert_eq!(f.title.as_deref(), Some("café AT&T"));
        assert_eq!(f.entries[0].link.as_deref(), Some("http://e.com/a"), "permalink guid doubles as link");
    }
}
