//! Faithful stories, end to end through `wirefeed build`: what a source
//! carries (attachments, its origin, plain text) reaches every format,
//! and a published id never moves (issue 9).

mod common;

use common::{SEED, Site, serve_in_background, stderr};

fn json(site: &Site, rel: &str) -> serde_json::Value {
    serde_json::from_str(&site.read(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn items(site: &Site) -> Vec<serde_json::Value> {
    json(site, "feeds/all.json")["items"].as_array().unwrap().clone()
}

fn item_titled(site: &Site, title: &str) -> serde_json::Value {
    items(site).into_iter().find(|i| i["title"] == title).unwrap_or_else(|| panic!("no item {title:?} in {:?}", titles(site)))
}

fn titles(site: &Site) -> Vec<String> {
    items(site).iter().map(|i| i["title"].as_str().unwrap().to_owned()).collect()
}

/// Serves fixture feeds on 127.0.0.1: `/name` answers the file
/// `fixtures/feeds/name` with `content_type`.
fn feed_server(files: &[(&'static str, &'static str)]) -> String {
    let mut router = axum::Router::new();
    for &(name, content_type) in files {
        let body = std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/feeds").join(name)).unwrap();
        router = router.route(&format!("/{name}"), axum::routing::get(move || async move { ([("content-type", content_type)], body) }));
    }
    format!("http://{}", serve_in_background(router))
}

fn build_ok(site: &Site) -> String {
    let out = site.build();
    assert!(out.status.success(), "{}", stderr(&out));
    stderr(&out)
}

/// The part of `xml` from the `<item>`/`<entry>` holding `needle` to its end.
fn element_with<'a>(xml: &'a str, tag: &str, needle: &str) -> &'a str {
    let at = xml.find(needle).unwrap_or_else(|| panic!("{needle} not in {xml}"));
    let start = xml[..at].rfind(&format!("<{tag}>")).or_else(|| xml[..at].rfind(&format!("<{tag} "))).unwrap();
    let end = xml[at..].find(&format!("</{tag}>")).unwrap() + at;
    &xml[start..end]
}

// ---- 1. attachments -------------------------------------------------------

#[test]
fn podcast_audio_reaches_every_format() {
    let base = feed_server(&[("podcast-in-our-time.rss", "application/rss+xml")]);
    let site = Site::new(&[]);
    site.write_config(&format!("[[sources]]\nname = \"In Our Time\"\nurl = \"{base}/podcast-in-our-time.rss\"\n"));
    build_ok(&site);
    const MP3: &str = "https://media.example.org/iot/hanseatic.mp3";

    let rss = site.read("feeds/all.rss");
    let item = element_with(&rss, "item", "The Hanseatic League");
    assert!(item.contains(&format!(r#"<enclosure url="{MP3}" length="50496000" type="audio/mpeg"/>"#)), "{item}");
    assert!(item.contains(r#"fileSize="50496000""#) && item.contains(r#"duration="3156""#), "media:content: {item}");
    assert!(!item.contains(r#"<enclosure url="https://podcasts.example.org"#), "cover art became the enclosure: {item}");

    let atom = site.read("feeds/all.atom");
    let entry = element_with(&atom, "entry", "The Hanseatic League");
    assert!(entry.contains(&format!(r#"href="{MP3}""#)) && entry.contains(r#"length="50496000""#), "{entry}");
    assert!(entry.contains(r#"rel="enclosure""#) && entry.contains(r#"type="audio/mpeg""#), "{entry}");

    let j = item_titled(&site, "The Hanseatic League");
    let a = &j["attachments"][0];
    assert_eq!((a["url"].as_str(), a["mime_type"].as_str()), (Some(MP3), Some("audio/mpeg")), "{j}");
    assert_eq!((a["size_in_bytes"].as_u64(), a["duration_in_seconds"].as_u64()), (Some(50_496_000), Some(3156)), "{j}");
    assert_eq!(j["attachments"].as_array().unwrap().len(), 1, "{j}");
    // No author of its own: the feed's managingEditor, by name only.
    assert_eq!(j["authors"], serde_json::json!([{"name": "Radio Desk"}]), "{j}");
    assert!(!rss.contains("radio.desk@example.org"), "an e-mail address was published");
}

#[test]
fn cover_art_stays_the_image_and_the_audio_the_enclosure() {
    let base = feed_server(&[("podcast-in-our-time.rss", "application/rss+xml")]);
    let site = Site::new(&[]);
    site.write_config(&format!("[[sources]]\nname = \"In Our Time\"\nurl = \"{base}/podcast-in-our-time.rss\"\n"));
    build_ok(&site);
    let j = item_titled(&site, "Episode with a cover and audio");
    assert_eq!(j["image"], "https://podcasts.example.org/cover-first.jpg", "{j}");
    assert_eq!(j["attachments"][0]["url"], "https://media.example.org/iot/cover-first.mp3", "{j}");
    let rss = site.read("feeds/all.rss");
    let item = element_with(&rss, "item", "Episode with a cover and audio");
    assert!(item.contains(r#"<enclosure url="https://media.example.org/iot/cover-first.mp3""#), "{item}");
}

#[test]
fn attachment_urls_pass_the_link_checks() {
    let site = Site::new(&[]);
    site.write(
        "feed.json",
        r#"{"version":"https://jsonfeed.org/version/1.1","title":"J","home_page_url":"https://j.example/","items":[
        {"id":"1","title":"Attachments","content_text":"x","url":"https://j.example/1","attachments":[
          {"url":"javascript:alert(1)","mime_type":"audio/mpeg"},
          {"url":"ftp://j.example/a.mp3","mime_type":"audio/mpeg"},
          {"url":"https://j.example/b.mp3","mime_type":""},
          {"url":"https://j.example/c.pdf","mime_type":"application/pdf","title":"Transcript","size_in_bytes":0},
          {"url":"https://j.example/c.pdf","mime_type":"application/pdf"}]}]}"#,
    );
    site.write_config("[[sources]]\nname = \"J\"\nurl = \"feed.json\"\n");
    build_ok(&site);
    let j = item_titled(&site, "Attachments");
    let urls: Vec<&str> = j["attachments"].as_array().unwrap().iter().map(|a| a["url"].as_str().unwrap()).collect();
    assert_eq!(urls, vec!["https://j.example/b.mp3", "https://j.example/c.pdf"], "{j}");
    assert_eq!(j["attachments"][0]["mime_type"], "audio/mpeg", "type guessed from the extension: {j}");
    assert!(j["attachments"][1].get("size_in_bytes").is_none(), "0 bytes means unknown: {j}");
    assert_eq!(j["attachments"][1]["title"], "Transcript");
    assert!(!site.read("feeds/all.rss").contains("javascript:"));
}

// ---- 2. origin ------------------------------------------------------------

#[test]
fn external_items_say_where_they_came_from_and_own_stories_do_not() {
    let base = feed_server(&[("origin-wire.atom", "application/atom+xml")]);
    let site = Site::new(&[SEED]);
    site.write_config(&format!("[[sources]]\nname = \"Coastal\"\nurl = \"{base}/origin-wire.atom\"\n"));
    build_ok(&site);
    let feed_url = format!("{base}/origin-wire.atom");

    let atom = site.read("feeds/all.atom");
    let entry = element_with(&atom, "entry", "Harbour tolls rise");
    let source = &entry[entry.find("<source>").expect("atom:source")..];
    for needle in [
        "<id>tag:coastal.example,2024:feed</id>",
        "<title>Coastal Wire</title>",
        &format!(r#"href="{feed_url}" rel="self""#),
        r#"href="https://coastal.example/" rel="alternate""#,
        "<updated>2024-09-10T12:00:00+00:00</updated>",
    ] {
        assert!(source.contains(needle), "{needle} missing from {source}");
    }
    let rss = site.read("feeds/all.rss");
    let item = element_with(&rss, "item", "Harbour tolls rise");
    assert!(item.contains(&format!(r#"<source url="{feed_url}">Coastal Wire</source>"#)), "{item}");

    let j = item_titled(&site, "Harbour tolls rise");
    assert_eq!(
        j["_source"],
        serde_json::json!({"title": "Coastal Wire", "feed_url": feed_url, "home_page_url": "https://coastal.example/"})
    );
    let own = items(&site).into_iter().filter(|i| i["title"] != "Harbour tolls rise").collect::<Vec<_>>();
    assert_eq!(own.len(), 2);
    for i in own {
        assert!(i.get("_source").is_none(), "{i}");
    }
    assert_eq!(element_with(&atom, "entry", "Putin and Raisi").matches("<source>").count(), 0);
    assert_eq!(element_with(&rss, "item", "Putin and Raisi").matches("<source").count(), 0);
}

// ---- 3. plain text stays text -----------------------------------------------

#[test]
fn a_plain_text_summary_reads_the_same_in_every_reader() {
    let base = feed_server(&[("origin-wire.atom", "application/atom+xml")]);
    let site = Site::new(&[]);
    site.write_config(&format!("[[sources]]\nname = \"Coastal\"\nurl = \"{base}/origin-wire.atom\"\n"));
    build_ok(&site);
    const TEXT: &str = "Wrap <col> in <colgroup> first";
    assert_eq!(item_titled(&site, "Harbour tolls rise")["summary"], TEXT);
    // RSS readers render <description> as HTML: the text must arrive as
    // HTML that displays it, i.e. escaped once more inside the CDATA.
    let rss = site.read("feeds/all.rss");
    let item = element_with(&rss, "item", "Harbour tolls rise");
    assert!(item.contains("<description><![CDATA[Wrap &lt;col&gt; in &lt;colgroup&gt; first]]></description>"), "{item}");
    let atom = site.read("feeds/all.atom");
    assert!(element_with(&atom, "entry", "Harbour tolls rise").contains("Wrap &lt;col&gt; in &lt;colgroup&gt; first</summary>"));
}

#[test]
fn front_matter_text_is_never_markup() {
    let site = Site::new(&[]);
    site.write(
        "stories/a.md",
        "---\ntitle: \"Use <b> for bold & <i> for italic\"\nsummary: \"AT&amp;T keeps <col> literally\"\n---\nBody.\n",
    );
    build_ok(&site);
    let j = item_titled(&site, "Use <b> for bold & <i> for italic");
    assert_eq!(j["summary"], "AT&amp;T keeps <col> literally", "{j}");
}

#[test]
fn markdown_summaries_leave_out_deleted_text_and_footnotes() {
    let site = Site::new(&[]);
    site.write("stories/a.md", "---\ntitle: Launch date\n---\nThe launch moves to ~~2026~~ 2027.[^n]\n\n[^n]: Agency statement.\n");
    build_ok(&site);
    let j = item_titled(&site, "Launch date");
    assert_eq!(j["summary"], "The launch moves to 2027.");
    let html = j["content_html"].as_str().unwrap();
    // The footnote link points at an id the content defines.
    let href = html.split("href=\"#").nth(1).and_then(|h| h.split('"').next()).unwrap_or_else(|| panic!("no in-page link: {html}"));
    assert!(html.contains(&format!("id=\"{href}\"")), "#{href} points nowhere: {html}");
}

// ---- 6. ids never move ------------------------------------------------------

fn ids_and_links(site: &Site) -> Vec<(String, String, String)> {
    let mut v: Vec<_> = items(site)
        .iter()
        .map(|i| {
            (i["title"].as_str().unwrap().to_owned(), i["id"].as_str().unwrap().to_owned(), i["url"].as_str().unwrap_or("").to_owned())
        })
        .collect();
    v.sort();
    v
}

#[test]
fn correcting_a_markdown_headline_keeps_id_and_link_and_moves_updated() {
    let site = Site::new(&[]);
    site.write("stories/2024/bridge.md", "---\ntitle: Brige closes for repairs\ndate: 2024-05-01T08:00:00Z\n---\nThe bridge closes.\n");
    build_ok(&site);
    let before = item_titled(&site, "Brige closes for repairs");
    site.write("stories/2024/bridge.md", "---\ntitle: Bridge closes for repairs\ndate: 2024-05-01T08:00:00Z\n---\nThe bridge closes.\n");
    build_ok(&site);
    assert_eq!(titles(&site), vec!["Bridge closes for repairs"], "published twice");
    let after = item_titled(&site, "Bridge closes for repairs");
    assert_eq!((&after["id"], &after["url"]), (&before["id"], &before["url"]));
    assert_eq!(after["date_published"], "2024-05-01T08:00:00Z");
    assert!(after["date_modified"].is_string(), "the correction moves updated: {after}");
}

#[test]
fn correcting_a_wire_headline_keeps_the_id() {
    let site = Site::new(&[SEED]);
    build_ok(&site);
    let before = ids_and_links(&site);
    let name = format!("stories/{}", std::path::Path::new(SEED).file_name().unwrap().to_str().unwrap());
    let text = site.read(&name).replace("Putin and Raisi Seek Harmonizing", "Putin and Raisi Seek Harmonising");
    site.write(&name, text);
    build_ok(&site);
    let after = ids_and_links(&site);
    assert_eq!(after.len(), 2, "{after:?}");
    let ids = |v: &[(String, String, String)]| {
        v.iter().map(|(_, id, link)| (id.clone(), link.clone())).collect::<std::collections::BTreeSet<_>>()
    };
    assert_eq!(ids(&after), ids(&before), "ids or links moved");
    assert!(after.iter().any(|(t, ..)| t.contains("Harmonising")));
}

#[test]
fn front_matter_id_slug_and_updated_are_kept_as_given() {
    let site = Site::new(&[]);
    site.write("stories/a.md", "---\ntitle: First\nid: desk-2024-0042\nslug: harbour-plan\ndate: 2024-05-01T08:00:00Z\nupdated: 2024-05-02T10:00:00Z\n---\nBody one.\n");
    build_ok(&site);
    let one = item_titled(&site, "First");
    assert_eq!(one["url"], "https://newsroom.example/stories/harbour-plan");
    // Moved to another file and retitled: the front-matter id holds.
    std::fs::remove_file(site.path("stories/a.md")).unwrap();
    site.write("stories/b.md", "---\ntitle: Second\nid: desk-2024-0042\nslug: harbour-plan\ndate: 2024-05-01T08:00:00Z\nupdated: 2024-05-03T10:00:00Z\n---\nBody two.\n");
    build_ok(&site);
    let two = item_titled(&site, "Second");
    assert_eq!(two["id"], one["id"]);
    assert_eq!(two["date_modified"], "2024-05-03T10:00:00Z", "front-matter updated wins");
}

#[test]
fn a_folder_time_zone_applies_to_dates_without_one() {
    let site = Site::new(&[]);
    site.write_config("[[stories]]\npath = \"local\"\nsource = \"Berlin Desk\"\ntimezone = \"Europe/Berlin\"\n");
    site.write("local/a.md", "---\ntitle: Local time\ndate: 2024-07-01 09:00\n---\nx\n");
    build_ok(&site);
    assert_eq!(item_titled(&site, "Local time")["date_published"], "2024-07-01T07:00:00Z");
    site.write_config("[[stories]]\npath = \"local\"\nsource = \"Berlin Desk\"\ntimezone = \"Europe/Berln\"\n");
    let out = site.build();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("timezone") && stderr(&out).contains("Europe/Berln"), "{}", stderr(&out));
}

#[test]
fn renaming_a_source_keeps_every_id() {
    let site = Site::new(&[SEED]);
    site.write(
        "feeds-in/a.json",
        r#"{"version":"https://jsonfeed.org/version/1.1","title":"J","items":[{"id":"e1","title":"Guid entry","content_text":"x"}]}"#,
    );
    site.write_config("[[sources]]\nname = \"Jay\"\nurl = \"feeds-in/a.json\"\n");
    build_ok(&site);
    let before = ids_and_links(&site);
    // Both the feed's name and the newsroom's source name change.
    let cfg = site
        .read("wirefeed.toml")
        .replace("name = \"Jay\"", "name = \"Jay Daily\"")
        .replace("source = \"Newsroom\"", "source = \"City Desk\"");
    site.write("wirefeed.toml", cfg);
    let err = build_ok(&site);
    assert!(err.contains("\"Jay\" is now called \"Jay Daily\""), "{err}");
    assert_eq!(ids_and_links(&site), before);
}

#[test]
fn an_unreadable_story_folder_keeps_what_it_published() {
    let site = Site::new(&[SEED]);
    build_ok(&site);
    assert_eq!(titles(&site).len(), 2);
    let cfg = site.read("wirefeed.toml").replace("path = \"stories\"", "path = \"storeis\"");
    site.write("wirefeed.toml", cfg);
    let out = site.build();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("storeis") && stderr(&out).contains("does not exist"), "{}", stderr(&out));
    assert_eq!(titles(&site).len(), 2, "a typo in a folder name unpublished the newsroom");
}

#[test]
fn two_entries_covering_one_file_publish_it_once_and_say_so() {
    let site = Site::new(&[SEED]);
    site.write_config("[[stories]]\npath = \"stories\"\nsource = \"Again\"\n");
    let err = build_ok(&site);
    assert_eq!(titles(&site).len(), 2);
    assert!(err.contains("listed by an earlier [[stories]] entry too"), "{err}");
    // A folder inside another one: its files were read for the first.
    site.write_config("[[stories]]\npath = \"stories/inner\"\nsource = \"Inner\"\n");
    site.write("stories/inner/b.md", "---\ntitle: Inner story\n---\nx\n");
    let err = build_ok(&site);
    assert_eq!(titles(&site).len(), 3);
    assert!(err.contains("also under an earlier [[stories]] path"), "{err}");
    assert_eq!(item_titled(&site, "Inner story")["_source"], serde_json::Value::Null);
}

#[test]
fn a_removed_topic_takes_its_files_with_it() {
    let site = Site::new(&[SEED]);
    build_ok(&site);
    assert!(site.path("feeds/topics/russia.rss").is_file());
    let cfg = site.read("wirefeed.toml").replace("slug = \"russia\"", "slug = \"kremlin\"");
    site.write("wirefeed.toml", cfg);
    let err = build_ok(&site);
    for ext in ["rss", "atom", "json"] {
        assert!(!site.path(&format!("feeds/topics/russia.{ext}")).exists(), "russia.{ext} left behind");
        assert!(site.path(&format!("feeds/topics/kremlin.{ext}")).is_file());
    }
    assert!(err.contains("no longer published") && err.contains("russia.rss"), "{err}");
}

#[test]
fn base_url_without_a_trailing_slash_keeps_its_path_and_says_so() {
    let site = Site::new(&[]);
    site.write("stories/a.md", "---\ntitle: Hello\n---\nx\n");
    let cfg = site.read("wirefeed.toml").replace("base_url = \"http://127.0.0.1:8080/\"", "base_url = \"http://127.0.0.1:8080/news\"");
    site.write(
        "wirefeed.toml",
        cfg.replace("link_base = \"https://newsroom.example/stories/\"", "link_base = \"https://newsroom.example/stories\""),
    );
    let err = build_ok(&site);
    assert!(err.contains("no trailing slash"), "{err}");
    let feed = json(&site, "feeds/all.json");
    assert_eq!(feed["feed_url"], "http://127.0.0.1:8080/news/all.json");
    assert_eq!(feed["items"][0]["url"], "https://newsroom.example/stories/hello");
}

#[test]
fn without_link_base_a_story_links_to_its_own_page() {
    let site = Site::new(&[]);
    site.write_config("[[stories]]\npath = \"own\"\nsource = \"Desk\"\n");
    site.write("own/a.md", "---\ntitle: Same title\n---\nOne.\n");
    site.write("own/b.md", "---\ntitle: Same title\n---\nTwo.\n");
    build_ok(&site);
    let mut urls: Vec<String> = items(&site).iter().map(|i| i["url"].as_str().unwrap().to_owned()).collect();
    urls.sort();
    assert_eq!(urls, vec!["http://127.0.0.1:8080/stories/same-title-2.html", "http://127.0.0.1:8080/stories/same-title.html"]);
}

// ---- 7. small things --------------------------------------------------------

#[test]
fn sources_and_stories_print_json_lines_for_scripts() {
    let site = Site::new(&[SEED]);
    let long = "feeds-in/a-rather-long-file-name-that-a-terminal-table-would-cut-short.json";
    site.write(long, r#"{"version":"https://jsonfeed.org/version/1.1","title":"J","items":[{"id":"1","title":"T","content_text":"x"}]}"#);
    site.write_config(&format!("[[sources]]\nname = \"Jay\"\nurl = \"{long}\"\n"));
    build_ok(&site);
    let out = site.run(&["sources", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(
        (lines[0]["name"].as_str(), lines[0]["kind"].as_str()),
        (Some("Newsroom"), Some("files")),
        "folders under their source name"
    );
    assert_eq!(lines[1]["stories"], 1);
    assert!(lines[1]["url"].as_str().unwrap().ends_with(long));
    // Piped, the table keeps whole URLs.
    let table = String::from_utf8_lossy(&site.run(&["sources"]).stdout).into_owned();
    assert!(table.contains(long), "{table}");
    let out = site.run(&["stories", "--json", "--limit", "1"]);
    let story: serde_json::Value = serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().next().unwrap()).unwrap();
    assert!(story["id"].as_str().unwrap().starts_with("urn:uuid:"), "{story}");
}

#[test]
fn os_errors_are_named_once_and_counts_agree_in_number() {
    let site = Site::new(&[]);
    std::fs::create_dir(site.path("dir.toml")).unwrap();
    let out =
        std::process::Command::new(env!("CARGO_BIN_EXE_wirefeed")).args(["build", "--config"]).arg(site.path("dir.toml")).output().unwrap();
    let err = stderr(&out);
    assert_eq!(err.matches("os error").count(), 1, "{err}");
    site.write("stories/a.md", "---\ntitle: Only one\n---\nx\n");
    let err = build_ok(&site);
    assert!(err.contains("1 story from 1 file"), "{err}");
    assert!(!err.contains("1 stories") && !err.contains("1 files"), "{err}");
}

#[test]
fn stories_stored_before_origins_were_kept_still_name_their_feed() {
    let base = feed_server(&[("origin-wire.atom", "application/atom+xml")]);
    let site = Site::new(&[]);
    site.write_config(&format!("[[sources]]\nname = \"Coastal\"\nurl = \"{base}/origin-wire.atom\"\n"));
    build_ok(&site);
    // As a store from before schema V3 has them: no origin recorded.
    let db = rusqlite::Connection::open(site.path(".wirefeed/state.db")).unwrap();
    assert_eq!(db.execute("UPDATE stories SET origin = NULL", []).unwrap(), 1);
    db.execute("DELETE FROM channels", []).unwrap();
    drop(db);
    build_ok(&site);
    let j = item_titled(&site, "Harbour tolls rise");
    let feed_url = format!("{base}/origin-wire.atom");
    assert_eq!(j["_source"], serde_json::json!({"title": "Coastal", "feed_url": feed_url}), "{j}");
}

#[test]
fn a_deleted_story_file_is_retracted_even_within_the_same_second() {
    let site = Site::new(&[]);
    site.write("stories/a.md", "---\ntitle: Stays\n---\nx\n");
    site.write("stories/b.md", "---\ntitle: Goes\n---\ny\n");
    build_ok(&site);
    std::fs::remove_file(site.path("stories/b.md")).unwrap();
    // No sleep: the next build may start in the same second.
    build_ok(&site);
    assert_eq!(titles(&site), vec!["Stays"]);
}

#[test]
fn a_story_taken_down_or_deleted_loses_its_page() {
    let site = Site::new(&[]);
    site.write_config("[[stories]]\npath = \"own\"\nsource = \"Desk\"\n");
    for name in ["keep", "hide", "delete"] {
        site.write(&format!("own/{name}.md"), format!("---\ntitle: Story {name}\n---\nBody of {name}.\n"));
    }
    build_ok(&site);
    for name in ["keep", "hide", "delete"] {
        assert!(site.path(&format!("feeds/stories/story-{name}.html")).is_file(), "page of {name}");
    }
    let hidden = item_titled(&site, "Story hide")["id"].as_str().unwrap().to_owned();
    let out = site.run(&["hide", &hidden, "--reason", "legal"]);
    assert!(out.status.success(), "{}", stderr(&out));
    std::fs::remove_file(site.path("own/delete.md")).unwrap();
    build_ok(&site);
    assert!(site.path("feeds/stories/story-keep.html").is_file());
    for name in ["hide", "delete"] {
        assert!(!site.path(&format!("feeds/stories/story-{name}.html")).exists(), "page of {name} left behind");
    }
    for file in ["feeds/all.rss", "feeds/all.atom", "feeds/all.json", "feeds/all.html", "feeds/index.html"] {
        assert!(!site.read(file).contains("Story hide"), "{file} still shows the hidden story");
    }
}
