//! `[[stories]] allow_embeds`: the newsroom's own stories keep `<iframe>`
//! and `<video>` from the hosts it names, external sources never do, what
//! the sanitizer removes from an own story is a warning naming the file,
//! and `serve` lets frames load from exactly those hosts.

mod common;

use common::{Site, stderr};
use wirefeed::operate::serve::{ServeOptions, content_security_policy};

const YOUTUBE: &str = r#"<iframe src="https://www.youtube.com/embed/abc123" width="560" height="315" allowfullscreen></iframe>"#;
const EVIL: &str = r#"<iframe src="https://evil.example/frame"></iframe>"#;

fn site() -> Site {
    let site = Site::new(&[]);
    // The common config's one [[stories]] entry, with allow_embeds: a
    // second config written whole.
    let config = site.read("wirefeed.toml").replace(
        "link_base = \"https://newsroom.example/stories/\"\n",
        "link_base = \"https://newsroom.example/stories/\"\nallow_embeds = [\"www.youtube.com\", \"player.vimeo.com\"]\n",
    );
    assert!(config.contains("allow_embeds"));
    site.write("wirefeed.toml", config + "\n[[sources]]\nname = \"Feed\"\nurl = \"feed.xml\"\n");
    site
}

#[test]
fn own_stories_keep_allowed_embeds_external_entries_never() {
    let site = site();
    site.write(
        "stories/video.md",
        format!("---\ntitle: Own video story\ndate: 2026-01-02\n---\nWatch.\n\n{YOUTUBE}\n\n{EVIL}\n\n<script>alert(1)</script>\n"),
    );
    let escaped = quick_xml::escape::escape(YOUTUBE).into_owned();
    site.write(
        "feed.xml",
        format!(
            "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>F</title><link>https://f.example/</link>\
             <item><title>External video story</title><link>https://f.example/v</link><description>Look {escaped}</description></item>\
             </channel></rss>"
        ),
    );
    let out = site.build();
    let log = stderr(&out);
    assert!(out.status.success(), "{log}");
    let warning = log.lines().find(|l| l.contains("sanitizer removed")).unwrap_or_else(|| panic!("no warning in: {log}"));
    assert!(warning.contains("video.md"), "names the file: {warning}");
    assert!(warning.contains("1 <iframe>, 1 <script>"), "names what went: {warning}");
    assert_eq!(log.matches("sanitizer removed").count(), 1, "only the own story is reported: {log}");
    let feed: serde_json::Value = serde_json::from_str(&site.read("feeds/all.json")).unwrap();
    let html_of = |title: &str| {
        let items = feed["items"].as_array().unwrap();
        let item = items.iter().find(|i| i["title"] == title).unwrap_or_else(|| panic!("{title} not published"));
        item["content_html"].as_str().unwrap().to_owned()
    };
    let own = html_of("Own video story");
    assert!(own.contains(r#"<iframe src="https://www.youtube.com/embed/abc123""#), "{own}");
    assert!(!own.contains("evil.example") && !own.contains("script"), "{own}");
    let external = html_of("External video story");
    assert!(!external.contains("iframe"), "{external}");
}

#[test]
fn serve_lets_frames_load_from_the_allowed_hosts_only() {
    let site = site();
    let options = ServeOptions::from_config(&site.config());
    assert_eq!(options.embed_hosts, ["www.youtube.com", "player.vimeo.com"]);
    let policy = content_security_policy(&options.embed_hosts);
    assert!(policy.contains("frame-src www.youtube.com player.vimeo.com;"), "{policy}");
    let plain = ServeOptions::from_config(&Site::new(&[]).config());
    assert!(content_security_policy(&plain.embed_hosts).contains("frame-src 'none'"));
}

#[test]
fn an_allow_embeds_entry_that_is_not_a_host_is_a_config_error() {
    for bad in ["https://www.youtube.com", "www.youtube.com/embed", ""] {
        let site = Site::new(&[]);
        let config =
            site.read("wirefeed.toml").replace("source = \"Newsroom\"\n", &format!("source = \"Newsroom\"\nallow_embeds = [{bad:?}]\n"));
        site.write("wirefeed.toml", config);
        let out = site.build();
        let log = stderr(&out);
        assert!(!out.status.success() && log.contains("allow_embeds"), "{bad:?}: {log}");
    }
}
