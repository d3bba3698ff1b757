//! Sources, decisions, `explain`, takedowns and fetch requests on
//! PostgreSQL: the SQLite store's queries (`store::sources`,
//! `store::decisions`, `store::explain`, `store::takedowns`,
//! `store::requests`) in PostgreSQL's dialect. Title words match with
//! `ILIKE`, as SQLite's `LIKE` ignores ASCII case (PostgreSQL's also
//! folds other letters).

use chrono::{DateTime, Utc};
use postgres::types::ToSql;
use postgres::{Client, GenericClient, Row};
use std::collections::{HashMap, HashSet};

use super::stories::{channel_rows, story_from_row};
use super::{PgEditor, PgReader, PgRequester, PgStore};
use crate::ingest::fetch::Validators;
use crate::ingest::parse::FeedHints;
use crate::model::id::canonical_link;
use crate::store::Result;
use crate::store::decisions::{Decision, RETENTION, Recorded, link_hash};
use crate::store::explain::Found;
use crate::store::requests::{FetchAnswer, FetchRequest, RequestState};
use crate::store::sources::{SourceKind, SourceState, SourceSummary};
use crate::store::stories::{MergedRules, STORY_COLUMN_COUNT, STORY_COLUMNS, VISIBLE, opt_time, time};
use crate::store::takedowns::{Takedown, TakedownError};

type PgResult<T> = std::result::Result<T, postgres::Error>;

pub(super) const SOURCE_COLUMNS: &str = "name, url, etag, last_modified, retry_until, moved_to, discovered, disabled, last_fetch, last_success, \
                              last_status, last_error, consecutive_errors, next_fetch, hint_ttl, hint_period, skip_hours, skip_days, last_notes, \
                              body_hash, body_read";

fn secs(n: i64) -> std::time::Duration {
    std::time::Duration::from_secs(n.max(0) as u64)
}

/// A source's name and state from [`SOURCE_COLUMNS`] at `at`.
pub(super) fn source_at(r: &Row, at: usize) -> (String, SourceState) {
    let g = |i: usize| at + i;
    let state = SourceState {
        url: r.get(g(1)),
        validators: Validators { etag: r.get(g(2)), last_modified: r.get(g(3)) },
        retry_until: opt_time(r.get(g(4))),
        moved_to: r.get(g(5)),
        discovered: r.get(g(6)),
        disabled: r.get(g(7)),
        last_fetch: opt_time(r.get(g(8))),
        last_success: opt_time(r.get(g(9))),
        last_status: r.get(g(10)),
        last_error: r.get(g(11)),
        consecutive_errors: r.get::<_, i64>(g(12)).clamp(0, u32::MAX as i64) as u32,
        next_fetch: opt_time(r.get(g(13))),
        hints: FeedHints {
            ttl: r.get::<_, Option<i64>>(g(14)).map(secs),
            update_period: r.get::<_, Option<i64>>(g(15)).map(secs),
            skip_hours: r.get::<_, i64>(g(16)) as u32,
            skip_days: r.get::<_, i64>(g(17)) as u8,
        },
        last_notes: r.get(g(18)),
        body_hash: r.get::<_, Option<i64>>(g(19)).map(|h| h as u64),
        body_read: opt_time(r.get(g(20))),
    };
    (r.get(g(0)), state)
}

fn summaries(c: &mut impl GenericClient) -> PgResult<Vec<SourceSummary>> {
    let counts: HashMap<i64, u64> = c
        .query("SELECT source, count(*) FROM stories GROUP BY source", &[])?
        .iter()
        .map(|r| (r.get::<_, i64>(0), r.get::<_, i64>(1) as u64))
        .collect();
    let rows = c.query(&format!("SELECT pk, kind, {SOURCE_COLUMNS} FROM sources ORDER BY name COLLATE \"C\""), &[])?;
    Ok(rows
        .iter()
        .map(|r| {
            let pk: i64 = r.get(0);
            let kind = if r.get::<_, &str>(1) == "files" { SourceKind::Files } else { SourceKind::Feed };
            let (name, state) = source_at(r, 2);
            SourceSummary { name, kind, state, stories: counts.get(&pk).copied().unwrap_or(0) }
        })
        .collect())
}

fn kind_str(kind: SourceKind) -> &'static str {
    match kind {
        SourceKind::Feed => "feed",
        SourceKind::Files => "files",
    }
}

impl PgStore {
    pub fn sources(&self) -> Result<HashMap<String, (i64, SourceState)>> {
        self.db.run(|c| {
            let rows = c.query(&format!("SELECT pk, {SOURCE_COLUMNS} FROM sources"), &[])?;
            Ok(rows
                .iter()
                .map(|r| {
                    let (name, state) = source_at(r, 1);
                    (name, (r.get(0), state))
                })
                .collect())
        })
    }

    pub fn source_pk(&self, name: &str, kind: SourceKind, url: &str) -> Result<i64> {
        self.db.run(|c| {
            c.execute(
                "INSERT INTO sources(name, kind, url) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING",
                &[&name, &kind_str(kind), &url],
            )?;
            Ok(c.query_one("SELECT pk FROM sources WHERE name = $1", &[&name])?.get(0))
        })
    }

    pub fn source_scope(&self, pk: i64, default: &str) -> Result<String> {
        self.db.run(|c| {
            c.execute("UPDATE sources SET scope = $2 WHERE pk = $1 AND scope IS NULL", &[&pk, &default])?;
            Ok(c.query_one("SELECT scope FROM sources WHERE pk = $1", &[&pk])?.get(0))
        })
    }

    pub fn adopt_renamed_sources(&self, configured: &[(&str, &str)]) -> Result<Vec<(String, String)>> {
        self.db.run(|c| {
            let names: HashSet<&str> = configured.iter().map(|(n, _)| *n).collect();
            let rows: Vec<(i64, String, String, Option<String>)> = c
                .query("SELECT pk, name, url, moved_to FROM sources WHERE kind = 'feed'", &[])?
                .iter()
                .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
                .collect();
            let stored: HashSet<&str> = rows.iter().map(|(_, n, ..)| n.as_str()).collect();
            let mut renamed = Vec::new();
            let mut adopted = HashSet::new();
            for (name, url) in configured.iter().filter(|(n, _)| !stored.contains(n)) {
                let orphan = rows.iter().find(|(pk, old, row_url, moved)| {
                    !names.contains(old.as_str()) && !adopted.contains(pk) && (row_url == url || moved.as_deref() == Some(*url))
                });
                if let Some((pk, old, ..)) = orphan {
                    let mut tx = c.transaction()?;
                    tx.execute("UPDATE sources SET scope = coalesce(scope, name), name = $2 WHERE pk = $1", &[pk, name])?;
                    tx.execute("UPDATE stories SET source_name = $2 WHERE source = $1", &[pk, name])?;
                    tx.commit()?;
                    adopted.insert(*pk);
                    renamed.push((old.clone(), name.to_string()));
                }
            }
            Ok(renamed)
        })
    }

    pub fn forget_sources_except(&self, configured: &HashSet<String>, keep_files: bool) -> Result<Vec<(String, u64)>> {
        self.db.run(|c| {
            let gone: Vec<(i64, String)> = c
                .query("SELECT pk, name, kind FROM sources", &[])?
                .iter()
                .map(|r| (r.get::<_, i64>(0), r.get::<_, String>(1), r.get::<_, String>(2)))
                .filter(|(_, name, kind)| !(configured.contains(name) || keep_files && kind == "files"))
                .map(|(pk, name, _)| (pk, name))
                .collect();
            let mut out = Vec::new();
            for (pk, name) in gone {
                let mut tx = c.transaction()?;
                let n: i64 = tx.query_one("SELECT count(*) FROM stories WHERE source = $1", &[&pk])?.get(0);
                tx.execute("DELETE FROM sources WHERE pk = $1", &[&pk])?;
                tx.execute("DELETE FROM decisions WHERE source = $1", &[&pk])?;
                tx.commit()?;
                out.push((name, n as u64));
            }
            Ok(out)
        })
    }

    pub fn source_summaries(&self) -> Result<Vec<SourceSummary>> {
        self.db.run(summaries)
    }

    pub fn take_requests(&self, now: DateTime<Utc>) -> Result<Vec<FetchRequest>> {
        self.db.run(move |c| {
            let mut tx = c.transaction()?;
            // FOR UPDATE: two runs on one store never take the same request.
            let rows: Vec<(i64, String)> = tx
                .query("SELECT pk, sources FROM requests WHERE taken IS NULL ORDER BY pk FOR UPDATE SKIP LOCKED", &[])?
                .iter()
                .map(|r| (r.get(0), r.get(1)))
                .collect();
            if rows.is_empty() {
                return Ok(Vec::new());
            }
            let pks: Vec<i64> = rows.iter().map(|(pk, _)| *pk).collect();
            tx.execute("UPDATE requests SET taken = $1 WHERE pk = ANY($2)", &[&now.timestamp(), &pks])?;
            tx.commit()?;
            Ok(rows
                .into_iter()
                .map(|(pk, sources)| FetchRequest { pk, sources: serde_json::from_str(&sources).unwrap_or_default() })
                .collect())
        })
    }

    pub fn answer_request(&self, pk: i64, answer: &[FetchAnswer], now: DateTime<Utc>) -> Result<()> {
        let json = serde_json::to_string(answer).expect("answers serialize");
        self.db.run(move |c| {
            c.execute("UPDATE requests SET answered = $2, answer = $3 WHERE pk = $1", &[&pk, &now.timestamp(), &json])?;
            c.execute("DELETE FROM requests WHERE answered < $1", &[&(now.timestamp() - 86_400)])?;
            Ok(())
        })
    }

    pub fn takedowns_version(&self) -> Result<Option<String>> {
        self.meta("takedowns")
    }

    pub fn takedowns(&self) -> Result<Vec<Takedown>> {
        self.db.run(list)
    }
}

impl PgReader {
    pub fn source_summaries(&self) -> Result<Vec<SourceSummary>> {
        self.db.run(summaries)
    }

    pub fn known_hashes(&self, source_pk: i64) -> Result<HashSet<u64>> {
        self.db.run(move |c| {
            let rows = c.query(
                "SELECT hash FROM stories WHERE source = $1 UNION ALL SELECT hash FROM tombstones WHERE source = $1",
                &[&source_pk],
            )?;
            Ok(rows.iter().filter_map(|r| r.get::<_, Option<i64>>(0)).map(|h| h as u64).collect())
        })
    }

    pub fn find_decisions(&self, needle: &str, limit: usize) -> Result<Vec<Recorded>> {
        let needle = needle.trim();
        self.db.run(|c| find_decisions(c, needle, limit))
    }

    pub fn absorbed(&self, id: &str, limit: usize) -> Result<Vec<Recorded>> {
        let sql = format!(
            "SELECT coalesce(s.name, '?'), d.id, d.link, d.title, d.reason, d.decided FROM decisions d \
             LEFT JOIN sources s ON s.pk = d.source WHERE d.reason LIKE 'duplicate of ' || $1 || ' %' \
             ORDER BY d.decided DESC, d.id LIMIT {limit}"
        );
        let id = id.replace(['%', '_'], "");
        self.db.run(move |c| Ok(c.query(&sql, &[&id])?.iter().map(recorded).collect()))
    }

    pub fn find_stories(&self, needle: &str, limit: usize) -> Result<Vec<Found>> {
        let needle = needle.trim();
        self.db.run(|c| find_stories(c, needle, limit))
    }

    pub fn rank(&self, pk: i64, topic: Option<&str>, merged: &MergedRules) -> Result<Option<usize>> {
        self.db.run(|c| rank(c, pk, topic, merged))
    }

    pub fn takedown_for(&self, id: &str, canonical: Option<&str>) -> Result<Option<Takedown>> {
        self.db.run(|c| {
            Ok(c.query_opt(
                "SELECT key, id, link, title, reason, hidden_at FROM takedowns WHERE id = $1 OR ($2::text IS NOT NULL AND link = $2) LIMIT 1",
                &[&id, &canonical],
            )?
            .map(|r| takedown(&r)))
        })
    }
}

fn recorded(r: &Row) -> Recorded {
    Recorded {
        source: r.get(0),
        decision: Decision { id: r.get(1), link: r.get(2), title: r.get(3), reason: r.get(4) },
        decided: time(r.get(5)),
    }
}

fn find_decisions(c: &mut Client, needle: &str, limit: usize) -> PgResult<Vec<Recorded>> {
    let sql = |cond: &str| {
        format!(
            "SELECT coalesce(s.name, '?'), d.id, d.link, d.title, d.reason, d.decided FROM decisions d \
             LEFT JOIN sources s ON s.pk = d.source WHERE {cond} ORDER BY d.decided DESC, d.id LIMIT {limit}"
        )
    };
    let tomb_sql = |cond: &str| {
        format!(
            "SELECT coalesce(s.name, '?'), d.id, NULL::text, '', '{RETENTION}', d.removed FROM tombstones d \
             LEFT JOIN sources s ON s.pk = d.source WHERE {cond} ORDER BY d.removed DESC, d.id LIMIT {limit}"
        )
    };
    let mut find = |cond: &str, args: &[&(dyn ToSql + Sync)], tombs: Option<(&str, &(dyn ToSql + Sync))>| -> PgResult<Vec<Recorded>> {
        let mut found: Vec<Recorded> = c.query(&sql(cond), args)?.iter().map(recorded).collect();
        let Some((tomb_cond, arg)) = tombs else { return Ok(found) };
        found.extend(c.query(&tomb_sql(tomb_cond), &[arg])?.iter().map(recorded));
        found.truncate(limit);
        Ok(found)
    };
    let found = find("d.id = $1", &[&needle], Some(("d.id = $1", &needle)))?;
    if !found.is_empty() {
        return Ok(found);
    }
    if url::Url::parse(needle).is_ok_and(|u| matches!(u.scheme(), "http" | "https")) {
        let (canonical, hash) = (canonical_link(needle), link_hash(needle));
        return find("d.link = $1", &[&canonical], Some(("d.link_hash = $1", &hash)));
    }
    let words: Vec<String> = needle.split_whitespace().map(|w| format!("%{}%", w.replace(['%', '_'], ""))).collect();
    if words.is_empty() {
        return Ok(Vec::new());
    }
    let cond: Vec<String> = (1..=words.len()).map(|i| format!("d.title ILIKE ${i}")).collect();
    let args: Vec<&(dyn ToSql + Sync)> = words.iter().map(|w| w as &(dyn ToSql + Sync)).collect();
    find(&cond.join(" AND "), &args, None)
}

fn found(r: &Row) -> Found {
    let n = STORY_COLUMN_COUNT;
    Found { pk: r.get(n), stored: story_from_row(r), file: r.get(n + 1) }
}

fn find_stories(c: &mut Client, needle: &str, limit: usize) -> PgResult<Vec<Found>> {
    let mut by = |cond: &str, value: &str| -> PgResult<Vec<Found>> {
        Ok(c.query(&format!("SELECT {STORY_COLUMNS}, s.pk, s.file FROM stories s WHERE {cond}"), &[&value])?.iter().map(found).collect())
    };
    let hits = by("s.id = $1", needle)?;
    if !hits.is_empty() {
        return Ok(hits);
    }
    if url::Url::parse(needle).is_ok_and(|u| matches!(u.scheme(), "http" | "https")) {
        return by("s.canonical = $1", &canonical_link(needle));
    }
    let words: Vec<String> = needle.split_whitespace().map(|w| format!("%{}%", w.replace(['%', '_'], ""))).collect();
    if words.is_empty() {
        return Ok(Vec::new());
    }
    let cond: Vec<String> = (1..=words.len()).map(|i| format!("s.title ILIKE ${i}")).collect();
    let sql = format!(
        "SELECT {STORY_COLUMNS}, s.pk, s.file FROM stories s WHERE {} ORDER BY s.published DESC, s.pk LIMIT {limit}",
        cond.join(" AND ")
    );
    let args: Vec<&(dyn ToSql + Sync)> = words.iter().map(|w| w as &(dyn ToSql + Sync)).collect();
    Ok(c.query(&sql, &args)?.iter().map(found).collect())
}

fn rank(c: &mut Client, pk: i64, topic: Option<&str>, merged: &MergedRules) -> PgResult<Option<usize>> {
    let visible: bool = c.query_one(&format!("SELECT EXISTS (SELECT 1 FROM stories s WHERE s.pk = $1 AND {VISIBLE})"), &[&pk])?.get(0);
    if !visible {
        return Ok(None);
    }
    let published: i64 = c.query_one("SELECT published FROM stories WHERE pk = $1", &[&pk])?.get(0);
    let before: i64 = match topic {
        Some(t) => {
            let member: bool =
                c.query_one("SELECT EXISTS (SELECT 1 FROM story_topics WHERE topic = $1 AND story = $2)", &[&t, &pk])?.get(0);
            if !member {
                return Ok(None);
            }
            c.query_one(
                &format!(
                    "SELECT count(*) FROM story_topics t JOIN stories s ON s.pk = t.story WHERE t.topic = $1 AND {VISIBLE} \
                     AND (t.published > $2 OR (t.published = $2 AND t.story < $3))"
                ),
                &[&t, &published, &pk],
            )?
            .get(0)
        }
        None if *merged == MergedRules::default() => c
            .query_one(
                &format!("SELECT count(*) FROM stories s WHERE {VISIBLE} AND (s.published > $1 OR (s.published = $1 AND s.pk < $2))"),
                &[&published, &pk],
            )?
            .get(0),
        None => {
            let rows = channel_rows(c, None, usize::MAX, merged)?;
            return Ok(rows.iter().position(|(p, _)| *p == pk).map(|i| i + 1));
        }
    };
    Ok(Some(before as usize + 1))
}

const TAKEDOWN_COLUMNS: &str = "key, id, link, title, reason, hidden_at";

fn takedown(r: &Row) -> Takedown {
    Takedown { key: r.get(0), id: r.get(1), link: r.get(2), title: r.get(3), reason: r.get(4), hidden_at: time(r.get(5)) }
}

fn list(c: &mut impl GenericClient) -> PgResult<Vec<Takedown>> {
    Ok(c.query(&format!("SELECT {TAKEDOWN_COLUMNS} FROM takedowns ORDER BY hidden_at DESC, key"), &[])?.iter().map(takedown).collect())
}

/// Counts changes to the takedowns, so a running `run` sees them.
fn bump(c: &mut impl GenericClient) -> PgResult<()> {
    c.execute(
        "INSERT INTO meta(key, value) VALUES ('takedowns', '1') \
         ON CONFLICT (key) DO UPDATE SET value = (meta.value::bigint + 1)::text",
        &[],
    )
    .map(drop)
}

fn web_url(s: &str) -> bool {
    url::Url::parse(s.trim()).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
}

/// What a takedown step found: the takedown, or which error to give.
enum Outcome<T> {
    Done(T),
    NotFound,
    NotHidden,
}

impl PgEditor {
    pub fn hide(&mut self, target: &str, reason: Option<&str>, now: DateTime<Utc>) -> Result<Takedown, TakedownError> {
        let target = target.trim();
        let canonical = web_url(target).then(|| canonical_link(target));
        let outcome = self.db.run(|c| {
            let mut tx = c.transaction()?;
            // Serializes editors, as SQLite's immediate transaction does.
            tx.execute("LOCK TABLE takedowns IN SHARE ROW EXCLUSIVE MODE", &[])?;
            let found = tx
                .query_opt(
                    "SELECT id, canonical, title FROM stories WHERE id = $1 OR ($2::text IS NOT NULL AND canonical = $2) \
                     ORDER BY id = $1 DESC LIMIT 1",
                    &[&target, &canonical],
                )?
                .map(|r| (r.get::<_, String>(0), r.get::<_, Option<String>>(1), r.get::<_, String>(2)));
            let t = match (found, canonical.clone()) {
                (Some((id, link, title)), _) => Takedown { key: id.clone(), id: Some(id), link, title: Some(title), reason: None, hidden_at: now },
                (None, Some(link)) => Takedown { key: link.clone(), id: None, link: Some(link), title: None, reason: None, hidden_at: now },
                (None, None) => return Ok(Outcome::NotFound),
            };
            let t = Takedown { reason: reason.map(str::to_owned), ..t };
            tx.execute(
                &format!(
                    "INSERT INTO takedowns({TAKEDOWN_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (key) DO UPDATE SET \
                     id = EXCLUDED.id, link = EXCLUDED.link, title = EXCLUDED.title, reason = EXCLUDED.reason, hidden_at = EXCLUDED.hidden_at"
                ),
                &[&t.key, &t.id, &t.link, &t.title, &t.reason, &t.hidden_at.timestamp()],
            )?;
            bump(&mut tx)?;
            tx.commit()?;
            Ok(Outcome::Done(t))
        })?;
        match outcome {
            Outcome::Done(t) => Ok(t),
            _ => Err(TakedownError::NotFound(target.to_owned())),
        }
    }

    pub fn unhide(&mut self, target: &str) -> Result<Vec<Takedown>, TakedownError> {
        let target = target.trim();
        let canonical = web_url(target).then(|| canonical_link(target));
        let which = "key = $1 OR id = $1 OR ($2::text IS NOT NULL AND link = $2)";
        let outcome = self.db.run(|c| {
            let mut tx = c.transaction()?;
            tx.execute("LOCK TABLE takedowns IN SHARE ROW EXCLUSIVE MODE", &[])?;
            let lifted: Vec<Takedown> = tx
                .query(&format!("SELECT {TAKEDOWN_COLUMNS} FROM takedowns WHERE {which}"), &[&target, &canonical])?
                .iter()
                .map(takedown)
                .collect();
            if lifted.is_empty() {
                return Ok(Outcome::NotHidden);
            }
            tx.execute(&format!("DELETE FROM takedowns WHERE {which}"), &[&target, &canonical])?;
            bump(&mut tx)?;
            tx.commit()?;
            Ok(Outcome::Done(lifted))
        })?;
        match outcome {
            Outcome::Done(lifted) => Ok(lifted),
            _ => Err(TakedownError::NotHidden(target.to_owned())),
        }
    }

    pub fn list(&self) -> Result<Vec<Takedown>> {
        self.db.run(list)
    }
}

impl PgRequester {
    pub fn ask(&self, sources: &[String], now: DateTime<Utc>) -> Result<i64> {
        let json = serde_json::to_string(sources).expect("names serialize");
        self.db.run(move |c| {
            Ok(c.query_one("INSERT INTO requests(sources, asked) VALUES ($1, $2) RETURNING pk", &[&json, &now.timestamp()])?.get(0))
        })
    }

    pub fn state(&self, pk: i64) -> Result<RequestState> {
        let row: Option<(Option<i64>, Option<String>)> = self
            .db
            .run(move |c| Ok(c.query_opt("SELECT taken, answer FROM requests WHERE pk = $1", &[&pk])?.map(|r| (r.get(0), r.get(1)))))?;
        Ok(match row {
            None => RequestState::Gone,
            Some((_, Some(answer))) => RequestState::Answered(serde_json::from_str(&answer).unwrap_or_default()),
            Some((Some(_), None)) => RequestState::Taken,
            Some((None, None)) => RequestState::Waiting,
        })
    }

    pub fn withdraw(&self, pk: i64) -> Result<bool> {
        self.db.run(move |c| Ok(c.execute("DELETE FROM requests WHERE pk = $1 AND taken IS NULL", &[&pk])? > 0))
    }
}
