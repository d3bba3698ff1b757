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

/// What an importer knows about a story before normalization. Importers
/// fill what their format has; [`StoryDraft::normalize`] does the rest.
#[derive(Debug, Clone, Default)]
pub struct StoryDraft {
    /// An id the origin assigned (feed guid / Atom id). When absent the id
    /// is derived from the link, else from source + title.
    pub origin_id: Option<String>,
    pub title: String,
    /// Plain text or HTML; reduced to plain text.
    pub summary: Option<String>,
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
}
