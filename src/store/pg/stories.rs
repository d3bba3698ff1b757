//! Stories on PostgreSQL: applying a source's entries, retention, and the
//! channel queries. The rules are the SQLite store's, step for step (see
//! `store::stories`); only the SQL dialect differs (`$n` parameters,
//! `ON CONFLICT` for `OR REPLACE`/`OR IGNORE`, `greatest` for `max`).

use chrono::{DateTime, Utc};
use postgres::types::ToSql;
use postgres::{GenericClient, Row, Statement, Transaction};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::LazyLock;

use super::PgStore;
use crate::model::id::canonical_link;
use crate::model::{Image, Story};
use crate::store::Result;
use crate::store::decisions::{Decision, link_hash};
use crate::store::sources::SourceState;
use crate::store::stories::{
    Batch, BatchOutcome, Entry, FileStoryRow, MergedRules, Retention, STORY_COLUMNS, StoredStory, TOMBSTONE_MIN_DAYS, VISIBLE, json, list,
    opt_time, origin_of_source, time,
};

type PgResult<T> = std::result::Result<T, postgres::Error>;

/// A story's `last_seen` is kept to this many seconds (an hour).
const LAST_SEEN_GRAIN: i64 = 3600;

/// Prepared statements by SQL text, per connection: a statement prepared
/// once is one round trip per use instead of two (prepare, execute).
/// PostgreSQL keeps them across transactions, rolled back or not.
pub(crate) type Statements = HashMap<String, Statement>;

/// A transaction that prepares each statement once (see [`Statements`]);
/// the same calls as `Transaction`'s, for the apply path.
struct Tx<'t, 'c> {
    tx: &'t mut Transaction<'c>,
    statements: &'t mut Statements,
}

impl Tx<'_, '_> {
    fn prepared(&mut self, sql: &str) -> PgResult<Statement> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.tx.prepare(sql)?;
        self.statements.insert(sql.to_owned(), statement.clone());
        Ok(statement)
    }

    fn query(&mut self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> PgResult<Vec<Row>> {
        let statement = self.prepared(sql)?;
        self.tx.query(&statement, params)
    }

    fn query_opt(&mut self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> PgResult<Option<Row>> {
        let statement = self.prepared(sql)?;
        self.tx.query_opt(&statement, params)
    }

    fn query_one(&mut self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> PgResult<Row> {
        let statement = self.prepared(sql)?;
        self.tx.query_one(&statement, params)
    }

    fn execute(&mut self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> PgResult<u64> {
        let statement = self.prepared(sql)?;
        self.tx.execute(&statement, params)
    }
}

/// A row of [`STORY_COLUMNS`] as a stored story.
pub(super) fn story_from_row(r: &Row) -> StoredStory {
    let (url, caption, credit): (Option<String>, Option<String>, Option<String>) = (r.get(4), r.get(5), r.get(6));
    let image = (url.is_some() || caption.is_some() || credit.is_some()).then_some(Image { url, caption, credit });
    let source: String = r.get(13);
    StoredStory {
        story: Story {
            id: r.get(0),
            title: r.get(1),
            summary: r.get(2),
            content: r.get(3),
            image,
            authors: list(r.get(7)),
            categories: list(r.get(8)),
            topics: list(r.get(9)),
            published: time(r.get(10)),
            updated: opt_time(r.get(11)),
            link: r.get(12),
            attachments: serde_json::from_str(r.get::<_, &str>(16)).unwrap_or_default(),
            origin: match r.get::<_, Option<&str>>(17) {
                Some(o) => serde_json::from_str(o).ok(),
                None => origin_of_source(r.get(18), &source),
            },
            source,
            sanitized: r.get(19),
        },
        hash: r.get::<_, i64>(14) as u64,
        first_seen: time(r.get(15)),
    }
}

/// The newest `limit` stories of a channel (`None`: the merged one in
/// full), newest first; taken-down stories left out.
pub(super) fn channel(c: &mut impl GenericClient, topic: Option<&str>, limit: usize) -> PgResult<Vec<StoredStory>> {
    let limit = limit as i64;
    let rows = match topic {
        None => {
            c.query(&format!("SELECT {STORY_COLUMNS} FROM stories s WHERE {VISIBLE} ORDER BY s.published DESC, s.pk LIMIT $1"), &[&limit])?
        }
        Some(topic) => c.query(
            &format!(
                "SELECT {STORY_COLUMNS} FROM story_topics t JOIN stories s ON s.pk = t.story \
                 WHERE t.topic = $1 AND {VISIBLE} ORDER BY t.published DESC, t.story LIMIT $2"
            ),
            &[&topic, &limit],
        )?,
    };
    Ok(rows.iter().map(story_from_row).collect())
}

/// The merged channel as `rules` shape it.
pub(super) fn merged_channel(c: &mut impl GenericClient, limit: usize, rules: &MergedRules) -> PgResult<Vec<StoredStory>> {
    if rules.is_empty() {
        return channel(c, None, limit);
    }
    let pks: Vec<i64> = channel_rows(c, None, limit, rules)?.into_iter().map(|(pk, _)| pk).collect();
    let rows = c.query(&format!("SELECT {STORY_COLUMNS}, s.pk FROM stories s WHERE s.pk = ANY($1)"), &[&pks])?;
    let mut by_pk: HashMap<i64, StoredStory> = rows.iter().map(|r| (r.get::<_, i64>(20), story_from_row(r))).collect();
    Ok(pks.iter().filter_map(|pk| by_pk.remove(pk)).collect())
}

/// (pk, published) of the stories a channel shows, newest first.
pub(super) fn channel_rows(
    c: &mut impl GenericClient,
    topic: Option<&str>,
    limit: usize,
    merged: &MergedRules,
) -> PgResult<Vec<(i64, i64)>> {
    let pair = |r: &Row| (r.get(0), r.get(1));
    Ok(match topic {
        Some(t) => c
            .query(
                &format!(
                    "SELECT t.story, t.published FROM story_topics t JOIN stories s ON s.pk = t.story \
                     WHERE t.topic = $1 AND {VISIBLE} ORDER BY t.published DESC, t.story LIMIT $2"
                ),
                &[&t, &(limit.min(i64::MAX as usize) as i64)],
            )?
            .iter()
            .map(pair)
            .collect(),
        None if merged.is_empty() => c
            .query(
                &format!("SELECT s.pk, s.published FROM stories s WHERE {VISIBLE} ORDER BY s.published DESC, s.pk LIMIT $1"),
                &[&(limit.min(i64::MAX as usize) as i64)],
            )?
            .iter()
            .map(pair)
            .collect(),
        None => {
            // Reads newest first in pages until the channel is full, as
            // the SQLite store walks its date index.
            let mut taken: HashMap<String, usize> = HashMap::new();
            let mut out = Vec::with_capacity(limit.min(1024));
            let mut offset = 0i64;
            const PAGE: i64 = 1000;
            while out.len() < limit {
                let rows = c.query(
                    &format!(
                        "SELECT s.pk, s.published, s.source_name FROM stories s WHERE {VISIBLE} \
                         ORDER BY s.published DESC, s.pk LIMIT $1 OFFSET $2"
                    ),
                    &[&PAGE, &offset],
                )?;
                for row in &rows {
                    let source: &str = row.get(2);
                    if merged.left_out.contains(source) {
                        continue;
                    }
                    if let Some(cap) = merged.caps.get(source) {
                        let n = taken.entry(source.to_owned()).or_default();
                        if *n >= *cap {
                            continue;
                        }
                        *n += 1;
                    }
                    out.push((row.get(0), row.get(1)));
                    if out.len() >= limit {
                        break;
                    }
                }
                if (rows.len() as i64) < PAGE {
                    break;
                }
                offset += PAGE;
            }
            out
        }
    })
}

fn channel_pks(c: &mut impl GenericClient, retention: &Retention) -> PgResult<BTreeSet<i64>> {
    let mut keep = BTreeSet::new();
    let channels = std::iter::once(None).chain(retention.topics.iter().map(|t| Some(t.as_str())));
    for topic in channels {
        keep.extend(channel_rows(c, topic, retention.limit(topic), &retention.merged)?.into_iter().map(|(pk, _)| pk));
    }
    Ok(keep)
}

fn insert_topics(tx: &mut Tx<'_, '_>, pk: i64, story: &Story, published: i64) -> PgResult<()> {
    for topic in &story.topics {
        tx.execute(
            "INSERT INTO story_topics(topic, published, story) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            &[topic, &published, &pk],
        )?;
    }
    Ok(())
}

/// The columns an edit replaces, in this order, for insert and update.
const CONTENT: &str = "title, summary, content, image_url, image_caption, image_credit, authors, categories, topics, attachments, link, origin, file, sanitized";
const CONTENT_LEN: usize = 14;

/// The values of [`CONTENT`] for an entry, owned.
struct Content {
    image: [Option<String>; 3],
    lists: [String; 4],
    origin: Option<String>,
}

impl Content {
    fn of(e: &Entry) -> Content {
        let s = &e.story;
        let image = s.image.as_ref();
        Content {
            image: [image.and_then(|i| i.url.clone()), image.and_then(|i| i.caption.clone()), image.and_then(|i| i.credit.clone())],
            lists: [
                json(&s.authors),
                json(&s.categories),
                json(&s.topics),
                serde_json::to_string(&s.attachments).unwrap_or_else(|_| "[]".into()),
            ],
            origin: s.origin.as_ref().and_then(|o| serde_json::to_string(o).ok()),
        }
    }

    fn params<'a>(&'a self, e: &'a Entry) -> Vec<&'a (dyn ToSql + Sync)> {
        let s = &e.story;
        let [url, caption, credit] = &self.image;
        let [authors, categories, topics, attachments] = &self.lists;
        vec![
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
            &e.file,
            &s.sanitized,
        ]
    }
}

fn placeholders(first: usize, n: usize) -> String {
    (first..first + n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

fn insert(tx: &mut Tx<'_, '_>, source_pk: i64, e: &Entry, now: i64) -> PgResult<()> {
    let s = &e.story;
    static SQL: LazyLock<String> = LazyLock::new(|| {
        let n = CONTENT_LEN;
        format!(
            "INSERT INTO stories({CONTENT}, id, source, hash, canonical, published, updated, source_name, first_seen, last_seen) \
             VALUES ({}, ${last}, ${last}) RETURNING pk",
            placeholders(1, n + 7),
            last = n + 8
        )
    });
    let content = Content::of(e);
    let (hash, canonical, published, updated) =
        (e.hash as i64, s.link.as_deref().map(canonical_link), s.published.timestamp(), s.updated.map(|u| u.timestamp()));
    let mut params = content.params(e);
    params.extend::<[&(dyn ToSql + Sync); 8]>([&s.id, &source_pk, &hash, &canonical, &published, &updated, &s.source, &now]);
    let pk: i64 = tx.query_one(&SQL, &params)?.get(0);
    insert_topics(tx, pk, s, published)
}

fn update(tx: &mut Tx<'_, '_>, pk: i64, old_changed: i64, published: i64, e: &Entry, now: i64) -> PgResult<()> {
    let s = &e.story;
    let own = s.updated.map(|u| u.timestamp());
    let updated = match e.file {
        Some(_) if own.is_some() => own.unwrap_or(now),
        _ => own.filter(|u| *u > old_changed).unwrap_or(now.max(old_changed)),
    };
    static SQL: LazyLock<String> = LazyLock::new(|| {
        let n = CONTENT_LEN;
        let assignments: Vec<String> = CONTENT.split(", ").enumerate().map(|(i, c)| format!("{c} = ${}", i + 1)).collect();
        format!(
            "UPDATE stories SET {}, hash = ${}, updated = ${}, last_seen = ${} WHERE pk = ${}",
            assignments.join(", "),
            n + 1,
            n + 2,
            n + 3,
            n + 4
        )
    });
    let content = Content::of(e);
    let hash = e.hash as i64;
    let mut params = content.params(e);
    params.extend::<[&(dyn ToSql + Sync); 4]>([&hash, &updated, &now, &pk]);
    tx.execute(&SQL, &params)?;
    tx.execute("DELETE FROM story_topics WHERE story = $1", &[&pk])?;
    insert_topics(tx, pk, s, published)
}

/// Each channel's retention floor, cached for a transaction (as the
/// SQLite store's `Floors`).
struct Floors<'r> {
    retention: &'r Retention,
    tombstones: bool,
    decisions: bool,
    takedowns: bool,
    cutoff: i64,
    known: HashMap<Option<String>, Option<i64>>,
    source_floors: HashMap<String, Option<i64>>,
}

impl Floors<'_> {
    fn floor(&mut self, tx: &mut Tx<'_, '_>, topic: Option<&str>) -> PgResult<Option<i64>> {
        let key = topic.map(str::to_owned);
        if let Some(f) = self.known.get(&key) {
            return Ok(*f);
        }
        let limit = self.retention.limit(topic);
        let offset = limit.saturating_sub(1) as i64;
        let one = |tx: &mut Tx<'_, '_>, sql: &str, params: &[&(dyn ToSql + Sync)]| -> PgResult<Option<i64>> {
            Ok(tx.query_opt(sql, params)?.map(|r| r.get(0)))
        };
        let f = match topic {
            None if !self.takedowns && self.retention.merged.is_empty() => {
                one(tx, "SELECT published FROM stories ORDER BY published DESC, pk LIMIT 1 OFFSET $1", &[&offset])?
            }
            Some(t) if !self.takedowns => one(
                tx,
                "SELECT published FROM story_topics WHERE topic = $1 ORDER BY published DESC, story LIMIT 1 OFFSET $2",
                &[&t, &offset],
            )?,
            None if !self.retention.merged.is_empty() => {
                let rows = channel_rows(tx.tx, topic, limit, &self.retention.merged)?;
                (rows.len() >= limit).then(|| rows.last().map(|(_, published)| *published)).flatten()
            }
            None => one(
                tx,
                &format!("SELECT s.published FROM stories s WHERE {VISIBLE} ORDER BY s.published DESC, s.pk LIMIT 1 OFFSET $1"),
                &[&offset],
            )?,
            Some(t) => one(
                tx,
                &format!(
                    "SELECT t.published FROM story_topics t JOIN stories s ON s.pk = t.story \
                     WHERE t.topic = $1 AND {VISIBLE} ORDER BY t.published DESC, t.story LIMIT 1 OFFSET $2"
                ),
                &[&t, &offset],
            )?,
        };
        self.known.insert(key, f);
        Ok(f)
    }

    fn within_cap(&mut self, tx: &mut Tx<'_, '_>, source: &str, published: i64) -> PgResult<bool> {
        let Some(&cap) = self.retention.merged.caps.get(source) else { return Ok(true) };
        let floor = match self.source_floors.get(source) {
            Some(f) => *f,
            None => {
                let f = tx
                    .query_opt(
                        "SELECT published FROM stories WHERE source_name = $1 ORDER BY published DESC LIMIT 1 OFFSET $2",
                        &[&source, &(cap.saturating_sub(1) as i64)],
                    )?
                    .map(|r| r.get(0));
                self.source_floors.insert(source.to_owned(), f);
                f
            }
        };
        Ok(floor.is_none_or(|f| published > f))
    }

    fn keeps(&mut self, tx: &mut Tx<'_, '_>, story: &Story) -> PgResult<bool> {
        let published = story.published.timestamp();
        if published >= self.cutoff || self.retention.max_items == 0 {
            return Ok(published >= self.cutoff);
        }
        let in_merged = !self.retention.merged.left_out.contains(&story.source) && self.within_cap(tx, &story.source, published)?;
        let topics: Vec<Option<&str>> = in_merged
            .then_some(None)
            .into_iter()
            .chain(story.topics.iter().filter(|t| self.retention.topics.contains(t)).map(|t| Some(t.as_str())))
            .collect();
        for topic in topics {
            if self.floor(tx, topic)?.is_none_or(|f| published > f) {
                self.known.clear();
                self.source_floors.clear();
                return Ok(true);
            }
        }
        Ok(false)
    }
}

fn source_name(tx: &mut Tx<'_, '_>, pk: i64) -> PgResult<String> {
    Ok(tx.query_one("SELECT name FROM sources WHERE pk = $1", &[&pk])?.get(0))
}

fn apply_entry(tx: &mut Tx<'_, '_>, source_pk: i64, e: &Entry, now: i64, floors: &mut Floors<'_>, out: &mut BatchOutcome) -> PgResult<()> {
    let existing = tx
        .query_opt("SELECT pk, source, hash, published, greatest(updated, published) FROM stories WHERE id = $1", &[&e.story.id])?
        .map(|r| (r.get::<_, i64>(0), r.get::<_, i64>(1), r.get::<_, i64>(2), r.get::<_, i64>(3), r.get::<_, i64>(4)));
    let decide = |out: &mut BatchOutcome, reason: String| {
        out.decisions.push(Decision { id: e.story.id.clone(), link: e.story.link.clone(), title: e.story.title.clone(), reason })
    };
    match existing {
        Some((_, source, ..)) if source != source_pk => {
            out.duplicates += 1;
            let name = source_name(tx, source)?;
            decide(out, format!("duplicate of {} (same id) from {name}", e.story.id));
        }
        Some((_, _, hash, ..)) if hash as u64 == e.hash => {}
        Some((pk, _, _, published, changed)) => {
            update(tx, pk, changed, published, e, now)?;
            out.changed += 1;
        }
        None => {
            if floors.tombstones && tx.execute("UPDATE tombstones SET removed = $2 WHERE id = $1", &[&e.story.id, &now])? > 0 {
                out.tombstoned += 1;
                return Ok(());
            }
            if let Some(link) = e.story.link.as_deref().map(canonical_link) {
                let other = tx.query_opt("SELECT id, source FROM stories WHERE canonical = $1 LIMIT 1", &[&link])?;
                if let Some(row) = other {
                    let (id, source): (String, i64) = (row.get(0), row.get(1));
                    out.duplicates += 1;
                    let name = source_name(tx, source)?;
                    decide(out, format!("duplicate of {id} (same canonical link) from {name}"));
                    return Ok(());
                }
            }
            if !floors.keeps(tx, &e.story)? {
                let link = e.story.link.as_deref().map(link_hash);
                tx.execute(
                    "INSERT INTO tombstones(id, source, hash, removed, link_hash) VALUES ($1, $2, $3, $4, $5) \
                     ON CONFLICT (id) DO UPDATE SET source = EXCLUDED.source, hash = EXCLUDED.hash, removed = EXCLUDED.removed, \
                     link_hash = EXCLUDED.link_hash",
                    &[&e.story.id, &source_pk, &(e.hash as i64), &now, &link],
                )?;
                out.pruned += 1;
                return Ok(());
            }
            insert(tx, source_pk, e, now)?;
            if floors.decisions {
                tx.execute("DELETE FROM decisions WHERE source = $1 AND id = $2", &[&source_pk, &e.story.id])?;
            }
            out.new += 1;
        }
    }
    Ok(())
}

fn exists(tx: &mut Tx<'_, '_>, table: &str) -> PgResult<bool> {
    Ok(tx.query_one(&format!("SELECT EXISTS (SELECT 1 FROM {table})"), &[])?.get(0))
}

fn apply_batch(
    tx: &mut Tx<'_, '_>,
    batch: Batch<'_>,
    retention: &Retention,
    now: i64,
    mark: &mut Option<(i64, i64)>,
    owner: &Option<String>,
) -> PgResult<BatchOutcome> {
    let mut out = BatchOutcome::default();
    let state = StateRow::of(batch.state);
    tx.execute(SAVE_STATE, &state.params(&batch.source_pk, owner))?;
    let cutoff = now - i64::from(retention.keep_days) * 86_400;
    let (tombstones, decisions, takedowns) = (exists(tx, "tombstones")?, exists(tx, "decisions")?, exists(tx, "takedowns")?);
    let mut floors = Floors { retention, tombstones, decisions, takedowns, cutoff, known: HashMap::new(), source_floors: HashMap::new() };
    let mut written = HashSet::new();
    for e in &batch.entries {
        let before = out.new + out.changed;
        apply_entry(tx, batch.source_pk, e, now, &mut floors, &mut out)?;
        if out.new + out.changed > before {
            written.insert(e.hash);
        }
    }
    // One statement for all the entries seen, not one each, and a story's
    // row rewritten only when its `last_seen` is over an hour old (nothing
    // reads it finer; PostgreSQL writes a whole new row version for any
    // update): a fleet refetching unchanged feeds spent most of its
    // database time here. A hash no story has is a tombstone's, kept for
    // as long as feeds list it.
    let seen: Vec<i64> = batch.seen.iter().filter(|h| !written.contains(*h)).map(|h| *h as i64).collect();
    if !seen.is_empty() {
        let stories: HashSet<i64> = tx
            .query(
                "WITH listed AS (SELECT pk, hash, last_seen FROM stories WHERE source = $1 AND hash = ANY($2)), \
                 touched AS (UPDATE stories s SET last_seen = $3 FROM listed WHERE s.pk = listed.pk AND listed.last_seen < $4) \
                 SELECT hash FROM listed",
                &[&batch.source_pk, &seen, &now, &(now - LAST_SEEN_GRAIN)],
            )?
            .iter()
            .map(|r| r.get(0))
            .collect();
        let unstored: Vec<i64> = seen.into_iter().filter(|h| !stories.contains(h)).collect();
        if !unstored.is_empty() && floors.tombstones {
            tx.execute("UPDATE tombstones SET removed = $3 WHERE source = $1 AND hash = ANY($2)", &[&batch.source_pk, &unstored, &now])?;
        }
    }
    out.decisions.splice(0..0, batch.dropped);
    for d in &out.decisions {
        tx.execute(
            "INSERT INTO decisions(source, id, link, title, reason, decided) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (source, id) DO UPDATE SET link = EXCLUDED.link, title = EXCLUDED.title, reason = EXCLUDED.reason, \
             decided = EXCLUDED.decided",
            &[&batch.source_pk, &d.id, &d.link.as_deref().map(canonical_link), &d.title, &d.reason, &now],
        )?;
    }
    tx.execute("DELETE FROM decisions WHERE decided < $1", &[&cutoff])?;
    if batch.retract_unseen {
        let carried: HashSet<i64> = batch.seen.iter().map(|h| *h as i64).collect();
        let gone: Vec<i64> = tx
            .query("SELECT pk, hash FROM stories WHERE source = $1", &[&batch.source_pk])?
            .iter()
            .filter(|r| !carried.contains(&r.get::<_, i64>(1)))
            .map(|r| r.get(0))
            .collect();
        tx.execute("DELETE FROM stories WHERE pk = ANY($1)", &[&gone])?;
        out.retracted = gone.len();
    }
    if out.new + out.changed > 0 || mark.is_none() {
        out.pruned += prune(tx, retention, now, mark)?;
    }
    out.total = tx.query_one("SELECT count(*) FROM stories WHERE source = $1", &[&batch.source_pk])?.get::<_, i64>(0) as usize;
    Ok(out)
}

/// Deletes what retention lets go and leaves tombstones for it (the
/// SQLite store's `prune`, same skip rule).
fn prune(tx: &mut Tx<'_, '_>, retention: &Retention, now: i64, mark: &mut Option<(i64, i64)>) -> PgResult<usize> {
    let cutoff = now - i64::from(retention.keep_days) * 86_400;
    let old: i64 = tx.query_one("SELECT count(*) FROM stories WHERE published < $1", &[&cutoff])?.get(0);
    if old == 0 || *mark == Some((cutoff, old)) {
        *mark = Some((cutoff, old));
        return Ok(0);
    }
    let keep: Vec<i64> = channel_pks(tx.tx, retention)?.into_iter().collect();
    let doomed = "SELECT pk FROM stories WHERE published < $2 AND NOT (pk = ANY($3))";
    tx.execute(
        &format!(
            "INSERT INTO tombstones(id, source, hash, removed) SELECT id, source, hash, $1 FROM stories WHERE pk IN ({doomed}) \
             ON CONFLICT (id) DO UPDATE SET source = EXCLUDED.source, hash = EXCLUDED.hash, removed = EXCLUDED.removed, link_hash = NULL"
        ),
        &[&now, &cutoff, &keep],
    )?;
    let pruned = tx.execute("DELETE FROM stories WHERE published < $1 AND NOT (pk = ANY($2))", &[&cutoff, &keep])? as usize;
    let tomb_cutoff = now - i64::from(retention.keep_days).max(TOMBSTONE_MIN_DAYS) * 86_400;
    tx.execute("DELETE FROM tombstones WHERE removed < $1", &[&tomb_cutoff])?;
    *mark = Some((cutoff, old - pruned as i64));
    Ok(pruned)
}

/// A source's saved state as stored: `$1` the row, `$20` the fleet
/// worker whose lease on the source this write lets go (NULL: none; a
/// lease that is another worker's is left alone). In one statement, as
/// a fleet stores a state per fetch and every update is a new row version.
macro_rules! save_state_sql {
    () => {
        "UPDATE sources SET url = $2, etag = $3, last_modified = $4, retry_until = $5, moved_to = $6, discovered = $7, \
         disabled = $8, last_fetch = $9, last_success = $10, last_status = $11, last_error = $12, consecutive_errors = $13, \
         next_fetch = $14, hint_ttl = $15, hint_period = $16, skip_hours = $17, skip_days = $18, last_notes = $19, \
         body_hash = $21, body_read = $22, \
         lease_owner = CASE WHEN lease_owner = $20 THEN NULL ELSE lease_owner END, \
         lease_until = CASE WHEN lease_owner = $20 THEN NULL ELSE lease_until END, \
         lease_host = CASE WHEN lease_owner = $20 THEN NULL ELSE lease_host END \
         WHERE pk = $1"
    };
}
const SAVE_STATE: &str = save_state_sql!();
/// [`SAVE_STATE`] answering the source's story count: a turn with nothing
/// to store (304, an unchanged body, a failure; see `save_states`) is this
/// one round trip. No row if the source is gone.
const SAVE_STATE_COUNTING: &str = concat!(save_state_sql!(), " RETURNING (SELECT count(*) FROM stories WHERE source = $1)");

/// [`SAVE_STATE`]'s values for a state.
struct StateRow<'a> {
    s: &'a SourceState,
    times: [Option<i64>; 6],
    body_hash: Option<i64>,
    hints: [Option<i64>; 2],
    counts: [i64; 3],
}

impl<'a> StateRow<'a> {
    fn of(s: &'a SourceState) -> StateRow<'a> {
        let ts = |t: Option<DateTime<Utc>>| t.map(|t| t.timestamp());
        StateRow {
            s,
            times: [ts(s.retry_until), ts(s.last_fetch), ts(s.last_success), ts(s.next_fetch), None, ts(s.body_read)],
            body_hash: s.body_hash.map(|h| h as i64),
            hints: [s.hints.ttl.map(|d| d.as_secs() as i64), s.hints.update_period.map(|d| d.as_secs() as i64)],
            counts: [i64::from(s.consecutive_errors), i64::from(s.hints.skip_hours), i64::from(s.hints.skip_days)],
        }
    }

    fn params<'p>(&'p self, pk: &'p i64, owner: &'p Option<String>) -> [&'p (dyn ToSql + Sync); 22] {
        let s = self.s;
        [
            pk,
            &s.url,
            &s.validators.etag,
            &s.validators.last_modified,
            &self.times[0],
            &s.moved_to,
            &s.discovered,
            &s.disabled,
            &self.times[1],
            &self.times[2],
            &s.last_status,
            &s.last_error,
            &self.counts[0],
            &self.times[3],
            &self.hints[0],
            &self.hints[1],
            &self.counts[1],
            &self.counts[2],
            &s.last_notes,
            owner,
            &self.body_hash,
            &self.times[5],
        ]
    }
}

impl PgStore {
    pub fn apply(&mut self, batch: Batch<'_>, retention: &Retention, now: DateTime<Utc>) -> Result<BatchOutcome> {
        let mut outcomes = self.apply_all(vec![batch], retention, now)?;
        Ok(outcomes.pop().expect("one outcome per batch"))
    }

    /// All the batches in one transaction, all or nothing.
    pub fn apply_all(&mut self, batches: Vec<Batch<'_>>, retention: &Retention, now: DateTime<Utc>) -> Result<Vec<BatchOutcome>> {
        self.statements();
        let mark = &mut self.prune_mark;
        let statements = &mut self.statements;
        let owner = &self.lease_owner;
        let mut working = *mark;
        let outcomes = self.db.run(|c| {
            let mut tx = c.transaction()?;
            let mut outcomes = Vec::with_capacity(batches.len());
            {
                let mut tx = Tx { tx: &mut tx, statements };
                for batch in batches {
                    outcomes.push(apply_batch(&mut tx, batch, retention, now.timestamp(), &mut working, owner)?);
                }
            }
            tx.commit()?;
            Ok(outcomes)
        })?;
        // The mark describes committed state only.
        *mark = working;
        Ok(outcomes)
    }

    pub fn save_states(&mut self, states: &[(i64, &SourceState)]) -> Result<Vec<usize>> {
        let owner = &self.lease_owner;
        self.db.run(|c| {
            let mut tx = c.transaction()?;
            let mut totals = Vec::with_capacity(states.len());
            for (pk, state) in states {
                let row = StateRow::of(state);
                let total = tx.query_opt(SAVE_STATE_COUNTING, &row.params(pk, owner))?.map_or(0, |r| r.get::<_, i64>(0));
                totals.push(total as usize);
            }
            tx.commit()?;
            Ok(totals)
        })
    }

    /// Gives every stored story the topics `topics` decides: read, decided
    /// on this thread (`topics` need not be `Send`), written in one
    /// transaction.
    pub fn retopic(&mut self, topics: impl Fn(&Story) -> Vec<String>) -> Result<usize> {
        let all: Vec<(i64, StoredStory)> = self.db.run(|c| {
            let rows = c.query(&format!("SELECT {STORY_COLUMNS}, s.pk FROM stories s"), &[])?;
            Ok(rows.iter().map(|r| (r.get::<_, i64>(20), story_from_row(r))).collect())
        })?;
        let mut changed: Vec<(i64, Story)> = Vec::new();
        for (pk, stored) in all {
            let mut story = stored.story;
            let mut new = topics(&story);
            new.dedup();
            let same = new.len() == story.topics.len() && new.iter().all(|t| story.topics.contains(t));
            if !same {
                story.topics = new;
                changed.push((pk, story));
            }
        }
        self.statements();
        let statements = &mut self.statements;
        self.db.run(|c| {
            let mut transaction = c.transaction()?;
            let mut tx = Tx { tx: &mut transaction, statements };
            for (pk, story) in &changed {
                tx.execute("UPDATE stories SET topics = $2 WHERE pk = $1", &[pk, &json(&story.topics)])?;
                tx.execute("DELETE FROM story_topics WHERE story = $1", &[pk])?;
                insert_topics(&mut tx, *pk, story, story.published.timestamp())?;
            }
            transaction.commit()
        })?;
        Ok(changed.len())
    }

    pub fn file_stories(&self, source_pk: i64) -> Result<Vec<FileStoryRow>> {
        self.db.run(move |c| {
            let rows = c.query("SELECT id, link, file, content FROM stories WHERE source = $1", &[&source_pk])?;
            Ok(rows.iter().map(|r| FileStoryRow { id: r.get(0), link: r.get(1), file: r.get(2), content: r.get(3) }).collect())
        })
    }

    pub fn channel(&self, topic: Option<&str>, limit: usize) -> Result<Vec<StoredStory>> {
        self.db.run(|c| channel(c, topic, limit))
    }

    pub fn merged_channel(&self, limit: usize, rules: &MergedRules) -> Result<Vec<StoredStory>> {
        self.db.run(|c| merged_channel(c, limit, rules))
    }

    pub fn channel_digest(&self, path: &str) -> Result<Option<u64>> {
        self.db.run(|c| Ok(c.query_opt("SELECT digest FROM channels WHERE path = $1", &[&path])?.map(|r| r.get::<_, i64>(0) as u64)))
    }

    pub fn own_story_links(&self) -> Result<Vec<String>> {
        let sql = format!(
            "SELECT s.link FROM stories s JOIN sources src ON src.pk = s.source \
             WHERE src.kind = 'files' AND s.link IS NOT NULL AND {VISIBLE}"
        );
        self.db.run(move |c| Ok(c.query(&sql, &[])?.iter().map(|r| r.get(0)).collect()))
    }

    pub fn channel_paths(&self) -> Result<Vec<String>> {
        self.db.run(|c| Ok(c.query("SELECT path FROM channels", &[])?.iter().map(|r| r.get(0)).collect()))
    }

    pub fn forget_channel(&self, path: &str) -> Result<()> {
        self.db.run(|c| c.execute("DELETE FROM channels WHERE path = $1", &[&path]).map(drop))
    }

    pub fn set_channel_digest(&self, path: &str, digest: u64) -> Result<()> {
        self.db.run(|c| {
            c.execute(
                "INSERT INTO channels(path, digest) VALUES ($1, $2) ON CONFLICT (path) DO UPDATE SET digest = EXCLUDED.digest",
                &[&path, &(digest as i64)],
            )
            .map(drop)
        })
    }

    pub fn story_count(&self) -> Result<u64> {
        self.db.run(story_count)
    }
}

pub(super) fn story_count(c: &mut postgres::Client) -> PgResult<u64> {
    Ok(c.query_one("SELECT count(*) FROM stories", &[])?.get::<_, i64>(0) as u64)
}

impl super::PgReader {
    pub fn channel(&self, topic: Option<&str>, limit: usize) -> Result<Vec<StoredStory>> {
        self.db.run(|c| channel(c, topic, limit))
    }

    pub fn story_count(&self) -> Result<u64> {
        self.db.run(story_count)
    }
}
