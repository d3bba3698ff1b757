//! Editorial control end to end through `wirefeed build`: topic queries,
//! exclusions and per-topic max_items, source filters (include, exclude,
//! max_age, in_all, all_limit), and takedowns (hide, unhide, hidden)
//! across rebuilds and refetches, also while another process holds the
//! store.

mod common;

use chrono::{Duration, Utc};
use common::{Site, stderr};

/// One RSS item: (title, slug of its link, days ago, categories).
type Item<'a> = (&'a str, &'a str, i64, &'a [&'a str]);

fn rss(items: &[Item<'_>]) -> String {
    let mut out = String::from("<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>F</title><link>https://f.example/</link>");
    for (title, slug, days, categories) in items {
        let date = (Utc::now() - Duration::days(*days) - Duration::minutes(slug.len() as i64)).to_rfc2822();
        out.push_str(&format!(
            "<item><title>{title}</title><link>https://f.example/{slug}</link><guid>https://f.example/{slug}</guid>\
             <pubDate>{date}</pubDate><description>About {title}.</description>"
        ));
        for c in *categories {
            out.push_str(&format!("<category>{c}</category>"));
        }
        out.push_str("</item>");
    }
    out + "</channel></rss>"
}

fn json(site: &Site, rel: &str) -> serde_json::Value {
    serde_json::from_str(&site.read(rel)).unwrap()
}

fn titles(site: &Site, rel: &str) -> Vec<String> {
    let feed = json(site, rel);
    let mut t: Vec<String> = feed["items"].as_array().unwrap().iter().map(|i| i["title"].as_str().unwrap().to_owned()).collect();
    t.sort();
    t
}

fn sorted(list: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = list.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

fn build_ok(site: &Site) -> String {
    let out = site.build();
    assert!(out.status.success(), "{}", stderr(&out));
    stderr(&out)
}

/// A site without newsroom stories, with `extra` config.
fn site(extra: &str) -> Site {
    let site = Site::new(&[]);
    site.write_config(extra);
    site
}

#[test]
fn topic_query_exclude_and_max_items() {
    let site = site(
        r#"
[[topics]]
slug = "mideast"
title = "Middle East"
keywords = ["Gaza"]
query = 'title:(lebanon OR "west bank") OR ceasefire*'
exclude = 'category:sport OR link:/opinion/'
max_items = 3

[[sources]]
name = "Feed"
url = "feed.xml"
"#,
    );
    site.write(
        "feed.xml",
        rss(&[
            ("Gaza aid arrives", "a", 1, &[]),
            ("Lebanon border calm", "b", 2, &[]),
            ("West Bank raid", "c", 3, &[]),
            ("Ceasefires hold", "d", 4, &[]),
            ("Gaza cup final", "e", 5, &["Sport"]),
            ("Opinion on Gaza", "opinion/f", 6, &[]),
            ("Weather today", "g", 7, &[]),
        ]),
    );
    build_ok(&site);
    // Four match, one of them is cut by the topic's own max_items (3).
    assert_eq!(titles(&site, "feeds/topics/mideast.json"), sorted(&["Gaza aid arrives", "Lebanon border calm", "West Bank raid"]));
    assert_eq!(titles(&site, "feeds/all.json").len(), 7);
}

#[test]
fn a_topics_own_max_items_is_kept_by_retention() {
    let site = site(
        r#"
[store]
keep_days = 1

[[topics]]
slug = "old"
title = "Old"
query = 'story'
max_items = 5

[[sources]]
name = "Feed"
url = "feed.xml"
"#,
    );
    site.write("wirefeed.toml", site.read("wirefeed.toml").replace("max_items = 50", "max_items = 2"));
    let items: Vec<(String, String)> = (1..=7).map(|i| (format!("Old story {i}"), format!("s{i}"))).collect();
    let list: Vec<Item<'_>> = items.iter().enumerate().map(|(i, (t, s))| (t.as_str(), s.as_str(), 100 + i as i64, &[][..])).collect();
    site.write("feed.xml", rss(&list));
    build_ok(&site);
    build_ok(&site);
    // Every story is past keep_days: what stays is what the channels show,
    // and the topic shows five, not [publish] max_items' two.
    let expected: Vec<&str> = items[..5].iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(titles(&site, "feeds/topics/old.json"), sorted(&expected));
    assert_eq!(titles(&site, "feeds/all.json"), sorted(&expected[..2]));
}

#[test]
fn source_include_exclude_and_max_age_apply_before_storing() {
    let site = site(
        r#"
[[sources]]
name = "Business"
url = "feed.xml"
include = 'economy OR markets OR category:business'
exclude = 'title:crypto*'
max_age = "7d"
"#,
    );
    site.write(
        "feed.xml",
        rss(&[
            ("Markets rally", "a", 1, &[]),
            ("Economy grows", "b", 2, &[]),
            ("Quarterly results", "c", 3, &["Business"]),
            ("Cryptocurrency markets", "d", 1, &[]),
            ("Weather today", "e", 1, &[]),
            ("Markets of last month", "f", 30, &[]),
        ]),
    );
    build_ok(&site);
    assert_eq!(titles(&site, "feeds/all.json"), sorted(&["Markets rally", "Economy grows", "Quarterly results"]));
    // Dropped entries were never stored.
    let out = site.run(&["stories", "--limit", "100"]);
    let listed = String::from_utf8_lossy(&out.stdout);
    assert_eq!(listed.lines().count(), 3, "{listed}");
}

#[test]
fn in_all_false_and_all_limit_shape_the_merged_channel_only() {
    let site = site(
        r#"
[[topics]]
slug = "wire"
title = "Wire"

[[sources]]
name = "Quiet"
url = "quiet.xml"

[[sources]]
name = "Chatty"
url = "chatty.xml"
all_limit = 2
topics = ["wire"]

[[sources]]
name = "Hidden From All"
url = "private.xml"
in_all = false
topics = ["wire"]
"#,
    );
    site.write("quiet.xml", rss(&[("Quiet one", "q1", 3, &[]), ("Quiet two", "q2", 4, &[])]));
    let chatty: Vec<(String, String)> = (1..=6).map(|i| (format!("Chatty {i}"), format!("c{i}"))).collect();
    let list: Vec<Item<'_>> = chatty.iter().enumerate().map(|(i, (t, s))| (t.as_str(), s.as_str(), i as i64, &[][..])).collect();
    site.write("chatty.xml", rss(&list));
    site.write("private.xml", rss(&[("Private one", "p1", 0, &[])]));
    build_ok(&site);
    // The merged channel: all of Quiet, Chatty's two newest, nothing of
    // the source kept out.
    assert_eq!(titles(&site, "feeds/all.json"), sorted(&["Quiet one", "Quiet two", "Chatty 1", "Chatty 2"]));
    // Topics get every story.
    let wire = titles(&site, "feeds/topics/wire.json");
    assert_eq!(wire.len(), 7, "{wire:?}");
    assert!(wire.contains(&"Private one".to_owned()) && wire.contains(&"Chatty 6".to_owned()));
}

/// Every output file's text, to look for traces of a story.
fn all_output(site: &Site) -> String {
    let mut text = String::new();
    for dir in ["feeds", "feeds/topics"] {
        for entry in std::fs::read_dir(site.path(dir)).unwrap().flatten() {
            if entry.path().is_file() {
                text.push_str(&std::fs::read_to_string(entry.path()).unwrap());
            }
        }
    }
    text
}

#[test]
fn hide_and_unhide_across_rebuilds_and_refetches() {
    let site =
        site("[[topics]]\nslug = \"leaks\"\ntitle = \"G\"\nkeywords = [\"Gaza\"]\n[[sources]]\nname = \"Feed\"\nurl = \"feed.xml\"\n");
    site.write("feed.xml", rss(&[("Gaza leak story", "leak", 1, &[]), ("Gaza update", "update", 2, &[])]));
    build_ok(&site);
    assert!(all_output(&site).contains("Gaza leak story"));

    let out = site.run(&["hide", "https://f.example/leak?utm_source=x", "--reason", "legal request"]);
    assert!(out.status.success(), "{}", stderr(&out));
    build_ok(&site);
    let text = all_output(&site);
    for trace in ["Gaza leak story", "f.example/leak", "About Gaza leak story"] {
        assert!(!text.contains(trace), "{trace} still in the output");
    }
    assert_eq!(titles(&site, "feeds/topics/leaks.json"), vec!["Gaza update"]);

    // The source edits the story and carries it on: it stays down.
    site.write("feed.xml", rss(&[("Gaza leak story, updated", "leak", 1, &[]), ("Gaza update", "update", 2, &[])]));
    build_ok(&site);
    assert!(!all_output(&site).contains("f.example/leak"));

    let listed = site.run(&["hidden"]);
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(listed.contains("Gaza leak story") && listed.contains("reason: legal request"), "{listed}");

    let out = site.run(&["unhide", "https://f.example/leak"]);
    assert!(out.status.success(), "{}", stderr(&out));
    build_ok(&site);
    assert_eq!(titles(&site, "feeds/topics/leaks.json"), sorted(&["Gaza leak story, updated", "Gaza update"]));
    assert!(String::from_utf8_lossy(&site.run(&["hidden"]).stdout).trim().is_empty());
    // Unhiding what is not hidden is an error.
    assert_eq!(site.run(&["unhide", "https://f.example/leak"]).status.code(), Some(1));
}

#[test]
fn hide_works_while_another_process_holds_the_store_and_before_a_story_arrives() {
    let site = site("[[sources]]\nname = \"Feed\"\nurl = \"feed.xml\"\n");
    site.write("feed.xml", rss(&[("First", "first", 1, &[])]));
    build_ok(&site);
    let config = site.config();
    let held = wirefeed::store::Store::open(&config).unwrap();
    // A URL no stored story has yet: taken down before it arrives.
    let out = site.run(&["hide", "https://f.example/later", "--reason", "embargo breach"]);
    assert!(out.status.success(), "{}", stderr(&out));
    // By id, while the lock is held.
    let id = json(&site, "feeds/all.json")["items"][0]["id"].as_str().unwrap().to_owned();
    let out = site.run(&["hide", &id]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(site.run(&["hide", "no-such-story"]).status.code(), Some(1));
    drop(held);
    site.write("feed.xml", rss(&[("First", "first", 1, &[]), ("Later", "later", 0, &[]), ("Fine", "fine", 0, &[])]));
    build_ok(&site);
    assert_eq!(titles(&site, "feeds/all.json"), vec!["Fine"]);
}

#[test]
fn query_errors_are_config_errors_with_topic_and_column() {
    let site = site("[[topics]]\nslug = \"mideast\"\ntitle = \"G\"\nquery = 'title:(gaza OR \"west bank\"'\n");
    let out = site.build();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("topics[3].query") && err.contains("topic \"mideast\"") && err.contains("column 27"), "{err}");
    assert!(err.contains("expected ')' to close the '(' at column 7"), "{err}");
}

#[test]
fn rust_log_debug_shows_wirefeeds_debug_lines_not_its_dependencies() {
    let site = Site::new(&[]);
    site.write("stories/notes.json", "not a story");
    site.write("stories/a.md", "---\ntitle: A\n---\nHello <b>there</b>\n");
    let run = |filter: &str| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_wirefeed"))
            .args(["build", "--config"])
            .arg(site.path("wirefeed.toml"))
            .env("RUST_LOG", filter)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        stderr(&out)
    };
    // (RUST_LOG, wirefeed's own debug line shown, html5ever's parser state shown)
    for (filter, own, dependency) in
        [("debug", true, false), ("DEBUG", true, false), ("debug,html5ever=debug", true, true), ("warn", false, false)]
    {
        let err = run(filter);
        assert_eq!(err.contains("not a story file"), own, "RUST_LOG={filter}:\n{err}");
        assert_eq!(err.contains("insertion mode"), dependency, "RUST_LOG={filter}:\n{err}");
    }
}

#[test]
fn explain_says_why_a_story_is_in_or_out_of_each_topic_and_channel() {
    let site = site(
        r#"
[[topics]]
slug = "mideast"
title = "Middle East"
keywords = ["Gaza"]
exclude = 'category:sport'
max_items = 1

[[sources]]
name = "Feed"
url = "feed.xml"
all_limit = 2
"#,
    );
    site.write(
        "feed.xml",
        rss(&[("Gaza aid arrives", "a", 1, &[]), ("Gaza talks stall", "b", 2, &[]), ("Gaza cup final", "c", 3, &["Sport"])]),
    );
    build_ok(&site);
    let explain = |needle: &str| {
        let out = site.run(&["explain", needle]);
        assert!(out.status.success(), "{}", stderr(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    // In a topic, by which rule, term and field; its rank.
    let text = explain("https://f.example/a");
    assert!(text.contains("in  mideast") && text.contains("keyword Gaza in title"), "{text}");
    assert!(text.contains("rank 1 of the 1 it shows"), "{text}");
    // Cut by the topic's max_items, and by the source's all_limit in `all`.
    let text = explain("talks stall");
    assert!(text.contains("not shown: rank 2, channel shows 1"), "{text}");
    let text = explain("cup final");
    assert!(text.contains("out mideast") && text.contains("excluded by 'category:sport'"), "{text}");
    assert!(text.contains("not shown: past its source's all_limit (2)"), "{text}");
    // Taken down.
    assert!(site.run(&["hide", "https://f.example/a", "--reason", "legal"]).status.success());
    let text = explain("Gaza aid");
    assert!(text.contains("hidden:     since") && text.contains("(legal)") && text.contains("not shown: taken down"), "{text}");
    // JSON for tools.
    let out = site.run(&["explain", "--json", "Gaza"]);
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(value.as_array().unwrap().len(), 3);
    assert!(value[0]["channels"].as_array().unwrap().iter().any(|c| c["channel"] == "topics/mideast"));
    // Nothing found is an error.
    assert_eq!(site.run(&["explain", "no such words"]).status.code(), Some(1));
}

#[test]
fn a_running_run_takes_a_story_down_and_back_within_its_watch_interval() {
    let site = Site::new(&[]);
    site.write("stories/one.md", "---\ntitle: Story to take down\ndate: 2026-01-02\n---\nBody.\n");
    site.write("stories/two.md", "---\ntitle: Story that stays\ndate: 2026-01-03\n---\nBody.\n");
    site.write_config("[run]\nwatch_interval = \"100ms\"\n");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (tx, rx) = tokio::sync::watch::channel(false);
    let mut runner =
        wirefeed::operate::run::Runner::new(site.config(), std::sync::Arc::new(wirefeed::operate::metrics::Metrics::new())).unwrap();
    let handle = std::thread::spawn(move || rt.block_on(async move { runner.run(false, rx).await }));
    let wait_until = |what: &str, shown: bool| {
        for _ in 0..200 {
            // The files read below, each republished (they are written
            // one after another).
            let done = ["feeds/all.rss", "feeds/all.json"]
                .iter()
                .all(|f| std::fs::read_to_string(site.path(f)).is_ok_and(|t| t.contains(what) == shown && t.contains("Story that stays")))
                && site.path("feeds/index.html").is_file();
            if done {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("{what} never {}", if shown { "published" } else { "taken down" });
    };
    wait_until("Story to take down", true);
    let feed = json(&site, "feeds/all.json");
    let item = feed["items"].as_array().unwrap().iter().find(|i| i["title"] == "Story to take down").unwrap();
    let link = item["url"].as_str().unwrap().to_owned();
    // The run holds the store's lock all along.
    let out = site.run(&["hide", &link, "--reason", "correction pending"]);
    assert!(out.status.success(), "{}", stderr(&out));
    wait_until("Story to take down", false);
    assert!(!site.read("feeds/index.html").contains("Story to take down"));
    let out = site.run(&["unhide", &link]);
    assert!(out.status.success(), "{}", stderr(&out));
    wait_until("Story to take down", true);
    tx.send(true).unwrap();
    handle.join().unwrap().unwrap();
}

#[test]
fn changed_rules_move_stored_stories_at_the_next_build() {
    let topic = "[[topics]]\nslug = \"mideast\"\ntitle = \"M\"\nkeywords = [\"Gaza\"]\n";
    let source = "[[sources]]\nname = \"Feed\"\nurl = \"feed.xml\"\n";
    let site = site(&format!("{topic}{source}"));
    site.write("feed.xml", rss(&[("Gaza aid arrives", "a", 1, &[]), ("Gaza cup final", "b", 2, &["Sport"])]));
    build_ok(&site);
    assert_eq!(titles(&site, "feeds/topics/mideast.json").len(), 2);
    // An exclude added later takes the stored story out; a new query
    // topic starts with the stored stories it matches.
    site.write_config(&format!(
        "{topic}exclude = 'category:sport'\n[[topics]]\nslug = \"sport\"\ntitle = \"S\"\nquery = 'category:sport'\n{source}"
    ));
    build_ok(&site);
    assert_eq!(titles(&site, "feeds/topics/mideast.json"), vec!["Gaza aid arrives"]);
    assert_eq!(titles(&site, "feeds/topics/sport.json"), vec!["Gaza cup final"]);
}
