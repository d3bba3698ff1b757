//! Extension namespaces shared by RSS, RDF and Atom: Dublin Core,
//! `content:encoded`, Media RSS and iTunes. They mean the same wherever they
//! appear, so they parse into one struct per level (item, feed) that every
//! format embeds; each format's adapter decides what they stand in for.

use chrono::{DateTime, Utc};

use super::date::parse_date;
use super::hints::Syndication;
use super::item::children;
use super::model::{EntryImage, resolve_link};
use super::xml::{Elem, Ev, Ns, XmlReader};

/// Media RSS and iTunes elements nest (`media:group`, sub-categories);
/// past this depth a document is hostile, and recursing further could
/// exhaust the stack.
const MAX_NESTING: usize = 48;

/// Extension elements of one item or entry, as found.
#[derive(Debug, Default)]
pub struct ExtItem {
    /// `dc:title`.
    pub title: Option<String>,
    /// `media:title`.
    pub media_title: Option<String>,
    /// `dc:creator`, `dc:author`, `dc:contributor`, `itunes:author`.
    pub creators: Vec<String>,
    /// `dc:subject`, `itunes:category` (every level), iTunes and Media
    /// keywords, `media:category`.
    pub subjects: Vec<String>,
    /// `dc:date`, `dcterms:modified`.
    pub date: Option<DateTime<Utc>>,
    /// `dcterms:issued`.
    pub issued: Option<DateTime<Utc>>,
    /// `dc:description`, `itunes:summary`, `media:description`.
    pub description: Option<String>,
    /// `content:encoded`.
    pub encoded: Option<String>,
    /// Media RSS picture or `itunes:image`, with caption and credit. The
    /// URL is empty while only a caption or credit has been seen.
    pub image: EntryImage,
}

/// Feed-level extension elements.
#[derive(Debug, Default)]
pub struct ExtFeed {
    pub title: Option<String>,
    pub date: Option<DateTime<Utc>>,
    pub issued: Option<DateTime<Utc>>,
    /// `sy:updatePeriod` and `sy:updateFrequency`.
    pub sy: Syndication,
}

fn set_if_none(slot: &mut Option<String>, value: String) {
    if slot.is_none() && !value.trim().is_empty() {
        *slot = Some(value);
    }
}

fn push_trimmed(list: &mut Vec<String>, value: &str) {
    let v = value.trim();
    if !v.is_empty() && !list.iter().any(|x| x == v) {
        list.push(v.to_string());
    }
}

impl ExtItem {
    /// Reads one extension element. Returns false, consuming nothing, when
    /// the element is not one we know.
    pub fn read<'a>(&mut self, xr: &mut XmlReader<'a>, e: &Elem<'a>) -> bool {
        if xr.depth() > MAX_NESTING {
            return false;
        }
        match (e.ns, e.name()) {
            (Ns::Dc, b"title") => set_if_none(&mut self.title, xr.read_text().trim().to_string()),
            (Ns::Dc, b"creator" | b"author" | b"contributor") | (Ns::Itunes, b"author") => {
                push_trimmed(&mut self.creators, &xr.read_text())
            }
            (Ns::Dc, b"subject") => push_trimmed(&mut self.subjects, &xr.read_text()),
            (Ns::Dc, b"date") | (Ns::DcTerms, b"modified") => self.date = parse_date(&xr.read_text()).or(self.date),
            (Ns::DcTerms, b"issued") => self.issued = parse_date(&xr.read_text()).or(self.issued),
            (Ns::Dc, b"description") | (Ns::Itunes, b"summary") => set_if_none(&mut self.description, xr.read_markup()),
            (Ns::Content, b"encoded") => set_if_none(&mut self.encoded, xr.read_markup()),
            (Ns::Itunes, b"keywords") | (Ns::Media, b"keywords") => {
                for k in xr.read_text().split(',') {
                    push_trimmed(&mut self.subjects, k);
                }
            }
            (Ns::Itunes, b"category") => itunes_category(xr, e, &mut self.subjects),
            (Ns::Itunes, b"image") => {
                let href = xr.attr(e, Ns::None, b"href").or_else(|| xr.attr(e, Ns::None, b"url"));
                if let Some(h) = href.filter(|h| !h.trim().is_empty()) {
                    self.set_image_url(&h, xr);
                }
                xr.skip();
            }
            (Ns::Media, _) => self.media(xr, e),
            _ => return false,
        }
        true
    }

    fn set_image_url(&mut self, url: &str, xr: &XmlReader<'_>) {
        if self.image.url.is_empty() {
            self.image.url = resolve_link(url, xr.base());
        }
    }

    /// The picture, if any URL was found for it.
    pub fn take_image(&mut self) -> Option<EntryImage> {
        (!self.image.url.is_empty()).then(|| std::mem::take(&mut self.image))
    }

    /// Media RSS: the lead image (`media:content`/`media:thumbnail`), its
    /// caption and credit (which may come first), and `media:group`
    /// wrapping any of them.
    fn media<'a>(&mut self, xr: &mut XmlReader<'a>, e: &Elem<'a>) {
        match e.name() {
            b"group" => children(xr, |xr, child| self.read(xr, child)),
            b"content" | b"thumbnail" => {
                let is_image = e.name() == b"thumbnail"
                    || xr.attr(e, Ns::None, b"medium").is_some_and(|m| m == "image")
                    || xr.attr(e, Ns::None, b"type").is_some_and(|t| t.starts_with("image/"));
                let url = xr.attr(e, Ns::None, b"url").filter(|u| !u.trim().is_empty());
                if let (true, Some(url)) = (is_image, url) {
                    self.set_image_url(&url, xr);
                }
                // media:content may itself hold description/credit/thumbnail.
                children(xr, |xr, child| self.read(xr, child));
            }
            b"description" => {
                let text = xr.read_markup();
                self.image.caption.get_or_insert_with(|| text.trim().to_string());
                set_if_none(&mut self.description, text);
            }
            b"credit" => {
                let text = xr.read_text();
                self.image.credit.get_or_insert_with(|| text.trim().to_string());
            }
            b"title" => set_if_none(&mut self.media_title, xr.read_text().trim().to_string()),
            b"category" => push_trimmed(&mut self.subjects, &xr.read_text()),
            _ => xr.skip(),
        }
    }
}

/// `itunes:category` nests sub-categories; every level is a category.
fn itunes_category<'a>(xr: &mut XmlReader<'a>, e: &Elem<'a>, cats: &mut Vec<String>) {
    if let Some(t) = xr.attr(e, Ns::None, b"text") {
        push_trimmed(cats, &t);
    }
    let depth = xr.depth();
    loop {
        match xr.next() {
            Ev::Start(child) if child.ns == Ns::Itunes && child.name() == b"category" && xr.depth() <= MAX_NESTING => {
                itunes_category(xr, &child, cats)
            }
            Ev::Start(_) => xr.skip(),
            Ev::End(_) if xr.depth() < depth => return,
            Ev::Eof => return,
            _ => {}
        }
    }
}

impl ExtFeed {
    /// Reads one feed-level extension element; false when not handled.
    pub fn read<'a>(&mut self, xr: &mut XmlReader<'a>, e: &Elem<'a>) -> bool {
        match (e.ns, e.name()) {
            (Ns::Dc, b"title") => set_if_none(&mut self.title, xr.read_text().trim().to_string()),
            (Ns::Dc, b"date") | (Ns::DcTerms, b"modified") => self.date = parse_date(&xr.read_text()).or(self.date),
            (Ns::DcTerms, b"issued") => self.issued = parse_date(&xr.read_text()).or(self.issued),
            (Ns::Syndication, _) => return self.sy.read(xr, e),
            _ => return false,
        }
        true
    }
}
