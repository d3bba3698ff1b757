//! The store end to end: the real binary on sites whose feeds are local
//! files (or an in-process server on 127.0.0.1), and the database read
//! back with rusqlite to see what it kept.
//!
//! What is checked is what readers rely on: ids and dates that never move,
//! edits that move only `updated`, retention that does not bring pruned
//! stories back, builds that touch nothing when nothing changed, a store
//! that survives `kill -9` at any instant, one writer at a time, forward
//! migrations, and damaged or newer stores left as they are.

mod common;

use chrono::{DateTime, Duration, SubsecRound, Utc};
use common::backend::Backend;
use common::{SEED, Site, stderr};
use filetime::FileTime;
use quick_xml::events::Event;
use rusqlite::{Connection, OpenFlags};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use wirefeed::model::id::{IdBasis, story_id};
use wirefeed::store::schema::LATEST;

const STORE: &str = ".wirefeed/state.db";

// ---------------------------------------------------------------- feeds

/// One RSS item; `date` None leaves out `pubDate` (an undated entry).
fn item(source: &str, guid: &str, title: &str, body: &str, date: Option<DateTime<Utc>>) -> String {
    let date = date.map(|d| format!("<pubDate>{}</pubDate>", d.to_rfc2822())).unwrap_or_default();
    let body = quick_xml::escape::escape(body);
    format!(
        "<item><title>{title}</title><link>http://{source}.example/{guid}</link><guid isPermaLink=\"false\">{guid}</guid>{date}<description>{body}</description></item>\n"
    )
}

fn rss(title: &str, items: &[String]) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rss version=\"2.0\"><channel><title>{title}</title><link>http://x.example/</link><description>d</description>\n{}</channel></rss>\n",
        items.concat()
    )
}

fn date(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
}

/// The id wirefeed gives an entry with a guid in a source.
fn id_of(source: &str, guid: &str) -> String {
    story_id(IdBasis::Origin { source, id: guid })
}

thread_local! {
    /// The PostgreSQL store this test's sites use (`None`: SQLite at the
    /// default path). Tests run each on their own thread.
    static STORE_URL: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Points this test's sites at a fresh store of `backend`.
fn use_backend(backend: Backend) {
    let url = match backend.fresh().location {
        wirefeed::store::Location::Postgres(url) => Some(url),
        wirefeed::store::Location::Sqlite(_) => None,
    };
    STORE_URL.with(|u| *u.borrow_mut() = url);
}

/// A config with one local feed source per name (`in/<name>.rss`), and
/// this test's store.
fn feed_sources(names: &[&str], extra: &str) -> String {
    let mut s = String::new();
    for n in names {
        s.push_str(&format!("[[sources]]\nname = \"{n}\"\nurl = \"in/{n}.rss\"\n"));
    }
    match STORE_URL.with(|u| u.borrow().clone()) {
        Some(url) if extra.contains("[store]\n") => s.push_str(&extra.replace("[store]\n", &format!("[store]\nurl = {url:?}\n"))),
        Some(url) => s.push_str(&format!("{extra}\n[store]\nurl = {url:?}\n")),
        None => s.push_str(extra),
    }
    s
}

/// The site's config with `max_items` changed.
fn set_max_items(site: &Site, n: usize) {
    let text = site.read("wirefeed.toml").replace("max_items = 50", &format!("max_items = {n}"));
    site.write("wirefeed.toml", text);
}

// --------------------------------------------------------------- outputs

fn json(site: &Site, rel: &str) -> serde_json::Value {
    serde_json::from_str(&site.read(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// id → (date_published, date_modified, content_html) of a JSON feed.
fn json_items(site: &Site, rel: &str) -> BTreeMap<String, (String, Option<String>, String)> {
    let feed = json(site, rel);
    feed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            let s = |k: &str| i[k].as_str().map(str::to_owned);
            (s("id").unwrap(), (s("date_published").unwrap(), s("date_modified"), s("content_html").unwrap_or_default()))
        })
        .collect()
}

/// Each `<item>` or `<entry>` of an RSS or Atom file as its child
/// elements' text by local name (the first of each name).
fn xml_items(text: &str) -> Vec<BTreeMap<String, String>> {
    let mut reader = quick_xml::Reader::from_str(text);
    let mut items = Vec::new();
    let mut current: Option<BTreeMap<String, String>> = None;
    let mut field: Option<String> = None;
    let mut buf = String::new();
    loop {
        match reader.read_event().unwrap_or_else(|e| panic!("not well-formed: {e}")) {
            Event::Start(e) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                if name == "item" || name == "entry" {
                    current = Some(BTreeMap::new());
                } else if current.is_some() && field.is_none() {
                    field = Some(name);
                    buf.clear();
                }
            }
            Event::End(e) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                if (name == "item" || name == "entry")
                    && let Some(done) = current.take()
                {
                    items.push(done);
                } else if field.as_deref() == Some(name.as_str()) {
                    current.as_mut().unwrap().entry(name).or_insert_with(|| buf.clone());
                    field = None;
                }
            }
            Event::Text(t) if field.is_some() => buf.push_str(&t.decode().unwrap()),
            Event::CData(t) if field.is_some() => buf.push_str(&t.decode().unwrap()),
            Event::GeneralRef(r) if field.is_some() => {
                if let Some(c) = r.resolve_char_ref().unwrap() {
                    buf.push(c);
                } else {
                    let name = r.decode().unwrap();
                    buf.push_str(match name.as_ref() {
                        "lt" => "<",
                        "gt" => ">",
                        "amp" => "&",
                        "quot" => "\"",
                        "apos" => "'",
                        other => panic!("undeclared entity &{other};"),
                    });
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    items
}

/// Every file under `dir`, sorted.
fn walk(dir: &Path) -> Vec<PathBuf> {
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

fn is_temp(p: &Path) -> bool {
    let name = p.file_name().unwrap().to_string_lossy();
    name.starts_with(".wirefeed-") && name.ends_with(".tmp")
}

/// Checks that a published file is whole: XML closes its root, JSON parses
/// with its items, HTML reaches its end tag.
fn check_complete(path: &Path) {
    let bytes = std::fs::read(path).unwrap();
    let text = std::str::from_utf8(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    match ext {
        "rss" | "atom" | "opml" => {
            let mut reader = quick_xml::Reader::from_str(text);
            let (mut depth, mut elements) = (0i64, 0usize);
            loop {
                match reader.read_event() {
                    Ok(Event::Start(_)) => {
                        depth += 1;
                        elements += 1;
                    }
                    Ok(Event::End(_)) => depth -= 1,
                    Ok(Event::Empty(_)) => elements += 1,
                    Ok(Event::Eof) => break,
                    Ok(_) => {}
                    Err(e) => panic!("{}: not well-formed: {e}", path.display()),
                }
            }
            assert!(depth == 0 && elements > 0, "{}: truncated XML (depth {depth} at the end)", path.display());
        }
        "json" => {
            let v: serde_json::Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert!(v["items"].is_array(), "{}: no items", path.display());
        }
        "html" => assert!(text.trim_end().ends_with("</html>"), "{}: truncated HTML", path.display()),
        "css" => assert!(text.trim_end().ends_with('}'), "{}: truncated stylesheet", path.display()),
        _ => panic!("unexpected file in the output: {}", path.display()),
    }
}

// ----------------------------------------------------------------- store

fn db(site: &Site) -> Connection {
    Connection::open_with_flags(site.path(STORE), OpenFlags::SQLITE_OPEN_READ_WRITE).unwrap()
}

/// A stored story as the tests look at it.
#[derive(Debug, Clone, PartialEq)]
struct Row {
    published: i64,
    updated: Option<i64>,
    first_seen: i64,
    content: String,
}

fn stored(conn: &Connection) -> BTreeMap<String, Row> {
    let mut stmt = conn.prepare("SELECT id, published, updated, first_seen, content FROM stories").unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, Row { published: r.get(1)?, updated: r.get(2)?, first_seen: r.get(3)?, content: r.get(4)? })))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// The test's store, whichever backend it is on, for the queries the
/// backend-neutral tests make.
enum StoreDb {
    Sqlite(Connection),
    #[cfg(feature = "postgres-tests")]
    Postgres(::postgres::Client),
}

fn store_db(site: &Site) -> StoreDb {
    match STORE_URL.with(|u| u.borrow().clone()) {
        None => StoreDb::Sqlite(db(site)),
        #[cfg(feature = "postgres-tests")]
        Some(url) => StoreDb::Postgres(::postgres::Client::connect(&url, ::postgres::NoTls).unwrap()),
        #[cfg(not(feature = "postgres-tests"))]
        Some(_) => unreachable!("PostgreSQL stores only under postgres-tests"),
    }
}

impl StoreDb {
    fn stored(&mut self) -> BTreeMap<String, Row> {
        match self {
            StoreDb::Sqlite(conn) => stored(conn),
            #[cfg(feature = "postgres-tests")]
            StoreDb::Postgres(c) => c
                .query("SELECT id, published, updated, first_seen, content FROM stories", &[])
                .unwrap()
                .iter()
                .map(|r| (r.get(0), Row { published: r.get(1), updated: r.get(2), first_seen: r.get(3), content: r.get(4) }))
                .collect(),
        }
    }

    fn last_summary(&mut self) -> String {
        match self {
            StoreDb::Sqlite(conn) => last_summary(conn),
            #[cfg(feature = "postgres-tests")]
            StoreDb::Postgres(c) => c.query_one("SELECT summary FROM runs ORDER BY pk DESC LIMIT 1", &[]).unwrap().get(0),
        }
    }

    /// The one integer a query without parameters answers.
    fn number(&mut self, sql: &str) -> i64 {
        match self {
            StoreDb::Sqlite(conn) => conn.query_row(sql, [], |r| r.get(0)).unwrap(),
            #[cfg(feature = "postgres-tests")]
            StoreDb::Postgres(c) => c.query_one(sql, &[]).unwrap().get(0),
        }
    }

    /// Every stored story's link, sorted.
    fn links(&mut self) -> Vec<String> {
        let mut links: Vec<String> = match self {
            StoreDb::Sqlite(conn) => {
                let mut stmt = conn.prepare("SELECT link FROM stories").unwrap();
                stmt.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
            }
            #[cfg(feature = "postgres-tests")]
            StoreDb::Postgres(c) => c.query("SELECT link FROM stories", &[]).unwrap().iter().map(|r| r.get(0)).collect(),
        };
        links.sort();
        links
    }
}

fn integrity_ok(conn: &Connection) {
    let result: Vec<String> =
        conn.prepare("PRAGMA integrity_check").unwrap().query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect();
    assert_eq!(result, vec!["ok".to_owned()], "integrity_check");
}

fn last_summary(conn: &Connection) -> String {
    conn.query_row("SELECT summary FROM runs ORDER BY pk DESC LIMIT 1", [], |r| r.get(0)).unwrap()
}

fn ts(t: DateTime<Utc>) -> i64 {
    t.timestamp()
}

fn build_ok(site: &Site) -> String {
    let out = site.build();
    assert!(out.status.success(), "build failed: {}", stderr(&out));
    stderr(&out)
}

// ------------------------------------------------------------ the tests

// On each backend: what readers see does not depend on where the store is.
on_each_backend!(
    ids_and_dates_stay_put_over_builds_including_undated_entries,
    an_edited_story_keeps_its_id_and_date_and_moves_updated,
    retention_prunes_old_stories_keeps_each_channels_newest_and_never_brings_them_back,
    an_unchanged_build_writes_nothing_and_leaves_no_temp_files,
);

fn ids_and_dates_stay_put_over_builds_including_undated_entries(backend: Backend) {
    use_backend(backend);
    let site = Site::new(&[SEED]);
    let dated = date("2024-05-01T08:00:00Z");
    let mut items = vec![
        item("wire", "d1", "Dated one", "<p>First dated story.</p>", Some(dated)),
        item("wire", "d2", "Dated two", "<p>Second dated story.</p>", Some(dated + Duration::hours(1))),
        item("wire", "u1", "Undated one", "<p>No date on this one.</p>", None),
    ];
    // Neither guid nor link nor date: the id comes from the content.
    let bare = "<item><title>Bare entry</title><description>Only a title and text.</description></item>\n".to_owned();
    items.push(bare.clone());
    site.write("in/wire.rss", rss("Wire", &items));
    site.write_config(&feed_sources(&["wire"], ""));
    let before = Utc::now().trunc_subsecs(0);
    build_ok(&site);
    let after = Utc::now();
    let first = json_items(&site, "feeds/all.json");
    assert_eq!(first.len(), 6, "{first:?}");
    let rows = store_db(&site).stored();
    let undated = &rows[&id_of("wire", "u1")];
    assert!(undated.published >= ts(before) && undated.published <= ts(after), "undated entry got its first-seen time: {undated:?}");
    assert_eq!(undated.published, undated.first_seen);
    assert_eq!(rows[&id_of("wire", "d1")].published, ts(dated));

    // A later build (in another second) with one new undated entry: every
    // earlier id and date is as it was, in every format.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let rss_before: BTreeMap<String, String> =
        xml_items(&site.read("feeds/all.rss")).into_iter().map(|i| (i["guid"].clone(), i["pubDate"].clone())).collect();
    let atom_before: BTreeMap<String, String> =
        xml_items(&site.read("feeds/all.atom")).into_iter().map(|i| (i["id"].clone(), i["published"].clone())).collect();
    items.push(item("wire", "u2", "Undated two", "<p>Arrived later.</p>", None));
    site.write("in/wire.rss", rss("Wire", &items));
    build_ok(&site);
    let second = json_items(&site, "feeds/all.json");
    assert_eq!(second.len(), 7);
    for (id, (published, ..)) in &first {
        assert_eq!(&second[id].0, published, "{id}: date_published moved");
    }
    let rows2 = store_db(&site).stored();
    for (id, row) in &rows {
        assert_eq!(rows2[id].published, row.published, "{id}: published moved");
        assert_eq!(rows2[id].first_seen, row.first_seen, "{id}: first-seen moved");
    }
    let new_undated = &rows2[&id_of("wire", "u2")];
    assert!(new_undated.published > undated.published, "the new entry is from a later second: {new_undated:?} vs {undated:?}");
    let rss_after: BTreeMap<String, String> =
        xml_items(&site.read("feeds/all.rss")).into_iter().map(|i| (i["guid"].clone(), i["pubDate"].clone())).collect();
    let atom_after: BTreeMap<String, String> =
        xml_items(&site.read("feeds/all.atom")).into_iter().map(|i| (i["id"].clone(), i["published"].clone())).collect();
    for (guid, pub_date) in &rss_before {
        assert_eq!(&rss_after[guid], pub_date, "RSS {guid}");
    }
    for (id, published) in &atom_before {
        assert_eq!(&atom_after[id], published, "Atom {id}");
    }
    assert_eq!(rss_after.len(), 7);

    // The feed reordered and written again, byte for byte otherwise the
    // same: nothing moves, nothing is new.
    items.reverse();
    site.write("in/wire.rss", rss("Wire", &items));
    build_ok(&site);
    assert_eq!(json_items(&site, "feeds/all.json"), second);
    let mut conn = store_db(&site);
    assert_eq!(conn.stored(), rows2);
    assert!(conn.last_summary().starts_with("0 new, 0 updated"), "{}", conn.last_summary());
}

fn an_edited_story_keeps_its_id_and_date_and_moves_updated(backend: Backend) {
    use_backend(backend);
    let site = Site::new(&[]);
    let dated = date("2024-05-01T08:00:00Z");
    let feed = |v: &str| {
        rss(
            "Wire",
            &[
                item("wire", "e1", "Dated story", &format!("<p>Dated text, version {v}.</p>"), Some(dated)),
                item("wire", "e2", "Undated story", &format!("<p>Undated text, version {v}.</p>"), None),
            ],
        )
    };
    site.write("in/wire.rss", feed("one"));
    site.write_config(&feed_sources(&["wire"], ""));
    build_ok(&site);
    let before = store_db(&site).stored();
    let json_before = json_items(&site, "feeds/all.json");
    let rss_before = xml_items(&site.read("feeds/all.rss"));
    let atom_before = xml_items(&site.read("feeds/all.atom"));
    assert_eq!(json_before.len(), 2);
    assert!(json_before.values().all(|(_, modified, _)| modified.is_none()), "{json_before:?}");

    // The undated story's `updated` must be able to move past its first-seen second.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    site.write("in/wire.rss", feed("two"));
    let edit_time = Utc::now().trunc_subsecs(0);
    build_ok(&site);
    let mut conn = store_db(&site);
    let after = conn.stored();
    assert!(conn.last_summary().starts_with("0 new, 2 updated"), "{}", conn.last_summary());
    assert_eq!(after.keys().collect::<Vec<_>>(), before.keys().collect::<Vec<_>>(), "ids changed");
    for (id, row) in &after {
        let old = &before[id];
        assert_eq!(row.published, old.published, "{id}: published moved");
        assert_eq!(row.first_seen, old.first_seen, "{id}: first-seen moved");
        assert!(row.content.contains("version two"), "{id}: {row:?}");
        let updated = row.updated.unwrap_or_else(|| panic!("{id}: no updated"));
        assert!(updated > old.published && updated >= ts(edit_time), "{id}: updated {updated} vs {old:?}");
    }

    // JSON Feed: same id and date_published, date_modified set, new text.
    let json_after = json_items(&site, "feeds/all.json");
    for (id, (published, modified, html)) in &json_after {
        let (old_published, ..) = &json_before[id];
        assert_eq!(published, old_published, "{id}");
        let modified = modified.as_deref().unwrap_or_else(|| panic!("{id}: no date_modified"));
        assert!(date(modified) > date(published), "{id}: {modified} vs {published}");
        assert!(html.contains("version two"), "{html}");
    }
    // Atom: same id and published, `updated` later than before.
    let atom_after = xml_items(&site.read("feeds/all.atom"));
    assert_eq!(atom_after.len(), 2);
    for entry in &atom_after {
        let old = atom_before.iter().find(|e| e["id"] == entry["id"]).expect("same Atom ids");
        assert_eq!(entry["published"], old["published"]);
        assert!(date(&entry["updated"]) > date(&old["updated"]), "{entry:?} vs {old:?}");
        assert!(entry["content"].contains("version two"), "{entry:?}");
    }
    // RSS: same guid and pubDate, new description, lastBuildDate moved.
    let rss_after = xml_items(&site.read("feeds/all.rss"));
    assert_eq!(rss_after.len(), 2);
    for it in &rss_after {
        let old = rss_before.iter().find(|i| i["guid"] == it["guid"]).expect("same RSS guids");
        assert_eq!(it["pubDate"], old["pubDate"]);
        assert!(it["description"].contains("version two") && old["description"].contains("version one"));
    }
    let build_date = |text: &str| text.split("<lastBuildDate>").nth(1).unwrap().split('<').next().unwrap().to_owned();
    let rss_text = site.read("feeds/all.rss");
    let last_build = DateTime::parse_from_rfc2822(&build_date(&rss_text)).unwrap();
    assert!(last_build.timestamp() >= ts(edit_time), "{rss_text}");

    // Seen again unchanged: `updated` stays where the edit put it.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    build_ok(&site);
    assert_eq!(store_db(&site).stored(), after);
    assert_eq!(json_items(&site, "feeds/all.json"), json_after);
}

fn retention_prunes_old_stories_keeps_each_channels_newest_and_never_brings_them_back(backend: Backend) {
    use_backend(backend);
    let site = Site::new(&[]);
    let now = Utc::now().trunc_subsecs(0);
    let old = date("2020-01-01T00:00:00Z");
    let mut items = Vec::new();
    for i in 0..4 {
        items.push(item("wire", &format!("recent{i}"), &format!("Recent {i}"), "<p>Plain news.</p>", Some(now - Duration::hours(i + 1))));
    }
    for i in 0..2 {
        let body = "<p>The Kremlin said little.</p>";
        items.push(item("wire", &format!("kremlin{i}"), &format!("Kremlin {i}"), body, Some(old + Duration::days(i))));
    }
    for i in 0..4 {
        items.push(item("wire", &format!("old{i}"), &format!("Old {i}"), "<p>Plain old news.</p>", Some(old - Duration::days(i + 1))));
    }
    items.push(item("wire", "undated", "Undated", "<p>Plain news without a date.</p>", None));
    site.write("in/wire.rss", rss("Wire", &items));
    site.write_config(&feed_sources(&["wire"], "[store]\nkeep_days = 1\n"));
    set_max_items(&site, 3);
    build_ok(&site);

    let mut conn = store_db(&site);
    // Stories by guid (their links end with it), to read failures easily.
    let ids = |conn: &mut StoreDb| conn.links().iter().map(|l| l.trim_start_matches("http://wire.example/").to_owned()).collect::<Vec<_>>();
    let expect = ["kremlin0", "kremlin1", "recent0", "recent1", "recent2", "recent3", "undated"];
    // The generic old stories went; the two old Kremlin stories are the
    // Russia channel's newest, so they stay however old.
    assert_eq!(ids(&mut conn), expect);
    let tombstones: i64 = conn.number("SELECT count(*) FROM tombstones");
    assert_eq!(tombstones, 4);
    // Stories too old to keep are let go as they arrive: never stored, but
    // tombstoned all the same.
    assert!(conn.last_summary().starts_with("7 new, 0 updated, 4 pruned"), "{}", conn.last_summary());
    let russia = json_items(&site, "feeds/topics/russia.json");
    let mut floor = vec![id_of("wire", "kremlin0"), id_of("wire", "kremlin1")];
    floor.sort();
    assert_eq!(russia.keys().cloned().collect::<Vec<_>>(), floor);
    assert_eq!(json_items(&site, "feeds/all.json").len(), 3);
    drop(conn);

    // The feed still carries the pruned stories: they are not new again.
    build_ok(&site);
    let mut conn = store_db(&site);
    assert_eq!(ids(&mut conn), expect);
    assert!(conn.last_summary().starts_with("0 new, 0 updated, 0 pruned"), "{}", conn.last_summary());
    drop(conn);

    // Now the undated story ages out: keep_days = 0, three newer stories
    // push it out of the merged channel's three, and a second passes.
    let undated_id = id_of("wire", "undated");
    let undated_published = store_db(&site).stored()[&undated_id].published;
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let later = Utc::now().trunc_subsecs(0) + Duration::minutes(10);
    for i in 0..3 {
        items.push(item("wire", &format!("next{i}"), &format!("Next {i}"), "<p>Newer news.</p>", Some(later + Duration::minutes(i))));
    }
    site.write("in/wire.rss", rss("Wire", &items));
    site.write_config(&feed_sources(&["wire"], "[store]\nkeep_days = 0\n"));
    set_max_items(&site, 3);
    build_ok(&site);
    // Retention runs before a source's new stories and again only when old
    // ones arrive, so a story pushed out of a channel by newer ones in this
    // run goes in the next.
    build_ok(&site);
    let mut conn = store_db(&site);
    let now_ids = ids(&mut conn);
    assert_eq!(now_ids, ["kremlin0", "kremlin1", "next0", "next1", "next2"], "the aged stories were not pruned");
    let tombstoned = conn.number(&format!("SELECT count(*) FROM tombstones WHERE id = '{undated_id}'")) == 1;
    assert!(tombstoned, "no tombstone for the undated story");
    let russia_after = json_items(&site, "feeds/topics/russia.json");
    assert_eq!(russia_after.keys().collect::<Vec<_>>(), russia.keys().collect::<Vec<_>>(), "the Russia channel lost its floor");
    drop(conn);

    // The feed still lists the undated entry. Without its tombstone it
    // would come back as a new story dated now. A second later, so the
    // newsroom folder's turn (before the feed's) prunes with a later
    // cutoff: with keep_days = 0 that once expired the tombstone first.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    build_ok(&site);
    let mut conn = store_db(&site);
    assert_eq!(ids(&mut conn), now_ids, "a pruned story came back");
    assert!(conn.last_summary().starts_with("0 new, 0 updated"), "{}", conn.last_summary());
    let all = json_items(&site, "feeds/all.json");
    assert!(!all.contains_key(&undated_id));
    assert!(all.values().all(|(published, ..)| date(published).timestamp() != undated_published));
}

fn an_unchanged_build_writes_nothing_and_leaves_no_temp_files(backend: Backend) {
    use_backend(backend);
    let site = Site::new(&[SEED]);
    let base = date("2024-06-01T00:00:00Z");
    for (n, name) in ["alpha", "beta"].into_iter().enumerate() {
        let items: Vec<String> = (0..20)
            .map(|i| {
                let when = (i % 4 != 0).then(|| base + Duration::minutes(i * 7 + n as i64));
                item(name, &format!("{name}{i}"), &format!("{name} story {i} on Gaza Strip talks"), "<p>Body text.</p>", when)
            })
            .collect();
        site.write(&format!("in/{name}.rss"), rss(name, &items));
    }
    site.write_config(&feed_sources(&["alpha", "beta"], ""));
    build_ok(&site);
    let old = FileTime::from_unix_time(1_000_000_000, 0);
    // Every file, sources.html included: it shows each source's health,
    // not when it was last fetched.
    let outputs = walk(&site.path("feeds"));
    assert!(outputs.len() >= 15 && outputs.iter().any(|p| p.ends_with("sources.html")), "{outputs:?}");
    for p in &outputs {
        filetime::set_file_mtime(p, old).unwrap();
    }
    let bytes: Vec<Vec<u8>> = outputs.iter().map(|p| std::fs::read(p).unwrap()).collect();
    // In another second, so an undated entry whose date moved would show.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let err = build_ok(&site);
    assert!(err.contains("0 files written"), "{err}");
    let after = walk(&site.path("feeds"));
    assert_eq!(after, outputs, "files appeared or vanished");
    for (p, b) in outputs.iter().zip(bytes) {
        assert_eq!(FileTime::from_last_modification_time(&std::fs::metadata(p).unwrap()), old, "{} rewritten", p.display());
        assert_eq!(std::fs::read(p).unwrap(), b);
        assert!(!is_temp(p));
    }
    assert!(store_db(&site).last_summary().starts_with("0 new, 0 updated, 0 pruned; 0 files written"));
}

// ------------------------------------------------------------ kill -9

/// xorshift64*: reproducible delays without a crate.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

const KILL_SOURCES: [&str; 4] = ["north", "south", "east", "west"];

/// Each source's feed at `round`: entries grow by 20 a round and one in
/// ten is edited, so every build has real work to store and publish.
fn kill_feeds(site: &Site, round: usize) {
    let base = date("2025-01-01T00:00:00Z");
    let paragraph = "<p>Officials in the Gaza Strip and the Kremlin met again; the talks ran long and the statement was brief.</p>";
    for (s, name) in KILL_SOURCES.iter().enumerate() {
        let count = 150 + round * 20;
        let items: Vec<String> = (0..count)
            .map(|i| {
                let version = if i % 10 == round % 10 { round } else { 0 };
                let body = format!("{}<p>Entry {i}, version {version}.</p>", paragraph.repeat(6));
                let when = (i % 9 != 0).then(|| base + Duration::minutes((i * 4 + s) as i64));
                item(name, &format!("{name}-{i}"), &format!("{name} entry {i}"), &body, when)
            })
            .collect();
        site.write(&format!("in/{name}.rss"), rss(name, &items));
    }
}

fn check_outputs(site: &Site, context: &str) {
    for p in walk(&site.path("feeds")) {
        if is_temp(&p) {
            continue;
        }
        std::panic::catch_unwind(|| check_complete(&p)).unwrap_or_else(|_| panic!("{context}: {} is incomplete", p.display()));
    }
}

#[test]
fn a_build_killed_at_any_instant_loses_nothing_committed_and_the_next_build_recovers() {
    let site = Site::new(&[SEED]);
    site.write_config(&feed_sources(&KILL_SOURCES, "[store]\nkeep_days = 3650\n"));
    kill_feeds(&site, 0);
    let started = std::time::Instant::now();
    build_ok(&site);
    // Kill delays spread over about one build's length.
    let span_ms = (started.elapsed().as_millis() as u64).clamp(100, 2000);
    let mut rng = Rng(0x5EED_F00D_D00D);
    let mut killed_mid_run = 0;
    for round in 1..=24 {
        let committed = stored(&db(&site));
        kill_feeds(&site, round);
        let mut child: Child = Command::new(env!("CARGO_BIN_EXE_wirefeed"))
            .args(["build", "--quiet", "--config"])
            .arg(site.path("wirefeed.toml"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let delay = rng.next() % span_ms;
        std::thread::sleep(std::time::Duration::from_millis(delay));
        let finished = child.try_wait().unwrap().is_some();
        child.kill().unwrap();
        let _ = child.wait().unwrap();
        killed_mid_run += usize::from(!finished);
        let context = format!("round {round}, killed after {delay} ms");

        check_outputs(&site, &context);
        {
            let conn = db(&site);
            integrity_ok(&conn);
            let now = stored(&conn);
            for (id, row) in &committed {
                let kept = now.get(id).unwrap_or_else(|| panic!("{context}: committed story {id} lost"));
                assert_eq!(kept.published, row.published, "{context}: {id} published moved");
                assert_eq!(kept.first_seen, row.first_seen, "{context}: {id} first-seen moved");
            }
        }
        let out = site.build();
        assert!(out.status.success(), "{context}: the next build failed: {}", stderr(&out));
        check_outputs(&site, &context);
        let temps: Vec<_> = walk(&site.path("feeds")).into_iter().filter(|p| is_temp(p)).collect();
        assert!(temps.is_empty(), "{context}: temp files left after a full build: {temps:?}");
        let after = stored(&db(&site));
        let expected = KILL_SOURCES.len() * (150 + round * 20) + 2;
        assert_eq!(after.len(), expected, "{context}");
        assert!(committed.keys().all(|id| after.contains_key(id)), "{context}: a story went missing");
        let all = json_items(&site, "feeds/all.json");
        assert_eq!(all.len(), 50, "{context}");
    }
    eprintln!("{killed_mid_run} of 24 builds killed while running (delays up to {span_ms} ms)");
    // Enough kills must land while the build runs, or the test proves little.
    assert!(killed_mid_run >= 8, "only {killed_mid_run} of 24 builds were killed while running");
}

// -------------------------------------------------------- one writer

mod server {
    use axum::Router;
    use axum::extract::State;
    use axum::http::header;
    use axum::response::IntoResponse;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    /// A feed that is served only once the gate opens.
    pub struct Gate(pub AtomicBool);

    async fn feed(State(gate): State<Arc<Gate>>) -> impl IntoResponse {
        while !gate.0.load(Ordering::SeqCst) {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let body = super::rss("Gated", &[super::item("gated", "g1", "Gated story", "<p>Served late.</p>", None)]);
        ([(header::CONTENT_TYPE, "application/rss+xml")], body)
    }

    pub fn start(gate: Arc<Gate>) -> String {
        format!("http://{}/feed.rss", crate::common::serve_in_background(Router::new().fallback(feed).with_state(gate)))
    }
}

fn spawn_build(site: &Site) -> Child {
    Command::new(env!("CARGO_BIN_EXE_wirefeed"))
        .args(["build", "--config"])
        .arg(site.path("wirefeed.toml"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits until `pid` has written itself into the store's lock file (it
/// then holds the lock and has read its config).
fn wait_for_lock_holder(site: &Site, child: &mut Child) {
    let lock = site.path(".wirefeed/state.db.lock");
    for _ in 0..3000 {
        if std::fs::read_to_string(&lock).is_ok_and(|t| t.trim() == child.id().to_string()) {
            return;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the first build ended ({status}) before taking the lock");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    panic!("the first build never took the lock");
}

#[test]
fn a_second_build_waits_for_the_first_or_fails_naming_its_pid() {
    use std::sync::Arc;
    use std::sync::atomic::Ordering;
    let gate = Arc::new(server::Gate(false.into()));
    let url = server::start(gate.clone());
    let site = Site::new(&[SEED]);
    let config =
        |lock_timeout: &str| format!("[[sources]]\nname = \"gated\"\nurl = \"{url}\"\n[store]\nlock_timeout = \"{lock_timeout}\"\n");

    // Short wait: the second build gives up, exit 1, naming the holder.
    site.write_config(&config("60s"));
    let mut first = spawn_build(&site);
    wait_for_lock_holder(&site, &mut first);
    site.write_config(&config("300ms"));
    let out = site.build();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains(&format!("PID {}", first.id())) && err.contains("in use by another wirefeed"), "{err}");
    gate.0.store(true, Ordering::SeqCst);
    let done = first.wait_with_output().unwrap();
    assert!(done.status.success(), "{}", stderr(&done));
    integrity_ok(&db(&site));

    // Long wait: the second build waits its turn, then succeeds.
    gate.0.store(false, Ordering::SeqCst);
    site.write_config(&config("60s"));
    let mut first = spawn_build(&site);
    wait_for_lock_holder(&site, &mut first);
    let mut second = spawn_build(&site);
    std::thread::sleep(std::time::Duration::from_millis(1200));
    assert!(second.try_wait().unwrap().is_none(), "the second build did not wait for the lock");
    gate.0.store(true, Ordering::SeqCst);
    let first = first.wait_with_output().unwrap();
    let second = second.wait_with_output().unwrap();
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(second.status.success(), "{}", stderr(&second));
    let conn = db(&site);
    integrity_ok(&conn);
    let runs: Vec<(i64, i64, bool)> = conn
        .prepare("SELECT started, finished, ok FROM runs ORDER BY pk DESC LIMIT 2")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let (later, earlier) = (runs[0], runs[1]);
    assert!(later.2 && earlier.2, "{runs:?}");
    assert!(later.0 >= earlier.1, "the second run started before the first finished: {runs:?}");
    assert!(stored(&conn).contains_key(&id_of("gated", "g1")));
    check_outputs(&site, "after two builds");
}

// --------------------------------------------------------- migrations

#[test]
fn a_first_schema_store_is_migrated_keeping_stories_ids_and_dates() {
    let site = Site::new(&[]);
    let feb = date("2024-02-01T09:00:00Z");
    let jan = date("2024-01-15T09:00:00Z");
    let mar = date("2024-03-01T09:00:00Z");
    site.write(
        "in/wire.rss",
        rss(
            "Wire",
            &[
                item("wire", "a1", "Dated story", "<p>Dated.</p>", Some(mar)),
                item("wire", "a2", "Undated story", "<p>Undated, first seen in February.</p>", None),
            ],
        ),
    );
    site.write_config(&feed_sources(&["wire"], "[store]\nkeep_days = 3650\n"));
    {
        let store = wirefeed::store::Store::open_version(&site.path(STORE), std::time::Duration::from_secs(5), 1).unwrap();
        drop(store);
        let conn = db(&site);
        let version: u32 = conn.pragma_query_value(None, "user_version", |r| r.get(0)).unwrap();
        assert_eq!(version, 1);
        conn.execute("INSERT INTO sources(pk, name, kind, url) VALUES (1, 'wire', 'feed', 'in/wire.rss')", []).unwrap();
        let mut insert = conn
            .prepare(
                "INSERT INTO stories(id, source, hash, canonical, title, summary, content, authors, categories, topics, published, \
                 link, source_name, first_seen, last_seen) VALUES (?1, 1, ?2, ?3, ?4, NULL, ?5, '[]', '[]', ?6, ?7, ?8, 'wire', ?7, ?7)",
            )
            .unwrap();
        let rows = [
            ("a1", "Dated story", "<p>Dated.</p>", "[]", mar),
            ("a2", "Undated story", "<p>Undated, first seen in February.</p>", "[]", feb),
            ("a3", "Gone from the feed", "<p>The Kremlin story the feed no longer lists.</p>", "[\"russia\"]", jan),
        ];
        for (n, (guid, title, content, topics, when)) in rows.iter().enumerate() {
            let link = format!("http://wire.example/{guid}");
            insert.execute(rusqlite::params![id_of("wire", guid), n as i64 + 1, link, title, content, topics, ts(*when), link]).unwrap();
        }
        conn.execute(
            "INSERT INTO story_topics(topic, published, story) SELECT 'russia', published, pk FROM stories WHERE topics LIKE '%russia%'",
            [],
        )
        .unwrap();
    }

    build_ok(&site);
    let conn = db(&site);
    let version: u32 = conn.pragma_query_value(None, "user_version", |r| r.get(0)).unwrap();
    assert_eq!(version, LATEST);
    integrity_ok(&conn);
    let rows = stored(&conn);
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert_eq!(rows[&id_of("wire", "a1")].published, ts(mar));
    assert_eq!(rows[&id_of("wire", "a2")].published, ts(feb), "the undated story took a new date");
    assert_eq!(rows[&id_of("wire", "a3")].published, ts(jan));
    let all = json_items(&site, "feeds/all.json");
    assert_eq!(all.len(), 3);
    assert_eq!(date(&all[&id_of("wire", "a2")].0), feb);
    let russia = json_items(&site, "feeds/topics/russia.json");
    assert!(russia.contains_key(&id_of("wire", "a3")), "{russia:?}");
    // The new columns and table are there and in use.
    let next: Option<i64> = conn.query_row("SELECT last_success FROM sources WHERE name = 'wire'", [], |r| r.get(0)).unwrap();
    assert!(next.is_some());
    assert_eq!(conn.query_row("SELECT count(*) FROM runs", [], |r| r.get::<_, i64>(0)).unwrap(), 1);
}

#[test]
fn a_store_from_a_newer_wirefeed_is_refused_and_left_byte_identical() {
    let site = Site::new(&[SEED]);
    build_ok(&site);
    {
        let conn = db(&site);
        conn.pragma_update(None, "user_version", LATEST + 1).unwrap();
    }
    assert!(!site.path(".wirefeed/state.db-wal").exists(), "closing should have checkpointed");
    let bytes = std::fs::read(site.path(STORE)).unwrap();
    let feed = site.read("feeds/all.rss");
    let out = site.build();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("state.db") && err.contains("newer wirefeed"), "{err}");
    assert!(std::fs::read(site.path(STORE)).unwrap() == bytes, "the newer store was modified");
    assert_eq!(site.read("feeds/all.rss"), feed);
}

#[test]
fn a_store_with_a_good_header_and_damaged_pages_is_reported_and_not_written() {
    let site = Site::new(&[SEED]);
    let items: Vec<String> = (0..200)
        .map(|i| item("wire", &format!("w{i}"), &format!("Story {i}"), &"<p>Some words of news copy.</p>".repeat(20), None))
        .collect();
    site.write("in/wire.rss", rss("Wire", &items));
    site.write_config(&feed_sources(&["wire"], ""));
    build_ok(&site);
    assert!(!site.path(".wirefeed/state.db-wal").exists());
    let mut bytes = std::fs::read(site.path(STORE)).unwrap();
    let page = 4096;
    assert!(bytes.len() > page * 8, "store too small to damage: {}", bytes.len());
    // Page 1 (the header and the schema) stays; every other page is noise.
    let mut rng = Rng(42);
    for b in &mut bytes[page..] {
        *b = rng.next() as u8;
    }
    site.write(STORE, &bytes);
    let feed = site.read("feeds/all.rss");
    let out = site.build();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("state.db") && err.contains("damaged or not a database") && err.contains("left as it is"), "{err}");
    assert!(std::fs::read(site.path(STORE)).unwrap() == bytes, "the damaged store was written to");
    assert_eq!(site.read("feeds/all.rss"), feed, "the last good feeds must stay");
}

#[test]
fn a_store_with_damaged_story_pages_is_reported_and_not_written() {
    let site = Site::new(&[SEED]);
    let items: Vec<String> = (0..200)
        .map(|i| item("wire", &format!("w{i}"), &format!("Story {i}"), &"<p>Some words of news copy.</p>".repeat(20), None))
        .collect();
    site.write("in/wire.rss", rss("Wire", &items));
    site.write_config(&feed_sources(&["wire"], ""));
    build_ok(&site);
    let (page, leaves): (usize, Vec<usize>) = {
        let conn = db(&site);
        let page: i64 = conn.pragma_query_value(None, "page_size", |r| r.get(0)).unwrap();
        let leaves = conn
            .prepare("SELECT pageno FROM dbstat WHERE name = 'stories' AND pagetype = 'leaf'")
            .unwrap()
            .query_map([], |r| r.get::<_, i64>(0))
            .unwrap()
            .map(|p| p.unwrap() as usize)
            .collect();
        (page as usize, leaves)
    };
    assert!(leaves.len() > 4, "{leaves:?}");
    let mut bytes = std::fs::read(site.path(STORE)).unwrap();
    let mut rng = Rng(7);
    for p in &leaves {
        for b in &mut bytes[(p - 1) * page..p * page] {
            *b = rng.next() as u8;
        }
    }
    site.write(STORE, &bytes);
    // A new story, so the build has to write into the damaged table.
    site.write("stories/new.md", "---\ntitle: A new story\ndate: 2024-01-02T03:04:05Z\n---\nBody.\n");
    let out = site.build();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("state.db") && err.contains("damaged or not a database"), "{err}");
    assert!(std::fs::read(site.path(STORE)).unwrap() == bytes, "the damaged store was written to");
}

// ------------------------------------------------------------ store copy

/// (id, removed) of every tombstone of a SQLite store.
#[cfg(feature = "postgres-tests")]
fn tombstones(conn: &Connection) -> Vec<(String, i64)> {
    let mut stmt = conn.prepare("SELECT id, removed FROM tombstones ORDER BY id").unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect()
}

/// SQLite to PostgreSQL and back with the real binary: every id, date and
/// tombstone survives both ways, a build on the copy finds nothing new
/// (the tombstones keep pruned entries out), and a full destination is
/// refused.
#[cfg(feature = "postgres-tests")]
#[test]
fn store_copy_sqlite_to_postgres_and_back_keeps_ids_dates_and_tombstones() {
    let site = Site::new(&[SEED]);
    let now = Utc::now().trunc_subsecs(0);
    let old = date("2020-01-01T00:00:00Z");
    let mut items: Vec<String> =
        (0..4).map(|i| item("wire", &format!("new{i}"), &format!("New {i}"), "<p>News.</p>", Some(now - Duration::hours(i + 1)))).collect();
    items.extend((0..3).map(|i| item("wire", &format!("old{i}"), &format!("Old {i}"), "<p>Old.</p>", Some(old - Duration::days(i)))));
    items.push(item("wire", "undated", "Undated", "<p>No date.</p>", None));
    site.write("in/wire.rss", rss("Wire", &items));
    site.write_config(&feed_sources(&["wire"], "[store]\nkeep_days = 1\n"));
    set_max_items(&site, 3);
    build_ok(&site);
    let (rows, tombs) = {
        let conn = db(&site);
        (stored(&conn), tombstones(&conn))
    };
    assert_eq!(tombs.len(), 3, "the old entries were let go: {tombs:?}");
    assert!(rows.len() >= 5, "the new and the undated entries are stored: {rows:?}");

    let url = match Backend::Postgres.fresh().location {
        wirefeed::store::Location::Postgres(url) => url,
        other => panic!("{other:?}"),
    };
    let store = site.path(STORE).display().to_string();
    let out = site.run(&["store", "copy", "--from", &store, "--to", &url]);
    assert!(out.status.success(), "copy to PostgreSQL: {}", stderr(&out));
    let counts = format!("stories {}, story_topics", rows.len());
    assert!(stderr(&out).contains(&counts) && stderr(&out).contains("tombstones 3"), "{}", stderr(&out));
    let again = site.run(&["store", "copy", "--from", &store, "--to", &url]);
    assert!(!again.status.success() && stderr(&again).contains("--replace"), "a full destination is refused: {}", stderr(&again));

    let back = site.path("back.db").display().to_string();
    let out = site.run(&["store", "copy", "--from", &url, "--to", &back]);
    assert!(out.status.success(), "copy back: {}", stderr(&out));
    let conn = Connection::open(&back).unwrap();
    assert_eq!(stored(&conn), rows, "ids, published, updated, first seen and content, both ways");
    assert_eq!(tombstones(&conn), tombs, "tombstones, both ways");
    integrity_ok(&conn);

    // The PostgreSQL copy in use: the same feed brings nothing new.
    STORE_URL.with(|u| *u.borrow_mut() = Some(url));
    site.write_config(&feed_sources(&["wire"], "[store]\nkeep_days = 1\n"));
    set_max_items(&site, 3);
    build_ok(&site);
    let mut pg = store_db(&site);
    assert!(pg.last_summary().starts_with("0 new, 0 updated"), "{}", pg.last_summary());
    assert_eq!(pg.stored(), rows);
}

/// What a reader (`serve`, `sources`, `hide`) says of a PostgreSQL
/// database that is not at its schema: empty (nothing created it yet),
/// and newer than it knows, in PostgreSQL's own version numbers.
#[cfg(feature = "postgres-tests")]
#[test]
fn a_reader_names_an_empty_or_newer_postgres_store_in_its_own_versions() {
    use wirefeed::store::{Location, Reader};
    let url = common::pg::Server::get().fresh_database();
    let location = Location::Postgres(url.clone());
    let empty = Reader::open_location(&location).err().expect("an empty database is no store").to_string();
    assert!(empty.contains("is empty") && empty.contains("wirefeed run"), "{empty}");
    drop(wirefeed::store::Store::open_location(&location, std::time::Duration::from_secs(5)).unwrap());
    let mut db = ::postgres::Client::connect(&url, ::postgres::NoTls).unwrap();
    db.execute("UPDATE wirefeed_schema SET version = version + 1", &[]).unwrap();
    let newer = Reader::open_location(&location).err().expect("a newer schema is refused").to_string();
    let want = format!("PostgreSQL schema version {}", wirefeed::store::pg::schema::LATEST + 1);
    assert!(newer.contains(&want) && newer.contains("upgrade wirefeed"), "{newer}");
}
