//! What the store keeps about each source: HTTP validators, Retry-After,
//! moves, errors and when it is next due.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, Row};
use std::collections::{HashMap, HashSet};

use super::stories::opt_time;
use super::{Result, SqliteReader, SqliteStore};
use crate::ingest::fetch::Validators;
use crate::ingest::parse::FeedHints;

/// One source's saved state. A fresh source is all defaults.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SourceState {
    /// The configured URL this state belongs to; a changed URL starts the
    /// HTTP state afresh (the stories stay).
    pub url: String,
    pub validators: Validators,
    pub retry_until: Option<DateTime<Utc>>,
    /// Target of a permanent redirect: fetched instead of `url` from now on.
    pub moved_to: Option<String>,
    /// The feed a web page at `url` advertised (with `discover = true`).
    pub discovered: Option<String>,
    /// Why the source is no longer fetched (410 Gone).
    pub disabled: Option<String>,
    pub last_fetch: Option<DateTime<Utc>>,
    pub last_success: Option<DateTime<Utc>>,
    pub last_status: Option<String>,
    pub last_error: Option<String>,
    /// What the parser cut from the last body it read (see
    /// [`crate::ingest::parse::Limits`]), notes joined by "; ".
    pub last_notes: Option<String>,
    /// Failed fetches since the last success (drives backoff).
    pub consecutive_errors: u32,
    /// When `wirefeed run` fetches it next.
    pub next_fetch: Option<DateTime<Utc>>,
    /// The feed's scheduling hints, from its last body.
    pub hints: FeedHints,
    /// The fingerprint (xxh3-64) of the last body read in full, with what
    /// it was read under (see `ingest::sources::body_fingerprint`), and
    /// when: a body with the same fingerprint within the hour after counts
    /// as not modified, as a 304 would.
    pub body_hash: Option<u64>,
    pub body_read: Option<DateTime<Utc>>,
}

/// Whether a source row stands for an external feed or a folder of the
/// newsroom's own files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    Feed,
    Files,
}

impl SourceKind {
    fn as_str(self) -> &'static str {
        match self {
            SourceKind::Feed => "feed",
            SourceKind::Files => "files",
        }
    }
}

const COLUMNS: &str = "name, url, etag, last_modified, retry_until, moved_to, discovered, disabled, last_fetch, last_success, \
                       last_status, last_error, consecutive_errors, next_fetch, hint_ttl, hint_period, skip_hours, skip_days, last_notes, \
                       body_hash, body_read";

/// A source as `wirefeed sources` shows it.
#[derive(Debug, Clone)]
pub struct SourceSummary {
    pub name: String,
    pub kind: SourceKind,
    pub state: SourceState,
    pub stories: u64,
}

fn summaries(conn: &Connection) -> rusqlite::Result<Vec<SourceSummary>> {
    let mut counts: HashMap<i64, u64> = HashMap::new();
    let mut stmt = conn.prepare("SELECT source, count(*) FROM stories GROUP BY source")?;
    for row in stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)? as u64)))? {
        let (pk, n) = row?;
        counts.insert(pk, n);
    }
    let mut stmt = conn.prepare(&format!("SELECT pk, kind, {COLUMNS} FROM sources ORDER BY name"))?;
    let rows = stmt.query_map([], |r| {
        let pk: i64 = r.get(0)?;
        let kind = if r.get::<_, String>(1)? == "files" { SourceKind::Files } else { SourceKind::Feed };
        let (name, state) = from_row_at(r, 2)?;
        Ok(SourceSummary { name, kind, state, stories: counts.get(&pk).copied().unwrap_or(0) })
    })?;
    rows.collect()
}

impl SqliteStore {
    /// Every saved source by name.
    pub fn sources(&self) -> Result<HashMap<String, (i64, SourceState)>> {
        let mut stmt = self.conn.prepare(&format!("SELECT pk, {COLUMNS} FROM sources")).map_err(self.err())?;
        let rows = stmt
            .query_map([], |r| {
                let pk: i64 = r.get(0)?;
                let (name, state) = from_row_at(r, 1)?;
                Ok((name, (pk, state)))
            })
            .map_err(self.err())?;
        rows.collect::<rusqlite::Result<_>>().map_err(self.err())
    }

    /// The row of a source, created on first sight.
    pub fn source_pk(&self, name: &str, kind: SourceKind, url: &str) -> Result<i64> {
        self.conn
            .execute("INSERT OR IGNORE INTO sources(name, kind, url) VALUES (?1, ?2, ?3)", (name, kind.as_str(), url))
            .map_err(self.err())?;
        self.conn.query_row("SELECT pk FROM sources WHERE name = ?1", [name], |r| r.get(0)).map_err(self.err())
    }

    /// The name a source's ids are scoped by: the one it had when first
    /// stored (`default` for a row that has none yet, which it then keeps).
    /// Renaming the source does not change it, so no id moves.
    pub fn source_scope(&self, pk: i64, default: &str) -> Result<String> {
        self.conn
            .execute("UPDATE sources SET scope = ?2 WHERE pk = ?1 AND scope IS NULL", rusqlite::params![pk, default])
            .map_err(self.err())?;
        self.conn.query_row("SELECT scope FROM sources WHERE pk = ?1", [pk], |r| r.get(0)).map_err(self.err())
    }

    /// Renames stored feed sources whose config entry was renamed: a
    /// configured feed with no row of its name takes over the row of an
    /// unconfigured feed at the same URL (or at the URL it moved to), with
    /// its stories, state and id scope. Returns (old, new) names.
    pub fn adopt_renamed_sources(&self, configured: &[(&str, &str)]) -> Result<Vec<(String, String)>> {
        let names: HashSet<&str> = configured.iter().map(|(n, _)| *n).collect();
        let rows: Vec<(i64, String, String, Option<String>)> = {
            let mut stmt = self.conn.prepare("SELECT pk, name, url, moved_to FROM sources WHERE kind = 'feed'").map_err(self.err())?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))).map_err(self.err())?;
            rows.collect::<rusqlite::Result<_>>().map_err(self.err())?
        };
        let stored: HashSet<&str> = rows.iter().map(|(_, n, ..)| n.as_str()).collect();
        let mut renamed = Vec::new();
        let mut adopted = HashSet::new();
        for (name, url) in configured.iter().filter(|(n, _)| !stored.contains(n)) {
            let orphan = rows.iter().find(|(pk, old, row_url, moved)| {
                !names.contains(old.as_str()) && !adopted.contains(pk) && (row_url == url || moved.as_deref() == Some(*url))
            });
            if let Some((pk, old, ..)) = orphan {
                let tx = self.conn.unchecked_transaction().map_err(self.err())?;
                tx.execute("UPDATE sources SET scope = coalesce(scope, name), name = ?2 WHERE pk = ?1", rusqlite::params![pk, name])
                    .map_err(self.err())?;
                tx.execute("UPDATE stories SET source_name = ?2 WHERE source = ?1", rusqlite::params![pk, name]).map_err(self.err())?;
                tx.commit().map_err(self.err())?;
                adopted.insert(*pk);
                renamed.push((old.clone(), name.to_string()));
            }
        }
        Ok(renamed)
    }

    /// Deletes sources (and their stories) that are no longer configured;
    /// returns each one's name and how many stories went with it. With
    /// `keep_files`, folders of the newsroom's own stories stay even when
    /// unconfigured (a `[[stories]] path` could not be read: it may be a
    /// typo for one of them).
    pub fn forget_sources_except(&self, configured: &HashSet<String>, keep_files: bool) -> Result<Vec<(String, u64)>> {
        let gone: Vec<(i64, String)> = {
            let mut stmt = self.conn.prepare("SELECT pk, name, kind FROM sources").map_err(self.err())?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get::<_, String>(2)?))).map_err(self.err())?;
            rows.filter_map(|r| r.ok())
                .filter(|(_, name, kind): &(i64, String, String)| !(configured.contains(name) || keep_files && kind == "files"))
                .map(|(pk, name, _)| (pk, name))
                .collect()
        };
        let mut out = Vec::new();
        for (pk, name) in gone {
            let tx = self.conn.unchecked_transaction().map_err(self.err())?;
            let n =
                tx.query_row("SELECT count(*) FROM stories WHERE source = ?1", [pk], |r| r.get::<_, i64>(0)).map_err(self.err())? as u64;
            tx.execute("DELETE FROM sources WHERE pk = ?1", [pk]).map_err(self.err())?;
            // Its decision records go with it (a pk may be reused).
            tx.execute("DELETE FROM decisions WHERE source = ?1", [pk]).map_err(self.err())?;
            tx.commit().map_err(self.err())?;
            out.push((name, n));
        }
        Ok(out)
    }

    /// Every source with its story count, by name.
    pub fn source_summaries(&self) -> Result<Vec<SourceSummary>> {
        summaries(&self.conn).map_err(self.err())
    }
}

impl SqliteReader {
    pub fn source_summaries(&self) -> Result<Vec<SourceSummary>> {
        self.with(summaries)
    }

    /// Hashes of the entries stored (or let go by retention) for a source:
    /// an entry whose hash is here need not be normalized again.
    pub fn known_hashes(&self, source_pk: i64) -> Result<HashSet<u64>> {
        self.with(|conn| {
            let mut stmt =
                conn.prepare_cached("SELECT hash FROM stories WHERE source = ?1 UNION ALL SELECT hash FROM tombstones WHERE source = ?1")?;
            let rows = stmt.query_map([source_pk], |r| r.get::<_, i64>(0))?;
            rows.map(|h| h.map(|h| h as u64)).collect()
        })
    }
}

fn from_row_at(r: &Row<'_>, offset: usize) -> rusqlite::Result<(String, SourceState)> {
    let g = |i: usize| offset + i;
    Ok((
        r.get(g(0))?,
        SourceState {
            url: r.get(g(1))?,
            validators: Validators { etag: r.get(g(2))?, last_modified: r.get(g(3))? },
            retry_until: opt_time(r.get(g(4))?),
            moved_to: r.get(g(5))?,
            discovered: r.get(g(6))?,
            disabled: r.get(g(7))?,
            last_fetch: opt_time(r.get(g(8))?),
            last_success: opt_time(r.get(g(9))?),
            last_status: r.get(g(10))?,
            last_error: r.get(g(11))?,
            consecutive_errors: r.get(g(12))?,
            next_fetch: opt_time(r.get(g(13))?),
            hints: FeedHints {
                ttl: r.get::<_, Option<i64>>(g(14))?.map(secs),
                update_period: r.get::<_, Option<i64>>(g(15))?.map(secs),
                skip_hours: r.get(g(16))?,
                skip_days: r.get(g(17))?,
            },
            last_notes: r.get(g(18))?,
            body_hash: r.get::<_, Option<i64>>(g(19))?.map(|h| h as u64),
            body_read: opt_time(r.get(g(20))?),
        },
    ))
}

fn secs(n: i64) -> std::time::Duration {
    std::time::Duration::from_secs(n.max(0) as u64)
}

/// Writes a source's state (inside the caller's transaction).
pub(super) fn save(conn: &Connection, pk: i64, s: &SourceState) -> rusqlite::Result<()> {
    let ts = |t: Option<DateTime<Utc>>| t.map(|t| t.timestamp());
    let mut stmt = conn.prepare_cached(
        "UPDATE sources SET url = ?2, etag = ?3, last_modified = ?4, retry_until = ?5, moved_to = ?6, discovered = ?7, disabled = ?8, \
         last_fetch = ?9, last_success = ?10, last_status = ?11, last_error = ?12, consecutive_errors = ?13, next_fetch = ?14, \
         hint_ttl = ?15, hint_period = ?16, skip_hours = ?17, skip_days = ?18, last_notes = ?19, \
         body_hash = ?20, body_read = ?21 WHERE pk = ?1",
    )?;
    stmt.execute(rusqlite::params![
        pk,
        s.url,
        s.validators.etag,
        s.validators.last_modified,
        ts(s.retry_until),
        s.moved_to,
        s.discovered,
        s.disabled,
        ts(s.last_fetch),
        ts(s.last_success),
        s.last_status,
        s.last_error,
        s.consecutive_errors,
        ts(s.next_fetch),
        s.hints.ttl.map(|d| d.as_secs() as i64),
        s.hints.update_period.map(|d| d.as_secs() as i64),
        s.hints.skip_hours,
        s.hints.skip_days,
        s.last_notes,
        s.body_hash.map(|h| h as i64),
        ts(s.body_read),
    ])?;
    Ok(())
}
