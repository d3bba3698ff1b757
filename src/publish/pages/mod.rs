//! Pages people read: a river of stories per channel, a page per
//! newsroom story, and a status page of the sources, all sharing one
//! small stylesheet (`style.css`) and the same header, navigation and
//! footer.
//!
//! Every page is static HTML5 with no script and nothing from another
//! site but the stories' own images and media. Links between pages are
//! relative, so the folder works wherever it is served (or opened from
//! disk). Text that strangers wrote (titles, names, captions, categories,
//! errors) is escaped wherever it goes, and a URL reaches an `href` or
//! `src` only when it parses as http or https ([`web_url`]).
//!
//! Layout (paths relative to the output folder):
//! - `all.html`, `all/2.html`, `all/3.html` …: the merged channel;
//! - `topics/<slug>.html`, `topics/<slug>/2.html` …: a topic's channel
//!   (page numbers go in a folder of their own because a topic slug may
//!   itself end in `-2`);
//! - `stories/<slug>.html`: a newsroom story whose link points there
//!   (see [`story_page_path`]);
//! - `sources.html`, `style.css`.

pub mod river;
pub mod sources;
pub mod story;

use chrono::{DateTime, Utc};
use std::borrow::Cow;
use std::fmt::Write as _;

use super::{Channel, Format, GENERATOR, Site, VERSION};
use crate::config::Config;
use crate::model::{Attachment, Story};

/// The shared stylesheet, written beside the pages as [`STYLESHEET_PATH`].
pub const STYLESHEET: &str = include_str!("style.css");
pub const STYLESHEET_PATH: &str = "style.css";
pub const SOURCES_PATH: &str = "sources.html";

/// What every page needs to know about the site.
#[derive(Debug, Clone)]
pub struct Pages<'a> {
    pub site: Site,
    /// Public topics as (slug, title), in config order: private ones are
    /// served only with credentials, so no public page names or links them.
    pub topics: Vec<(&'a str, &'a str)>,
    pub page_size: usize,
}

impl<'a> Pages<'a> {
    pub fn new(config: &'a Config) -> Pages<'a> {
        Pages {
            site: Site::from_config(config),
            topics: config.topics.iter().filter(|t| !t.private).map(|t| (t.slug.as_str(), t.title.as_str())).collect(),
            page_size: config.publish.page_size.max(1),
        }
    }

    fn topic_title(&self, slug: &str) -> Option<&'a str> {
        self.topics.iter().find(|(s, _)| *s == slug).map(|(_, t)| *t)
    }
}

/// Path of page `page` (1-based) of a channel's river.
pub fn river_path(slug: Option<&str>, page: usize) -> String {
    match (slug, page) {
        (None, 1) => "all.html".to_owned(),
        (None, n) => format!("all/{n}.html"),
        (Some(s), 1) => format!("topics/{s}.html"),
        (Some(s), n) => format!("topics/{s}/{n}.html"),
    }
}

/// The page a story has on this site, relative to the output folder: a
/// newsroom story (no `origin`) whose link is `base_url` +
/// `stories/<name>.html`, `<name>` one path segment (percent-decoded, as
/// `serve` decodes it) that cannot step out of `stories/`. Anything else
/// (external stories, links to a `link_base` elsewhere) has no page here.
pub fn story_page_path(site: &Site, story: &Story) -> Option<String> {
    if story.origin.is_some() {
        return None;
    }
    page_of_link(site, story.link.as_deref()?)
}

/// The page file a newsroom story's link names (see [`story_page_path`]).
pub fn page_of_link(site: &Site, link: &str) -> Option<String> {
    let rest = link.strip_prefix(site.base_url.as_str())?.strip_prefix("stories/")?;
    let name = rest.strip_suffix(".html")?;
    if name.is_empty() || name.contains(['/', '?', '#']) {
        return None;
    }
    let name = percent_encoding::percent_decode_str(name).decode_utf8().ok()?;
    if name.starts_with('.') || name.contains(['/', '\\', '\0']) || name.chars().any(char::is_control) {
        return None;
    }
    Some(format!("stories/{name}.html"))
}

/// Every page of the channels that changed, every newsroom story's page
/// and the stylesheet. Channels for which `unchanged` says so are left
/// out, as their feeds are; story pages are rendered every time (few, and
/// [`super::write`] leaves unchanged bytes alone).
pub fn render(config: &Config, channels: &[Channel<'_>], unchanged: impl Fn(&Channel<'_>) -> bool) -> Vec<(String, Vec<u8>)> {
    let pages = Pages::new(config);
    let mut files = vec![(STYLESHEET_PATH.to_owned(), STYLESHEET.as_bytes().to_vec())];
    for channel in channels.iter().filter(|c| !unchanged(c)) {
        files.extend(river::render(&pages, channel).into_iter().map(|(p, html)| (p, html.into_bytes())));
    }
    let mut seen = std::collections::HashSet::new();
    for story in channels.iter().flat_map(|c| c.stories.iter()) {
        if let Some(path) = story_page_path(&pages.site, story)
            && seen.insert(path.clone())
        {
            files.push((path, story::render(&pages, story).into_bytes()));
        }
    }
    files
}

/// Pages of a channel's river beyond its last one (left by a channel that
/// had more stories before), relative to the output folder.
pub fn stale_river_pages(output: &std::path::Path, channel: &Channel<'_>, page_size: usize) -> Vec<String> {
    let pages = river::page_count(channel.stories.len(), page_size);
    let first = river_path(channel.slug.as_deref(), 1);
    let dir = first.trim_end_matches(".html");
    let Ok(entries) = std::fs::read_dir(output.join(dir)) else { return Vec::new() };
    let mut stale = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let n = name.to_str().and_then(|n| n.strip_suffix(".html")).and_then(|n| n.parse::<usize>().ok());
        if n.is_some_and(|n| n > pages && n >= 2) {
            stale.push(format!("{dir}/{}", name.to_string_lossy()));
        }
    }
    stale
}

/// Text for HTML: element content and quoted attribute values alike
/// (`&`, `<`, `>`, `"`, `'`).
pub(crate) fn esc(s: &str) -> Cow<'_, str> {
    quick_xml::escape::escape(s)
}

/// `url` as it may go into an `href` or `src`: parsed as an absolute
/// http(s) URL (so `javascript:`, `data:` and friends never get there),
/// re-serialized, and escaped for an attribute.
pub(crate) fn web_url(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url.trim()).ok()?;
    matches!(parsed.scheme(), "http" | "https").then(|| esc(parsed.as_str()).into_owned())
}

/// The way from a page at `path` back to the output folder's root.
pub(crate) fn root_of(path: &str) -> String {
    "../".repeat(path.matches('/').count())
}

pub(crate) fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// A date as people read it: "26 November 2024, 09:30 UTC" for English
/// pages, else the language-neutral "2024-11-26 09:30 UTC".
pub(crate) fn readable(site: &Site, t: DateTime<Utc>) -> String {
    if site.language.is_empty() || site.language.to_ascii_lowercase().starts_with("en") {
        t.format("%-d %B %Y, %H:%M UTC").to_string()
    } else {
        t.format("%Y-%m-%d %H:%M UTC").to_string()
    }
}

/// `<time>` with its machine-readable value.
pub(crate) fn time(site: &Site, t: DateTime<Utc>) -> String {
    format!("<time datetime=\"{}\">{}</time>", iso(t), readable(site, t))
}

/// The top of every page, up to and including `<main>`.
pub(crate) struct Head<'p> {
    /// The page's own path (for relative links).
    pub path: &'p str,
    pub title: &'p str,
    pub description: Option<&'p str>,
    /// Extra `<head>` lines (autodiscovery, rel=prev/next, Open Graph…).
    pub extra: String,
    /// The nav entry to mark current: `None` for the merged channel,
    /// `Some(slug)` for a topic; `current` false marks none.
    pub current: Option<Option<&'p str>>,
}

pub(crate) fn open(out: &mut String, pages: &Pages<'_>, head: &Head<'_>) {
    let site = &pages.site;
    let root = root_of(head.path);
    out.push_str("<!DOCTYPE html>\n");
    let _ = write!(out, "<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n", esc(&site.language));
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    let _ = writeln!(out, "<title>{}</title>", esc(head.title));
    if let Some(d) = head.description.filter(|d| !d.is_empty()) {
        let _ = writeln!(out, "<meta name=\"description\" content=\"{}\">", esc(d));
    }
    let _ = writeln!(out, "<meta name=\"generator\" content=\"{GENERATOR} {VERSION}\">");
    // An empty icon: browsers otherwise ask for /favicon.ico, which the
    // output folder does not have.
    out.push_str("<link rel=\"icon\" href=\"data:,\">\n");
    let _ = writeln!(out, "<link rel=\"stylesheet\" href=\"{root}{STYLESHEET_PATH}\">");
    out.push_str(&head.extra);
    out.push_str("</head>\n<body>\n<a class=\"skip\" href=\"#main\">Skip to content</a>\n");
    out.push_str("<header class=\"site\"><div class=\"wrap\">\n");
    let _ = writeln!(out, "<p class=\"site-title\"><a href=\"{root}index.html\">{}</a></p>", esc(&site.title));
    out.push_str("<nav class=\"channels\" aria-label=\"Channels\"><ul>\n");
    let current = |slug: Option<&str>| if head.current == Some(slug) { " aria-current=\"page\"" } else { "" };
    let _ = writeln!(out, "<li><a href=\"{root}all.html\"{}>All stories</a></li>", current(None));
    for (slug, title) in &pages.topics {
        let _ = writeln!(out, "<li><a href=\"{root}{}\"{}>{}</a></li>", esc(&river_path(Some(slug), 1)), current(Some(slug)), esc(title));
    }
    out.push_str("</ul></nav>\n</div></header>\n<main id=\"main\" class=\"wrap\">\n");
}

/// The bottom of every page, from `</main>`.
pub(crate) fn close(out: &mut String, path: &str) {
    let root = root_of(path);
    out.push_str("</main>\n<footer class=\"site\"><div class=\"wrap\"><ul>\n");
    let _ = writeln!(out, "<li><a href=\"{root}index.html\">Home</a></li>");
    let _ = writeln!(out, "<li><a href=\"{root}{SOURCES_PATH}\">Sources</a></li>");
    let _ = writeln!(out, "<li><a href=\"{root}channels.opml\">All channels (OPML)</a></li>");
    let _ = writeln!(out, "<li>Published by {GENERATOR} {VERSION}</li>");
    out.push_str("</ul></div></footer>\n</body>\n</html>\n");
}

/// `<link rel="alternate">` for each format of a channel: what feed
/// readers look for when given a page's address.
pub(crate) fn autodiscovery(out: &mut String, site: &Site, channel: &Channel<'_>) {
    for format in Format::ALL {
        let _ = writeln!(
            out,
            "<link rel=\"alternate\" type=\"{}\" title=\"{} ({})\" href=\"{}\">",
            format.mime_type(),
            esc(&channel.title),
            format.label(),
            esc(&channel.url(site, format))
        );
    }
}

/// The visible subscribe links of a channel.
pub(crate) fn subscribe(out: &mut String, root: &str, channel: &Channel<'_>) {
    out.push_str("<p class=\"subscribe\">Subscribe:");
    for format in Format::ALL {
        let _ = write!(
            out,
            " <a href=\"{root}{}\" type=\"{}\" title=\"{} ({})\">{}</a>",
            esc(&channel.path(format)),
            format.mime_type(),
            esc(&channel.title),
            format.label(),
            format.label()
        );
    }
    out.push_str("</p>\n");
}

/// Where a story's title leads from a page at `root`: its page here
/// (relative), else its link when that is a web URL.
pub(crate) fn story_href(pages: &Pages<'_>, root: &str, story: &Story) -> Option<String> {
    match story_page_path(&pages.site, story) {
        Some(path) => Some(format!("{root}{}", esc(&path_url(&path)))),
        None => story.link.as_deref().and_then(web_url),
    }
}

/// A relative path as a URL: each segment percent-encoded (a story
/// file's name may hold any character but `/`).
fn path_url(path: &str) -> String {
    const SEGMENT: &percent_encoding::AsciiSet =
        &percent_encoding::CONTROLS.add(b' ').add(b'"').add(b'#').add(b'%').add(b'<').add(b'>').add(b'?').add(b'`').add(b'{').add(b'}');
    path.split('/').map(|s| percent_encoding::utf8_percent_encode(s, SEGMENT).to_string()).collect::<Vec<_>>().join("/")
}

/// "By A, B and C".
pub(crate) fn byline(authors: &[String]) -> Option<String> {
    let names: Vec<Cow<'_, str>> = authors.iter().filter(|a| !a.trim().is_empty()).map(|a| esc(a)).collect();
    match names.as_slice() {
        [] => None,
        [one] => Some(format!("By <span class=\"author\">{one}</span>")),
        [rest @ .., last] => {
            let rest: Vec<String> = rest.iter().map(|n| format!("<span class=\"author\">{n}</span>")).collect();
            Some(format!("By {} and <span class=\"author\">{last}</span>", rest.join(", ")))
        }
    }
}

/// The lead image (or just its caption and credit) as a figure; the
/// caption is the image's alt text too (it describes what is shown).
pub(crate) fn figure(out: &mut String, story: &Story, lazy: bool) {
    let Some(image) = &story.image else { return };
    let url = image.url.as_deref().and_then(web_url);
    if url.is_none() && image.caption.is_none() && image.credit.is_none() {
        return;
    }
    out.push_str("<figure>");
    if let Some(url) = url {
        let alt = image.caption.as_deref().unwrap_or("");
        let loading = if lazy { " loading=\"lazy\"" } else { "" };
        let _ = write!(out, "<img src=\"{url}\" alt=\"{}\"{loading} decoding=\"async\">", esc(alt));
    }
    if image.caption.is_some() || image.credit.is_some() {
        out.push_str("<figcaption dir=\"auto\">");
        if let Some(caption) = &image.caption {
            out.push_str(&esc(caption));
        }
        if let Some(credit) = &image.credit {
            let sep = if image.caption.is_some() { " " } else { "" };
            let _ = write!(out, "{sep}<small>({})</small>", esc(credit));
        }
        out.push_str("</figcaption>");
    }
    out.push_str("</figure>\n");
}

/// Audio and video as players with a download link; other attachments
/// as download links. `preload="none"`: a river of podcasts must not
/// fetch every episode to show the page.
pub(crate) fn attachments(out: &mut String, story: &Story) {
    for a in &story.attachments {
        let Some(url) = web_url(&a.url) else { continue };
        let kind = if a.mime_type.starts_with("video/") {
            "video"
        } else if a.mime_type.starts_with("audio/") {
            "audio"
        } else {
            "file"
        };
        out.push_str("<figure class=\"media\">");
        if a.is_media() {
            let _ = write!(out, "<{kind} controls preload=\"none\" src=\"{url}\"></{kind}>");
        }
        out.push_str("<figcaption dir=\"auto\">");
        if let Some(title) = a.title.as_deref().filter(|t| !t.is_empty()) {
            let _ = write!(out, "{} · ", esc(title));
        }
        let _ = write!(out, "<a href=\"{url}\" download type=\"{}\">Download {kind}</a>", esc(&a.mime_type));
        let details = attachment_details(a);
        if !details.is_empty() {
            let _ = write!(out, " <small>({})</small>", esc(&details));
        }
        out.push_str("</figcaption></figure>\n");
    }
}

/// "MP3, 12.3 MB, 34:05".
fn attachment_details(a: &Attachment) -> String {
    let mut parts = Vec::new();
    if let Some(sub) = a.mime_type.split('/').nth(1).filter(|s| !s.is_empty() && a.mime_type != "application/octet-stream") {
        parts.push(match sub {
            "mpeg" => "MP3".to_owned(),
            "x-m4a" | "mp4" if a.mime_type.starts_with("audio/") => "M4A".to_owned(),
            other => other.trim_start_matches("x-").to_ascii_uppercase(),
        });
    }
    if let Some(bytes) = a.length {
        parts.push(match bytes {
            b if b >= 1_000_000 => format!("{:.1} MB", b as f64 / 1e6),
            b if b >= 1_000 => format!("{} KB", b / 1_000),
            b => format!("{b} bytes"),
        });
    }
    if let Some(secs) = a.duration {
        parts.push(match secs {
            s if s >= 3600 => format!("{}:{:02}:{:02}", s / 3600, s % 3600 / 60, s % 60),
            s => format!("{}:{:02}", s / 60, s % 60),
        });
    }
    parts.join(", ")
}

/// The topics a story is in (linked to their rivers) and its categories.
pub(crate) fn tags(out: &mut String, pages: &Pages<'_>, root: &str, story: &Story) {
    let topics: Vec<(&str, &str)> = story.topics.iter().filter_map(|s| pages.topic_title(s).map(|t| (s.as_str(), t))).collect();
    if topics.is_empty() && story.categories.is_empty() {
        return;
    }
    out.push_str("<ul class=\"tags\" aria-label=\"Topics and categories\">");
    for (slug, title) in topics {
        let _ = write!(out, "<li><a href=\"{root}{}\">{}</a></li>", esc(&river_path(Some(slug), 1)), esc(title));
    }
    for category in story.categories.iter().filter(|c| !c.trim().is_empty()) {
        let _ = write!(out, "<li dir=\"auto\">{}</li>", esc(category));
    }
    out.push_str("</ul>\n");
}

/// The line under a title: source (linked to its site, for external
/// stories), authors, date.
pub(crate) fn meta_line(out: &mut String, pages: &Pages<'_>, story: &Story) {
    let mut parts = Vec::new();
    if let Some(origin) = &story.origin {
        let name = if origin.title.trim().is_empty() { story.source.as_str() } else { origin.title.as_str() };
        parts.push(match origin.site_url.as_deref().and_then(web_url) {
            Some(url) => format!("<a class=\"source\" href=\"{url}\" dir=\"auto\">{}</a>", esc(name)),
            None => format!("<span class=\"source\" dir=\"auto\">{}</span>", esc(name)),
        });
    }
    parts.extend(byline(&story.authors));
    parts.push(time(&pages.site, story.published));
    let _ = writeln!(out, "<p class=\"meta\">{}</p>", parts.join(" · "));
}

/// One story in a river (or the index's latest): `level` is its heading's.
pub(crate) fn story_card(out: &mut String, pages: &Pages<'_>, root: &str, story: &Story, level: u8) {
    out.push_str("<article class=\"story\">\n");
    // A title that was all markup is empty once stripped; a link needs words.
    let title = if story.title.trim().is_empty() { Cow::Borrowed("(untitled)") } else { esc(&story.title) };
    match story_href(pages, root, story) {
        Some(href) => {
            let _ = writeln!(out, "<h{level} dir=\"auto\"><a href=\"{href}\">{title}</a></h{level}>");
        }
        None => {
            let _ = writeln!(out, "<h{level} dir=\"auto\">{title}</h{level}>");
        }
    }
    meta_line(out, pages, story);
    figure(out, story, true);
    if let Some(summary) = story.summary.as_deref().filter(|s| !s.is_empty()) {
        let _ = writeln!(out, "<p class=\"summary\" dir=\"auto\">{}</p>", esc(summary));
    }
    attachments(out, story);
    tags(out, pages, root, story);
    out.push_str("</article>\n");
}

#[cfg(test)]
mod tests;
