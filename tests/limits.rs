//! Caps on every resource a feed can spend: each cap cuts or drops what
//! is over it, with a note on the source, and never fails the feed; a
//! hostile 16 MiB document of each kind is parsed, capped and noted.
//! (How long those take, and their peak memory, is `benches/limits.rs`.)

mod common;

use common::Site;
use wirefeed::ingest::parse::{LIST_CEILING, Limits, ParseContext, ParsedFeed, parse_feed, parse_feed_with};

fn parse(doc: &str) -> ParsedFeed {
    parse_feed(doc.as_bytes(), &ParseContext::default()).expect("the feed parses, capped")
}

fn rss_items(items: &str) -> String {
    format!(r#"<rss version="2.0"><channel><title>Feed</title>{items}</channel></rss>"#)
}

fn rss_item(inner: &str) -> String {
    rss_items(&format!("<item><guid>g</guid>{inner}</item>"))
}

fn has_note(f: &ParsedFeed, key: &str) -> bool {
    f.notes.iter().any(|n| n.starts_with("capped:") && n.contains(key))
}

type Check = fn(&ParsedFeed) -> bool;

#[test]
fn each_cap_cuts_or_drops_with_a_note() {
    let d = Limits::default();
    let many = |n: usize, f: fn(usize) -> String| (0..n).map(f).collect::<String>();
    // A title whose cap falls inside a 3-byte character.
    let euro_title = format!("<title>a{}</title>", "€".repeat(d.max_title_bytes));
    let cases: Vec<(&str, String, &str, Check)> = vec![
        (
            "entries past max_entries are skipped",
            rss_items(&many(d.max_entries + 5, |i| format!("<item><guid>{i}</guid></item>"))),
            "max_entries",
            |f| f.entries.len() == Limits::default().max_entries && f.notes[0].contains("skipped 5 more"),
        ),
        (
            "JSON Feed items past max_entries are skipped",
            format!(
                r#"{{"version":"https://jsonfeed.org/version/1.1","items":[{}{{"id":"last"}}]}}"#,
                many(d.max_entries, |i| format!(r#"{{"id":"{i}"}},"#))
            ),
            "max_entries",
            |f| f.entries.len() == Limits::default().max_entries && f.entries.last().unwrap().id.as_deref() != Some("last"),
        ),
        ("a title is cut at a character boundary", rss_item(&euro_title), "max_title_bytes", |f| {
            let t = f.entries[0].title.as_deref().unwrap();
            t.len() <= Limits::default().max_title_bytes && t.len() > Limits::default().max_title_bytes - 3 && t.ends_with('€')
        }),
        (
            "the feed's own title is cut",
            format!(r#"<rss version="2.0"><channel><title>{}</title></channel></rss>"#, "t".repeat(d.max_title_bytes + 1)),
            "max_title_bytes",
            |f| f.title.as_ref().unwrap().len() == Limits::default().max_title_bytes,
        ),
        (
            "a summary is cut",
            rss_item(&format!("<description>{}</description>", "s".repeat(d.max_summary_bytes + 10))),
            "max_summary_bytes",
            |f| f.entries[0].summary.as_ref().unwrap().len() == Limits::default().max_summary_bytes,
        ),
        (
            "content is cut",
            rss_item(&format!(
                r#"<content:encoded xmlns:content="http://purl.org/rss/1.0/modules/content/">{}</content:encoded>"#,
                "c".repeat(d.max_content_bytes + 10)
            )),
            "max_content_bytes",
            |f| f.entries[0].content.as_ref().unwrap().len() == Limits::default().max_content_bytes,
        ),
        (
            "categories past max_categories are dropped",
            rss_item(&many(d.max_categories + 20, |i| format!("<category>c{i}</category>"))),
            "max_categories",
            |f| f.entries[0].categories.len() == Limits::default().max_categories && f.entries[0].categories[0] == "c0",
        ),
        (
            "thousands of categories stop at the ceiling, then the cap",
            rss_item(&many(LIST_CEILING * 20, |i| format!("<category>c{i}</category>"))),
            "max_categories",
            |f| f.entries[0].categories.len() == Limits::default().max_categories,
        ),
        (
            "a long category name is cut",
            rss_item(&format!("<category>{}</category>", "n".repeat(d.max_label_bytes * 2))),
            "max_label_bytes",
            |f| f.entries[0].categories[0].len() == Limits::default().max_label_bytes,
        ),
        (
            "authors past max_authors are dropped",
            rss_item(&many(d.max_authors + 3, |i| format!("<author>Person {i}</author>"))),
            "max_authors",
            |f| f.entries[0].authors.len() == Limits::default().max_authors,
        ),
        (
            "attachments past max_attachments are dropped",
            rss_item(&many(d.max_attachments + 4, |i| format!(r#"<enclosure url="http://e.com/{i}.mp3" type="audio/mpeg"/>"#))),
            "max_attachments",
            |f| f.entries[0].enclosures.len() == Limits::default().max_attachments,
        ),
        (
            "a link longer than max_url_bytes is dropped",
            rss_item(&format!("<title>t</title><link>http://e.com/{}</link>", "p".repeat(d.max_url_bytes))),
            "max_url_bytes",
            |f| f.entries[0].link.is_none() && f.entries[0].title.as_deref() == Some("t"),
        ),
        (
            "an attachment with a URL too long is dropped",
            rss_item(&format!(
                r#"<enclosure url="http://e.com/{}.mp3"/><enclosure url="http://e.com/ok.mp3"/>"#,
                "p".repeat(d.max_url_bytes)
            )),
            "max_url_bytes",
            |f| f.entries[0].enclosures.len() == 1 && f.entries[0].enclosures[0].url == "http://e.com/ok.mp3",
        ),
        (
            "elements nested past max_depth are dropped with their content",
            rss_item(&format!("<title>t</title>{}deep{}", "<x>".repeat(d.max_depth + 10), "</x>".repeat(d.max_depth + 10))),
            "max_depth",
            |f| f.entries.len() == 1 && f.entries[0].title.as_deref() == Some("t"),
        ),
        (
            "JSON values nested past 120 levels are dropped, the items kept",
            format!(
                r#"{{"version":"https://jsonfeed.org/version/1.1","items":[{{"id":"a","title":"A","_x":{}1{}}},{{"id":"b","title":"B","content_html":{}"x"{}}},{{"id":"c","title":"C","content_html":"<p>ok</p>"}}]}}"#,
                "[".repeat(200),
                "]".repeat(200),
                r#"{"a":"#.repeat(d.max_depth + 10),
                "}".repeat(d.max_depth + 10)
            ),
            "max_depth",
            |f| {
                let titles: Vec<_> = f.entries.iter().map(|e| e.title.as_deref().unwrap_or("")).collect();
                titles == ["A", "B", "C"]
                    && f.entries[1].content.is_none()
                    && f.entries[2].content.as_deref() == Some("<p>ok</p>")
                    && !f.bozo
            },
        ),
        (
            "attributes past max_attributes are not read",
            rss_item(&format!(r#"<enclosure {} url="http://e.com/late.mp3"/>"#, many(d.max_attributes, |i| format!(r#"a{i}="x" "#)))),
            "max_attributes",
            |f| f.entries[0].enclosures.is_empty(),
        ),
        (
            "an attribute value longer than max_attribute_bytes is not read",
            rss_item(&format!(r#"<enclosure url="http://e.com/{}.mp3"/>"#, "a".repeat(d.max_attribute_bytes))),
            "max_attribute_bytes",
            |f| f.entries[0].enclosures.is_empty(),
        ),
    ];
    for (name, doc, key, check) in cases {
        let f = parse(&doc);
        assert!(has_note(&f, key), "{name}: no note naming {key}: {:?}", f.notes);
        assert!(check(&f), "{name}: wrong outcome (notes {:?})", f.notes);
    }
}

#[test]
fn a_feed_within_every_cap_has_no_notes() {
    let f = parse(&rss_item("<title>t</title><link>http://e.com/a</link><category>c</category><description>d</description>"));
    assert!(f.notes.is_empty(), "{:?}", f.notes);
}

#[test]
fn a_json_feed_nested_just_within_the_cap_loses_nothing() {
    // Levels: the feed (1), items (2), the item (3), the value (4..).
    let deep = |levels: usize| {
        format!(
            r#"{{"version":"https://jsonfeed.org/version/1.1","items":[{{"id":"a","title":"A","tags":["t"],"_x":{}1{}}}]}}"#,
            "[".repeat(levels - 3),
            "]".repeat(levels - 3)
        )
    };
    let within = parse(&deep(120));
    assert!(within.notes.is_empty(), "{:?}", within.notes);
    let over = parse(&deep(121));
    assert!(has_note(&over, "1 JSON value nested deeper than 120 levels dropped (max_depth"), "{:?}", over.notes);
    assert_eq!(over.entries[0].categories, ["t"]);
    // A lower max_depth caps JSON as it caps XML.
    let limits = Limits { max_depth: 5, ..Limits::default() };
    let f = parse_feed_with(deep(6).as_bytes(), &ParseContext::default(), &limits).unwrap();
    assert!(has_note(&f, "deeper than 5 levels"), "{:?}", f.notes);
    assert_eq!(f.entries[0].title.as_deref(), Some("A"));
}

#[test]
fn configured_limits_replace_the_defaults() {
    let limits = Limits { max_entries: 2, max_title_bytes: 3, ..Limits::default() };
    let doc = rss_items("<item><title>abcdef</title></item><item><title>x</title></item><item><title>y</title></item>");
    let f = parse_feed_with(doc.as_bytes(), &ParseContext::default(), &limits).unwrap();
    assert_eq!(f.entries.len(), 2);
    assert_eq!(f.entries[0].title.as_deref(), Some("abc"));
    assert!(has_note(&f, "max_entries") && has_note(&f, "max_title_bytes"), "{:?}", f.notes);
}

const MIB16: usize = 16 << 20;

/// The hostile documents of issue 14, each just under 16 MiB.
fn hostile() -> Vec<(&'static str, String, &'static str)> {
    let pad = |mut s: String, unit: &str, close: &str| {
        while s.len() + unit.len() + close.len() < MIB16 {
            s.push_str(unit);
        }
        s + close
    };
    let deep_levels = (MIB16 - 200) / 7;
    let mut laughs = String::from(r#"<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY lol "lol">"#);
    for i in 1..10 {
        let prev = if i == 1 { "&lol;".to_owned() } else { format!("&lol{};", i - 1) };
        laughs.push_str(&format!(r#"<!ENTITY lol{i} "{}">"#, prev.repeat(10)));
    }
    laughs.push_str(r#"]><rss version="2.0"><channel><title>&lol9;</title><item><title>&lol9;</title><guid>a</guid></item>"#);
    vec![
        (
            "deep nesting",
            format!(
                r#"<rss version="2.0"><channel><item><title>t</title><guid>a</guid>{}{}</item></channel></rss>"#,
                "<a>".repeat(deep_levels),
                "</a>".repeat(deep_levels)
            ),
            "max_depth",
        ),
        (
            "a 15 MB title",
            format!(
                r#"<rss version="2.0"><channel><item><guid>a</guid><title>{}</title></item></channel></rss>"#,
                "é".repeat(15_000_000 / 2)
            ),
            "max_title_bytes",
        ),
        ("a million tiny entries", pad(String::from(r#"<rss version="2.0"><channel>"#), "<item/>", "</channel></rss>"), "max_entries"),
        (
            "thousands of attributes",
            pad(
                String::from(r#"<rss version="2.0"><channel><item><guid>a</guid><title>t</title><enclosure url="http://e.com/a.mp3""#),
                r#" x="1""#,
                "/></item></channel></rss>",
            ),
            "max_attributes",
        ),
        (
            "deep JSON nesting",
            format!(
                r#"{{"version":"https://jsonfeed.org/version/1.1","items":[{{"id":"a","title":"t","_x":{}{}}}]}}"#,
                "[".repeat((MIB16 - 200) / 2),
                "]".repeat((MIB16 - 200) / 2)
            ),
            "max_depth",
        ),
        ("billion laughs", pad(laughs, "<!-- pad -->", "</channel></rss>"), ""),
        (
            "external entities",
            pad(
                String::from(
                    r#"<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd"><!ENTITY % p SYSTEM "http://127.0.0.1:1/x.dtd">%p;]><rss version="2.0"><channel><item><guid>a</guid><title>&xxe;</title></item>"#,
                ),
                "<!-- pad -->",
                "</channel></rss>",
            ),
            "",
        ),
    ]
}

#[test]
fn hostile_16_mib_feeds_parse_capped_with_notes() {
    for (name, doc, key) in hostile() {
        assert!(doc.len() <= MIB16, "{name}: {} bytes", doc.len());
        let f = parse_feed(doc.as_bytes(), &ParseContext::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!f.entries.is_empty(), "{name}: no entries");
        assert!(f.entries.len() <= Limits::default().max_entries, "{name}");
        if !key.is_empty() {
            assert!(has_note(&f, key), "{name}: no note naming {key}: {:?}", f.notes);
        }
        let title = f.entries[0].title.as_deref().unwrap_or("");
        assert!(title.len() <= Limits::default().max_title_bytes, "{name}: title of {} bytes", title.len());
        // Entities are never expanded, internal or external.
        assert!(!title.contains("lollol") && !title.contains("root:"), "{name}: {title:.80}");
    }
}

#[test]
fn cap_notes_reach_the_build_summary_and_wirefeed_sources() {
    let site = Site::new(&[]);
    let items: String = (0..5).map(|i| format!("<item><guid>g{i}</guid><title>Story {i}</title></item>")).collect();
    site.write("big.xml", rss_items(&items));
    site.write_config("[limits]\nmax_entries = 3\n\n[[sources]]\nname = \"big\"\nurl = \"big.xml\"\n");
    let out = site.build();
    let stderr = common::stderr(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("note: capped: more than 3 entries; read the first 3, skipped 2 more"), "{stderr}");
    let listed = site.run(&["sources"]);
    let stdout = String::from_utf8_lossy(&listed.stdout);
    assert!(stdout.contains("note: capped: more than 3 entries"), "{stdout}");
    let json = site.run(&["sources", "--json"]);
    let line = String::from_utf8_lossy(&json.stdout).lines().find(|l| l.contains("\"big\"")).unwrap().to_owned();
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert!(v["notes"].as_str().unwrap().contains("max_entries"), "{line}");
}

#[test]
fn a_zero_limit_is_a_config_error() {
    let site = Site::new(&[]);
    site.write_config("[limits]\nmax_depth = 0\n");
    let out = site.build();
    assert_eq!(out.status.code(), Some(1));
    assert!(common::stderr(&out).contains("limits.max_depth"), "{}", common::stderr(&out));
}

#[test]
fn a_local_feed_file_over_max_body_bytes_fails_as_an_http_body_would_and_the_others_publish() {
    use wirefeed::ingest::sources::SourceStatus;
    let site = Site::new(&[]);
    let rss = |title: &str, pad: usize| {
        format!(
            r#"<rss version="2.0"><channel><title>F</title><item><title>{title}</title><guid>{title}</guid><description>{}</description></item></channel></rss>"#,
            "x".repeat(pad)
        )
    };
    site.write("big.xml", rss("Big story", 4096));
    site.write("small.xml", rss("Small story", 10));
    let big_url = url::Url::from_file_path(site.path("big.xml")).unwrap();
    let mut extra = String::from("[fetch]\nmax_body_bytes = 2048\n");
    for (name, url) in [("big", "big.xml"), ("big-url", big_url.as_str()), ("endless", "/dev/zero"), ("small", "small.xml")] {
        extra.push_str(&format!("[[sources]]\nname = \"{name}\"\nurl = \"{url}\"\n"));
    }
    site.write_config(&extra);
    let report = wirefeed::build(&site.config()).unwrap();
    let status = |name: &str| report.sources.iter().find(|s| s.name == name).unwrap().status.clone();
    for (name, path) in [("big", site.path("big.xml")), ("big-url", site.path("big.xml")), ("endless", "/dev/zero".into())] {
        match status(name) {
            SourceStatus::Failed(why) => {
                assert!(why.contains("body larger than the 2048-byte cap"), "{name}: {why}");
                assert!(why.starts_with(&path.display().to_string()), "{name}: the error names no file: {why}");
            }
            other => panic!("{name}: {other:?}"),
        }
    }
    assert!(matches!(status("small"), SourceStatus::Updated { new: 1, .. }), "{:?}", status("small"));
    let all = site.read("feeds/all.rss");
    assert!(all.contains("Small story") && !all.contains("Big story"));
}
