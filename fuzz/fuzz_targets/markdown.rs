//! The Markdown importer: front matter (TOML or YAML) and CommonMark body.
//! Any text gives a story or a typed error, never a panic; a story becomes
//! a draft as `ingest::load_file` makes it (raw HTML in the body goes to
//! the sanitizer, embeds allowed from one host), is normalized twice to the
//! same story, and publishes into feeds the parser reads as well-formed.
#![no_main]

use wirefeed::ingest::markdown;
use wirefeed::model::{Image, StoryDraft};
use wirefeed_fuzz::{base_url, normalize_twice, publish_and_reparse};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let tz = (text.len() % 2 == 1).then_some(chrono_tz_berlin());
    let Ok(md) = markdown::parse(text, "fuzz-story", tz) else { return };
    assert!(!md.title.trim().is_empty(), "a story parsed without a title");
    let base = base_url();
    let link =
        md.link.clone().or_else(|| md.slug.as_deref().and_then(|slug| base.join(&format!("stories/{slug}.html")).ok()).map(String::from));
    let has_image = md.image.is_some() || md.caption.is_some() || md.credit.is_some();
    let draft = StoryDraft {
        origin_id: Some(match &md.id {
            Some(id) => format!("id:{id}"),
            None => "file:fuzz-story.md".into(),
        }),
        id_scope: Some("Desk".into()),
        link,
        title: md.title,
        summary: md.summary.or_else(|| (!md.lead.is_empty()).then_some(md.lead)),
        content: md.html,
        image: has_image.then_some(Image { url: md.image, caption: md.caption, credit: md.credit }),
        authors: md.authors,
        categories: md.categories,
        topics: md.topics,
        embed_hosts: vec!["www.youtube.com".into()],
        published: md.date,
        updated: md.updated,
        base_url: Some(base),
        source: "Desk".into(),
        ..Default::default()
    };
    if let Some(story) = normalize_twice(draft) {
        publish_and_reparse(std::slice::from_ref(&story));
    }
});

fn chrono_tz_berlin() -> chrono_tz::Tz {
    chrono_tz::Europe::Berlin
}
