//! Stories in the store: applying a source's entries, retention, and the
//! channel queries the publishers read.
//!
//! Rules kept here, for every origin alike:
//! - an id seen before keeps its `published` date and its first-seen time;
//! - an entry whose hash changed is an edit: its content is replaced and
//!   `updated` moves (to the feed's own newer date, else to now);
//! - a new id whose canonical link is already stored under another id is a
//!   duplicate (first seen wins);
//! - an id pruned by retention (a tombstone) is not stored again.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::LazyLock;

use super::sources::{self, SourceState};
use super::{Result, SqliteReader, SqliteStore};
use crate::model::id::canonical_link;
use crate::model::{Image, Origin, Story};

pub(crate) fn time(t: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(t, 0).unwrap_or(DateTime::UNIX_EPOCH)
}

pub(crate) fn opt_time(t: Option<i64>) -> Option<DateTime<Utc>> {
    t.map(time)
}

/// One entry of a source, normalized, with its topics assigned.
#[derive(Debug, Clone)]
pub struct Entry {
    /// xxh3 of the entry as the source gave it.
    pub hash: u64,
    pub story: Story,
    /// For the newsroom's own stories: the file it was read from, relative
    /// to its `[[stories]] path`.
    pub file: Option<String>,
}

/// A newsroom story as stored, for carrying its identity over an edit.
#[derive(Debug, Clone)]
pub struct FileStoryRow {
    pub id: String,
    pub link: Option<String>,
    pub file: Option<String>,
    pub content: String,
}

/// A stored story and what the store knows about it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredStory {
    pub story: Story,
    pub hash: u64,
    pub first_seen: DateTime<Utc>,
}

/// What one source's turn changed in the store.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct BatchOutcome {
    pub new: usize,
    pub changed: usize,
    /// Entries already stored under another source (same id or link).
    pub duplicates: usize,
    /// Entries that retention had pruned before: not stored again.
    pub tombstoned: usize,
    /// Stories of a folder whose file is gone.
    pub retracted: usize,
    /// Stories pruned by retention in this transaction.
    pub pruned: usize,
    /// Stories this source has in the store afterwards.
    pub total: usize,
    /// Why each entry left out was left out (the batch's `dropped` and the
    /// store's own: duplicates, tombstoned, too old), as recorded.
    pub decisions: Vec<super::decisions::Decision>,
}

impl std::ops::AddAssign<&BatchOutcome> for BatchOutcome {
    /// Sums the counts of stories a run changed (`total` is per source and
    /// is left as it is).
    fn add_assign(&mut self, o: &BatchOutcome) {
        self.new += o.new;
        self.changed += o.changed;
        self.duplicates += o.duplicates;
        self.tombstoned += o.tombstoned;
        self.retracted += o.retracted;
        self.pruned += o.pruned;
        self.decisions.extend(o.decisions.iter().cloned());
    }
}

/// A source's turn, applied in one transaction by [`SqliteStore::apply`].
pub struct Batch<'a> {
    pub source_pk: i64,
    pub state: &'a SourceState,
    /// New or changed entries (unchanged ones need only their hash in `seen`).
    pub entries: Vec<Entry>,
    /// Hashes of every entry the source carries now.
    pub seen: &'a [u64],
    /// The newsroom's own files: stories whose file is gone are removed.
    pub retract_unseen: bool,
    /// Entries left out before the store (source filters, held, expired):
    /// recorded for `wirefeed explain`.
    pub dropped: Vec<super::decisions::Decision>,
}


/// What retention keeps: stories younger than `keep_days`, and what each
/// channel shows (its `max_items` newest, less what it leaves out).
#[derive(Debug, Clone, Default)]
pub struct Retention {
    pub keep_days: u32,
    pub max_items: usize,
    pub topics: Vec<String>,
    /// Topics whose own `max_items` overrides `max_items`.
    pub topic_limits: HashMap<String, usize>,
    /// Sources the merged channel leaves out or caps.
    pub merged: MergedRules,
}

impl Retention {
    /// How many stories a channel shows (`None`: the merged one).
    pub fn limit(&self, topic: Option<&str>) -> usize {
        topic.and_then(|t| self.topic_limits.get(t)).copied().unwrap_or(self.max_items)
    }
}

/// What the merged channel shows of each source, by source name (a
/// story's `source`): `[[sources]] in_all = false` leaves a source out,
/// `all_limit` caps its stories there.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MergedRules {
    pub left_out: HashSet<String>,
    pub caps: HashMap<String, usize>,
}

impl MergedRules {
    pub(super) fn is_empty(&self) -> bool {
        self.left_out.is_empty() && self.caps.is_empty()
    }
}

/// Stories taken down (`wirefeed hide`) are in no channel: by id, or by
/// canonical link (so a copy from another source stays down too).
pub(super) const VISIBLE: &str = "NOT EXISTS (SELECT 1 FROM takedowns h WHERE h.id = s.id) \
                       AND (s.canonical IS NULL OR NOT EXISTS (SELECT 1 FROM takedowns h WHERE h.link = s.canonical))";

pub(super) const STORY_COLUMNS: &str = "s.id, s.title, s.summary, s.content, s.image_url, s.image_caption, s.image_credit, s.authors, \
                             s.categories, s.topics, s.published, s.updated, s.link, s.source_name, s.hash, s.first_seen, \
                             s.attachments, s.origin, \
                             (SELECT url FROM sources WHERE pk = s.source AND kind = 'feed' AND s.origin IS NULL), s.sanitized";

/// Columns in [`STORY_COLUMNS`]; a query that selects more reads them after.
pub(super) const STORY_COLUMN_COUNT: usize = 20;

/// The origin of an external story stored before wirefeed kept origins:
/// what the store knows of its source (the URL it is read from, the name
/// it is published under).
pub(super) fn origin_of_source(url: Option<String>, name: &str) -> Option<Origin> {
    let feed_url = url.filter(|u| u.starts_with("http://") || u.starts_with("https://"))?;
    Some(Origin { id: feed_url.clone(), title: name.to_owned(), feed_url: Some(feed_url), site_url: None, updated: None })
}

pub(super) fn list(text: String) -> Vec<String> {
    serde_json::from_str(&text).unwrap_or_default()
}

pub(super) fn story_from_row(r: &Row<'_>) -> rusqlite::Result<StoredStory> {
    let (url, caption, credit): (Option<String>, Option<String>, Option<String>) = (r.get(4)?, r.get(5)?, r.get(6)?);
    let image = (url.is_some() || caption.is_some() || credit.is_some()).then_some(Image { url, caption, credit });
    Ok(StoredStory {
        story: Story {
            id: r.get(0)?,
            title: r.get(1)?,
            summary: r.get(2)?,
            content: r.get(3)?,
            image,
            authors: list(r.get(7)?),
            categories: list(r.get(8)?),
            topics: list(r.get(9)?),
            published: time(r.get(10)?),
            updated: opt_time(r.get(11)?),
            link: r.get(12)?,
            source: r.get(13)?,
            attachments: serde_json::from_str(&r.get::<_, String>(16)?).unwrap_or_default(),
            origin: match r.get::<_, Option<String>>(17)? {
                Some(o) => serde_json::from_str(&o).ok(),
                None => origin_of_source(r.get(18)?, &r.get::<_, String>(13)?),
            },
            sanitized: r.get(19)?,
        },
        hash: r.get::<_, i64>(14)? as u64,
        first_seen: time(r.get(15)?),
    })
}

/// The newest `limit` stories of a channel (`None`: the merged one, with
/// every source in full), newest first, equal dates in the order they were
/// stored. Stories taken down are left out.
pub(crate) fn channel(conn: &Connection, topic: Option<&str>, limit: usize) -> rusqlite::Result<Vec<StoredStory>> {
    let limit = limit as i64;
    match topic {
        None => {
            let sql = format!("SELECT {STORY_COLUMNS} FROM stories s WHERE {VISIBLE} ORDER BY s.published DESC, s.pk LIMIT ?1");
            conn.prepare_cached(&sql)?.query_map([limit], story_from_row)?.collect()
        }
        Some(topic) => {
            let sql = format!(
                "SELECT {STORY_COLUMNS} FROM story_topics t JOIN stories s ON s.pk = t.story \
                 WHERE t.topic = ?1 AND {VISIBLE} ORDER BY t.published DESC, t.story LIMIT ?2"
            );
            conn.prepare_cached(&sql)?.query_map(params![topic, limit], story_from_row)?.collect()
        }
    }
}

/// The merged channel as `rules` shape it: the newest `limit` stories of
/// the sources it includes, at most each one's cap.
pub(crate) fn merged_channel(conn: &Connection, limit: usize, rules: &MergedRules) -> rusqlite::Result<Vec<StoredStory>> {
    if rules.is_empty() {
        return channel(conn, None, limit);
    }
    let rows = channel_rows(conn, None, limit, rules)?;
    let mut stmt = conn.prepare_cached(&format!("SELECT {STORY_COLUMNS} FROM stories s WHERE s.pk = ?1"))?;
    rows.iter().map(|(pk, _)| stmt.query_row([pk], story_from_row)).collect()
}

/// (pk, published) of the stories a channel shows, newest first: the one
/// definition that publishing and retention share.
pub(super) fn channel_rows(
    conn: &Connection,
    topic: Option<&str>,
    limit: usize,
    merged: &MergedRules,
) -> rusqlite::Result<Vec<(i64, i64)>> {
    let pair = |r: &Row<'_>| Ok((r.get(0)?, r.get(1)?));
    match topic {
        Some(t) => conn
            .prepare_cached(&format!(
                "SELECT t.story, t.published FROM story_topics t JOIN stories s ON s.pk = t.story \
                 WHERE t.topic = ?1 AND {VISIBLE} ORDER BY t.published DESC, t.story LIMIT ?2"
            ))?
            .query_map(params![t, limit as i64], pair)?
            .collect(),
        None if merged.is_empty() => conn
            .prepare_cached(&format!("SELECT s.pk, s.published FROM stories s WHERE {VISIBLE} ORDER BY s.published DESC, s.pk LIMIT ?1"))?
            .query_map([limit as i64], pair)?
            .collect(),
        None => {
            // Walks the date index newest first, skipping what the rules
            // leave out, until the channel is full: a capped chatty source
            // costs a scan of its own recent stories, nothing more.
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT s.pk, s.published, s.source_name FROM stories s WHERE {VISIBLE} ORDER BY s.published DESC, s.pk"
            ))?;
            let mut rows = stmt.query([])?;
            let mut taken: HashMap<String, usize> = HashMap::new();
            let mut out = Vec::with_capacity(limit.min(1024));
            while out.len() < limit
                && let Some(row) = rows.next()?
            {
                let source: String = row.get(2)?;
                if merged.left_out.contains(&source) {
                    continue;
                }
                if let Some(cap) = merged.caps.get(&source) {
                    let n = taken.entry(source).or_default();
                    if *n >= *cap {
                        continue;
                    }
                    *n += 1;
                }
                out.push((row.get(0)?, row.get(1)?));
            }
            Ok(out)
        }
    }
}

/// The rows each channel shows (what retention must keep).
fn channel_pks(conn: &Connection, retention: &Retention) -> rusqlite::Result<BTreeSet<i64>> {
    let mut keep = BTreeSet::new();
    let channels = std::iter::once(None).chain(retention.topics.iter().map(|t| Some(t.as_str())));
    for topic in channels {
        keep.extend(channel_rows(conn, topic, retention.limit(topic), &retention.merged)?.into_iter().map(|(pk, _)| pk));
    }
    Ok(keep)
}

pub(super) fn json(list: &[String]) -> String {
    serde_json::to_string(list).unwrap_or_else(|_| "[]".into())
}

fn insert_topics(tx: &Transaction<'_>, pk: i64, story: &Story, published: i64) -> rusqlite::Result<()> {
    let mut stmt = tx.prepare_cached("INSERT OR IGNORE INTO story_topics(topic, published, story) VALUES (?1, ?2, ?3)")?;
    for topic in &story.topics {
        stmt.execute(params![topic, published, pk])?;
    }
    Ok(())
}

/// The columns an edit replaces: bound as `?1`…`?N` (N = [`Content::LEN`]),
/// in this order, by both [`insert`] and [`update`].
struct Content<'a> {
    story: &'a Story,
    file: Option<&'a str>,
    image: [Option<&'a str>; 3],
    lists: [String; 4],
    origin: Option<String>,
}

impl<'a> Content<'a> {
    const COLUMNS: &'static str = "title, summary, content, image_url, image_caption, image_credit, authors, categories, topics, attachments, link, origin, file, sanitized";
    const LEN: usize = 14;

    fn of(entry: &'a Entry) -> Content<'a> {
        let story = &entry.story;
        let image = story.image.as_ref();
        Content {
            story,
            file: entry.file.as_deref(),
            image: [
                image.and_then(|i| i.url.as_deref()),
                image.and_then(|i| i.caption.as_deref()),
                image.and_then(|i| i.credit.as_deref()),
            ],
            lists: [
                json(&story.authors),
                json(&story.categories),
                json(&story.topics),
                serde_json::to_string(&story.attachments).unwrap_or_else(|_| "[]".into()),
            ],
            origin: story.origin.as_ref().and_then(|o| serde_json::to_string(o).ok()),
        }
    }

    fn params(&self) -> [&dyn rusqlite::ToSql; Content::LEN] {
        let (s, [url, caption, credit], [authors, categories, topics, attachments]) = (self.story, &self.image, &self.lists);
        [
            &s.title,
            &s.summary,
            &s.content,
            url,
            caption,
            credit,
            authors,
            categories,
            topics,
            attachments,
            &s.link,
            &self.origin,
            &self.file,
            &s.sanitized,
        ]
    }

    /// `?first, ?first+1, …` for `n` parameters.
    fn placeholders(first: usize, n: usize) -> String {
        (first..first + n).map(|i| format!("?{i}")).collect::<Vec<_>>().join(", ")
    }
}

/// Inserts a new story; `published` is the stored date (the story's own,
/// or the first-seen time for undated entries, already in `story`).
fn insert(tx: &Transaction<'_>, source_pk: i64, e: &Entry, now: i64) -> rusqlite::Result<()> {
    let s = &e.story;
    static SQL: LazyLock<String> = LazyLock::new(|| {
        let n = Content::LEN;
        format!(
            "INSERT INTO stories({}, id, source, hash, canonical, published, updated, source_name, first_seen, last_seen) \
             VALUES ({}, ?{last}, ?{last})",
            Content::COLUMNS,
            Content::placeholders(1, n + 7),
            last = n + 8
        )
    });
    let content = Content::of(e);
    let (hash, canonical, published, updated) =
        (e.hash as i64, s.link.as_deref().map(canonical_link), s.published.timestamp(), s.updated.map(|u| u.timestamp()));
    let rest: [&dyn rusqlite::ToSql; 8] = [&s.id, &source_pk, &hash, &canonical, &published, &updated, &s.source, &now];
    tx.prepare_cached(&SQL)?.execute(rusqlite::params_from_iter(content.params().into_iter().chain(rest)))?;
    insert_topics(tx, tx.last_insert_rowid(), s, published)
}

/// Replaces an edited story's content; its id, `published` and first-seen
/// stay. `updated` moves to the feed's own date when that is newer than
/// what readers saw, else to now.
fn update(tx: &Transaction<'_>, pk: i64, old_changed: i64, published: i64, e: &Entry, now: i64) -> rusqlite::Result<()> {
    let s = &e.story;
    let own = s.updated.map(|u| u.timestamp());
    let updated = match e.file {
        // The newsroom's own `updated` (front matter) is what it says.
        Some(_) if own.is_some() => own.unwrap_or(now),
        _ => own.filter(|u| *u > old_changed).unwrap_or(now.max(old_changed)),
    };
    static SQL: LazyLock<String> = LazyLock::new(|| {
        let assignments: Vec<String> = Content::COLUMNS.split(", ").enumerate().map(|(i, c)| format!("{c} = ?{}", i + 1)).collect();
        let n = Content::LEN;
        format!(
            "UPDATE stories SET {}, hash = ?{}, updated = ?{}, last_seen = ?{} WHERE pk = ?{}",
            assignments.join(", "),
            n + 1,
            n + 2,
            n + 3,
            n + 4
        )
    });
    let content = Content::of(e);
    let hash = e.hash as i64;
    let rest: [&dyn rusqlite::ToSql; 4] = [&hash, &updated, &now, &pk];
    tx.prepare_cached(&SQL)?.execute(rusqlite::params_from_iter(content.params().into_iter().chain(rest)))?;
    tx.execute("DELETE FROM story_topics WHERE story = ?1", [pk])?;
    insert_topics(tx, pk, s, published)
}

/// Each channel's retention floor: the date of the last story it shows
/// when full (`None` while it shows fewer than its limit), cached for a
/// transaction.
struct Floors<'r> {
    retention: &'r Retention,
    /// Whether any tombstone exists (a fresh store has none to look up).
    tombstones: bool,
    /// Whether any decision record exists (likewise).
    decisions: bool,
    /// Whether any story is taken down (channels then skip them).
    takedowns: bool,
    cutoff: i64,
    known: HashMap<Option<String>, Option<i64>>,
    /// Per capped source: the date of its `all_limit`-th newest story.
    source_floors: HashMap<String, Option<i64>>,
}

impl Floors<'_> {
    fn floor(&mut self, tx: &Transaction<'_>, topic: Option<&str>) -> rusqlite::Result<Option<i64>> {
        let key = topic.map(str::to_owned);
        if let Some(f) = self.known.get(&key) {
            return Ok(*f);
        }
        let limit = self.retention.limit(topic);
        let offset = limit.saturating_sub(1) as i64;
        let f = match topic {
            // With nothing taken down, every story is visible: the date
            // indexes alone answer, without a look at each story row.
            None if !self.takedowns && self.retention.merged.is_empty() => tx
                .prepare_cached("SELECT published FROM stories ORDER BY published DESC, pk LIMIT 1 OFFSET ?1")?
                .query_row([offset], |r| r.get(0))
                .optional()?,
            Some(t) if !self.takedowns => tx
                .prepare_cached("SELECT published FROM story_topics WHERE topic = ?1 ORDER BY published DESC, story LIMIT 1 OFFSET ?2")?
                .query_row(params![t, offset], |r| r.get(0))
                .optional()?,
            None if !self.retention.merged.is_empty() => {
                let rows = channel_rows(tx, topic, limit, &self.retention.merged)?;
                (rows.len() >= limit).then(|| rows.last().map(|(_, published)| *published)).flatten()
            }
            None => tx
                .prepare_cached(&format!(
                    "SELECT s.published FROM stories s WHERE {VISIBLE} ORDER BY s.published DESC, s.pk LIMIT 1 OFFSET ?1"
                ))?
                .query_row([offset], |r| r.get(0))
                .optional()?,
            Some(t) => tx
                .prepare_cached(&format!(
                    "SELECT t.published FROM story_topics t JOIN stories s ON s.pk = t.story \
                     WHERE t.topic = ?1 AND {VISIBLE} ORDER BY t.published DESC, t.story LIMIT 1 OFFSET ?2"
                ))?
                .query_row(params![t, offset], |r| r.get(0))
                .optional()?,
        };
        self.known.insert(key, f);
        Ok(f)
    }

    /// Whether a story of this source and date would be among the ones the
    /// merged channel may show of its source.
    fn within_cap(&mut self, tx: &Transaction<'_>, source: &str, published: i64) -> rusqlite::Result<bool> {
        let Some(&cap) = self.retention.merged.caps.get(source) else { return Ok(true) };
        let floor = match self.source_floors.get(source) {
            Some(f) => *f,
            None => {
                let f = tx
                    .prepare_cached("SELECT published FROM stories WHERE source_name = ?1 ORDER BY published DESC LIMIT 1 OFFSET ?2")?
                    .query_row(params![source, cap.saturating_sub(1) as i64], |r| r.get(0))
                    .optional()?;
                self.source_floors.insert(source.to_owned(), f);
                f
            }
        };
        Ok(floor.is_none_or(|f| published > f))
    }

    /// Whether a story of this date and these topics would be kept: young
    /// enough, or among some channel's `max_items` newest.
    fn keeps(&mut self, tx: &Transaction<'_>, story: &Story) -> rusqlite::Result<bool> {
        let published = story.published.timestamp();
        if published >= self.cutoff || self.retention.max_items == 0 {
            return Ok(published >= self.cutoff);
        }
        let merged = &self.retention.merged;
        let in_merged = !merged.left_out.contains(&story.source) && self.within_cap(tx, &story.source, published)?;
        let channels = in_merged
            .then_some(None)
            .into_iter()
            .chain(story.topics.iter().filter(|t| self.retention.topics.contains(t)).map(|t| Some(t.as_str())));
        for topic in channels {
            if self.floor(tx, topic)?.is_none_or(|f| published > f) {
                // It enters that channel and moves its floor.
                self.known.clear();
                self.source_floors.clear();
                return Ok(true);
            }
        }
        Ok(false)
    }
}

/// Stores one entry, counting what happened to it in `out` (and why it
/// was left out, if it was).
fn apply_entry(
    tx: &Transaction<'_>,
    source_pk: i64,
    e: &Entry,
    now: i64,
    floors: &mut Floors<'_>,
    out: &mut BatchOutcome,
) -> rusqlite::Result<()> {
    let existing = tx
        .prepare_cached("SELECT pk, source, hash, published, coalesce(max(updated, published), published) FROM stories WHERE id = ?1")?
        .query_row([&e.story.id], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?, r.get(3)?, r.get(4)?)))
        .optional()?;
    let decide = |out: &mut BatchOutcome, reason: String| {
        out.decisions.push(super::decisions::Decision {
            id: e.story.id.clone(),
            link: e.story.link.clone(),
            title: e.story.title.clone(),
            reason,
        })
    };
    let source_name = |pk: i64| -> rusqlite::Result<String> {
        tx.prepare_cached("SELECT name FROM sources WHERE pk = ?1")?.query_row([pk], |r| r.get(0))
    };
    match existing {
        Some((_, source, ..)) if source != source_pk => {
            out.duplicates += 1;
            decide(out, format!("duplicate of {} (same id) from {}", e.story.id, source_name(source)?));
        }
        Some((_, _, hash, ..)) if hash as u64 == e.hash => {}
        Some((pk, _, _, published, changed)) => {
            update(tx, pk, changed, published, e, now)?;
            out.changed += 1;
        }
        None => {
            let mut tomb = tx.prepare_cached("UPDATE tombstones SET removed = ?2 WHERE id = ?1")?;
            // Explained from the tombstone itself (see `find_decisions`).
            if floors.tombstones && tomb.execute(params![e.story.id, now])? > 0 {
                out.tombstoned += 1;
                return Ok(());
            }
            if let Some(link) = e.story.link.as_deref().map(canonical_link) {
                let mut same = tx.prepare_cached("SELECT id, source FROM stories WHERE canonical = ?1 LIMIT 1")?;
                let other = same.query_row([link], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))).optional()?;
                if let Some((id, source)) = other {
                    out.duplicates += 1;
                    decide(out, format!("duplicate of {id} (same canonical link) from {}", source_name(source)?));
                    return Ok(());
                }
            }
            if !floors.keeps(tx, &e.story)? {
                // Too old to keep: let go at once, as retention would.
                // The tombstone is its decision record, found by id or by
                // its link's hash (a cold build lets tens of thousands of
                // old entries go: a title or link each would write 60% more).
                let mut tomb = tx.prepare_cached(
                    "INSERT OR REPLACE INTO tombstones(id, source, hash, removed, link_hash) VALUES (?1, ?2, ?3, ?4, ?5)",
                )?;
                let link = e.story.link.as_deref().map(super::decisions::link_hash);
                tomb.execute(params![e.story.id, source_pk, e.hash as i64, now, link])?;
                out.pruned += 1;
                return Ok(());
            }
            insert(tx, source_pk, e, now)?;
            // Stored now (a filter relaxed, an embargo over): no longer
            // left out.
            if floors.decisions {
                tx.prepare_cached("DELETE FROM decisions WHERE source = ?1 AND id = ?2")?.execute(params![source_pk, e.story.id])?;
            }
            out.new += 1;
        }
    }
    Ok(())
}

/// One source's turn inside the caller's transaction: its state, its new
/// and changed entries, its decisions, and retention.
fn apply_batch(
    tx: &Transaction<'_>,
    batch: Batch<'_>,
    retention: &Retention,
    now_ts: i64,
    prune_mark: &mut Option<(i64, i64)>,
) -> rusqlite::Result<BatchOutcome> {
    let mut out = BatchOutcome::default();
    sources::save(tx, batch.source_pk, batch.state)?;
    let cutoff = now_ts - i64::from(retention.keep_days) * 86_400;
    let tombstones = tx.query_row("SELECT EXISTS (SELECT 1 FROM tombstones)", [], |r| r.get(0))?;
    let decisions = tx.query_row("SELECT EXISTS (SELECT 1 FROM decisions)", [], |r| r.get(0))?;
    let takedowns = tx.query_row("SELECT EXISTS (SELECT 1 FROM takedowns)", [], |r| r.get(0))?;
    let mut floors =
        Floors { retention, tombstones, decisions, takedowns, cutoff, known: Default::default(), source_floors: Default::default() };
    let mut written = Vec::new();
    for e in &batch.entries {
        let before = out.new + out.changed;
        apply_entry(tx, batch.source_pk, e, now_ts, &mut floors, &mut out)?;
        if out.new + out.changed > before {
            written.push(e.hash);
        }
    }
    {
        let mut seen = tx.prepare_cached("UPDATE stories SET last_seen = ?3 WHERE source = ?1 AND hash = ?2")?;
        let mut tomb = tx.prepare_cached("UPDATE tombstones SET removed = ?3 WHERE source = ?1 AND hash = ?2")?;
        // Entries just inserted or edited already carry last_seen = now.
        let stored: std::collections::HashSet<u64> = written.into_iter().collect();
        for hash in batch.seen.iter().filter(|h| !stored.contains(h)) {
            if seen.execute(params![batch.source_pk, *hash as i64, now_ts])? == 0 {
                tomb.execute(params![batch.source_pk, *hash as i64, now_ts])?;
            }
        }
    }
    out.decisions.splice(0..0, batch.dropped);
    super::decisions::record(tx, batch.source_pk, &out.decisions, now_ts)?;
    super::decisions::prune(tx, cutoff)?;
    if batch.retract_unseen {
        // By hash, not by last_seen: a build in the same second as the
        // last one would otherwise keep a deleted file's stories.
        let carried: std::collections::HashSet<i64> = batch.seen.iter().map(|h| *h as i64).collect();
        let gone: Vec<i64> = {
            let mut stmt = tx.prepare_cached("SELECT pk, hash FROM stories WHERE source = ?1")?;
            let rows = stmt.query_map([batch.source_pk], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))?;
            rows.filter_map(|r| r.ok()).filter(|(_, hash)| !carried.contains(hash)).map(|(pk, _)| pk).collect()
        };
        let mut delete = tx.prepare_cached("DELETE FROM stories WHERE pk = ?1")?;
        for pk in &gone {
            delete.execute([pk])?;
        }
        out.retracted = gone.len();
    }
    if out.new + out.changed > 0 || prune_mark.is_none() {
        out.pruned += prune(tx, retention, now_ts, prune_mark)?;
    }
    out.total = tx.query_row("SELECT count(*) FROM stories WHERE source = ?1", [batch.source_pk], |r| r.get::<_, i64>(0))? as usize;
    Ok(out)
}

impl SqliteStore {
    /// Applies one source's turn in one transaction: its state, its new
    /// and changed entries, and retention.
    pub fn apply(&mut self, batch: Batch<'_>, retention: &Retention, now: DateTime<Utc>) -> Result<BatchOutcome> {
        let mut outcomes = self.apply_all(vec![batch], retention, now)?;
        Ok(outcomes.pop().expect("one outcome per batch"))
    }

    /// Applies several sources' turns, one after another exactly as
    /// [`SqliteStore::apply`] would, in one transaction: a commit costs more
    /// than a typical source's entries (the WAL rewrites the pages every
    /// source touches, the page cache is swept), so a cold build commits a
    /// few dozen times, not once per source. All or nothing: on an error
    /// none of the batches is stored (their sources are fetched again).
    /// The outcomes are in the order of `batches`.
    pub fn apply_all(&mut self, batches: Vec<Batch<'_>>, retention: &Retention, now: DateTime<Utc>) -> Result<Vec<BatchOutcome>> {
        let path = self.path.clone();
        let err = |e| super::StoreError::from_sqlite(&path, e);
        let tx = self.conn.transaction().map_err(err)?;
        let mut outcomes = Vec::with_capacity(batches.len());
        for batch in batches {
            outcomes.push(apply_batch(&tx, batch, retention, now.timestamp(), &mut self.prune_mark).map_err(err)?);
        }
        tx.commit().map_err(err)?;
        Ok(outcomes)
    }

    /// Saves the state of sources that brought no entries (304, skipped,
    /// failed), all in one transaction; returns each one's story count.
    pub fn save_states(&mut self, states: &[(i64, &SourceState)]) -> Result<Vec<usize>> {
        let path = self.path.clone();
        let err = |e| super::StoreError::from_sqlite(&path, e);
        let tx = self.conn.transaction().map_err(err)?;
        let mut totals = Vec::with_capacity(states.len());
        {
            let mut count = tx.prepare_cached("SELECT count(*) FROM stories WHERE source = ?1").map_err(err)?;
            for (pk, state) in states {
                sources::save(&tx, *pk, state).map_err(err)?;
                totals.push(count.query_row([pk], |r| r.get::<_, i64>(0)).map_err(err)? as usize);
            }
        }
        tx.commit().map_err(err)?;
        Ok(totals)
    }

    /// Gives every stored story the topics `topics` decides for it (after
    /// the topic rules changed); returns how many stories changed. A story
    /// that leaves a topic leaves its channel at the next publish.
    pub fn retopic(&mut self, topics: impl Fn(&Story) -> Vec<String>) -> Result<usize> {
        let path = self.path.clone();
        let err = |e| super::StoreError::from_sqlite(&path, e);
        let tx = self.conn.transaction().map_err(err)?;
        let mut changed: Vec<(i64, i64, Story)> = Vec::new();
        {
            let sql = format!("SELECT {STORY_COLUMNS}, s.pk FROM stories s");
            let mut stmt = tx.prepare(&sql).map_err(err)?;
            let mut rows = stmt.query([]).map_err(err)?;
            while let Some(row) = rows.next().map_err(err)? {
                let mut story = story_from_row(row).map_err(err)?.story;
                let pk: i64 = row.get(STORY_COLUMN_COUNT).map_err(err)?;
                let mut new = topics(&story);
                new.dedup();
                let same = new.len() == story.topics.len() && new.iter().all(|t| story.topics.contains(t));
                if !same {
                    story.topics = new;
                    changed.push((pk, story.published.timestamp(), story));
                }
            }
        }
        for (pk, published, story) in &changed {
            tx.execute("UPDATE stories SET topics = ?2 WHERE pk = ?1", params![pk, json(&story.topics)]).map_err(err)?;
            tx.execute("DELETE FROM story_topics WHERE story = ?1", [pk]).map_err(err)?;
            insert_topics(&tx, *pk, story, *published).map_err(err)?;
        }
        tx.commit().map_err(err)?;
        Ok(changed.len())
    }

    /// The stories a `[[stories]]` folder's source holds, with the file
    /// each was read from (`None` for stories stored before V3).
    pub fn file_stories(&self, source_pk: i64) -> Result<Vec<FileStoryRow>> {
        let mut stmt = self.conn.prepare_cached("SELECT id, link, file, content FROM stories WHERE source = ?1").map_err(self.err())?;
        let rows = stmt
            .query_map([source_pk], |r| Ok(FileStoryRow { id: r.get(0)?, link: r.get(1)?, file: r.get(2)?, content: r.get(3)? }))
            .map_err(self.err())?;
        rows.collect::<rusqlite::Result<_>>().map_err(self.err())
    }

    /// The newest `limit` stories of a channel (`None`: the merged one).
    pub fn channel(&self, topic: Option<&str>, limit: usize) -> Result<Vec<StoredStory>> {
        channel(&self.conn, topic, limit).map_err(self.err())
    }

    /// The merged channel as `rules` shape it (`in_all`, `all_limit`).
    pub fn merged_channel(&self, limit: usize, rules: &MergedRules) -> Result<Vec<StoredStory>> {
        merged_channel(&self.conn, limit, rules).map_err(self.err())
    }

    /// Digest of what a channel file last published, if recorded.
    pub fn channel_digest(&self, path: &str) -> Result<Option<u64>> {
        self.conn
            .prepare_cached("SELECT digest FROM channels WHERE path = ?1")
            .and_then(|mut s| s.query_row([path], |r| r.get::<_, i64>(0)).optional())
            .map(|d| d.map(|d| d as u64))
            .map_err(self.err())
    }

    /// Links of the newsroom's own stories still published (stored, not
    /// taken down): the stories whose pages must stay.
    pub fn own_story_links(&self) -> Result<Vec<String>> {
        let sql = format!(
            "SELECT s.link FROM stories s JOIN sources src ON src.pk = s.source \
             WHERE src.kind = 'files' AND s.link IS NOT NULL AND {VISIBLE}"
        );
        let mut stmt = self.conn.prepare(&sql).map_err(self.err())?;
        let rows = stmt.query_map([], |r| r.get(0)).map_err(self.err())?;
        rows.collect::<rusqlite::Result<_>>().map_err(self.err())
    }

    /// Every channel path a digest is recorded for (`all.rss`, `topics/x.rss`).
    pub fn channel_paths(&self) -> Result<Vec<String>> {
        let mut stmt = self.conn.prepare("SELECT path FROM channels").map_err(self.err())?;
        let rows = stmt.query_map([], |r| r.get(0)).map_err(self.err())?;
        rows.collect::<rusqlite::Result<_>>().map_err(self.err())
    }

    pub fn forget_channel(&self, path: &str) -> Result<()> {
        self.conn.execute("DELETE FROM channels WHERE path = ?1", [path]).map(drop).map_err(self.err())
    }

    pub fn set_channel_digest(&self, path: &str, digest: u64) -> Result<()> {
        self.conn
            .execute("INSERT OR REPLACE INTO channels(path, digest) VALUES (?1, ?2)", params![path, digest as i64])
            .map(drop)
            .map_err(self.err())
    }

    pub fn story_count(&self) -> Result<u64> {
        self.conn.query_row("SELECT count(*) FROM stories", [], |r| r.get::<_, i64>(0)).map(|n| n as u64).map_err(self.err())
    }
}

impl SqliteReader {
    pub fn channel(&self, topic: Option<&str>, limit: usize) -> Result<Vec<StoredStory>> {
        self.with(|c| channel(c, topic, limit))
    }

    pub fn story_count(&self) -> Result<u64> {
        self.with(|c| c.query_row("SELECT count(*) FROM stories", [], |r| r.get::<_, i64>(0)).map(|n| n as u64))
    }
}

/// Least time a tombstone is kept after the feed last carried its entry,
/// whatever `keep_days` says. A tombstone is refreshed only when its
/// source's feed is read and still lists the entry; with a tiny `keep_days`
/// another source's turn (or the next run a second later) would expire it
/// before that, and an undated entry would come back as a new story dated
/// now. Feeds answering 304 for a while refresh nothing either.
pub(super) const TOMBSTONE_MIN_DAYS: i64 = 30;

/// Deletes what retention lets go and leaves tombstones for it. Skipped
/// when nothing aged past the cutoff and nothing old arrived since the last
/// pass (`mark` = cutoff and old-story count then), so a run of many
/// sources pays for it once.
fn prune(tx: &Transaction<'_>, retention: &Retention, now: i64, mark: &mut Option<(i64, i64)>) -> rusqlite::Result<usize> {
    let cutoff = now - i64::from(retention.keep_days) * 86_400;
    let old: i64 = tx.query_row("SELECT count(*) FROM stories WHERE published < ?1", [cutoff], |r| r.get(0))?;
    if old == 0 || *mark == Some((cutoff, old)) {
        *mark = Some((cutoff, old));
        return Ok(0);
    }
    let keep = channel_pks(tx, retention)?;
    let keep_list = keep.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
    let doomed = format!("SELECT pk FROM stories WHERE published < {cutoff} AND pk NOT IN ({keep_list})");
    tx.execute(
        &format!(
            "INSERT OR REPLACE INTO tombstones(id, source, hash, removed) SELECT id, source, hash, ?1 FROM stories WHERE pk IN ({doomed})"
        ),
        [now],
    )?;
    let pruned = tx.execute(&format!("DELETE FROM stories WHERE pk IN ({doomed})"), [])?;
    // A tombstone outlives its story by keep_days (at least
    // TOMBSTONE_MIN_DAYS) after the feed last carried it: long enough that
    // a feed still listing it never brings it back.
    let tomb_cutoff = now - i64::from(retention.keep_days).max(TOMBSTONE_MIN_DAYS) * 86_400;
    tx.execute("DELETE FROM tombstones WHERE removed < ?1", [tomb_cutoff])?;
    *mark = Some((cutoff, old - pruned as i64));
    Ok(pruned)
}
