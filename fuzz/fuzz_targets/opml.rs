//! OPML import: any bytes give feeds or a typed error, never a panic.
//! Importing the feeds into a config gives valid TOML whose new topics
//! have valid slugs, and importing the same feeds again adds nothing.
#![no_main]

use wirefeed::config::is_valid_slug;
use wirefeed::ingest::opml;

const CONFIG: &str = r#"# A config the import must keep as written.
[publish]
title = "Fuzz"
base_url = "https://news.example.org/"

[[sources]]
name = "Existing"
url = "https://existing.example/feed.xml"

[[topics]]
slug = "world"
title = "World"
"#;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(feeds) = opml::parse(data) else { return };
    for f in &feeds {
        assert!(!f.xml_url.is_empty(), "a feed without a URL");
        assert!(!f.title.is_empty(), "a feed without a title (its URL stands in)");
    }
    let (text, summary) = opml::import_into(CONFIG, &feeds).expect("the import reads a valid config");
    let doc: toml_edit::DocumentMut = text.parse().unwrap_or_else(|e| panic!("import wrote invalid TOML: {e}\n{text}"));
    assert!(text.starts_with("# A config the import must keep as written."), "the import lost the config's comment");
    for slug in &summary.new_topics {
        assert!(is_valid_slug(slug) && slug != "all", "the import made topic slug {slug:?}");
    }
    let sources = doc.get("sources").and_then(|s| s.as_array_of_tables()).map_or(0, |a| a.len());
    assert_eq!(sources, 1 + summary.added.len(), "sources in the file vs sources added\n{text}");
    let mut names: Vec<String> =
        doc["sources"].as_array_of_tables().unwrap().iter().map(|t| t["name"].as_str().unwrap().to_lowercase()).collect();
    names.sort();
    let before = names.len();
    names.dedup();
    assert_eq!(before, names.len(), "the import gave two sources one name\n{text}");
    let (again, summary2) = opml::import_into(&text, &feeds).expect("the import reads its own output");
    assert!(summary2.added.is_empty() && summary2.new_topics.is_empty(), "importing twice added more: {summary2:?}");
    assert_eq!(again, text, "importing the same feeds twice changed the file");
});
