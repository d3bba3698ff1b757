//! JSON Feed 1.0 and 1.1 (jsonfeed.org).
//!
//! Read through typed structs, but leniently: ids may be numbers, unknown
//! keys are ignored, and a wrong type in one optional field drops only that
//! field, since publishers hand-write these documents.

use std::cell::Cell;

use serde::Deserialize;
use serde::de::{Deserializer, IgnoredAny, SeqAccess, Visitor};
use serde_json::Value;
use url::Url;

use super::limits::XmlCapped;

use super::date::parse_date;
use super::model::{Enclosure, EntryImage, FeedFormat, ParseError, ParsedEntry, ParsedFeed, TextKind, push_unique, resolve_link};
use super::xml::escape_into;
use crate::model::person::person_name;

#[derive(Deserialize, Default)]
#[serde(default)]
struct JsonFeed {
    version: Value,
    title: Value,
    home_page_url: Value,
    /// JSON Feed 1.1.
    authors: Value,
    /// JSON Feed 1.0 (deprecated in 1.1, still written).
    author: Value,
    items: Items,
}

thread_local! {
    /// `max_entries` for the document being read on this thread.
    static MAX_ITEMS: Cell<usize> = const { Cell::new(usize::MAX) };
}

/// The `items` array: the first `max_entries` items, and a count of the
/// rest, which are read past without being built.
#[derive(Default)]
struct Items {
    kept: Vec<Value>,
    skipped: u64,
}

impl<'de> Deserialize<'de> for Items {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Seq;
        impl<'de> Visitor<'de> for Seq {
            type Value = Items;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an array of items")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Items, A::Error> {
                let max = MAX_ITEMS.with(Cell::get);
                let mut items = Items::default();
                while items.kept.len() < max {
                    match seq.next_element::<Value>()? {
                        Some(v) => items.kept.push(v),
                        None => return Ok(items),
                    }
                }
                while seq.next_element::<IgnoredAny>()?.is_some() {
                    items.skipped += 1;
                }
                Ok(items)
            }
        }
        d.deserialize_seq(Seq)
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct JsonItem {
    id: Value,
    url: Value,
    external_url: Value,
    title: Value,
    content_html: Value,
    content_text: Value,
    summary: Value,
    image: Value,
    banner_image: Value,
    date_published: Value,
    date_modified: Value,
    author: Value,
    authors: Value,
    tags: Vec<Value>,
    attachments: Vec<Value>,
}

/// A string, or a number rendered as one (ids); anything else is absent.
fn string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Reads a JSON Feed; items past `max_entries` are counted, not read.
pub fn parse(bytes: &[u8], base: Option<&Url>, max_entries: usize) -> Result<(ParsedFeed, XmlCapped), ParseError> {
    MAX_ITEMS.with(|m| m.set(max_entries));
    let doc = serde_json::from_slice::<JsonFeed>(bytes);
    MAX_ITEMS.with(|m| m.set(usize::MAX));
    let doc = doc.map_err(|e| ParseError::Json(e.to_string()))?;
    let version = string(&doc.version).unwrap_or_default();
    let format = if version.ends_with("/1.1") {
        FeedFormat::JsonFeed11
    } else if version.contains("jsonfeed.org/version/1") {
        FeedFormat::JsonFeed10
    } else {
        return Err(ParseError::Json(format!("unknown version {version:?}")));
    };
    let mut feed = ParsedFeed::new(format);
    feed.title = string(&doc.title);
    feed.link = string(&doc.home_page_url).map(|l| resolve_link(&l, base));
    // JSON Feed has no feed id: `ParsedFeed::id` stays empty.
    feed.authors = authors(&doc.authors, &doc.author);
    let capped = XmlCapped { entries: doc.items.skipped, ..Default::default() };
    for raw in doc.items.kept {
        let Ok(item) = serde_json::from_value::<JsonItem>(raw) else {
            feed.bozo = true;
            feed.bozo_reason.get_or_insert_with(|| "malformed item".into());
            continue;
        };
        feed.entries.push(entry(item, base));
    }
    Ok((feed, capped))
}

/// `content_text` as HTML: escaped, line breaks kept.
fn text_to_html(text: &str) -> String {
    let mut html = String::with_capacity(text.len() + 16);
    escape_into(&mut html, text);
    html.replace('\n', "<br>\n")
}

/// Names of a 1.1 `authors` list, else of a 1.0 `author` object; an
/// author with only a `url` or `avatar` has no name and is left out.
fn authors(list: &Value, single: &Value) -> Vec<String> {
    let list = list.as_array().map(Vec::as_slice).unwrap_or_default();
    let mut names = Vec::new();
    for a in list.iter().chain(list.is_empty().then_some(single)) {
        if let Some(name) = string(&a["name"]).and_then(|n| person_name(&n)) {
            push_unique(&mut names, name);
        }
    }
    names
}

fn entry(item: JsonItem, base: Option<&Url>) -> ParsedEntry {
    let link = string(&item.url).or_else(|| string(&item.external_url)).map(|l| resolve_link(&l, base));
    let authors = authors(&item.authors, &item.author);
    let mut e = ParsedEntry {
        id: string(&item.id),
        title: string(&item.title),
        link,
        published: string(&item.date_published).and_then(|d| parse_date(&d)),
        updated: string(&item.date_modified).and_then(|d| parse_date(&d)),
        // "A plain text sentence or two" (JSON Feed 1.1): never markup.
        summary: string(&item.summary),
        summary_kind: TextKind::Text,
        content: string(&item.content_html).or_else(|| string(&item.content_text).map(|t| text_to_html(&t))),
        authors,
        image: string(&item.image)
            .or_else(|| string(&item.banner_image))
            .map(|u| EntryImage { url: resolve_link(&u, base), ..Default::default() }),
        ..Default::default()
    };
    for t in &item.tags {
        if let Some(t) = string(t) {
            e.add_category(&t);
        }
    }
    for a in &item.attachments {
        if let Some(url) = string(&a["url"]).filter(|_| e.enclosures.len() < super::limits::LIST_CEILING) {
            e.enclosures.push(Enclosure {
                url: resolve_link(&url, base),
                mime: string(&a["mime_type"]),
                length: a["size_in_bytes"].as_u64(),
                title: string(&a["title"]),
                duration: a["duration_in_seconds"].as_f64().filter(|d| d.is_finite() && *d > 0.0).map(|d| d.round() as u64),
                extension: false,
            });
        }
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_json_feed_11_leniently() {
        let doc = br#"{"version":"https://jsonfeed.org/version/1.1","title":"J","home_page_url":"https://e.com/",
          "items":[{"id":7,"url":"/a","title":"A","content_html":"<p>x</p>","date_published":"2024-01-02T03:04:05Z",
                    "authors":[{"name":"Ann"}],"tags":["x","x","y"],
                    "attachments":[{"url":"a.mp3","mime_type":"audio/mpeg","size_in_bytes":12}]},
                   "junk"]}"#;
        let base = Url::parse("https://e.com/feed.json").unwrap();
        let f = parse(doc, Some(&base), usize::MAX).unwrap().0;
        assert_eq!(f.format, FeedFormat::JsonFeed11);
        assert!(f.bozo);
        let e = &f.entries[0];
        assert_eq!(e.id.as_deref(), Some("7"));
        assert_eq!(e.link.as_deref(), Some("https://e.com/a"));
        assert_eq!(e.categories, ["x", "y"]);
        assert_eq!(e.enclosures[0].url, "https://e.com/a.mp3");
        assert_eq!(e.enclosures[0].length, Some(12));
        assert_eq!(e.authors, ["Ann"]);
    }

    #[test]
    fn text_content_is_escaped() {
        let doc = br#"{"version":"https://jsonfeed.org/version/1","items":[{"id":"1","content_text":"a<b\nc"}]}"#;
        assert_eq!(parse(doc, None, usize::MAX).unwrap().0.entries[0].content.as_deref(), Some("a&lt;b<br>\nc"));
    }

    #[test]
    fn rejects_other_json() {
        assert!(parse(br#"{"a":1}"#, None, usize::MAX).is_err());
        assert!(parse(b"{", None, usize::MAX).is_err());
    }
}
