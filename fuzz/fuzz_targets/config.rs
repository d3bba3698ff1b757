//! Config parsing: any TOML text gives a config or a typed error, never a
//! panic (`${NAME}` substitution included). A config that loads can be
//! used: its topic rules build, its sources export to OPML that imports
//! back with every source, and the empty site it publishes (a feed per
//! channel, pages, the OPML list) parses as well-formed.
#![no_main]

use std::path::Path;
use wirefeed::config::Config;
use wirefeed::ingest::opml;
use wirefeed::ingest::parse::{ParseContext, parse_feed};
use wirefeed::publish;
use wirefeed::topics::TopicRules;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let env = |name: &str| match name {
        "WF_TITLE" => Some("Title from <env> & \"more\"".to_owned()),
        "WF_URL" => Some("https://env.example/feed".to_owned()),
        _ => None,
    };
    let Ok(config) = Config::from_toml_with_env(text, Path::new("/fuzz/site/wirefeed.toml"), &env) else { return };
    let _rules = TopicRules::from_config(&config);
    let exported = opml::export(&config);
    let feeds = opml::parse(exported.as_bytes()).unwrap_or_else(|e| panic!("exported OPML does not parse: {e}\n{exported}"));
    assert_eq!(feeds.len(), config.sources.len(), "exported OPML lost sources\n{exported}");
    let channels = publish::channels(&config, &[]);
    for (path, bytes) in publish::render(&config, &channels, |_| false) {
        let mime = match path.rsplit('.').next() {
            Some("rss") => "application/rss+xml",
            Some("atom") => "application/atom+xml",
            Some("json") => "application/feed+json",
            Some("opml") => {
                opml::parse(&bytes).unwrap_or_else(|e| panic!("{path} does not parse: {e}\n{}", String::from_utf8_lossy(&bytes)));
                continue;
            }
            _ => continue,
        };
        let ctx = ParseContext { base_url: None, content_type: Some(mime.into()) };
        let feed = parse_feed(&bytes, &ctx).unwrap_or_else(|e| panic!("{path} does not parse: {e}\n{}", String::from_utf8_lossy(&bytes)));
        assert!(!feed.bozo, "{path} is not well-formed: {:?}\n{}", feed.bozo_reason, String::from_utf8_lossy(&bytes));
    }
});
