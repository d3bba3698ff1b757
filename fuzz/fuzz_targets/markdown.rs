//! The Markdown importer: front matter (TOML or YAML) and CommonMark body.
//! Any text gives a story or a typed error, never a panic; a story becomes
//! a draft through the loader's own mapping
//! (`ingest::markdown_story_draft`, as `build` makes it: raw HTML in the
//! body goes to the sanitizer, embeds allowed from one host, links from the
//! folder's `link_base` or the site's base URL), is normalized twice to the
//! same story, and publishes into feeds the parser reads as well-formed.
#![no_main]

use wirefeed::config::StoriesConfig;
use wirefeed::ingest::{markdown, markdown_story_draft};
use wirefeed_fuzz::{base_url, normalize_twice, publish_and_reparse};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    // The input's length picks the folder's settings: a time zone for
    // dates written without one, and a link base of its own.
    let odd = text.len() % 2 == 1;
    let entry = StoriesConfig {
        path: "stories".into(),
        source: "Desk".into(),
        link_base: (text.len() % 3 == 0).then(|| url::Url::parse("https://desk.example/news/").expect("a URL")),
        timezone: odd.then(|| "Europe/Berlin".into()),
        language: None,
        allow_embeds: vec!["www.youtube.com".into()],
    };
    let Ok(md) = markdown::parse(text, "fuzz-story", entry.timezone()) else { return };
    assert!(!md.title.trim().is_empty(), "a story parsed without a title");
    let draft = markdown_story_draft(md, "fuzz-story.md", &entry, &base_url(), "Desk");
    if let Some(story) = normalize_twice(draft) {
        publish_and_reparse(std::slice::from_ref(&story));
    }
});
