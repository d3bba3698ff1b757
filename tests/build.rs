//! End-to-end: `wirefeed build` on the seed stories and on files written
//! for the test.

mod common;

use common::{SEED, Site, stderr};
use filetime::FileTime;

const FEEDS: [&str; 5] = ["feeds/all.rss", "feeds/all.atom", "feeds/all.json", "feeds/index.html", "feeds/channels.opml"];

fn json(site: &Site, rel: &str) -> serde_json::Value {
    serde_json::from_str(&site.read(rel)).unwrap()
}

fn titles(feed: &serde_json::Value) -> Vec<String> {
    feed["items"].as_array().unwrap().iter().map(|i| i["title"].as_str().unwrap().to_owned()).collect()
}

#[test]
fn seed_stories_import_once_with_captions_and_no_marker() {
    let site = Site::new(&[SEED]);
    let out = site.build();
    assert!(out.status.success(), "{}", stderr(&out));
    for f in FEEDS {
        assert!(site.path(f).is_file(), "{f} missing");
    }
    let all = json(&site, "feeds/all.json");
    let t = titles(&all);
    assert_eq!(t.len(), 2, "{t:?}");
    assert!(t.contains(&"Putin and Raisi Seek Harmonizing Bilateral Ties, Address Regional Issues".to_owned()));
    assert!(t.contains(&"Families of Israeli Detainees Accuse Netanyahu of Misleading Trump to Evade Hostage Deal".to_owned()));
    for item in all["items"].as_array().unwrap() {
        let html = item["content_html"].as_str().unwrap();
        let title = item["title"].as_str().unwrap();
        // The header repeats never leak: the title and caption appear once.
        assert_eq!(html.matches(title).count(), 0, "title leaked into body: {title}");
        assert_eq!(html.matches("<figcaption>").count(), 1, "{html}");
        assert!(!html.contains("<p>TT</p>") && !html.contains(">TT<"), "marker leaked: {html}");
        let paragraphs = html.matches("<p>").count();
        if title.starts_with("Putin") {
            assert!(html.contains("at the Kremlin <small>(Iranian Presidency)</small></figcaption>"), "{html}");
            assert_eq!(paragraphs, 13);
        } else {
            assert!(html.contains("Tuesday, May 23, 2017. <small>(AP)</small>"), "{html}");
            assert_eq!(paragraphs, 17);
        }
        assert!(item["summary"].as_str().unwrap().len() > 50);
    }
    // Every copy of the caption text in every format is the one figure.
    let rss = site.read("feeds/all.rss");
    assert_eq!(rss.matches("(Iranian Presidency)").count(), 1);
}

#[test]
fn topics_get_their_stories_and_empty_topics_still_publish() {
    let site = Site::new(&[SEED]);
    assert!(site.build().status.success());
    assert_eq!(
        titles(&json(&site, "feeds/topics/russia.json")),
        vec!["Putin and Raisi Seek Harmonizing Bilateral Ties, Address Regional Issues"]
    );
    assert_eq!(
        titles(&json(&site, "feeds/topics/gaza.json")),
        vec!["Families of Israeli Detainees Accuse Netanyahu of Misleading Trump to Evade Hostage Deal"]
    );
    assert!(titles(&json(&site, "feeds/topics/empty.json")).is_empty());
    let index = site.read("feeds/index.html");
    for href in ["all.rss", "topics/russia.atom", "topics/gaza.json", "topics/empty.rss", "channels.opml"] {
        assert!(index.contains(&format!("href=\"{href}\"")), "index lacks {href}");
    }
    assert!(index.contains(r#"<link rel="alternate" type="application/rss+xml""#));
    let opml = site.read("feeds/channels.opml");
    assert_eq!(opml.matches("<outline ").count(), 4);
    assert!(opml.contains(r#"xmlUrl="http://127.0.0.1:8080/topics/russia.rss""#));
}

#[test]
fn second_build_keeps_ids_and_does_not_rewrite_unchanged_files() {
    let site = Site::new(&[SEED]);
    assert!(site.build().status.success());
    let ids = |site: &Site| {
        json(site, "feeds/all.json")["items"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().to_owned()).collect::<Vec<_>>()
    };
    let first_ids = ids(&site);
    // Set every output's mtime into the past; an unchanged build must keep it.
    let old = FileTime::from_unix_time(1_000_000_000, 0);
    let outputs: Vec<_> = walk(&site.path("feeds"));
    for p in &outputs {
        filetime::set_file_mtime(p, old).unwrap();
    }
    let before: Vec<_> = outputs.iter().map(|p| std::fs::read(p).unwrap()).collect();
    let out = site.build();
    assert!(out.status.success());
    assert!(stderr(&out).contains("0 files written"), "{}", stderr(&out));
    for (p, bytes) in outputs.iter().zip(before) {
        assert_eq!(FileTime::from_last_modification_time(&std::fs::metadata(p).unwrap()), old, "{} rewritten", p.display());
        assert_eq!(std::fs::read(p).unwrap(), bytes);
    }
    assert_eq!(ids(&site), first_ids);
}

#[test]
fn a_new_story_rewrites_only_the_channels_it_touches() {
    let site = Site::new(&[SEED]);
    assert!(site.build().status.success());
    let russia_before = site.read("feeds/topics/russia.rss");
    site.write(
        "stories/extra.txt",
        "Hamas Names New Negotiator\n\nA negotiator at a press event (Reuters)\nA negotiator at a press event (Reuters)\nTT\n\nHamas Names New Negotiator\n\nA negotiator at a press event (Reuters)\nA negotiator at a press event (Reuters)\n\nHamas named a new negotiator on Monday.\n\nTalks resume next week in Cairo.\n\nOfficials declined to comment.\n",
    );
    let out = site.build();
    assert!(out.status.success(), "{}", stderr(&out));
    let gaza = json(&site, "feeds/topics/gaza.json");
    let item = gaza["items"].as_array().unwrap().iter().find(|i| i["title"] == "Hamas Names New Negotiator").expect("new story in gaza");
    assert_eq!(item["content_html"].as_str().unwrap().matches("<p>").count(), 3);
    assert!(item["content_html"].as_str().unwrap().contains("A negotiator at a press event <small>(Reuters)</small>"));
    assert_eq!(item["summary"], "Hamas named a new negotiator on Monday.");
    assert_eq!(site.read("feeds/topics/russia.rss"), russia_before);
    assert_eq!(titles(&json(&site, "feeds/all.json")).len(), 3);
}

#[test]
fn bad_files_are_reported_and_the_rest_publishes() {
    let site = Site::new(&[SEED]);
    site.write("stories/empty.txt", "   \n\n");
    site.write("stories/latin1.txt", b"Caf\xe9 Headline\n\nBody.\n".as_slice());
    site.write("stories/broken.md", "+++\ntitle = \"never closed\"\n");
    site.write("stories/baddate.md", "---\ntitle: X\ndate: the day after tomorrow\n---\nBody\n");
    site.write("stories/good.md", "---\ntitle: Good Markdown Story\ndate: 2024-01-02T03:04:05Z\n---\nFine body.\n");
    let out = site.build();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    for (file, problem) in
        [("empty.txt", "empty file"), ("latin1.txt:1", "not valid UTF-8"), ("broken.md", "never closed"), ("baddate.md", "not a date")]
    {
        assert!(err.lines().any(|l| l.contains(file) && l.contains(problem)), "no `{file}: {problem}` in:\n{err}");
    }
    let t = titles(&json(&site, "feeds/all.json"));
    assert_eq!(t.len(), 3, "{t:?}");
    assert!(t.contains(&"Good Markdown Story".to_owned()));
}

#[test]
fn config_errors_exit_1_and_name_the_key() {
    let site = Site::new(&[SEED]);
    site.write_config("[[topics]]\nslug = \"x\"\ntitle = \"X\"\nkeywrods = [\"a\"]\n");
    let out = site.build();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("wirefeed.toml") && err.contains("keywrods"), "{err}");
    assert!(!site.path("feeds").exists());
}

#[test]
fn missing_story_folder_is_an_input_failure_not_a_crash() {
    let site = Site::new(&[SEED]);
    site.write_config("[[stories]]\npath = \"nowhere\"\nsource = \"Ghost\"\n");
    let out = site.build();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("nowhere"), "{}", stderr(&out));
    assert_eq!(titles(&json(&site, "feeds/all.json")).len(), 2);
}

#[test]
fn the_same_story_imported_twice_is_one_story() {
    let site = Site::new(&[SEED]);
    site.write("stories/copy.txt", site.read(&format!("stories/{}", std::path::Path::new(SEED).file_name().unwrap().to_str().unwrap())));
    let out = site.build();
    assert!(out.status.success());
    assert_eq!(titles(&json(&site, "feeds/all.json")).len(), 2);
    assert!(stderr(&out).contains("2 duplicates merged"), "{}", stderr(&out));
}

#[test]
fn newest_first_and_max_items() {
    let site = Site::new(&[]);
    for day in 1..=9 {
        site.write(&format!("stories/s{day}.md"), format!("---\ntitle: Story {day}\ndate: 2024-03-0{day}\n---\nBody {day}.\n"));
    }
    site.write_config("");
    let text = site.read("wirefeed.toml").replace("max_items = 50", "max_items = 5");
    site.write("wirefeed.toml", text);
    assert!(site.build().status.success());
    assert_eq!(titles(&json(&site, "feeds/all.json")), vec!["Story 9", "Story 8", "Story 7", "Story 6", "Story 5"]);
    // The channel date is the newest story's, not the clock's.
    assert!(site.read("feeds/all.rss").contains("<lastBuildDate>Sat, 9 Mar 2024 00:00:00 +0000</lastBuildDate>"));
    assert!(site.read("feeds/all.atom").contains("<updated>2024-03-09T00:00:00+00:00</updated>"));
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}

#[test]
fn usage_errors_exit_1_not_2() {
    let site = Site::new(&[]);
    let out = site.run(&["no-such-command"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
}

#[test]
fn a_corrupt_store_is_reported_and_left_alone_with_the_last_feeds() {
    let site = Site::new(&[SEED]);
    assert!(site.build().status.success());
    let feed = site.read("feeds/all.rss");
    let store = ".wirefeed/state.db";
    let garbage = "this is not an SQLite database, but it is someone's file\n".repeat(200);
    site.write(store, &garbage);
    let _ = std::fs::remove_file(site.path(".wirefeed/state.db-wal"));
    let _ = std::fs::remove_file(site.path(".wirefeed/state.db-shm"));
    let out = site.build();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("state.db") && err.contains("damaged or not a database") && err.contains("left as it is"), "{err}");
    assert_eq!(site.read(store), garbage, "the corrupt store was overwritten");
    assert_eq!(site.read("feeds/all.rss"), feed, "the last good feeds must stay");
}

#[test]
fn a_new_topic_starts_with_the_stories_already_stored() {
    let site = Site::new(&[]);
    site.write(
        "in/a.rss",
        "<rss version=\"2.0\"><channel><title>A</title>\
         <item><title>Harbour ferry timetable changes</title><link>http://a.example/1</link><pubDate>Tue, 26 Nov 2024 10:00:00 +0000</pubDate></item>\
         <item><title>Council budget vote</title><link>http://a.example/2</link><pubDate>Tue, 26 Nov 2024 11:00:00 +0000</pubDate></item>\
         </channel></rss>",
    );
    site.write_config("[store]\nkeep_days = 100000\n[[sources]]\nname = \"a\"\nurl = \"in/a.rss\"\n");
    assert!(site.build().status.success());
    let config = site.read("wirefeed.toml");
    site.write("wirefeed.toml", format!("{config}\n[[topics]]\nslug = \"ferries\"\ntitle = \"Ferries\"\nkeywords = [\"ferry\"]\n"));
    let out = site.build();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(titles(&json(&site, "feeds/topics/ferries.json")), vec!["Harbour ferry timetable changes"]);
}
