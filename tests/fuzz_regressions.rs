//! What the fuzz targets (`fuzz/`) found, each as the smallest input that
//! showed it and the behaviour now expected. The same inputs are kept in
//! `fuzz/regressions/TARGET/` and replayed by `fuzz/run.sh`.

use chrono::{TimeZone, Utc};
use url::Url;
use wirefeed::ingest::parse::{ParseContext, parse_feed};
use wirefeed::model::Story;
use wirefeed::publish::{Channel, Format, Site, jsonfeed};

fn site() -> Site {
    Site {
        title: "Site".into(),
        description: "Every story".into(),
        base_url: Url::parse("https://news.example.org/").unwrap(),
        language: "en".into(),
        author: None,
        websub_hub: None,
    }
}

fn channel(stories: &[Story]) -> Channel<'_> {
    let updated = stories.iter().map(Story::last_modified).max().unwrap_or(Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap());
    Channel { slug: None, title: "All".into(), description: "Every story".into(), stories: stories.iter().collect(), updated }
}

fn ctx(content_type: &str) -> ParseContext {
    ParseContext { base_url: None, content_type: Some(content_type.into()) }
}

/// fuzz/regressions/feed/empty-channel-json-feed-media-type: our own JSON
/// Feed, served as `application/feed+json` (as `serve` does), was marked
/// bozo ("application/feed+json is not an XML media type").
#[test]
fn a_json_feed_served_as_json_is_well_formed() {
    let published = jsonfeed::render(&site(), &channel(&[]));
    for content_type in [Format::Json.mime_type(), "application/json", "application/feed+json; charset=utf-8"] {
        let feed = parse_feed(&published, &ctx(content_type)).unwrap();
        assert!(!feed.bozo, "{content_type}: {:?}", feed.bozo_reason);
    }
    // A JSON Feed under a type that is neither JSON nor XML, and an XML
    // feed labelled JSON, are still mislabelled.
    assert!(parse_feed(&published, &ctx("text/html")).unwrap().bozo);
    assert!(parse_feed(b"<rss version=\"2.0\"><channel/></rss>", &ctx("application/json")).unwrap().bozo);
}

/// fuzz/regressions/query/text-field-operator-word: a query prints in its
/// own syntax, and what it prints must read back as the same query.
/// `text:NOT -a` printed as `NOT AND NOT a`, which does not parse; words
/// that only a field's value or a phrase can hold were printed bare too.
#[test]
fn a_printed_query_reads_back_as_itself() {
    use wirefeed::topics::query::parse;
    for (text, printed) in [
        ("text:NOT -a", "text:NOT AND NOT a"),
        ("text:OR", "text:OR"),
        ("text:-a", "text:-a"),
        ("text:-a*", "text:-a*"),
        ("text:title:x", "text:title:x"),
        ("\"a(b\"", "\"a(b\""),
        ("\"/x\"", "\"/x\""),
        ("\"a*\"", "\"a*\""),
        ("\"NOT\"", "text:NOT"),
        // Unchanged: a field's value keeps what only a value can be.
        ("title:AND", "title:AND"),
        ("link:https://x.org/a", "link:https://x.org/a"),
        ("10:30", "10:30"),
    ] {
        let q = parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(q.to_string(), printed, "{text}");
        let again = parse(printed).unwrap_or_else(|e| panic!("{text} printed as {printed}, which does not parse: {e}"));
        assert_eq!(again.to_string(), printed, "{text}");
    }
}
