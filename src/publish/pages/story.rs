//! A newsroom story's own page (`stories/<slug>.html`): the full
//! content, figure, byline, dates and topics, with what link previews and
//! search engines read: Open Graph (<https://ogp.me/>) and Twitter card
//! meta, and a schema.org `NewsArticle` in JSON-LD.

use serde_json::json;
use std::fmt::Write as _;

use super::{Head, Pages, attachments, byline, close, esc, figure, open, root_of, story_page_path, tags, time, web_url};
use crate::model::Story;

/// The story's page; [`story_page_path`] says where it goes.
pub fn render(pages: &Pages<'_>, story: &Story) -> String {
    let site = &pages.site;
    let path = story_page_path(site, story).unwrap_or_else(|| "stories/story.html".to_owned());
    let root = root_of(&path);
    let title = format!("{} — {}", story.title, site.title);
    let mut extra = String::new();
    if let Some(url) = story.link.as_deref().and_then(web_url) {
        let _ = writeln!(extra, "<link rel=\"canonical\" href=\"{url}\">");
    }
    card_meta(&mut extra, pages, story);
    json_ld(&mut extra, pages, story);
    let mut out = String::with_capacity(8192 + story.content.len());
    open(&mut out, pages, &Head { path: &path, title: &title, description: story.summary.as_deref(), extra, current: None });
    out.push_str("<article class=\"page\">\n<header>\n");
    let _ = writeln!(out, "<h1 dir=\"auto\">{}</h1>", esc(&story.title));
    // No summary here: it is the content's first words (or a digest of
    // them), which follow in full.
    let mut meta = Vec::new();
    meta.extend(byline(&story.authors));
    meta.push(format!("Published {}", time(site, story.published)));
    if let Some(updated) = story.updated.filter(|u| *u > story.published) {
        meta.push(format!("updated {}", time(site, updated)));
    }
    let _ = writeln!(out, "<p class=\"meta\">{}</p>", meta.join(" · "));
    out.push_str("</header>\n");
    figure(&mut out, story, false);
    // Sanitized when the story was normalized: it goes in as it is.
    let _ = writeln!(out, "<div class=\"content\" dir=\"auto\">\n{}\n</div>", story.content);
    attachments(&mut out, story);
    tags(&mut out, pages, &root, story);
    out.push_str("</article>\n");
    close(&mut out, &path);
    out
}

/// Open Graph and Twitter card meta.
fn card_meta(out: &mut String, pages: &Pages<'_>, story: &Story) {
    let site = &pages.site;
    let mut meta = |attr: &str, key: &str, value: &str| {
        let _ = writeln!(out, "<meta {attr}=\"{key}\" content=\"{}\">", esc(value));
    };
    meta("property", "og:type", "article");
    meta("property", "og:site_name", &site.title);
    meta("property", "og:title", &story.title);
    if let Some(summary) = &story.summary {
        meta("property", "og:description", summary);
    }
    if let Some(link) = story.link.as_deref().filter(|l| web_url(l).is_some()) {
        meta("property", "og:url", link);
    }
    meta("property", "og:locale", &site.language.replace('-', "_"));
    let image = image_url(story);
    if let Some(url) = &image {
        meta("property", "og:image", url);
        if let Some(caption) = story.image.as_ref().and_then(|i| i.caption.as_deref()) {
            meta("property", "og:image:alt", caption);
        }
    }
    meta("property", "article:published_time", &super::iso(story.published));
    if let Some(updated) = story.updated {
        meta("property", "article:modified_time", &super::iso(updated));
    }
    for author in &story.authors {
        meta("property", "article:author", author);
    }
    for tag in &story.categories {
        meta("property", "article:tag", tag);
    }
    meta("name", "twitter:card", if image.is_some() { "summary_large_image" } else { "summary" });
    meta("name", "twitter:title", &story.title);
    if let Some(summary) = &story.summary {
        meta("name", "twitter:description", summary);
    }
    if let Some(url) = &image {
        meta("name", "twitter:image", url);
    }
}

/// The lead image's URL when it is a web URL (unescaped).
fn image_url(story: &Story) -> Option<String> {
    let url = story.image.as_ref()?.url.as_deref()?;
    let parsed = url::Url::parse(url).ok()?;
    matches!(parsed.scheme(), "http" | "https").then(|| parsed.into())
}

/// schema.org `NewsArticle` (<https://schema.org/NewsArticle>), as
/// Google's article structured data expects it.
fn json_ld(out: &mut String, pages: &Pages<'_>, story: &Story) {
    let site = &pages.site;
    let authors: Vec<_> = story.authors.iter().map(|a| json!({"@type": "Person", "name": a})).collect();
    let mut doc = json!({
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": story.title,
        "datePublished": super::iso(story.published),
        "dateModified": super::iso(story.last_modified()),
        "publisher": {"@type": "Organization", "name": site.title, "url": site.base_url.as_str()},
        "inLanguage": site.language,
    });
    let fields = doc.as_object_mut().expect("an object");
    if !authors.is_empty() {
        fields.insert("author".into(), authors.into());
    }
    if let Some(url) = image_url(story) {
        fields.insert("image".into(), json!([url]));
    }
    if let Some(summary) = &story.summary {
        fields.insert("description".into(), summary.clone().into());
    }
    if let Some(link) = story.link.as_deref().filter(|l| web_url(l).is_some()) {
        fields.insert("mainEntityOfPage".into(), json!({"@type": "WebPage", "@id": link}));
    }
    if !story.categories.is_empty() {
        fields.insert("keywords".into(), story.categories.join(", ").into());
    }
    let _ = writeln!(out, "<script type=\"application/ld+json\">{}</script>", script_safe_json(&doc));
}

/// JSON that cannot end the `<script>` element it sits in, nor open a
/// comment or CDATA section there: `<`, `>` and `&` are written as
/// `\u003c`, `\u003e`, `\u0026` (the same string to a JSON reader), so
/// `</script>` in a headline stays text.
pub fn script_safe_json(value: &serde_json::Value) -> String {
    let text = serde_json::to_string(value).expect("JSON values serialize");
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            // Line separators are fine in JSON but not in older JS
            // parsers that some consumers still use on JSON-LD.
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}
