//! [`StoryDraft`] → [`Story`]: the single normalization step every origin
//! goes through, so importers stay thin and outputs stay consistent.

use chrono::{DateTime, SubsecRound, Utc};
use url::Url;

use super::id::{IdBasis, clean_link, story_id};
use super::mime;
use super::person::person_name;
use super::sanitize::{removed_elements, sanitize_html, sanitize_with_embeds};
use super::text::{clean_text, html_to_text, truncate_words};
use super::{Attachment, Image, Origin, Story, StoryDraft, TextKind};

/// Longest summary derived from content, in characters.
pub const DERIVED_SUMMARY_CHARS: usize = 300;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NormalizeError {
    #[error("story has neither a title nor any content")]
    Empty,
}

/// Resolves `raw` against `base` and keeps it only if it is http(s).
pub fn absolute_url(raw: &str, base: Option<&Url>) -> Option<Url> {
    let raw = raw.trim();
    if raw.is_empty() {
        return None;
    }
    let url = match base {
        Some(base) => base.join(raw).ok()?,
        None => Url::parse(raw).ok()?,
    };
    matches!(url.scheme(), "http" | "https").then_some(url)
}

fn clean_list(items: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(items.len());
    let mut seen = Seen::default();
    for item in items {
        let item = clean_text(&item);
        if !item.is_empty() && seen.first(&out, &item, str::to_ascii_lowercase, |a, b| a.eq_ignore_ascii_case(b)) {
            out.push(item);
        }
    }
    out
}

/// Lists up to this long are searched for repeats item by item (a list
/// of a few categories needs no hashing); longer ones through a set, so
/// a story with 50,000 tags costs 50,000 steps, not a billion.
const SCAN_MAX: usize = 16;

/// The keys of a list's items once it outgrows [`SCAN_MAX`].
#[derive(Default)]
struct Seen(std::collections::HashSet<String>);

impl Seen {
    /// Whether `item` is not yet in `list` (compared by `key`, or `same`
    /// while the list is short); when it is not, it is remembered.
    fn first(&mut self, list: &[String], item: &str, key: fn(&str) -> String, same: fn(&str, &str) -> bool) -> bool {
        if list.len() < SCAN_MAX {
            return !list.iter().any(|o| same(o, item));
        }
        if self.0.is_empty() {
            self.0.extend(list.iter().map(|o| key(o)));
        }
        self.0.insert(key(item))
    }
}

/// Attachments with absolute http(s) URLs, each URL once, types filled
/// in; the lead image's URL is not repeated as an attachment.
fn clean_attachments(raw: Vec<Attachment>, base: Option<&Url>, image: Option<&str>) -> Vec<Attachment> {
    let mut out: Vec<Attachment> = Vec::with_capacity(raw.len());
    for a in raw {
        let Some(url) = absolute_url(&a.url, base).map(String::from) else { continue };
        if image == Some(url.as_str()) || out.iter().any(|o| o.url == url) {
            continue;
        }
        let mime_type = mime::clean(&a.mime_type)
            .or_else(|| mime::from_url(&url).map(str::to_owned))
            .unwrap_or_else(|| "application/octet-stream".to_owned());
        out.push(Attachment {
            url,
            mime_type,
            length: a.length.filter(|&n| n > 0),
            title: a.title.map(|t| clean_text(&t)).and_then(non_empty),
            duration: a.duration.filter(|&d| d > 0),
        });
    }
    out
}

/// The origin with its URLs checked and its id filled in; `None` when it
/// names nothing (no title, no URL).
fn clean_origin(o: Origin) -> Option<Origin> {
    let feed_url = o.feed_url.as_deref().and_then(|u| absolute_url(u, None)).map(String::from);
    let site_url = o.site_url.as_deref().and_then(|u| absolute_url(u, None)).map(String::from);
    let title = clean_text(&o.title);
    let id = match clean_text(&o.id) {
        id if id.is_empty() => feed_url.clone().unwrap_or_default(),
        id => id,
    };
    (!title.is_empty() || feed_url.is_some()).then_some(Origin { id, title, feed_url, site_url, updated: o.updated.map(to_second) })
}

fn non_empty(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

fn to_second(t: DateTime<Utc>) -> DateTime<Utc> {
    t.trunc_subsecs(0)
}

/// Whether every output can write `t`: RFC 822/2822 dates (RSS) have
/// four-digit years, and so do RFC 3339's (Atom, JSON Feed); chrono
/// panics on `to_rfc2822` outside years 0–9999. Year 1 to 9999 then.
pub fn representable(t: DateTime<Utc>) -> bool {
    use chrono::Datelike;
    (1..=9999).contains(&t.year())
}

impl StoryDraft {
    /// Normalizes the draft. `fallback_published` is used when the origin
    /// has no date; it must be stable from run to run (a file's time, a
    /// remembered first-seen time). A caller that passes the clock, as the
    /// aggregator does for an entry it has never seen, must remember that
    /// time and use it from then on.
    pub fn normalize(self, fallback_published: DateTime<Utc>) -> Result<Story, NormalizeError> {
        let base = self.base_url.as_ref();
        let link = self.link.as_deref().and_then(|l| absolute_url(l, base)).map(|u| clean_link(&u));
        // Relative URLs in content resolve against the story's own page
        // first, as a browser on that page would.
        let content_base = link.as_ref().or(base);
        let mut content = sanitize_with_embeds(&self.content, content_base, &self.embed_hosts);
        let mut sanitized = removed_elements(&self.content, &content);
        let summary_html = self.summary_kind == TextKind::Html;
        let derived = content.is_empty();
        if content.is_empty()
            && let Some(summary) = self.summary.as_deref()
        {
            // Feeds often carry only a description: it is the content too.
            content = match summary_html {
                true => {
                    let clean = sanitize_html(summary, content_base);
                    sanitized = sanitized.or_else(|| removed_elements(summary, &clean));
                    clean
                }
                false => match clean_text(summary) {
                    text if text.is_empty() => String::new(),
                    text => format!("<p>{}</p>", quick_xml::escape::escape(text.as_str())),
                },
            };
        }
        let title = clean_text(&self.title);
        if title.is_empty() && content.is_empty() {
            return Err(NormalizeError::Empty);
        }
        let summary = match self.summary {
            Some(s) if summary_html => non_empty(html_to_text(&sanitize_html(&s, content_base))),
            Some(s) => non_empty(clean_text(&s)),
            None => None,
        }
        .or_else(|| non_empty(truncate_words(&html_to_text(&content), DERIVED_SUMMARY_CHARS)));
        let image = self.image.and_then(|img| {
            let image = Image {
                url: img.url.as_deref().and_then(|u| absolute_url(u, content_base)).map(String::from),
                caption: img.caption.map(|c| clean_text(&c)).and_then(non_empty),
                credit: img.credit.map(|c| clean_text(&c)).and_then(non_empty),
            };
            (image.url.is_some() || image.caption.is_some() || image.credit.is_some()).then_some(image)
        });
        // A feed whose only text is its media description: the figure
        // shows it as the caption, so it is not repeated as a paragraph.
        if derived && !content.is_empty() && image.as_ref().and_then(|i| i.caption.as_deref()) == Some(html_to_text(&content).as_str()) {
            content.clear();
        }
        let attachments = clean_attachments(self.attachments, content_base, image.as_ref().and_then(|i| i.url.as_deref()));
        let origin = self.origin.and_then(clean_origin);
        let source = clean_text(&self.source);
        let scope = self.id_scope.as_deref().map(clean_text).unwrap_or_else(|| source.clone());
        let link = link.map(String::from);
        let id = match (self.origin_id.as_deref().map(str::trim).filter(|i| !i.is_empty()), &link) {
            (Some(origin), _) => story_id(IdBasis::Origin { source: &scope, id: origin }),
            (None, Some(link)) => story_id(IdBasis::Link(link)),
            (None, None) => story_id(IdBasis::Title { source: &scope, title: &title }),
        };
        let mut topics: Vec<String> = Vec::new();
        let mut seen = Seen::default();
        for t in self.topics {
            let t = t.trim().to_lowercase();
            if !t.is_empty() && seen.first(&topics, &t, str::to_owned, |a, b| a == b) {
                topics.push(t);
            }
        }
        // A date no output can write is no date (the parser already says
        // so; other origins, such as a front matter, may not).
        let published = to_second(self.published.filter(|d| representable(*d)).unwrap_or(fallback_published));
        Ok(Story {
            id,
            title,
            summary,
            content,
            image,
            authors: clean_list(self.authors.iter().filter_map(|a| person_name(a)).collect()),
            categories: clean_list(self.categories),
            topics,
            published,
            updated: self.updated.filter(|d| representable(*d)).map(to_second).filter(|u| *u != published),
            link,
            source,
            attachments,
            origin,
            sanitized,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn long_lists_drop_repeats_like_short_ones() {
        // Past SCAN_MAX items the repeat check goes through a set: the
        // first spelling of each name still wins, whatever its case.
        let mut items: Vec<String> = (0..40).map(|i| format!("Tag{i}")).collect();
        items.extend(["tag3", "TAG30", " Tag39 ", "new"].map(String::from));
        let out = clean_list(items);
        assert_eq!(out.len(), 41);
        assert_eq!(out[3], "Tag3");
        assert_eq!(out[30], "Tag30");
        assert_eq!(out[40], "new");
    }

    fn when() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, 0).unwrap()
    }

    fn draft() -> StoryDraft {
        StoryDraft {
            title: "  A\u{7} title \n here ".into(),
            content: r#"<p>Body <a href="/x">x</a><script>bad()</script></p>"#.into(),
            link: Some("stories/a-title?utm_source=rss".into()),
            base_url: Some(Url::parse("https://news.example.org/").unwrap()),
            source: "Newsroom".into(),
            categories: vec!["World".into(), " world ".into(), "".into()],
            ..Default::default()
        }
    }

    #[test]
    fn records_what_the_sanitizer_removed() {
        // (case, content, summary (HTML), expected record)
        let cases: [(&str, &str, Option<&str>, Option<&str>); 4] = [
            ("script in content", "<p>Hi<script>x()</script></p>", None, Some("1 <script>")),
            ("clean content", "<p>Hi <b>there</b></p>", None, None),
            ("only a summary, with frames", "", Some("<p>Hi</p><iframe src=\"https://a.example/\"></iframe>"), Some("1 <iframe>")),
            ("case of tags does not matter", "<P>Hi</P><Script>x()</SCRIPT><script>y()</script>", None, Some("2 <script>")),
        ];
        for (case, content, summary, expected) in cases {
            let d = StoryDraft {
                title: "T".into(),
                content: content.into(),
                summary: summary.map(Into::into),
                summary_kind: TextKind::Html,
                ..Default::default()
            };
            assert_eq!(d.normalize(when()).unwrap().sanitized.as_deref(), expected, "{case}");
        }
    }

    #[test]
    fn normalizes_every_field() {
        let s = draft().normalize(when()).unwrap();
        assert_eq!(s.title, "A title here");
        assert_eq!(s.link.as_deref(), Some("https://news.example.org/stories/a-title"));
        assert_eq!(s.content, r#"<p>Body <a href="https://news.example.org/x" rel="noopener noreferrer">x</a></p>"#);
        assert_eq!(s.summary.as_deref(), Some("Body x"));
        assert_eq!(s.categories, vec!["World"]);
        assert_eq!(s.published, when());
        assert_eq!(s.id, story_id(IdBasis::Link("https://news.example.org/stories/a-title")));
    }

    #[test]
    fn id_falls_back_to_source_and_title() {
        let mut d = draft();
        d.link = None;
        let s = d.normalize(when()).unwrap();
        assert_eq!(s.id, story_id(IdBasis::Title { source: "Newsroom", title: "a title here" }));
    }

    #[test]
    fn empty_story_is_an_error() {
        let d = StoryDraft { source: "x".into(), title: " ".into(), content: "<script>x</script>".into(), ..Default::default() };
        assert_eq!(d.normalize(when()), Err(NormalizeError::Empty));
    }

    #[test]
    fn html_summary_becomes_text_and_dates_lose_subseconds() {
        let mut d = draft();
        d.summary = Some("<b>Bold</b> &amp; plain".into());
        d.summary_kind = TextKind::Html;
        d.published = Some(when() + chrono::Duration::milliseconds(750));
        let s = d.normalize(when()).unwrap();
        assert_eq!(s.summary.as_deref(), Some("Bold & plain"));
        assert_eq!(s.published, when());
    }
}
