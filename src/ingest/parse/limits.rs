//! Caps on what one feed may cost: every limit the parser enforces, with
//! its default, in one place.
//!
//! A feed over a cap is never refused for it: what is over is cut (text,
//! at a character boundary) or dropped (entries past the count, URLs too
//! long to be real, elements nested too deep), and the feed carries a
//! note saying so ([`ParsedFeed::notes`]), which `build` prints under the
//! source and `wirefeed sources` shows.
//!
//! The counts are checked where the parser already is (one comparison
//! per entry, per element, per list item), and the sizes once per entry
//! after the parse, so a normal feed pays nothing it would notice.

use super::model::{ParsedEntry, ParsedFeed};

/// Most items one vocabulary of an entry collects into a list (categories,
/// authors, attachments) while parsing. Lists are kept free of repeats,
/// which costs a comparison per item already there; this ceiling keeps
/// that bounded whatever the feed. The caps in [`Limits`] are at most this.
pub const LIST_CEILING: usize = 512;

/// Every cap on one feed document. `Limits::default()` is what `wirefeed
/// parse` uses; `build` and `run` take the config's `[limits]`, whose keys
/// are these fields' names (any left out keep their default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Entries read from one document; later ones are skipped unread.
    pub max_entries: usize,
    /// Bytes of a title (the feed's, an entry's, an attachment's).
    pub max_title_bytes: usize,
    /// Bytes of an entry's summary.
    pub max_summary_bytes: usize,
    /// Bytes of an entry's content.
    pub max_content_bytes: usize,
    /// Bytes of one category or author name, an image caption or credit.
    pub max_label_bytes: usize,
    /// Categories per entry.
    pub max_categories: usize,
    /// Authors per entry (and per feed).
    pub max_authors: usize,
    /// Attachments (enclosures) per entry.
    pub max_attachments: usize,
    /// Bytes of a link, id, image or attachment URL: a longer one is
    /// dropped, since a cut URL points nowhere.
    pub max_url_bytes: usize,
    /// XML elements open at once; an element deeper than this is dropped
    /// with everything inside it. In a JSON Feed, arrays and objects
    /// nested at once (at most [`super::json::JSON_DEPTH_CEILING`], at
    /// least 3); a deeper one is dropped.
    pub max_depth: usize,
    /// Attributes of one XML element read; later ones are ignored.
    pub max_attributes: usize,
    /// Bytes of one XML attribute value read; a longer one is ignored.
    pub max_attribute_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_entries: 10_000,
            max_title_bytes: 4 * 1024,
            max_summary_bytes: 1024 * 1024,
            max_content_bytes: 2 * 1024 * 1024,
            max_label_bytes: 1024,
            max_categories: 100,
            max_authors: 50,
            max_attachments: 50,
            max_url_bytes: 8 * 1024,
            max_depth: 256,
            max_attributes: 256,
            max_attribute_bytes: 64 * 1024,
        }
    }
}

impl Limits {
    /// The first cap set to 0, which would read nothing at all.
    pub fn zero_field(&self) -> Option<&'static str> {
        let fields = [
            ("max_entries", self.max_entries),
            ("max_title_bytes", self.max_title_bytes),
            ("max_summary_bytes", self.max_summary_bytes),
            ("max_content_bytes", self.max_content_bytes),
            ("max_label_bytes", self.max_label_bytes),
            ("max_categories", self.max_categories),
            ("max_authors", self.max_authors),
            ("max_attachments", self.max_attachments),
            ("max_url_bytes", self.max_url_bytes),
            ("max_depth", self.max_depth),
            ("max_attributes", self.max_attributes),
            ("max_attribute_bytes", self.max_attribute_bytes),
        ];
        fields.into_iter().find(|(_, v)| *v == 0).map(|(k, _)| k)
    }
}

/// Cuts `s` to at most `max` bytes, at a character boundary. Returns
/// whether anything was cut.
#[inline]
pub fn truncate_utf8(s: &mut String, max: usize) -> bool {
    if s.len() <= max {
        return false;
    }
    cut_at_boundary(s, max);
    true
}

#[cold]
fn cut_at_boundary(s: &mut String, max: usize) {
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.truncate(end);
    s.shrink_to_fit();
}

/// What the XML layer left out, counted as it reads.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct XmlCapped {
    /// Elements dropped (with their content) for being nested too deep.
    pub too_deep: u64,
    /// Elements with more attributes than were read.
    pub many_attributes: u64,
    /// Attribute values ignored for their length.
    pub long_attributes: u64,
    /// Entries past `max_entries`, skipped.
    pub entries: u64,
    /// JSON arrays and objects dropped for being nested too deep (see
    /// [`super::json::json_depth_cap`]).
    pub json_too_deep: u64,
}

/// Counts of what [`Limits::apply`] cut or dropped, for the notes.
#[derive(Debug, Default)]
struct Cut {
    titles: u64,
    summaries: u64,
    contents: u64,
    labels: u64,
    urls: u64,
    categories: u64,
    authors: u64,
    attachments: u64,
}

#[inline]
fn cut_opt(s: &mut Option<String>, max: usize) -> u64 {
    s.as_mut().map_or(0, |s| truncate_utf8(s, max) as u64)
}

/// Drops a URL (or id) over `max` bytes.
fn drop_long(s: &mut Option<String>, max: usize) -> u64 {
    match s {
        Some(u) if u.len() > max => {
            *s = None;
            1
        }
        _ => 0,
    }
}

fn cut_list(list: &mut Vec<String>, max_items: usize, max_bytes: usize, cut: &mut Cut) -> u64 {
    for item in list.iter_mut() {
        cut.labels += truncate_utf8(item, max_bytes) as u64;
    }
    if list.len() > max_items {
        list.truncate(max_items);
        return 1;
    }
    0
}

/// `1 entry` / `3 entries`.
fn n(k: u64, one: &str, many: &str) -> String {
    format!("{k} {}", if k == 1 { one } else { many })
}

impl Limits {
    /// The caps no larger than the list ceiling the parser enforces.
    fn lists(&self) -> (usize, usize, usize) {
        let c = LIST_CEILING - 1;
        (self.max_categories.min(c), self.max_authors.min(c), self.max_attachments.min(c))
    }

    fn entry(&self, e: &mut ParsedEntry, cut: &mut Cut) {
        let (max_categories, max_authors, max_attachments) = self.lists();
        cut.titles += cut_opt(&mut e.title, self.max_title_bytes);
        cut.summaries += cut_opt(&mut e.summary, self.max_summary_bytes);
        cut.contents += cut_opt(&mut e.content, self.max_content_bytes);
        cut.urls += drop_long(&mut e.link, self.max_url_bytes) + drop_long(&mut e.id, self.max_url_bytes);
        cut.categories += cut_list(&mut e.categories, max_categories, self.max_label_bytes, cut);
        cut.authors += cut_list(&mut e.authors, max_authors, self.max_label_bytes, cut);
        if e.image.as_ref().is_some_and(|i| i.url.len() > self.max_url_bytes) {
            e.image = None;
            cut.urls += 1;
        }
        if let Some(i) = &mut e.image {
            cut.labels += cut_opt(&mut i.caption, self.max_label_bytes) + cut_opt(&mut i.credit, self.max_label_bytes);
        }
        if e.enclosures.len() > max_attachments {
            e.enclosures.truncate(max_attachments);
            cut.attachments += 1;
        }
        let before = e.enclosures.len();
        e.enclosures.retain(|a| a.url.len() <= self.max_url_bytes);
        cut.urls += (before - e.enclosures.len()) as u64;
        for a in &mut e.enclosures {
            cut.titles += cut_opt(&mut a.title, self.max_title_bytes);
            cut.labels += cut_opt(&mut a.mime, self.max_label_bytes);
        }
    }

    /// Cuts what is over a cap in a parsed feed, and adds a note for each
    /// kind of cut, with what the XML layer left out (`xml`).
    pub fn apply(&self, feed: &mut ParsedFeed, xml: XmlCapped) {
        let mut cut = Cut::default();
        cut.titles += cut_opt(&mut feed.title, self.max_title_bytes);
        cut.urls += drop_long(&mut feed.link, self.max_url_bytes) + drop_long(&mut feed.id, self.max_url_bytes);
        cut.authors += cut_list(&mut feed.authors, self.lists().1, self.max_label_bytes, &mut cut);
        for e in &mut feed.entries {
            self.entry(e, &mut cut);
        }
        let notes = &mut feed.notes;
        if xml.entries > 0 {
            notes.push(format!(
                "capped: more than {} entries; read the first {}, skipped {} (max_entries)",
                self.max_entries,
                self.max_entries,
                n(xml.entries, "more", "more")
            ));
        }
        // The message is built only for a cap that was hit: most feeds hit none.
        let mut note = |k: u64, what: &dyn Fn() -> String| {
            if k > 0 {
                notes.push(format!("capped: {}", what()));
            }
        };
        note(cut.titles, &|| format!("{} cut to {} bytes (max_title_bytes)", n(cut.titles, "title", "titles"), self.max_title_bytes));
        note(cut.summaries, &|| {
            format!("{} cut to {} bytes (max_summary_bytes)", n(cut.summaries, "summary", "summaries"), self.max_summary_bytes)
        });
        note(cut.contents, &|| {
            format!(
                "{} cut to {} bytes (max_content_bytes)",
                n(cut.contents, "entry's content", "entries' content"),
                self.max_content_bytes
            )
        });
        note(cut.labels, &|| {
            format!(
                "{} (category, author, caption, credit, type) cut to {} bytes (max_label_bytes)",
                n(cut.labels, "name", "names"),
                self.max_label_bytes
            )
        });
        note(cut.urls, &|| {
            format!("{} longer than {} bytes dropped (max_url_bytes)", n(cut.urls, "URL or id", "URLs or ids"), self.max_url_bytes)
        });
        let (max_categories, max_authors, max_attachments) = self.lists();
        note(cut.categories, &|| {
            format!("{} kept only their first {max_categories} categories (max_categories)", n(cut.categories, "entry", "entries"))
        });
        note(cut.authors, &|| format!("{} kept only the first {max_authors} authors (max_authors)", n(cut.authors, "list", "lists")));
        note(cut.attachments, &|| {
            format!("{} kept only their first {max_attachments} attachments (max_attachments)", n(cut.attachments, "entry", "entries"))
        });
        note(xml.too_deep, &|| {
            format!(
                "{} nested deeper than {} levels dropped with their content (max_depth)",
                n(xml.too_deep, "element", "elements"),
                self.max_depth
            )
        });
        note(xml.json_too_deep, &|| {
            format!(
                "{} nested deeper than {} levels dropped (max_depth; JSON at most {})",
                n(xml.json_too_deep, "JSON value", "JSON values"),
                super::json::json_depth_cap(self.max_depth),
                super::json::JSON_DEPTH_CEILING
            )
        });
        note(xml.many_attributes, &|| {
            format!(
                "{} with more than {} attributes: the rest ignored (max_attributes)",
                n(xml.many_attributes, "element", "elements"),
                self.max_attributes
            )
        });
        note(xml.long_attributes, &|| {
            format!(
                "{} longer than {} bytes ignored (max_attribute_bytes)",
                n(xml.long_attributes, "attribute value", "attribute values"),
                self.max_attribute_bytes
            )
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_keeps_whole_characters() {
        let cases = [
            ("ascii under", "abc", 5, "abc", false),
            ("ascii exact", "abc", 3, "abc", false),
            ("ascii over", "abcdef", 4, "abcd", true),
            ("two-byte char split", "aé", 2, "a", true),
            ("three-byte char split", "a€b", 3, "a", true),
            ("four-byte char split", "😀😀", 6, "😀", true),
            ("boundary exactly", "é€", 5, "é€", false),
            ("to nothing", "€", 2, "", true),
        ];
        for (name, input, max, want, cut) in cases {
            let mut s = input.to_string();
            assert_eq!(truncate_utf8(&mut s, max), cut, "{name}");
            assert_eq!(s, want, "{name}");
        }
    }

    #[test]
    fn list_caps_stay_under_the_parse_ceiling() {
        let l = Limits { max_categories: 10_000, ..Limits::default() };
        assert_eq!(l.lists().0, LIST_CEILING - 1);
    }
}
