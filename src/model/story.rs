use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A normalized story, ready to publish.
///
/// Invariants (upheld by [`StoryDraft::normalize`], the only constructor):
/// `title` and `summary` are plain text (NFC, single spaces, no XML-forbidden
/// characters); `content` is sanitized HTML; every URL is absolute;
/// dates are UTC at second precision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Story {
    /// Stable identifier: `urn:uuid:` UUIDv5 of the canonical link, or of
    /// source + normalized title when there is no link. See [`super::id`].
    pub id: String,
    pub title: String,
    /// Plain text, never HTML.
    pub summary: Option<String>,
    /// Sanitized HTML (may be empty).
    pub content: String,
    pub image: Option<Image>,
    pub authors: Vec<String>,
    pub categories: Vec<String>,
    /// Topic slugs, filled by [`crate::topics`].
    pub topics: Vec<String>,
    pub published: DateTime<Utc>,
    pub updated: Option<DateTime<Utc>>,
    /// Canonical link (absolute http/https URL).
    pub link: Option<String>,
    /// Name of the source the story came from.
    pub source: String,
    /// Files that travel with the story (podcast audio, video, documents),
    /// in the order the origin listed them. The lead image is `image`, not
    /// an attachment.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<Attachment>,
    /// The feed an external story was taken from; `None` for the
    /// newsroom's own stories (they are the channel's own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<Origin>,
    /// What the sanitizer took out of the origin's HTML, as
    /// "1 <iframe>, 2 <script>" (see [`crate::model::sanitize::removed_elements`]);
    /// `None` when nothing was. Shown by `wirefeed explain`, never published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sanitized: Option<String>,
}

/// A file attached to a story: an RSS `<enclosure>`, a Media RSS
/// `media:content`, an Atom `link rel="enclosure"`, a JSON Feed attachment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// Absolute http(s) URL, checked like a story's link.
    pub url: String,
    /// MIME type, lowercased (`audio/mpeg`); guessed from the URL's
    /// extension when the origin gave none, else `application/octet-stream`.
    pub mime_type: String,
    /// Size in bytes, when the origin gave a positive one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<u64>,
    /// Plain-text title (JSON Feed `title`, `media:title`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Playing time in seconds (`itunes:duration`, `media:content duration`,
    /// JSON Feed `duration_in_seconds`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<u64>,
}

impl Attachment {
    /// Audio or video: what RSS's single `<enclosure>` is for.
    pub fn is_media(&self) -> bool {
        self.mime_type.starts_with("audio/") || self.mime_type.starts_with("video/")
    }
}

/// Where an external story was published first: what Atom's `<source>`
/// (RFC 4287 §4.2.11), RSS's `<source>` and wirefeed's JSON Feed `_source`
/// extension say about the feed it was copied from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    /// The source feed's own id (Atom `<id>`), else its feed URL, else
    /// empty.
    pub id: String,
    /// The source feed's title, else the name the config gives it.
    pub title: String,
    /// The URL the feed is fetched from (absolute http/https); `None` for
    /// a feed read from a local file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feed_url: Option<String>,
    /// The source's web site (the feed's alternate link), when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site_url: Option<String>,
    /// The feed's own `updated` when the story was taken from it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated: Option<DateTime<Utc>>,
}

/// A story's lead image. The newsroom's wire format carries a caption and
/// credit without a URL, so every part is optional.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Image {
    pub url: Option<String>,
    pub caption: Option<String>,
    pub credit: Option<String>,
}

impl Story {
    /// The moment a reader should see as "last changed".
    pub fn last_modified(&self) -> DateTime<Utc> {
        self.updated.unwrap_or(self.published).max(self.published)
    }
}

/// How a field of an origin is written. A plain-text field is never
/// parsed as markup (`Vector<T>` stays `Vector<T>`); an HTML field is
/// sanitized and, where the model wants text, reduced to its text.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TextKind {
    /// Atom `type="text"`, JSON Feed `summary`, front matter, wire text.
    #[default]
    Text,
    /// RSS `<description>`, Atom `type="html"`/`"xhtml"`.
    Html,
}

/// What an importer knows about a story before normalization. Importers
/// fill what their format has; [`StoryDraft::normalize`] does the rest.
#[derive(Debug, Clone, Default)]
pub struct StoryDraft {
    /// An id the origin assigned (feed guid / Atom id). When absent the id
    /// is derived from the link, else from source + title.
    pub origin_id: Option<String>,
    /// What origin ids and title-derived ids are scoped by: a name the
    /// store remembers for the source, so renaming the source moves no id.
    /// `None`: the source name.
    pub id_scope: Option<String>,
    /// Plain text, never parsed as markup.
    pub title: String,
    /// Plain text or HTML, as `summary_kind` says; reduced to plain text.
    pub summary: Option<String>,
    pub summary_kind: TextKind,
    /// HTML (unsanitized).
    pub content: String,
    pub image: Option<Image>,
    pub authors: Vec<String>,
    pub categories: Vec<String>,
    /// Topics named by the origin itself (front matter); rules add more.
    pub topics: Vec<String>,
    pub published: Option<DateTime<Utc>>,
    pub updated: Option<DateTime<Utc>>,
    /// Link as found; may be relative to `base_url`.
    pub link: Option<String>,
    /// Base for resolving relative URLs in link, image and content.
    pub base_url: Option<url::Url>,
    pub source: String,
    /// Attachments as found: URLs may be relative, types missing.
    pub attachments: Vec<Attachment>,
    pub origin: Option<Origin>,
    /// Hosts whose `<iframe>`/`<video>` the content may keep (`[[stories]]
    /// allow_embeds`); empty for every external source.
    pub embed_hosts: Vec<String>,
}
