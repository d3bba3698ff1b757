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

/// fuzz/regressions/sanitize/control-character-reference: the sanitizer
/// decodes `&#19;` into U+0013, which XML forbids, and the RSS it was
/// published in was not well-formed.
#[test]
fn character_references_to_forbidden_characters_do_not_reach_the_output() {
    use wirefeed::model::sanitize::{sanitize_html, sanitize_with_embeds};
    for html in ["<b>&#19;</b>", "a&#x1;b&#127;c&#x85;d", "&#xFFFE;x"] {
        for out in [sanitize_html(html, None), sanitize_with_embeds(html, None, &["www.youtube.com".into()])] {
            assert!(!out.chars().any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r')), "{html} → {out:?}");
            assert!(!out.contains(['\u{FFFE}', '\u{FFFF}']), "{html} → {out:?}");
        }
    }
    assert_eq!(sanitize_html("<b>a&#19;b</b> &#10;c", None), "<b>ab</b> \nc");
    // Through normalize and publish: the feed parses as well-formed.
    let story =
        wirefeed::model::StoryDraft { title: "T".into(), content: "<b>summary &#19;</b>".into(), source: "S".into(), ..Default::default() }
            .normalize(Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap())
            .unwrap();
    let stories = [story];
    let rss = wirefeed::publish::rss::render(&site(), &channel(&stories));
    let feed = parse_feed(&rss, &ctx(Format::Rss.mime_type())).unwrap();
    assert!(!feed.bozo, "{:?}", feed.bozo_reason);
}

/// fuzz/regressions/opml/long-folder-name-topic-slug: a folder named
/// with more than 64 characters' worth of words became a topic slug the
/// config then refused, so the imported config no longer loaded.
#[test]
fn an_opml_folder_with_a_long_name_imports_into_a_config_that_loads() {
    use wirefeed::config::{Config, is_valid_slug};
    use wirefeed::ingest::opml;
    let words = ["word"; 14].join(" ");
    let doc = format!(r#"<opml><body><outline text="{words}"><outline text="f" xmlUrl="https://a.example/f"/></outline></body></opml>"#);
    let feeds = opml::parse(doc.as_bytes()).unwrap();
    let config = "[publish]\ntitle = \"T\"\nbase_url = \"https://news.example.org/\"\n";
    let (text, summary) = opml::import_into(config, &feeds).unwrap();
    assert_eq!(summary.new_topics.len(), 1);
    let slug = &summary.new_topics[0];
    assert!(is_valid_slug(slug) && slug.len() <= 64 && words.replace(' ', "-").starts_with(slug.as_str()), "{slug}");
    let loaded = Config::from_toml(&text, std::path::Path::new("/x/wirefeed.toml")).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(loaded.sources[0].topics, vec![slug.clone()]);
    assert_eq!(loaded.topics[0].title, words, "the topic keeps the folder's whole name as its title");
}

/// fuzz/regressions/config/nul-in-publish-title: `title = "a\u0000b"`
/// in `[publish]` (TOML writes any character) went into every feed, which
/// was then not well-formed XML. Such text is a config error naming the key.
#[test]
fn config_text_with_a_control_character_is_an_error_naming_the_key() {
    use wirefeed::config::{Config, ConfigError};
    let path = std::path::Path::new("/x/wirefeed.toml");
    let base = "[publish]\nbase_url = \"https://news.example.org/\"\n";
    for (extra, key) in [
        ("[publish]\ntitle = \"a\\u0000b\"\nbase_url = \"https://news.example.org/\"\n", "publish.title"),
        ("[publish]\ntitle = \"T\"\ndescription = \"\\u0013\"\nbase_url = \"https://news.example.org/\"\n", "publish.description"),
        ("[publish]\ntitle = \"T\"\nauthor = \"\\u007f\"\nbase_url = \"https://news.example.org/\"\n", "publish.author"),
        ("[publish]\ntitle = \"T\"\nlanguage = \"e\\u0001n\"\nbase_url = \"https://news.example.org/\"\n", "publish.language"),
        (
            "[publish]\ntitle = \"T\"\nbase_url = \"https://news.example.org/\"\n[[topics]]\nslug = \"t\"\ntitle = \"\\uFFFE\"\n",
            "topics[0].title",
        ),
        (
            "[publish]\ntitle = \"T\"\nbase_url = \"https://news.example.org/\"\n[[sources]]\nname = \"a\\u0008\"\nurl = \"https://a.example/f\"\n",
            "sources[0].name",
        ),
    ] {
        match Config::from_toml(extra, path) {
            Err(ConfigError::Invalid { key: k, message, .. }) => {
                assert_eq!(k, key, "{extra}");
                assert!(message.contains("control character"), "{message}");
            }
            other => panic!("{extra}: {other:?}"),
        }
    }
    // Tabs and line breaks are text.
    let ok = format!("{base}title = \"A\\tB\"\ndescription = \"\"\"\nline\nline\"\"\"\n");
    assert!(Config::from_toml(&ok, path).is_ok(), "{ok}");
}

/// fuzz/regressions/markdown/empty-heading: a story whose only title was
/// an empty `# ` heading was read with an empty title, where the title is
/// required; it is the "no title" error now.
#[test]
fn an_empty_heading_is_no_title() {
    use wirefeed::ingest::markdown::{MarkdownError, parse};
    for text in ["# ", "# \n\nBody text.", "  # ##\nBody", "+++\ntitle = \" \"\n+++\n# \nBody"] {
        assert_eq!(parse(text, "k", None), Err(MarkdownError::NoTitle), "{text:?}");
    }
    assert_eq!(parse("# Floods\n\nBody", "k", None).unwrap().title, "Floods");
}

/// fuzz/regressions/markdown/iframe-raw-text-markup: with `allow_embeds`,
/// `<iframe>&lt;<div onclick="x">` kept an `<iframe>` (its src refused)
/// whose raw text was `<div onclick="x">`: inert in a browser, markup with
/// a handler to a reader that drops frames and keeps their text. An
/// iframe without src goes whatever it holds, and a kept one holds nothing.
#[test]
fn an_embed_keeps_no_markup_inside_its_frame() {
    use wirefeed::model::sanitize::sanitize_with_embeds;
    let hosts = ["www.youtube.com".to_owned()];
    let out = sanitize_with_embeds(r#"<p>a<iframe>&lt;<div onclick="x">/iframe&gt;</iframe>b</p>"#, None, &hosts);
    assert!(!out.contains("iframe") && !out.contains("onclick"), "{out}");
    let out = sanitize_with_embeds(
        r#"<iframe src="https://www.youtube.com/embed/x" title="a>b"><div onclick="x"></div></iframe><p>after</p>"#,
        None,
        &hosts,
    );
    assert_eq!(out, r#"<iframe src="https://www.youtube.com/embed/x" title="a&gt;b"></iframe><p>after</p>"#);
    let out = sanitize_with_embeds(r#"<iframe src="https://evil.example/x">text</iframe><p>kept</p>"#, None, &hosts);
    assert_eq!(out, "<p>kept</p>");
}

/// fuzz/regressions/feed/six-digit-year-in-pubdate: `Tue, 02 Jan 202400
/// :01:00 GMT` parsed as the year 202400, and publishing the story as RSS
/// panicked (chrono writes RFC 2822 dates of years 0–9999 only). A date
/// no output can write is no date: the parser says so, and normalize too
/// for dates from elsewhere.
#[test]
fn a_date_past_the_year_9999_is_no_date() {
    use chrono::Datelike;
    use wirefeed::ingest::parse::parse_date;
    use wirefeed::model::StoryDraft;
    // (case, date text, read as a date)
    let cases = [
        ("six-digit year, RFC 822", "Tue, 02 Jan 202400 00:01:00 GMT", false),
        ("five-digit year, ISO", "10000-01-01T00:00:00Z", false),
        ("year zero", "0000-06-01T00:00:00Z", false),
        ("last representable day", "9999-12-31T12:00:00Z", true),
        ("pushed past 9999 by its offset", "9999-12-31T23:30:00-05:00", false),
        ("year one", "0001-01-02T00:00:00Z", true),
    ];
    for (case, text, dated) in cases {
        assert_eq!(parse_date(text).is_some(), dated, "{case}: {text}");
    }
    let far = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap().with_year(12000);
    let story = StoryDraft { title: "T".into(), published: far, updated: far, ..Default::default() }
        .normalize(Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap())
        .unwrap();
    assert_eq!(story.published, Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap(), "the fallback date, not the year 12000");
    assert_eq!(story.updated, None);
    let published = wirefeed::publish::rss::render(&site(), &channel(std::slice::from_ref(&story)));
    assert!(!parse_feed(&published, &ctx("application/rss+xml")).unwrap().bozo);
    let raw = std::fs::read("fuzz/regressions/feed/six-digit-year-in-pubdate").unwrap();
    let parsed = parse_feed(&raw[1..], &ctx("application/rss+xml")).unwrap();
    assert_eq!(parsed.entries[0].published, None, "the fuzzer's input: undated");
}

/// fuzz/regressions/config/deep-query-groups: a topic `query` of 60,000
/// `(` overflowed the stack (the process died with SIGSEGV, no message):
/// the query parser recursed once per group, and so would the matcher.
/// Nesting past 64 levels is now a config error naming the topic. Each
/// case runs on a thread with a 2 MB stack (as a small one would be), so
/// a recursion that came back fails here too.
#[test]
fn a_query_nested_past_the_cap_is_a_config_error_not_a_stack_overflow() {
    use wirefeed::config::Config;
    let path = std::path::Path::new("/x/wirefeed.toml");
    let file = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/regressions/config/deep-query-groups")).unwrap();
    let cases = [
        ("the fuzzer's input", file),
        ("NOT 50,000 times", "[publish]\ntitle = \"T\"\nbase_url = \"https://x.example/\"\n[[topics]]\nslug = \"deep\"\ntitle = \"Deep\"\nquery = '".to_owned() + &"NOT ".repeat(50_000) + "a'\n"),
        (
            "a source's exclude",
            "[publish]\ntitle = \"T\"\nbase_url = \"https://x.example/\"\n[[sources]]\nname = \"s\"\nurl = \"https://s.example/f\"\nexclude = '".to_owned()
                + &"(".repeat(50_000)
                + "a'\n",
        ),
    ];
    for (case, text) in cases {
        let outcome = std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(move || Config::from_toml(&text, path).map(drop).map_err(|e| e.to_string()))
            .unwrap()
            .join()
            .unwrap_or_else(|_| panic!("{case}: panicked"));
        let message = outcome.expect_err(case);
        assert!(message.contains("nested too deeply"), "{case}: {message}");
    }
}
