//! What the parser hands out: one shape for every format, close to the
//! feed (raw HTML, links as resolved by the feed's own base), so callers
//! decide how to clean it. [`ParsedEntry::into_draft`] is the adapter onto
//! the story model.

use chrono::{DateTime, Utc};
use url::Url;

use super::hints::FeedHints;
use super::limits::LIST_CEILING;
use crate::model::{Attachment, Image, StoryDraft};

/// The HTTP context of a fetched document.
#[derive(Debug, Clone, Default)]
pub struct ParseContext {
    /// Document URL (Content-Location, else the request URL): the base for
    /// relative links when the feed has no `xml:base`.
    pub base_url: Option<Url>,
    /// The Content-Type response header, charset included.
    pub content_type: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedFormat {
    Rss090,
    Rss091,
    Rss092,
    Rss093,
    Rss094,
    Rss20,
    /// `<rss>` without a recognisable version.
    Rss,
    Rss10,
    Atom03,
    Atom10,
    JsonFeed10,
    JsonFeed11,
}

impl FeedFormat {
    /// feedparser's name for the format, for reports.
    pub fn as_str(self) -> &'static str {
        match self {
            FeedFormat::Rss090 => "rss090",
            FeedFormat::Rss091 => "rss091u",
            FeedFormat::Rss092 => "rss092",
            FeedFormat::Rss093 => "rss093",
            FeedFormat::Rss094 => "rss094",
            FeedFormat::Rss20 => "rss20",
            FeedFormat::Rss => "rss",
            FeedFormat::Rss10 => "rss10",
            FeedFormat::Atom03 => "atom03",
            FeedFormat::Atom10 => "atom10",
            FeedFormat::JsonFeed10 => "json1",
            FeedFormat::JsonFeed11 => "json11",
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParseError {
    #[error("empty document")]
    Empty,
    #[error("not a feed: {0}")]
    NotAFeed(String),
    #[error("invalid JSON feed: {0}")]
    Json(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct ParsedFeed {
    pub format: FeedFormat,
    /// The document was not well-formed or its charset was mis-declared;
    /// the parse still recovered what it could.
    pub bozo: bool,
    pub bozo_reason: Option<String>,
    /// The feed's own id (Atom `<id>`).
    pub id: Option<String>,
    pub title: Option<String>,
    pub link: Option<String>,
    pub updated: Option<DateTime<Utc>>,
    pub published: Option<DateTime<Utc>>,
    /// Feed-level authors (Atom `<feed><author>`, JSON Feed `authors`,
    /// RSS `managingEditor`, channel `dc:creator`): entries without
    /// authors of their own are by them.
    pub authors: Vec<String>,
    /// RSS `<ttl>`, minutes: how long the publisher asks us to wait.
    pub ttl: Option<u32>,
    /// What the feed says about how often to fetch it (for `wirefeed run`).
    pub hints: FeedHints,
    pub entries: Vec<ParsedEntry>,
    /// What the parser cut or dropped to keep within its [`super::Limits`],
    /// one line per kind of cut; empty for nearly every feed.
    pub notes: Vec<String>,
}

impl ParsedFeed {
    pub fn new(format: FeedFormat) -> Self {
        ParsedFeed {
            format,
            bozo: false,
            bozo_reason: None,
            id: None,
            title: None,
            link: None,
            updated: None,
            published: None,
            authors: Vec::new(),
            ttl: None,
            hints: FeedHints::default(),
            entries: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// Removes later entries whose id repeats an earlier one: feeds repeat
    /// items, and a story must appear once. Linear, for 30,000-item feeds.
    pub fn dedup_entries(&mut self) {
        let mut seen = std::collections::HashSet::with_capacity(self.entries.len());
        let keep: Vec<bool> = self.entries.iter().map(|e| e.id.as_deref().is_none_or(|id| seen.insert(id))).collect();
        let mut it = keep.into_iter();
        self.entries.retain(|_| it.next().unwrap_or(true));
    }
}

/// A file attached to an entry, as the feed gives it: RSS `<enclosure>`,
/// Atom `<link rel="enclosure">`, JSON Feed `attachments`, Media RSS
/// `media:content` that is not a picture, and RSS 1.0 `enc:enclosure`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Enclosure {
    pub url: String,
    pub mime: Option<String>,
    /// Bytes.
    pub length: Option<u64>,
    /// Plain text.
    pub title: Option<String>,
    /// Seconds.
    pub duration: Option<u64>,
    /// Read from an extension (Media RSS `media:content`, RSS 1.0
    /// `enc:enclosure`) rather than the format's own enclosure element.
    /// feedparser does not count these among enclosures, so the
    /// conformance report leaves them out.
    pub extension: bool,
}

impl Enclosure {
    /// The MIME type, else the one its URL's extension implies.
    fn effective_mime(&self) -> Option<String> {
        match self.mime.as_deref().map(str::trim).filter(|m| !m.is_empty()) {
            Some(m) => Some(m.to_ascii_lowercase()),
            None => crate::model::mime::from_url(&self.url).map(str::to_owned),
        }
    }

    /// A picture (by type, else by file extension).
    pub fn is_image(&self) -> bool {
        self.effective_mime().is_some_and(|m| m.starts_with("image/"))
    }

    /// Audio or video (by type, else by file extension): what
    /// `itunes:duration` describes.
    pub fn is_audio_video(&self) -> bool {
        self.effective_mime().is_some_and(|m| m.starts_with("audio/") || m.starts_with("video/"))
    }

    /// Fills what `other` knows and `self` does not (the same file named by
    /// an enclosure and by `media:content`).
    fn absorb(&mut self, other: Enclosure) {
        self.mime = self.mime.take().or(other.mime);
        self.length = self.length.or(other.length);
        self.title = self.title.take().or(other.title);
        self.duration = self.duration.or(other.duration);
    }
}

/// Whether a text field is plain text or HTML: the model's one notion
/// of it. Formats that say so are believed (Atom `type`, JSON Feed
/// `summary` is text, RSS `description` is HTML); where they do not, the
/// parser guesses as feedparser does.
pub use crate::model::TextKind;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EntryImage {
    pub url: String,
    pub caption: Option<String>,
    pub credit: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ParsedEntry {
    pub id: Option<String>,
    /// Plain text.
    pub title: Option<String>,
    pub link: Option<String>,
    pub published: Option<DateTime<Utc>>,
    pub updated: Option<DateTime<Utc>>,
    /// As in the feed: HTML or text, as `summary_kind` says.
    pub summary: Option<String>,
    /// Whether `summary` is HTML or plain text.
    pub summary_kind: TextKind,
    /// Raw HTML.
    pub content: Option<String>,
    pub authors: Vec<String>,
    pub categories: Vec<String>,
    pub enclosures: Vec<Enclosure>,
    pub image: Option<EntryImage>,
}

impl ParsedEntry {
    /// Adds a category once; the same term from `category`, `dc:subject`
    /// and iTunes keywords is one category.
    pub fn add_category(&mut self, term: &str) {
        push_unique(&mut self.categories, term.to_string());
    }

    /// Adds an enclosure; one read from an extension whose URL is already
    /// there only fills in what the first one lacked (type, size, title,
    /// duration), so a file named twice is one attachment.
    pub fn add_enclosure(&mut self, e: Enclosure) {
        if e.extension
            && let Some(known) = self.enclosures.iter_mut().find(|k| k.url == e.url)
        {
            known.absorb(e);
            return;
        }
        if self.enclosures.len() < LIST_CEILING {
            self.enclosures.push(e);
        }
    }

    /// `itunes:duration` describes the episode's audio or video: it goes on
    /// the first such enclosure that has no duration of its own, else on
    /// the first whose kind nothing tells (no type, an unknown extension:
    /// `https://cdn.example/stream?id=5` is still the episode).
    pub fn apply_episode_duration(&mut self, seconds: Option<u64>) {
        let Some(seconds) = seconds else { return };
        let target = match self.enclosures.iter().position(|e| e.duration.is_none() && e.is_audio_video()) {
            Some(i) => self.enclosures.get_mut(i),
            None => self.enclosures.iter_mut().find(|e| e.duration.is_none() && e.effective_mime().is_none()),
        };
        if let Some(e) = target {
            e.duration = Some(seconds);
        }
    }

    /// The adapter onto the story model. Links here are already resolved
    /// against the feed's bases; `feed_base` covers what still is relative.
    ///
    /// The lead image is the entry's Media RSS image, else its first image
    /// enclosure; every other enclosure is an attachment, so a show's
    /// cover art never stands in for its audio.
    /// The summary keeps its kind: plain text is never read as markup.
    pub fn into_draft(self, source: &str, feed_base: Option<&Url>) -> StoryDraft {
        let image = self.image.map(|i| Image { url: Some(i.url), caption: i.caption, credit: i.credit });
        let image = image.or_else(|| {
            let e = self.enclosures.iter().find(|e| e.is_image())?;
            Some(Image { url: Some(e.url.clone()), caption: None, credit: None })
        });
        let lead = image.as_ref().and_then(|i| i.url.clone());
        let attachments = self
            .enclosures
            .into_iter()
            .filter(|e| Some(&e.url) != lead.as_ref())
            .map(|e| Attachment {
                url: e.url,
                mime_type: e.mime.unwrap_or_default(),
                length: e.length,
                title: e.title,
                duration: e.duration,
            })
            .collect();
        StoryDraft {
            origin_id: self.id,
            id_scope: None,
            title: self.title.unwrap_or_default(),
            summary: self.summary,
            summary_kind: self.summary_kind,
            content: self.content.unwrap_or_default(),
            image,
            authors: self.authors,
            categories: self.categories,
            topics: Vec::new(),
            published: self.published,
            updated: self.updated,
            link: self.link,
            base_url: feed_base.cloned(),
            source: source.to_string(),
            attachments,
            origin: None,
            // Never from an external source.
            embed_hosts: Vec::new(),
        }
    }
}

/// Appends `value` trimmed, unless it is empty or already there.
/// A list at [`LIST_CEILING`] takes nothing more (the caps then cut it
/// and say so).
pub fn push_unique(list: &mut Vec<String>, value: String) {
    let t = value.trim();
    if t.is_empty() || list.len() >= LIST_CEILING || list.iter().any(|x| x == t) {
        return;
    }
    list.push(if t.len() == value.len() { value } else { t.to_string() });
}

/// Resolves `raw` against `base` like a browser, but leaves absolute URLs
/// byte-for-byte as published (no re-serialization).
pub fn resolve_link(raw: &str, base: Option<&Url>) -> String {
    let raw = raw.trim();
    let has_scheme =
        raw.find(':').is_some_and(|i| i > 0 && raw[..i].bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.')));
    match base {
        Some(b) if !has_scheme => b.join(raw).map(String::from).unwrap_or_else(|_| raw.to_string()),
        _ => raw.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_ids_are_dropped_and_draft_keeps_fields() {
        let mut feed = ParsedFeed::new(FeedFormat::Rss20);
        let e = ParsedEntry {
            id: Some("a".into()),
            title: Some("T".into()),
            enclosures: vec![Enclosure { url: "http://e.com/i.jpg".into(), mime: Some("image/jpeg".into()), ..Default::default() }],
            ..Default::default()
        };
        feed.entries.push(e.clone());
        feed.entries.push(e.clone());
        feed.dedup_entries();
        assert_eq!(feed.entries.len(), 1);
        let d = e.into_draft("src", None);
        assert_eq!(d.origin_id.as_deref(), Some("a"));
        assert_eq!(d.image.unwrap().url.as_deref(), Some("http://e.com/i.jpg"));
        assert_eq!(d.source, "src");
    }

    #[test]
    fn parsed_entry_normalizes_into_a_story() {
        use crate::ingest::parse::{ParseContext, parse_feed};
        let doc = r#"<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"><channel><item>
            <title>Floods &amp; rain</title><link>/news/floods?utm_source=rss</link><guid isPermaLink="false">42</guid>
            <description>&lt;p&gt;Water &lt;b&gt;rises&lt;/b&gt;&lt;/p&gt;</description><pubDate>Tue, 02 Jan 2024 10:00:00 GMT</pubDate>
            <media:content url="/img/f.jpg" medium="image"><media:credit>AP</media:credit></media:content></item></channel></rss>"#;
        let base = Url::parse("https://news.example.org/rss.xml").unwrap();
        let ctx = ParseContext { base_url: Some(base.clone()), content_type: None };
        let entry = parse_feed(doc.as_bytes(), &ctx).unwrap().entries.remove(0);
        let fallback = chrono::TimeZone::with_ymd_and_hms(&Utc, 2000, 1, 1, 0, 0, 0).unwrap();
        let story = entry.into_draft("Wire", Some(&base)).normalize(fallback).unwrap();
        assert_eq!(story.title, "Floods & rain");
        assert_eq!(story.link.as_deref(), Some("https://news.example.org/news/floods"));
        assert_eq!(story.summary.as_deref(), Some("Water rises"));
        assert_eq!(story.published.to_rfc3339(), "2024-01-02T10:00:00+00:00");
        let img = story.image.unwrap();
        assert_eq!((img.url.as_deref(), img.credit.as_deref()), (Some("https://news.example.org/img/f.jpg"), Some("AP")));
        assert_eq!(story.source, "Wire");
    }

    #[test]
    fn links_resolve_only_when_relative() {
        let base = Url::parse("http://e.com/a/b.xml").unwrap();
        assert_eq!(resolve_link("c.html", Some(&base)), "http://e.com/a/c.html");
        assert_eq!(resolve_link("HTTP://E.COM", Some(&base)), "HTTP://E.COM");
        assert_eq!(resolve_link("/x", None), "/x");
    }
}
