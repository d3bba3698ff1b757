//! Markdown stories with TOML (`+++`) or YAML (`---`) front matter.

use chrono::{DateTime, Utc};

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
    title: Option<String>,
    date: Option<String>,
    updated: Option<String>,
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
    pub title: String,
    pub date: Option<DateTime<Utc>>,
    pub updated: Option<DateTime<Utc>>,
    pub link: Option<String>,
    pub authors: Vec<String>,
    pub topics: Vec<String>,
    pub categories: Vec<String>,
    pub image: Option<String>,
    pub caption: Option<String>,
    pub credit: Option<String>,
    pub summary: Option<String>,
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

fn date_field(key: &'static str, value: Option<String>) -> Result<Option<DateTime<Utc>>, MarkdownError> {
    match value {
        None => Ok(None),
        Some(v) => parse_date(&v).map(Some).ok_or(MarkdownError::BadDate { key, value: v }),
    }
}

fn render(markdown: &str) -> String {
    use pulldown_cmark::{Options, Parser, html};
    let options = Options::ENABLE_TABLES | Options::ENABLE_FOOTNOTES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_SMART_PUNCTUATION;
    let mut out = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut out, Parser::new_ext(markdown, options));
    out
}

/// Takes a leading `# Heading` off the body as the title.
fn take_heading(body: &str) -> Option<(String, &str)> {
    let trimmed = body.trim_start();
    let rest = trimmed.strip_prefix("# ")?;
    let end = rest.find('\n').unwrap_or(rest.len());
    Some((rest[..end].trim().trim_end_matches('#').trim().to_owned(), &rest[end..]))
}

pub fn parse(text: &str) -> Result<MarkdownStory, MarkdownError> {
    let (fm, body) = match split_front_matter(text)? {
        Some((fence, fm, body)) => (parse_front_matter(fence, fm)?, body),
        None => (FrontMatter::default(), text),
    };
    let (title, body) = match fm.title.filter(|t| !t.trim().is_empty()) {
        Some(t) => (t, body),
        None => take_heading(body).ok_or(MarkdownError::NoTitle)?,
    };
    Ok(MarkdownStory {
        title,
        date: date_field("date", fm.date)?,
        updated: date_field("updated", fm.updated)?,
        link: fm.link,
        authors: fm.author.into_vec(),
        topics: fm.topics.into_vec(),
        categories: fm.categories.into_vec(),
        image: fm.image,
        caption: fm.caption,
        credit: fm.credit,
        summary: fm.summary,
        draft: fm.draft,
        html: render(body),
        ignored_keys: fm.other.into_keys().collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn toml_front_matter() {
        let s = parse("+++\ntitle = \"Hello\"\ndate = 2024-03-01T10:00:00Z\nauthor = [\"A\", \"B\"]\ntopics = \"world\"\nweight = 3\n+++\nSome *text*.\n").unwrap();
        assert_eq!(s.title, "Hello");
        assert_eq!(s.date, Some(Utc.with_ymd_and_hms(2024, 3, 1, 10, 0, 0).unwrap()));
        assert_eq!(s.authors, vec!["A", "B"]);
        assert_eq!(s.topics, vec!["world"]);
        assert_eq!(s.html.trim(), "<p>Some <em>text</em>.</p>");
        assert_eq!(s.ignored_keys, vec!["weight"]);
    }

    #[test]
    fn yaml_front_matter_with_tags_alias() {
        let s = parse("---\ntitle: Hi\ndate: 2024-03-01\ntags: [a, b]\ncaption: Cap\ncredit: AP\n---\n\nBody\n").unwrap();
        assert_eq!(s.categories, vec!["a", "b"]);
        assert_eq!(s.date, Some(Utc.with_ymd_and_hms(2024, 3, 1, 0, 0, 0).unwrap()));
        assert_eq!((s.caption.as_deref(), s.credit.as_deref()), (Some("Cap"), Some("AP")));
    }

    #[test]
    fn front_matter_dates_in_the_usual_forms() {
        let at = |s: &str| parse(&format!("---\ntitle: t\ndate: \"{s}\"\n---\nb\n")).unwrap().date.map(|d| d.to_rfc3339());
        assert_eq!(at("2024-11-25 18:00:00").as_deref(), Some("2024-11-25T18:00:00+00:00"));
        assert_eq!(at("2024-11-25T18:00:00+02:00").as_deref(), Some("2024-11-25T16:00:00+00:00"));
        assert_eq!(at("Mon, 25 Nov 2024 18:00:00 GMT").as_deref(), Some("2024-11-25T18:00:00+00:00"));
    }

    #[test]
    fn heading_becomes_title_without_front_matter() {
        let s = parse("# The Title\n\nBody.\n").unwrap();
        assert_eq!(s.title, "The Title");
        assert_eq!(s.html.trim(), "<p>Body.</p>");
    }

    #[test]
    fn errors_are_specific() {
        assert_eq!(parse("+++\ntitle = \"x\"\n"), Err(MarkdownError::Unclosed { line: 1, fence: "+++" }));
        assert!(matches!(parse("---\ntitle: x\ndate: yesterday\n---\n"), Err(MarkdownError::BadDate { key: "date", .. })));
        assert!(matches!(parse("+++\ntitle = \n+++\n"), Err(MarkdownError::FrontMatter(_))));
        assert_eq!(parse("just text\n"), Err(MarkdownError::NoTitle));
    }
}
