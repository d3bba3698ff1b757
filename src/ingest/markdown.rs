//! Markdown stories with TOML (`+++`) or YAML (`---`) front matter.

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;

use super::parse::parse_date;
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MarkdownError {
    #[error("line {line}: front matter opened with `{fence}` is never closed")]
    Unclosed { line: usize, fence: &'static str },
    #[error("front matter: {0}")]
    FrontMatter(String),
    #[error("front matter: `{key}`: {value:?} is not a date (use RFC 3339, \"YYYY-MM-DD HH:MM:SS\" in UTC, or \"YYYY-MM-DD\")")]
    BadDate { key: &'static str, value: String },
    #[error("no title: set `title` in the front matter or start the body with a `# Heading`")]
    NoTitle,
}

/// One name or several: `author = "A"` and `author = ["A", "B"]` both work.
#[derive(Debug, Default, Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    #[default]
    None,
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::None => Vec::new(),
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
struct FrontMatter {
    /// The story's permanent id, when the newsroom assigns its own.
    id: Option<String>,
    /// The last part of the story's link under `link_base`.
    slug: Option<String>,
    title: Option<String>,
    date: Option<String>,
    updated: Option<String>,
    /// When the story comes down (same forms as `date`).
    expires: Option<String>,
    link: Option<String>,
    #[serde(default, alias = "authors")]
    author: OneOrMany,
    #[serde(default)]
    topics: OneOrMany,
    #[serde(default, alias = "tags")]
    categories: OneOrMany,
    image: Option<String>,
    caption: Option<String>,
    credit: Option<String>,
    #[serde(alias = "description")]
    summary: Option<String>,
    #[serde(default)]
    draft: bool,
    /// Keys wirefeed does not use (Hugo/Jekyll leftovers): kept to warn.
    #[serde(flatten)]
    other: BTreeMap<String, serde_json::Value>,
}

/// What a Markdown file says about its story.
#[derive(Debug, Default, PartialEq)]
pub struct MarkdownStory {
    pub id: Option<String>,
    pub slug: Option<String>,
    pub title: String,
    pub date: Option<DateTime<Utc>>,
    pub updated: Option<DateTime<Utc>>,
    /// When the story is taken down (front matter `expires`).
    pub expires: Option<DateTime<Utc>>,
    pub link: Option<String>,
    pub authors: Vec<String>,
    pub topics: Vec<String>,
    pub categories: Vec<String>,
    pub image: Option<String>,
    pub caption: Option<String>,
    pub credit: Option<String>,
    /// The front matter's summary, plain text.
    pub summary: Option<String>,
    /// Without one, the body's first words as plain text: deleted text,
    /// footnotes, images and raw HTML left out.
    pub lead: String,
    pub draft: bool,
    /// Body rendered to (unsanitized) HTML.
    pub html: String,
    /// Front-matter keys that were ignored.
    pub ignored_keys: Vec<String>,
}

/// Splits off the front matter: (format fence, front matter text, body).
fn split_front_matter(text: &str) -> Result<Option<(&'static str, &str, &str)>, MarkdownError> {
    let text = text.trim_start_matches('\u{FEFF}');
    let fence = match text.lines().next().map(str::trim_end) {
        Some("+++") => "+++",
        Some("---") => "---",
        _ => return Ok(None),
    };
    let after_open = &text[text.find('\n').map_or(text.len(), |n| n + 1)..];
    let mut offset = 0;
    for line in after_open.split_inclusive('\n') {
        let t = line.trim_end();
        if t == fence || (fence == "---" && t == "...") {
            return Ok(Some((fence, &after_open[..offset], &after_open[offset + line.len()..])));
        }
        offset += line.len();
    }
    Err(MarkdownError::Unclosed { line: 1, fence })
}

fn toml_to_json(v: toml::Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        toml::Value::String(s) => J::String(s),
        toml::Value::Integer(i) => J::from(i),
        toml::Value::Float(f) => J::from(f),
        toml::Value::Boolean(b) => J::Bool(b),
        toml::Value::Datetime(d) => J::String(d.to_string()),
        toml::Value::Array(a) => J::Array(a.into_iter().map(toml_to_json).collect()),
        toml::Value::Table(t) => J::Object(t.into_iter().map(|(k, v)| (k, toml_to_json(v))).collect()),
    }
}

fn parse_front_matter(fence: &str, text: &str) -> Result<FrontMatter, MarkdownError> {
    let value = if fence == "+++" {
        toml::from_str::<toml::Table>(text).map(|t| toml_to_json(toml::Value::Table(t))).map_err(|e| e.to_string())
    } else if text.trim().is_empty() {
        Ok(serde_json::Value::Object(Default::default()))
    } else {
        serde_norway::from_str::<serde_json::Value>(text).map_err(|e| e.to_string())
    }
    .map_err(|e| MarkdownError::FrontMatter(e.trim_end().to_owned()))?;
    serde_json::from_value(value).map_err(|e| MarkdownError::FrontMatter(e.to_string()))
}

/// A front-matter date. One without a zone is in `tz` when the folder
/// names one (`[[stories]] timezone`), else in UTC.
fn date_field(key: &'static str, value: Option<String>, tz: Option<Tz>) -> Result<Option<DateTime<Utc>>, MarkdownError> {
    let Some(v) = value else { return Ok(None) };
    if let Some(tz) = tz
        && let Some(naive) = naive_local(&v)
    {
        // A time that a clock change skips is read as the instant after it.
        let local =
            tz.from_local_datetime(&naive).earliest().or_else(|| tz.from_local_datetime(&(naive + chrono::Duration::hours(1))).earliest());
        return local.map(|t| Some(t.with_timezone(&Utc))).ok_or(MarkdownError::BadDate { key, value: v });
    }
    parse_date(&v).map(Some).ok_or(MarkdownError::BadDate { key, value: v })
}

/// `v` as a date and time without any zone or offset, if it is one.
fn naive_local(v: &str) -> Option<chrono::NaiveDateTime> {
    let v = v.trim();
    const FORMATS: [&str; 4] = ["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M"];
    FORMATS
        .iter()
        .find_map(|f| chrono::NaiveDateTime::parse_from_str(v, f).ok())
        .or_else(|| chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d").ok().and_then(|d| d.and_hms_opt(0, 0, 0)))
}

const OPTIONS: pulldown_cmark::Options = pulldown_cmark::Options::ENABLE_TABLES
    .union(pulldown_cmark::Options::ENABLE_FOOTNOTES)
    .union(pulldown_cmark::Options::ENABLE_STRIKETHROUGH)
    .union(pulldown_cmark::Options::ENABLE_SMART_PUNCTUATION);

/// The body as HTML. Footnote names get `footnote_key` in front, so two
/// stories shown on one page (a river, a reader's list) never share an id.
fn render(markdown: &str, footnote_key: &str) -> String {
    use pulldown_cmark::{CowStr, Event, Parser, Tag, html};
    let key = |name: CowStr<'_>| -> CowStr<'static> { format!("{footnote_key}-{name}").into() };
    let events = Parser::new_ext(markdown, OPTIONS).map(|ev| match ev {
        Event::FootnoteReference(name) => Event::FootnoteReference(key(name)),
        Event::Start(Tag::FootnoteDefinition(name)) => Event::Start(Tag::FootnoteDefinition(key(name))),
        other => other,
    });
    let mut out = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut out, events);
    out
}

/// The body's text from the start, for a summary: about `max` characters
/// of paragraph, heading and list text, without deleted text, footnotes,
/// images (their alt text), code blocks or raw HTML.
fn lead_text(markdown: &str, max: usize) -> String {
    use pulldown_cmark::{Event, Parser, Tag, TagEnd};
    let mut out = String::new();
    let mut skip = 0usize;
    for ev in Parser::new_ext(markdown, OPTIONS) {
        match ev {
            Event::Start(Tag::Strikethrough | Tag::FootnoteDefinition(_) | Tag::Image { .. } | Tag::CodeBlock(_)) => skip += 1,
            Event::End(TagEnd::Strikethrough | TagEnd::FootnoteDefinition | TagEnd::Image | TagEnd::CodeBlock) => {
                skip = skip.saturating_sub(1)
            }
            Event::Text(t) | Event::Code(t) if skip == 0 => out.push_str(&t),
            Event::SoftBreak
            | Event::HardBreak
            | Event::End(TagEnd::Paragraph | TagEnd::Heading(_) | TagEnd::Item | TagEnd::BlockQuote(_) | TagEnd::TableCell)
                if skip == 0 =>
            {
                out.push(' ')
            }
            _ => {}
        }
        if out.len() > max * 4 {
            break;
        }
    }
    crate::model::text::truncate_words(&crate::model::text::clean_text(&out), max)
}

/// Takes a leading `# Heading` off the body as the title.
fn take_heading(body: &str) -> Option<(String, &str)> {
    let trimmed = body.trim_start();
    let rest = trimmed.strip_prefix("# ")?;
    let end = rest.find('\n').unwrap_or(rest.len());
    // An empty heading (`# `, `# ##`) is no title.
    Some((rest[..end].trim().trim_end_matches('#').trim().to_owned(), &rest[end..])).filter(|(title, _)| !title.is_empty())
}

/// Parses a Markdown story; `footnote_key` makes its footnote ids unique
/// (the file's slug); dates without a zone are in `tz` (UTC when `None`).
pub fn parse(text: &str, footnote_key: &str, tz: Option<Tz>) -> Result<MarkdownStory, MarkdownError> {
    let (fm, body) = match split_front_matter(text)? {
        Some((fence, fm, body)) => (parse_front_matter(fence, fm)?, body),
        None => (FrontMatter::default(), text),
    };
    let (title, body) = match fm.title.filter(|t| !t.trim().is_empty()) {
        Some(t) => (t, body),
        None => take_heading(body).ok_or(MarkdownError::NoTitle)?,
    };
    let lead = match fm.summary {
        Some(_) => String::new(),
        None => lead_text(body, crate::model::normalize::DERIVED_SUMMARY_CHARS),
    };
    Ok(MarkdownStory {
        id: fm.id.map(|i| i.trim().to_owned()).filter(|i| !i.is_empty()),
        slug: fm.slug.map(|s| crate::model::text::slugify(&s)).filter(|s| !s.is_empty()),
        title,
        date: date_field("date", fm.date, tz)?,
        updated: date_field("updated", fm.updated, tz)?,
        expires: date_field("expires", fm.expires, tz)?,
        link: fm.link,
        authors: fm.author.into_vec(),
        topics: fm.topics.into_vec(),
        categories: fm.categories.into_vec(),
        image: fm.image,
        caption: fm.caption,
        credit: fm.credit,
        summary: fm.summary,
        lead,
        draft: fm.draft,
        html: render(body, footnote_key),
        ignored_keys: fm.other.into_keys().collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn parse_k(text: &str) -> Result<MarkdownStory, MarkdownError> {
        parse(text, "k", None)
    }

    #[test]
    fn dates_without_a_zone_are_in_the_folder_zone() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        let at = |date: &str| {
            parse(&format!("---\ntitle: t\ndate: \"{date}\"\n---\nb\n"), "k", Some(berlin)).unwrap().date.unwrap().to_rfc3339()
        };
        let cases = [
            ("winter, CET", "2024-01-15 09:00:00", "2024-01-15T08:00:00+00:00"),
            ("summer, CEST", "2024-07-15T09:00", "2024-07-15T07:00:00+00:00"),
            ("date only", "2024-07-15", "2024-07-14T22:00:00+00:00"),
            ("explicit offset wins", "2024-07-15T09:00:00+00:00", "2024-07-15T09:00:00+00:00"),
            ("skipped by the clock change", "2024-03-31 02:30:00", "2024-03-31T01:30:00+00:00"),
        ];
        for (name, date, want) in cases {
            assert_eq!(at(date), want, "{name}");
        }
        let toml = parse("+++\ntitle = \"t\"\ndate = 2024-01-15T09:00:00\n+++\nb\n", "k", Some(berlin)).unwrap();
        assert_eq!(toml.date.unwrap().to_rfc3339(), "2024-01-15T08:00:00+00:00", "TOML local date-time");
    }

    #[test]
    fn expires_reads_like_date_in_the_folder_zone() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        let yaml = parse("---\ntitle: t\nexpires: \"2024-07-15 18:00\"\n---\nb\n", "k", Some(berlin)).unwrap();
        assert_eq!(yaml.expires.unwrap().to_rfc3339(), "2024-07-15T16:00:00+00:00", "YAML, folder zone");
        let toml = parse("+++\ntitle = \"t\"\nexpires = 2024-07-15T18:00:00Z\n+++\nb\n", "k", Some(berlin)).unwrap();
        assert_eq!(toml.expires.unwrap().to_rfc3339(), "2024-07-15T18:00:00+00:00", "TOML with offset");
        assert_eq!(parse_k("---\ntitle: t\n---\nb\n").unwrap().expires, None);
        let bad = parse_k("---\ntitle: t\nexpires: soon\n---\nb\n");
        assert!(matches!(bad, Err(MarkdownError::BadDate { key: "expires", .. })), "{bad:?}");
    }

    #[test]
    fn lead_text_is_what_a_reader_reads_first() {
        let cases = [
            ("deleted text", "Launch in ~~2026~~ 2027.\n", "Launch in 2027."),
            ("footnotes", "Claim.[^1] More.\n\n[^1]: The source.\n", "Claim. More."),
            ("image alt", "![A photo](p.jpg) Text.\n", "Text."),
            ("code block", "Intro.\n\n```\nlet x;\n```\n\nAfter.\n", "Intro. After."),
            ("inline code and emphasis", "Use `cargo` *now*.\n", "Use cargo now."),
            ("raw html", "<div>hidden</div>\n\nShown.\n", "Shown."),
        ];
        for (name, md, want) in cases {
            assert_eq!(lead_text(md, 300), want, "{name}");
        }
    }

    #[test]
    fn footnote_ids_carry_the_story_key() {
        let s = parse("# T\n\nClaim.[^a]\n\n[^a]: Source.\n", "my-story", None).unwrap();
        assert!(s.html.contains(r##"href="#my-story-a""##), "{}", s.html);
        assert!(s.html.contains(r#"id="my-story-a""#), "{}", s.html);
    }

    #[test]
    fn id_and_slug_come_from_front_matter() {
        let s = parse_k("---\nid: story-0042\nslug: Better Slug!\ntitle: T\n---\nb\n").unwrap();
        assert_eq!((s.id.as_deref(), s.slug.as_deref()), (Some("story-0042"), Some("better-slug")));
        assert_eq!(s.summary, None);
        assert_eq!(s.lead, "b");
    }

    #[test]
    fn toml_front_matter() {
        let s = parse_k("+++\ntitle = \"Hello\"\ndate = 2024-03-01T10:00:00Z\nauthor = [\"A\", \"B\"]\ntopics = \"world\"\nweight = 3\n+++\nSome *text*.\n").unwrap();
        assert_eq!(s.title, "Hello");
        assert_eq!(s.date, Some(Utc.with_ymd_and_hms(2024, 3, 1, 10, 0, 0).unwrap()));
        assert_eq!(s.authors, vec!["A", "B"]);
        assert_eq!(s.topics, vec!["world"]);
        assert_eq!(s.html.trim(), "<p>Some <em>text</em>.</p>");
        assert_eq!(s.ignored_keys, vec!["weight"]);
    }

    #[test]
    fn yaml_front_matter_with_tags_alias() {
        let s = parse_k("---\ntitle: Hi\ndate: 2024-03-01\ntags: [a, b]\ncaption: Cap\ncredit: AP\n---\n\nBody\n").unwrap();
        assert_eq!(s.categories, vec!["a", "b"]);
        assert_eq!(s.date, Some(Utc.with_ymd_and_hms(2024, 3, 1, 0, 0, 0).unwrap()));
        assert_eq!((s.caption.as_deref(), s.credit.as_deref()), (Some("Cap"), Some("AP")));
    }

    #[test]
    fn front_matter_dates_in_the_usual_forms() {
        let at = |s: &str| parse_k(&format!("---\ntitle: t\ndate: \"{s}\"\n---\nb\n")).unwrap().date.map(|d| d.to_rfc3339());
        assert_eq!(at("2024-11-25 18:00:00").as_deref(), Some("2024-11-25T18:00:00+00:00"));
        assert_eq!(at("2024-11-25T18:00:00+02:00").as_deref(), Some("2024-11-25T16:00:00+00:00"));
        assert_eq!(at("Mon, 25 Nov 2024 18:00:00 GMT").as_deref(), Some("2024-11-25T18:00:00+00:00"));
    }

    #[test]
    fn heading_becomes_title_without_front_matter() {
        let s = parse_k("# The Title\n\nBody.\n").unwrap();
        assert_eq!(s.title, "The Title");
        assert_eq!(s.html.trim(), "<p>Body.</p>");
    }

    #[test]
    fn errors_are_specific() {
        assert_eq!(parse_k("+++\ntitle = \"x\"\n"), Err(MarkdownError::Unclosed { line: 1, fence: "+++" }));
        assert!(matches!(parse_k("---\ntitle: x\ndate: yesterday\n---\n"), Err(MarkdownError::BadDate { key: "date", .. })));
        assert!(matches!(parse_k("+++\ntitle = \n+++\n"), Err(MarkdownError::FrontMatter(_))));
        assert_eq!(parse_k("just text\n"), Err(MarkdownError::NoTitle));
    }
}
