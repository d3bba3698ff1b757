//! Entries left out before the store are explainable: source filters,
//! duplicates of another source's story, held and expired newsroom
//! stories keep a decision record that `wirefeed explain` finds (text and
//! JSON), one per entry however often it is fetched; `build -v` names
//! them per source.

mod common;

use chrono::{Duration, Utc};
use common::{Site, stderr};

fn rss(items: &[(&str, &str)]) -> String {
    let mut out = String::from("<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>F</title><link>https://f.example/</link>");
    for (i, (title, link)) in items.iter().enumerate() {
        let date = (Utc::now() - Duration::hours(i as i64 + 1)).to_rfc2822();
        out.push_str(&format!("<item><title>{title}</title><link>{link}</link><guid>{link}</guid><pubDate>{date}</pubDate><description>About {title}.</description></item>"));
    }
    out + "</channel></rss>"
}

fn site() -> Site {
    let site = Site::new(&[]);
    site.write_config(
        r#"
[[sources]]
name = "Wire"
url = "wire.xml"
exclude = 'title:horoscope'

[[sources]]
name = "Mirror"
url = "mirror.xml"
"#,
    );
    site.write("wire.xml", rss(&[("Budget passes", "https://wire.example/budget"), ("Daily horoscope", "https://wire.example/stars")]));
    // The mirror carries the wire's budget story under its own guid but
    // the same canonical link (tracking parameter aside).
    site.write(
        "mirror.xml",
        rss(&[
            ("Budget passes (mirror)", "https://wire.example/budget?utm_source=mirror"),
            ("Mirror original", "https://mirror.example/own"),
        ]),
    );
    site
}

fn explain(site: &Site, needle: &str) -> String {
    let out = site.run(&["explain", needle]);
    assert!(out.status.success(), "explain {needle:?}: {}", stderr(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn decision_rows(site: &Site) -> i64 {
    let conn = rusqlite::Connection::open(site.path(".wirefeed/state.db")).unwrap();
    conn.query_row("SELECT count(*) FROM decisions", [], |r| r.get(0)).unwrap()
}

#[test]
fn filtered_and_duplicate_entries_are_explained() {
    let site = site();
    let out = site.run(&["build", "-v"]);
    let log = stderr(&out);
    assert!(out.status.success(), "{log}");
    // -v names what was dropped and merged, under its source. Sources
    // are fetched at once: either copy of the budget story may come first.
    let section = |name: &str| {
        let rest = log.split(&format!("source {name}:")).nth(1).unwrap_or_else(|| panic!("{name} not in {log}"));
        rest.split("\nsource ").next().unwrap().to_owned()
    };
    let (wire, mirror) = (section("Wire"), section("Mirror"));
    assert!(wire.contains("dropped: \"Daily horoscope\"") && wire.contains("excluded by 'title:horoscope'"), "{log}");
    let (merged_from, kept_by, merged_title) =
        if mirror.contains("merged:") { ("Mirror", "Wire", "Budget passes (mirror)") } else { ("Wire", "Mirror", "Budget passes") };
    let merged = section(merged_from);
    assert!(merged.contains(&format!("merged: \"{merged_title}\"")), "{log}");
    assert!(merged.contains(&format!("(same canonical link) from {kept_by}")), "{log}");
    // Without -v, none of it.
    let quiet = stderr(&site.run(&["build"]));
    assert!(!quiet.contains("dropped:") && !quiet.contains("merged:"), "{quiet}");

    let dup_wants =
        ["not stored: duplicate of".to_owned(), format!("(same canonical link) from {kept_by}"), format!("source:     {merged_from}")];
    let cases = [
        (
            "filtered, by title words",
            "daily horoscope",
            vec!["not stored: source filter: excluded by 'title:horoscope'".to_owned(), "source:     Wire".to_owned()],
        ),
        ("filtered, by link", "https://wire.example/stars", vec!["excluded by 'title:horoscope'".to_owned()]),
        // By the link: the story kept and the copy it absorbed.
        ("duplicate, by the shared link", "https://wire.example/budget", dup_wants.to_vec()),
        ("duplicate, by title words", "budget passes", dup_wants.to_vec()),
    ];
    for (name, needle, wants) in cases {
        let text = explain(&site, needle);
        for want in wants {
            assert!(text.contains(&want), "{name}: {want:?} not in:\n{text}");
        }
    }
    let text = explain(&site, "https://wire.example/budget");
    assert!(text.contains("  filters:") && text.contains("not stored:"), "the stored story and its copy: {text}");
    // JSON.
    let out = site.run(&["explain", "--json", "horoscope"]);
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let first = &value[0];
    assert_eq!(first["stored"], false);
    assert_eq!(first["source"], "Wire");
    assert!(first["not_stored"].as_str().unwrap().contains("excluded by"), "{first}");
    // Three builds, still one row per entry left out.
    assert_eq!(decision_rows(&site), 2);
    // Relaxing the filter stores the entry and forgets its record.
    let config = site.read("wirefeed.toml").replace("exclude = 'title:horoscope'\n", "");
    site.write("wirefeed.toml", config);
    // A changed feed makes the wire's entries new to this build.
    site.write("wire.xml", rss(&[("Budget passes", "https://wire.example/budget"), ("Daily horoscope!", "https://wire.example/stars")]));
    assert!(site.build().status.success());
    assert!(site.read("feeds/all.rss").contains("Daily horoscope!"));
    assert_eq!(decision_rows(&site), 1, "only the mirror's duplicate is left");
}

#[test]
fn held_and_expired_newsroom_stories_are_explained() {
    let site = Site::new(&[]);
    let at = |d: Duration| (Utc::now() + d).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    site.write("stories/held.md", format!("---\ntitle: Embargoed report\ndate: \"{}\"\n---\nB.\n", at(Duration::hours(2))));
    site.write(
        "stories/old.md",
        format!("---\ntitle: Withdrawn offer\ndate: \"{}\"\nexpires: \"{}\"\n---\nB.\n", at(-Duration::days(1)), at(-Duration::hours(1))),
    );
    let out = site.run(&["build", "-v"]);
    let log = stderr(&out);
    assert!(log.contains("stories Newsroom:") && log.contains("dropped: \"Embargoed report\""), "{log}");
    let text = explain(&site, "embargoed");
    assert!(text.contains("not stored: held until") && text.contains("held.md"), "{text}");
    let text = explain(&site, "withdrawn offer");
    assert!(text.contains("not stored: expired at") && text.contains("expires"), "{text}");
    assert_eq!(site.run(&["explain", "nothing like this"]).status.code(), Some(1));
}

#[test]
fn an_entry_too_old_to_keep_is_explained_from_its_tombstone() {
    let site = common::Site::new(&[]);
    site.write(
        "old.json",
        r#"{"version":"https://jsonfeed.org/version/1.1","title":"Archive","items":[
        {"id":"new","title":"Fresh harbour news","content_text":"x","url":"https://a.example/new","date_published":"2099-01-01T00:00:00Z"},
        {"id":"old","title":"Ancient lighthouse story","content_text":"y","url":"https://a.example/old","date_published":"2001-01-01T00:00:00Z"}]}"#,
    );
    let cfg = site.read("wirefeed.toml").replace("max_items = 50", "max_items = 1");
    site.write("wirefeed.toml", format!("{cfg}[[sources]]\nname = \"Archive\"\nurl = \"old.json\"\n[store]\nkeep_days = 30\n"));
    let out = site.build();
    assert!(out.status.success(), "{}", common::stderr(&out));
    let by_url = site.run(&["explain", "https://a.example/old"]);
    let text = String::from_utf8_lossy(&by_url.stdout).into_owned();
    assert!(text.contains("let go by retention") && text.contains("Archive"), "by URL: {text}{}", common::stderr(&by_url));
    let id = text.split_whitespace().find(|w| w.starts_with("urn:uuid:")).unwrap_or_else(|| panic!("no id in {text}"));
    let by_id = site.run(&["explain", id]);
    assert!(String::from_utf8_lossy(&by_id.stdout).contains("let go by retention"), "by id: {}", String::from_utf8_lossy(&by_id.stdout));
}

/// `explain --json` for a story found by title words: its one report.
fn explain_json(site: &Site, needle: &str) -> serde_json::Value {
    let out = site.run(&["explain", needle, "--json"]);
    assert!(out.status.success(), "explain {needle:?}: {}", stderr(&out));
    let all: serde_json::Value = serde_json::from_slice(&out.stdout).expect("explain --json prints JSON");
    all.as_array().and_then(|a| a.iter().find(|r| r["stored"] == true)).cloned().unwrap_or_else(|| panic!("no stored story: {all}"))
}

#[test]
fn explain_names_what_the_sanitizer_removed_from_a_stored_story() {
    let site = Site::new(&[]);
    site.write_config("[[sources]]\nname = \"Wire\"\nurl = \"wire.xml\"\n");
    let body = quick_xml::escape::escape(
        r#"<p onclick="x()">Budget text</p><script>steal()</script><iframe src="https://ads.example/"></iframe><SCRIPT>again()</SCRIPT>"#,
    )
    .into_owned();
    let date = (Utc::now() - Duration::hours(1)).to_rfc2822();
    site.write(
        "wire.xml",
        format!(
            "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>F</title><link>https://f.example/</link>\
             <item><title>Budget with scripts</title><link>https://wire.example/b</link><guid>b-1</guid><pubDate>{date}</pubDate>\
             <description>{body}</description></item>\
             <item><title>Clean budget</title><link>https://wire.example/c</link><pubDate>{date}</pubDate><description>Plain.</description></item>\
             </channel></rss>"
        ),
    );
    assert!(site.build().status.success());
    let text = explain(&site, "Budget with scripts");
    assert!(text.contains("normalized: sanitizer removed 1 <iframe>, 2 <script>"), "{text}");
    assert!(text.contains("id from:    from the id its feed gave it"), "a guid-derived id: {text}");
    assert!(text.contains("published: its entry's own date"), "{text}");
    let report = explain_json(&site, "Budget with scripts");
    assert_eq!(report["sanitizer_removed"], "1 <iframe>, 2 <script>", "{report}");
    let clean = explain_json(&site, "Clean budget");
    assert!(clean["sanitizer_removed"].is_null(), "nothing removed from a clean story: {clean}");
    assert!(clean["id_from"].as_str().unwrap().contains("canonical link"), "no guid: the id is the link's: {clean}");
    assert!(explain(&site, "Clean budget").contains("normalized: sanitizer removed nothing"));
}

#[test]
fn explain_lists_the_copies_a_story_absorbed() {
    let site = site();
    assert!(site.build().status.success());
    // Whichever copy of the budget story was stored absorbed the other.
    let report = explain_json(&site, "https://wire.example/budget");
    let absorbed = report["absorbed"].as_array().expect("an absorbed list");
    assert_eq!(absorbed.len(), 1, "{report}");
    let other = if report["source"] == "Wire" { "Mirror" } else { "Wire" };
    assert_eq!(absorbed[0]["source"], other, "{report}");
    let text = explain(&site, "https://wire.example/budget");
    assert!(text.contains(&format!("absorbed:   {} from {other}", absorbed[0]["id"].as_str().unwrap())), "{text}");
    // A story with no duplicates absorbed nothing.
    assert!(explain_json(&site, "Mirror original")["absorbed"].as_array().is_some_and(|a| a.is_empty()));
}

#[test]
fn explain_names_an_own_storys_file_and_where_its_id_comes_from() {
    let site = Site::new(&[]);
    site.write_config("");
    site.write("stories/desk/port.md", "---\ntitle: Port strike ends\ndate: 2026-01-02\n---\nDockers return.\n\n<script>x()</script>\n");
    assert!(site.build().status.success());
    let report = explain_json(&site, "Port strike ends");
    assert_eq!(report["file"], "desk/port.md", "{report}");
    assert!(report["id_from"].as_str().unwrap().contains("file's path"), "{report}");
    assert_eq!(report["sanitizer_removed"], "1 <script>", "{report}");
    assert!(report["dates_from"].as_str().unwrap().contains("front-matter `date`"), "{report}");
}
