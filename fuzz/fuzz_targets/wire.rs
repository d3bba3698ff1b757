//! The wire-text importer: any text splits into stories without a panic;
//! each becomes a draft as `ingest::load_file` makes it (headline, caption,
//! paragraphs escaped into `<p>`), is normalized twice to the same story,
//! and the stories publish into feeds the parser reads as well-formed.
#![no_main]

use wirefeed::ingest::wire;
use wirefeed::model::{Image, StoryDraft};
use wirefeed_fuzz::{base_url, normalize_twice, publish_and_reparse};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let parsed = wire::parse(text);
    let mut stories = Vec::new();
    for w in parsed {
        assert!(w.line >= 1, "line numbers are 1-based");
        let content: String = w.paragraphs.iter().map(|p| format!("<p>{}</p>\n", escape(p))).collect();
        let draft = StoryDraft {
            origin_id: Some(format!("wire:fuzz.txt#{}", w.headline.to_lowercase())),
            id_scope: Some("Wire".into()),
            title: w.headline.clone(),
            summary: w.paragraphs.first().cloned(),
            content,
            image: (w.caption.is_some() || w.credit.is_some()).then(|| Image {
                url: None,
                caption: w.caption.clone(),
                credit: w.credit.clone(),
            }),
            base_url: Some(base_url()),
            source: "Wire".into(),
            ..Default::default()
        };
        stories.extend(normalize_twice(draft));
    }
    publish_and_reparse(&stories);
});

/// As the loader escapes each paragraph (text into HTML); the parser's
/// own unescaping must give the paragraph back.
fn escape(p: &str) -> String {
    let escaped = p.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&apos;");
    assert_eq!(wirefeed::ingest::parse::unescape_html(&escaped), p, "escaping then unescaping a paragraph changed it");
    escaped
}
