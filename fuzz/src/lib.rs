//! What the fuzz targets share: the properties every story must have, and
//! the publish → re-parse round trip.
//!
//! A property that does not hold panics with a message naming it, which
//! libFuzzer reports as a crash and saves the input.

use chrono::{DateTime, TimeZone, Utc};
use url::Url;
use wirefeed::ingest::parse::{ParseContext, TextKind, parse_feed, unescape_html};
use wirefeed::model::{Story, StoryDraft};
use wirefeed::publish::{Channel, Format, Site, atom, jsonfeed, rss};

/// The stand-in for "now" and for a missing date: fixed, so a run is
/// reproducible.
pub fn fixed_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 11, 26, 10, 0, 0).unwrap()
}

pub fn base_url() -> Url {
    Url::parse("https://news.example.org/feeds/").unwrap()
}

pub fn site() -> Site {
    Site {
        title: "Fuzz & <Gazette>".into(),
        description: "Stories the fuzzer wrote".into(),
        base_url: base_url(),
        language: "en".into(),
        author: Some("Desk".into()),
        websub_hub: None,
    }
}

/// Normalizes `draft` twice and checks both give the same story (the same
/// id above all): a story's id must not depend on anything but its input.
/// Then checks the story's invariants.
pub fn normalize_twice(draft: StoryDraft) -> Option<Story> {
    let first = draft.clone().normalize(fixed_time());
    let second = draft.normalize(fixed_time());
    assert_eq!(first, second, "normalizing the same draft twice gave two results");
    let story = first.ok()?;
    check_story(&story);
    Some(story)
}

/// The [`Story`] invariants the publishers rely on, and the sanitizer's
/// promise on its content.
pub fn check_story(story: &Story) {
    if let Some(problem) = unsafe_html(&story.content) {
        panic!("sanitized content is unsafe ({problem}): {:?}", story.content);
    }
    for (what, text) in
        [("title", Some(story.title.as_str())), ("summary", story.summary.as_deref()), ("content", Some(story.content.as_str()))]
    {
        if let Some(text) = text {
            assert!(!text.chars().any(xml_forbidden), "{what} holds a character XML forbids: {text:?}");
        }
    }
    assert!(story.id.starts_with("urn:uuid:"), "id {:?} is not a urn:uuid", story.id);
    if let Some(link) = &story.link {
        assert!(link.starts_with("http://") || link.starts_with("https://"), "link {link:?} is not http(s)");
    }
}

fn xml_forbidden(c: char) -> bool {
    matches!(c, '\0'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}')
}

/// Attributes whose value a browser follows as a URL.
const URL_ATTRIBUTES: &[&str] = &[
    "href",
    "src",
    "cite",
    "action",
    "formaction",
    "poster",
    "background",
    "longdesc",
    "xlink:href",
    "data",
    "codebase",
    "srcset",
    "lowsrc",
    "dynsrc",
    "usemap",
    "manifest",
    "ping",
    "profile",
];

/// Why `html` could run script, or `None`: a `<script` tag, an `on…`
/// event-handler attribute, or a `javascript:` URL in a URL attribute
/// (after decoding its character references and dropping what browsers
/// ignore in a scheme). Case-insensitive. `html` is serialized HTML, where
/// text never holds a bare `<`, so a tag here is a tag.
pub fn unsafe_html(html: &str) -> Option<String> {
    let lower = html.to_ascii_lowercase();
    if lower.contains("<script") {
        return Some("<script".into());
    }
    let b = lower.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'<' || !b.get(i + 1).is_some_and(u8::is_ascii_alphabetic) {
            i += 1;
            continue;
        }
        // Tag name.
        i += 1;
        while i < b.len() && !matches!(b[i], b' ' | b'\t' | b'\n' | b'\r' | b'\x0c' | b'/' | b'>') {
            i += 1;
        }
        // Attributes, up to the end of the tag.
        loop {
            while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\n' | b'\r' | b'\x0c' | b'/') {
                i += 1;
            }
            if i >= b.len() || b[i] == b'>' {
                break;
            }
            let start = i;
            while i < b.len() && !matches!(b[i], b' ' | b'\t' | b'\n' | b'\r' | b'\x0c' | b'/' | b'>' | b'=') {
                i += 1;
            }
            let name = &lower[start..i];
            if name.starts_with("on") && name.len() > 2 {
                return Some(format!("event handler attribute {name}"));
            }
            while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\n' | b'\r' | b'\x0c') {
                i += 1;
            }
            if i >= b.len() || b[i] != b'=' {
                continue;
            }
            i += 1;
            while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\n' | b'\r' | b'\x0c') {
                i += 1;
            }
            let value = match b.get(i) {
                Some(&q @ (b'"' | b'\'')) => {
                    let from = i + 1;
                    let to = lower[from..].find(q as char).map_or(b.len(), |n| from + n);
                    i = (to + 1).min(b.len());
                    &html[from..to]
                }
                _ => {
                    let from = i;
                    while i < b.len() && !matches!(b[i], b' ' | b'\t' | b'\n' | b'\r' | b'\x0c' | b'>') {
                        i += 1;
                    }
                    &html[from..i]
                }
            };
            if URL_ATTRIBUTES.contains(&name) && is_javascript_url(value, name == "srcset") {
                return Some(format!("{name}={value:?} is a javascript: URL"));
            }
        }
    }
    None
}

/// A URL a browser would run as script: character references decoded,
/// leading and trailing C0 controls and spaces dropped and tabs and
/// newlines removed (as the URL parser does), compared case-insensitively.
/// `srcset` lists several URLs, comma-separated: any of them counts
/// (elsewhere a comma is part of the URL).
fn is_javascript_url(value: &str, list: bool) -> bool {
    let decoded = unescape_html(value);
    let stripped: String = decoded.chars().filter(|c| !matches!(c, '\t' | '\n' | '\r')).collect::<String>().to_lowercase();
    let starts = |part: &str| part.trim_matches(|c: char| c <= ' ').starts_with("javascript:");
    if list { stripped.split(',').any(starts) } else { starts(&stripped) }
}

/// Publishes `stories` as one channel in RSS, Atom and JSON Feed and parses
/// each file with the project's own parser: none may be marked not
/// well-formed, each must give back one entry per distinct story id, and
/// the content read back must still be safe.
pub fn publish_and_reparse(stories: &[Story]) {
    let refs: Vec<&Story> = stories.iter().collect();
    let updated = stories.iter().map(Story::last_modified).max().unwrap_or(DateTime::UNIX_EPOCH);
    let channel = Channel { slug: None, title: "Fuzz <all> & more".into(), description: "Every story".into(), stories: refs, updated };
    let site = site();
    let mut ids: Vec<&str> = stories.iter().map(|s| s.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    for format in Format::ALL {
        let bytes = match format {
            Format::Rss => rss::render(&site, &channel),
            Format::Atom => atom::render(&site, &channel),
            Format::Json => jsonfeed::render(&site, &channel),
        };
        let ctx = ParseContext { base_url: Some(channel_url(&site, format)), content_type: Some(format.mime_type().into()) };
        let feed = match parse_feed(&bytes, &ctx) {
            Ok(feed) => feed,
            Err(e) => panic!("published {} does not parse: {e}\n{}", format.label(), String::from_utf8_lossy(&bytes)),
        };
        assert!(!feed.bozo, "published {} is not well-formed: {:?}\n{}", format.label(), feed.bozo_reason, String::from_utf8_lossy(&bytes));
        assert_eq!(
            feed.entries.len(),
            ids.len(),
            "published {} lost or added entries\n{}",
            format.label(),
            String::from_utf8_lossy(&bytes)
        );
        for entry in &feed.entries {
            // A plain-text summary is text: `<script>` there is words.
            let summary = entry.summary.as_deref().filter(|_| entry.summary_kind == TextKind::Html);
            for html in [entry.content.as_deref(), summary].into_iter().flatten() {
                if let Some(problem) = unsafe_html(html) {
                    panic!("published {} carries unsafe HTML ({problem}): {html:?}", format.label());
                }
            }
        }
    }
}

fn channel_url(site: &Site, format: Format) -> Url {
    site.base_url.join(&format!("all.{}", format.extension())).unwrap()
}

/// Splits fuzz input into `n` strings at NUL bytes (lossy UTF-8); missing
/// parts are empty.
pub fn fields(data: &[u8], n: usize) -> Vec<String> {
    let mut out: Vec<String> = data.splitn(n, |&b| b == 0).map(|p| String::from_utf8_lossy(p).into_owned()).collect();
    out.resize(n, String::new());
    out
}

#[cfg(test)]
mod tests {
    use super::unsafe_html;

    #[test]
    fn the_checker_finds_script_handlers_and_javascript_urls() {
        assert!(unsafe_html("<p>x</p><SCRIPT>").is_some());
        assert!(unsafe_html(r#"<img src="x" OnError="alert(1)">"#).is_some());
        assert!(unsafe_html(r#"<a href=" &#x6A;ava&#9;script:alert(1)">"#).is_some());
        assert!(unsafe_html(r#"<a href='JAVASCRIPT:x'>"#).is_some());
        assert!(unsafe_html(r#"<img srcset="a.png 1x, javascript:x 2x">"#).is_some());
        assert!(unsafe_html(r#"<a title="onclick=x javascript:y" href="https://e.org/">on=1 &lt;script&gt;</a>"#).is_none());
        assert!(unsafe_html("<p>javascript: is a language</p>").is_none());
        assert!(unsafe_html(r#"<img src="https://e.org/a,JaVaScRiPt:.jpg">"#).is_none());
    }
}
