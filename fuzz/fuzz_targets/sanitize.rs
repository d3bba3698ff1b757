//! normalize + sanitize on an entry as the parser hands it over: the
//! input is the entry's fields, NUL-separated (content HTML, summary,
//! title, link, image URL, attachment URL); the first byte picks the
//! summary's kind, the base URL and whether embeds are allowed. The
//! sanitizer's output must never hold a script, an event handler or a
//! `javascript:` URL, whatever it was given, and normalizing is
//! deterministic.
#![no_main]

use wirefeed::model::sanitize::{sanitize_html, sanitize_with_embeds};
use wirefeed::model::{Attachment, Image, StoryDraft, TextKind};
use wirefeed_fuzz::{base_url, fields, normalize_twice, publish_and_reparse, unsafe_html};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else { return };
    let f = fields(rest, 6);
    let base = (selector & 1 != 0).then(base_url);
    let embeds: Vec<String> = if selector & 2 != 0 { vec!["www.youtube.com".into(), "player.example".into()] } else { Vec::new() };
    for (what, html) in [("content", &f[0]), ("summary", &f[1])] {
        let clean = sanitize_with_embeds(html, base.as_ref(), &embeds);
        if let Some(problem) = unsafe_html(&clean) {
            panic!("sanitizing the {what} left it unsafe ({problem}): {clean:?}");
        }
        // What is clean stays clean when cleaned again.
        let again = sanitize_html(&clean, base.as_ref());
        if let Some(problem) = unsafe_html(&again) {
            panic!("sanitizing the {what} twice left it unsafe ({problem}): {again:?}");
        }
    }
    let draft = StoryDraft {
        origin_id: (selector & 4 != 0).then(|| f[2].clone()),
        title: f[2].clone(),
        summary: (!f[1].is_empty()).then(|| f[1].clone()),
        summary_kind: if selector & 8 != 0 { TextKind::Html } else { TextKind::Text },
        content: f[0].clone(),
        link: (!f[3].is_empty()).then(|| f[3].clone()),
        image: (!f[4].is_empty()).then(|| Image { url: Some(f[4].clone()), caption: Some(f[2].clone()), credit: None }),
        attachments: if f[5].is_empty() {
            Vec::new()
        } else {
            vec![Attachment { url: f[5].clone(), mime_type: String::new(), length: None, title: Some(f[1].clone()), duration: None }]
        },
        base_url: base,
        embed_hosts: embeds,
        source: "Fuzz".into(),
        authors: vec![f[1].clone()],
        categories: vec![f[2].clone()],
        ..Default::default()
    };
    if let Some(story) = normalize_twice(draft) {
        publish_and_reparse(std::slice::from_ref(&story));
    }
});
