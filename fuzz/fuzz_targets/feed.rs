//! The feed parser: the first byte picks a Content-Type (and whether the
//! document has a base URL), the rest is the body as fetched. Each entry
//! is normalized twice (same story both times), and what it gives is
//! published and parsed again (never bozo, content still safe).
#![no_main]

use wirefeed::ingest::parse::{ParseContext, parse_feed};
use wirefeed_fuzz::{normalize_twice, publish_and_reparse};

const CONTENT_TYPES: [Option<&str>; 16] = [
    None,
    Some("application/rss+xml"),
    Some("application/atom+xml; charset=utf-8"),
    Some("application/xml"),
    Some("text/xml"),
    Some("text/xml; charset=iso-8859-1"),
    Some("application/xml; charset=windows-1252"),
    Some("text/html"),
    Some("text/plain"),
    Some("application/json"),
    Some("application/feed+json"),
    Some("text/xml; charset=utf-16"),
    Some("application/rss+xml; charset=koi8-r"),
    Some("text/xml; charset=\"shift_jis\""),
    Some("application/octet-stream; charset=bogus"),
    Some("text/html; charset=big5"),
];

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else { return };
    let base = (selector & 0x10 != 0).then(|| url::Url::parse("https://feeds.example.com/news/rss.xml").unwrap());
    let ctx = ParseContext { base_url: base.clone(), content_type: CONTENT_TYPES[usize::from(selector & 0x0f)].map(str::to_owned) };
    let Ok(feed) = parse_feed(body, &ctx) else { return };
    let stories: Vec<_> =
        feed.entries.into_iter().filter_map(|entry| normalize_twice(entry.into_draft("Fuzzed source", base.as_ref()))).collect();
    publish_and_reparse(&stories);
});
