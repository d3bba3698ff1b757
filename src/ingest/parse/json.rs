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

/// Deepest nesting of arrays and objects read from a JSON Feed, whatever
/// `max_depth` says: serde_json refuses a whole document nested past 128
/// levels, so deeper values are dropped before it reads them.
pub const JSON_DEPTH_CEILING: usize = 120;

/// The levels a JSON Feed needs to have items at all (the feed object,
/// `items`, an item): never capped away, however low `max_depth` is.
const JSON_DEPTH_FLOOR: usize = 3;

/// The nesting cap for a JSON document under `max_depth`.
pub fn json_depth_cap(max_depth: usize) -> usize {
    max_depth.clamp(JSON_DEPTH_FLOOR, JSON_DEPTH_CEILING)
}

/// Replaces every array or object that opens deeper than `max` levels (the
/// document's outer value being level 1) by `null`, in one pass over the
/// bytes (strings and their escapes skipped as JSON has them). `None` when
/// nothing is that deep, the usual case, which costs one scan and no copy;
/// else the document rewritten and how many values it dropped. Malformed
/// JSON stays malformed (serde_json then says where).
fn drop_too_deep(bytes: &[u8], max: usize) -> Option<(Vec<u8>, u64)> {
    let too_deep = {
        let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
        bytes.iter().any(|&b| {
            if in_string {
                match (escaped, b) {
                    (true, _) => escaped = false,
                    (false, b'\\') => escaped = true,
                    (false, b'"') => in_string = false,
                    _ => {}
                }
                return false;
            }
            match b {
                b'"' => in_string = true,
                b'[' | b'{' => depth += 1,
                b']' | b'}' => depth = depth.saturating_sub(1),
                _ => {}
            }
            depth > max
        })
    };
    if !too_deep {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len());
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    // The level of the value being dropped, while one is.
    let mut dropping: Option<usize> = None;
    let mut dropped = 0;
    for &b in bytes {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
        } else {
            match b {
                b'"' => in_string = true,
                b'[' | b'{' => {
                    depth += 1;
                    if dropping.is_none() && depth > max {
                        dropping = Some(depth);
                        dropped += 1;
                        out.extend_from_slice(b"null");
                    }
                }
                b']' | b'}' => {
                    let closing = depth;
                    depth = depth.saturating_sub(1);
                    if dropping == Some(closing) {
                        dropping = None;
                        continue;
                    }
                }
                _ => {}
            }
        }
        if dropping.is_none() {
            out.push(b);
        }
    }
    Some((out, dropped))
}

/// Reads a JSON Feed; items past `max_entries` are counted, not read;
/// arrays and objects nested deeper than [`json_depth_cap`]`(max_depth)`
/// are dropped (read as `null`: the field they were is absent, an item that
/// was one is malformed), counted for the note.
pub fn parse(bytes: &[u8], base: Option<&Url>, max_entries: usize, max_depth: usize) -> Result<(ParsedFeed, XmlCapped), ParseError> {
    let flattened = drop_too_deep(bytes, json_depth_cap(max_depth));
    let (bytes, too_deep) = match &flattened {
        Some((flat, dropped)) => (flat.as_slice(), *dropped),
        None => (bytes, 0),
    };
    MAX_ITEMS.with(|m| m.set(max_entries));
    let doc = serde_json::from_slice::<JsonFeed>(bytes);
    MAX_ITEMS.with(|m| m.set(usize::MAX));
    drop(flattened);
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
    let capped = XmlCapped { entries: doc.items.skipped, json_too_deep: too_deep, ..Default::default() };
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
    fn values_too_deep_become_null_and_strings_are_left_alone() {
        type Case<'a> = (&'a str, &'a [u8], usize, Option<(&'a [u8], u64)>);
        let cases: [Case; 6] = [
            ("nothing too deep", br#"{"a":[1,{"b":2}]}"#, 3, None),
            ("one array too deep", br#"{"a":[[1]],"b":2}"#, 2, Some((br#"{"a":[null],"b":2}"#, 1))),
            ("two at the same level", br#"[[[1]],[[2],3]]"#, 2, Some((br#"[[null],[null,3]]"#, 2))),
            ("brackets in strings", br#"{"a":"[[[[","b":["]]]]\"[["]}"#, 2, None),
            ("an escaped backslash ends a string", br#"{"a":"\\","b":[[1]]}"#, 2, Some((br#"{"a":"\\","b":[null]}"#, 1))),
            ("unbalanced stays unbalanced", br#"{"a":[[[1]}"#, 2, Some((br#"{"a":[null"#, 1))),
        ];
        for (name, input, max, want) in cases {
            let got = drop_too_deep(input, max);
            assert_eq!(got.as_ref().map(|(v, n)| (v.as_slice(), *n)), want, "{name}");
        }
    }

    #[test]
    fn reads_json_feed_11_leniently() {
        let doc = br#"{"version":"https://jsonfeed.org/version/1.1","title":"J","home_page_url":"https://e.com/",
          "items":[{"id":7,"url":"/a","title":"A","content_html":"<p>x</p>","date_published":"2024-01-02T03:04:05Z",
                    "authors":[{"name":"Ann"}],"tags":["x","x","y"],
                    "attachments":[{"url":"a.mp3","mime_type":"audio/mpeg","size_in_bytes":12}]},
                   "junk"]}"#;
        let base = Url::parse("https://e.com/feed.json").unwrap();
        let f = parse(doc, Some(&base), usize::MAX, 256).unwrap().0;
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
        assert_eq!(parse(doc, None, usize::MAX, 256).unwrap().0.entries[0].content.as_deref(), Some("a&lt;b<br>\nc"));
    }

    #[test]
    fn rejects_other_json() {
        assert!(parse(br#"{"a":1}"#, None, usize::MAX, 256).is_err());
        assert!(parse(b"{", None, usize::MAX, 256).is_err());
    }
}
