//! Extension namespaces shared by RSS, RDF and Atom: Dublin Core,
//! `content:encoded`, Media RSS and iTunes. They mean the same wherever they
//! appear, so one place reads them for every format.

use super::date::parse_date;
use super::model::{EntryImage, ParsedEntry, ParsedFeed, resolve_link};
use super::rss::children;
use super::xml::{Elem, Ev, Ns, XmlReader};

/// Media RSS and iTunes elements nest (`media:group`, sub-categories);
/// past this depth a document is hostile, and recursing further could
/// exhaust the stack.
const MAX_NESTING: usize = 48;

fn set_if_none(slot: &mut Option<String>, value: String) {
    if slot.is_none() && !value.trim().is_empty() {
        *slot = Some(value);
    }
}

fn trimmed(s: String) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| if t.len() == s.len() { s.clone() } else { t.to_string() })
}

/// Reads an extension element inside an entry. Returns false when the
/// element is not one we know, so the caller can skip it.
pub fn entry_ext<'a>(xr: &mut XmlReader<'a>, e: &Elem<'a>, entry: &mut ParsedEntry) -> bool {
    if xr.depth() > MAX_NESTING {
        return false;
    }
    match (e.ns, e.name()) {
        (Ns::Dc, b"title") => set_if_none(&mut entry.title, xr.read_text().trim().to_string()),
        (Ns::Dc, b"creator" | b"author" | b"contributor") | (Ns::Itunes, b"author") => {
            if let Some(a) = trimmed(xr.read_text()) {
                entry.authors.push(a);
            }
        }
        (Ns::Dc, b"subject") => entry.add_category(&xr.read_text()),
        (Ns::Dc, b"date") | (Ns::DcTerms, b"modified") => entry.updated = parse_date(&xr.read_text()).or(entry.updated),
        (Ns::DcTerms, b"issued") => entry.published = parse_date(&xr.read_text()).or(entry.published),
        (Ns::Dc, b"description") | (Ns::Itunes, b"summary") => set_if_none(&mut entry.summary, xr.read_markup()),
        (Ns::Content, b"encoded") => set_if_none(&mut entry.content, xr.read_markup()),
        (Ns::Itunes, b"keywords") | (Ns::Media, b"keywords") => {
            for k in xr.read_text().split(',') {
                entry.add_category(k);
            }
        }
        (Ns::Itunes, b"category") => itunes_category(xr, e, &mut entry.categories),
        (Ns::Itunes, b"image") => {
            let href = xr.attr(e, Ns::None, b"href").or_else(|| xr.attr(e, Ns::None, b"url"));
            if let Some(h) = href.filter(|h| !h.trim().is_empty()) {
                let img = entry.image.get_or_insert_with(EntryImage::default);
                if img.url.is_empty() {
                    img.url = resolve_link(&h, xr.base());
                }
            }
            xr.skip();
        }
        (Ns::Media, _) => media(xr, e, entry),
        _ => return false,
    }
    true
}

/// `itunes:category` nests sub-categories; every level is a category.
fn itunes_category<'a>(xr: &mut XmlReader<'a>, e: &Elem<'a>, cats: &mut Vec<String>) {
    if let Some(t) = xr.attr(e, Ns::None, b"text") {
        let t = t.trim();
        if !t.is_empty() && !cats.iter().any(|c| c == t) {
            cats.push(t.to_string());
        }
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

/// Media RSS: the lead image (`media:content`/`media:thumbnail`), its
/// caption and credit, and `media:group` wrapping any of them.
fn media<'a>(xr: &mut XmlReader<'a>, e: &Elem<'a>, entry: &mut ParsedEntry) {
    match e.name() {
        b"group" => children(xr, |xr, child| entry_ext(xr, child, entry)),
        b"content" | b"thumbnail" => {
            let is_image = e.name() == b"thumbnail"
                || xr.attr(e, Ns::None, b"medium").is_some_and(|m| m == "image")
                || xr.attr(e, Ns::None, b"type").is_some_and(|t| t.starts_with("image/"));
            let url = xr.attr(e, Ns::None, b"url").filter(|u| !u.trim().is_empty());
            if let (true, Some(url)) = (is_image, url) {
                // The caption and credit may have come first (`media:group`).
                let img = entry.image.get_or_insert_with(EntryImage::default);
                if img.url.is_empty() {
                    img.url = resolve_link(&url, xr.base());
                }
            }
            // media:content may itself hold description/credit/thumbnail.
            children(xr, |xr, child| entry_ext(xr, child, entry));
        }
        b"description" => {
            let text = xr.read_markup();
            let img = entry.image.get_or_insert_with(EntryImage::default);
            img.caption.get_or_insert_with(|| text.trim().to_string());
            set_if_none(&mut entry.summary, text);
        }
        b"credit" => {
            let text = xr.read_text();
            let img = entry.image.get_or_insert_with(EntryImage::default);
            img.credit.get_or_insert_with(|| text.trim().to_string());
        }
        b"title" => set_if_none(&mut entry.title, xr.read_text().trim().to_string()),
        b"category" => entry.add_category(&xr.read_text()),
        _ => xr.skip(),
    }
}

/// Feed-level extension elements. Returns false when not handled.
pub fn feed_ext<'a>(xr: &mut XmlReader<'a>, e: &Elem<'a>, feed: &mut ParsedFeed) -> bool {
    match (e.ns, e.name()) {
        (Ns::Dc, b"title") => set_if_none(&mut feed.title, xr.read_text().trim().to_string()),
        (Ns::Dc, b"date") | (Ns::DcTerms, b"modified") => feed.updated = parse_date(&xr.read_text()).or(feed.updated),
        (Ns::DcTerms, b"issued") => feed.published = parse_date(&xr.read_text()).or(feed.published),
        _ => return false,
    }
    true
}
