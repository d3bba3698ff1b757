use super::*;
use crate::model::{Image, Origin};
use chrono::TimeZone;

fn site() -> Site {
    Site {
        title: "Desk".into(),
        description: String::new(),
        base_url: url::Url::parse("https://news.example/feeds/").unwrap(),
        language: "en".into(),
        author: None,
        websub_hub: None,
    }
}

fn story(link: Option<&str>, origin: bool) -> Story {
    Story {
        id: "urn:uuid:1".into(),
        title: "T".into(),
        summary: None,
        content: String::new(),
        image: None,
        authors: vec![],
        categories: vec![],
        topics: vec![],
        published: Utc.with_ymd_and_hms(2024, 11, 26, 9, 30, 0).unwrap(),
        updated: None,
        link: link.map(Into::into),
        source: "S".into(),
        attachments: vec![],
        origin: origin.then(|| Origin { id: String::new(), title: "Feed".into(), feed_url: None, site_url: None, updated: None }),
        sanitized: None,
    }
}

#[test]
fn story_pages_only_for_newsroom_links_into_stories() {
    let cases: &[(&str, Option<&str>, bool, Option<&str>)] = &[
        ("own page", Some("https://news.example/feeds/stories/port.html"), false, Some("stories/port.html")),
        ("percent-encoded name", Some("https://news.example/feeds/stories/caf%C3%A9.html"), false, Some("stories/café.html")),
        ("external story", Some("https://news.example/feeds/stories/port.html"), true, None),
        ("link_base elsewhere", Some("https://newsroom.example/stories/port"), false, None),
        ("no .html", Some("https://news.example/feeds/stories/port"), false, None),
        ("subfolder", Some("https://news.example/feeds/stories/a/b.html"), false, None),
        ("encoded slash", Some("https://news.example/feeds/stories/a%2Fb.html"), false, None),
        ("dot file", Some("https://news.example/feeds/stories/%2E%2E.html"), false, None),
        ("query", Some("https://news.example/feeds/stories/a.html?x=1"), false, None),
        ("empty name", Some("https://news.example/feeds/stories/.html"), false, None),
        ("other base", Some("https://news.example/stories/port.html"), false, None),
        ("no link", None, false, None),
    ];
    for (name, link, external, want) in cases {
        assert_eq!(story_page_path(&site(), &story(*link, *external)).as_deref(), *want, "{name}");
    }
}

#[test]
fn only_web_urls_reach_attributes() {
    let cases = [
        ("javascript:alert(1)", None),
        (" JavaScript:alert(1)", None),
        ("data:text/html,<script>", None),
        ("vbscript:x", None),
        ("//evil.example/x", None),
        ("/relative", None),
        ("https://ok.example/a?b=1&c=\"2\"", Some("https://ok.example/a?b=1&amp;c=%222%22")),
        ("http://ok.example/<img>", Some("http://ok.example/%3Cimg%3E")),
    ];
    for (url, want) in cases {
        assert_eq!(web_url(url).as_deref(), want, "{url}");
    }
}

#[test]
fn river_paths_and_page_counts() {
    assert_eq!(river_path(None, 1), "all.html");
    assert_eq!(river_path(None, 3), "all/3.html");
    assert_eq!(river_path(Some("economy-2"), 1), "topics/economy-2.html");
    assert_eq!(river_path(Some("economy"), 2), "topics/economy/2.html");
    assert_eq!(root_of("topics/economy/2.html"), "../../");
    for (stories, size, pages) in [(0, 25, 1), (1, 25, 1), (25, 25, 1), (26, 25, 2), (50, 25, 2), (51, 25, 3), (7, 1, 7)] {
        assert_eq!(river::page_count(stories, size), pages, "{stories} stories, {size} a page");
    }
}

#[test]
fn hostile_text_is_escaped_everywhere_a_card_puts_it() {
    let mut s = story(Some("javascript:alert(1)"), true);
    s.title = "<script>alert(1)</script>".into();
    s.authors = vec!["\"><img src=x onerror=alert(1)>".into()];
    s.categories = vec!["<b onmouseover=alert(1)>".into()];
    s.summary = Some("</p><script>alert(2)</script>".into());
    s.image =
        Some(Image { url: Some("javascript:alert(3)".into()), caption: Some("\" onerror=\"alert(4)".into()), credit: Some("<i>".into()) });
    s.origin.as_mut().unwrap().site_url = Some("javascript:alert(5)".into());
    s.origin.as_mut().unwrap().title = "<svg onload=alert(6)>".into();
    s.attachments =
        vec![Attachment { url: "javascript:alert(7)".into(), mime_type: "audio/mpeg".into(), length: None, title: None, duration: None }];
    let config = crate::Config::from_toml(
        "[publish]\ntitle = \"D\"\nbase_url = \"https://news.example/feeds/\"\n",
        std::path::Path::new("/tmp/wirefeed.toml"),
    )
    .unwrap();
    let pages = Pages::new(&config);
    let mut html = String::new();
    story_card(&mut html, &pages, "", &s, 2);
    for bad in ["<script", "<img src=x", "<b ", "<svg", "javascript:", "<i>", "\" onerror"] {
        assert!(!html.contains(bad), "{bad} in {html}");
    }
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{html}");
    assert!(!html.contains("<a href"), "no link may carry a non-web URL: {html}");
    assert!(!html.contains("<audio"), "{html}");
}

#[test]
fn json_ld_cannot_close_its_script() {
    let value = serde_json::json!({"headline": "</script><script>alert(1)</script><!-- & \u{2028}"});
    let text = story::script_safe_json(&value);
    assert!(!text.contains('<') && !text.contains('>') && !text.contains('&'), "{text}");
    let back: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(back, value);
}

#[test]
fn attachment_details_read_well() {
    let a = Attachment {
        url: "https://x.example/a.mp3".into(),
        mime_type: "audio/mpeg".into(),
        length: Some(12_345_678),
        title: None,
        duration: Some(3725),
    };
    assert_eq!(attachment_details(&a), "MP3, 12.3 MB, 1:02:05");
    let b = Attachment { mime_type: "application/octet-stream".into(), length: Some(999), duration: Some(65), ..a };
    assert_eq!(attachment_details(&b), "999 bytes, 1:05");
}
