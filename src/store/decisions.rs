//! Decision records: why an entry a source carried (or a story file held)
//! is not in the store. `wirefeed explain` finds them like stories, and
//! `build -v` lists them per source. One row per source and entry id,
//! replaced when the entry is decided again (a refetch does not add
//! rows); rows older than `keep_days` are pruned with the stories.

use chrono::{DateTime, Utc};
use rusqlite::{Transaction, params, params_from_iter};

use super::stories::time;
use super::{Result, SqliteReader};
use crate::model::id::canonical_link;

/// What a tombstone keeps of an entry's link: the xxh3 of its canonical
/// form, as a signed SQLite integer.
pub(super) fn link_hash(link: &str) -> i64 {
    xxhash_rust::xxh3::xxh3_64(canonical_link(link).as_bytes()) as i64
}

/// The reason given for an entry retention let go (from its tombstone).
/// (Spliced into SQL as a literal: it must hold no quote.)
pub(super) const RETENTION: &str = "let go by retention: older than keep_days and below the newest stories of every channel \
                         (its tombstone keeps it from coming back)";

/// Why one entry was not stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The story id the entry would have had.
    pub id: String,
    /// Its link as found (stored canonical, for look-up by URL).
    pub link: Option<String>,
    pub title: String,
    /// In words: `excluded by 'category:sport'`, `duplicate of … from …`.
    pub reason: String,
}

/// A decision as stored, with its source's name and time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub source: String,
    pub decision: Decision,
    pub decided: DateTime<Utc>,
}

/// Records `decisions` of source `source_pk` at `now` (replacing earlier
/// ones for the same entries), in the caller's transaction.
pub(super) fn record(tx: &Transaction<'_>, source_pk: i64, decisions: &[Decision], now: i64) -> rusqlite::Result<()> {
    let mut put =
        tx.prepare_cached("INSERT OR REPLACE INTO decisions(source, id, link, title, reason, decided) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")?;
    for d in decisions {
        put.execute(params![source_pk, d.id, d.link.as_deref().map(canonical_link), d.title, d.reason, now])?;
    }
    Ok(())
}

/// Forgets decisions made before `cutoff` (Unix seconds: `keep_days`
/// ago). One about an entry stored since is deleted when it is stored.
pub(super) fn prune(tx: &Transaction<'_>, cutoff: i64) -> rusqlite::Result<usize> {
    tx.prepare_cached("DELETE FROM decisions WHERE decided < ?1")?.execute([cutoff])
}

impl SqliteReader {
    /// Decisions whose entry id is `needle`, else whose canonical link is
    /// that of `needle` (a URL), else whose title has every word of
    /// `needle`; newest first, at most `limit`.
    pub fn find_decisions(&self, needle: &str, limit: usize) -> Result<Vec<Recorded>> {
        let needle = needle.trim();
        self.with(|c| {
            let sql = |cond: &str| {
                format!(
                    "SELECT coalesce(s.name, '?'), d.id, d.link, d.title, d.reason, d.decided FROM decisions d \
                     LEFT JOIN sources s ON s.pk = d.source WHERE {cond} ORDER BY d.decided DESC, d.id LIMIT {limit}"
                )
            };
            let row = |r: &rusqlite::Row<'_>| {
                Ok(Recorded {
                    source: r.get(0)?,
                    decision: Decision { id: r.get(1)?, link: r.get(2)?, title: r.get(3)?, reason: r.get(4)? },
                    decided: time(r.get(5)?),
                })
            };
            // What retention let go is recorded by its tombstone.
            let tomb_sql = |cond: &str| {
                format!(
                    "SELECT coalesce(s.name, '?'), d.id, NULL, '', '{RETENTION}', d.removed FROM tombstones d \
                     LEFT JOIN sources s ON s.pk = d.source WHERE {cond} ORDER BY d.removed DESC, d.id LIMIT {limit}"
                )
            };
            // `tombs`: the condition and argument that find tombstones too.
            let find = |cond: &str, args: &[String], tombs: Option<(&str, rusqlite::types::Value)>| -> rusqlite::Result<Vec<Recorded>> {
                let mut found: Vec<Recorded> =
                    c.prepare(&sql(cond))?.query_map(params_from_iter(args), row)?.collect::<rusqlite::Result<_>>()?;
                let Some((tomb_cond, arg)) = tombs else { return Ok(found) };
                let tombs: Vec<Recorded> = c.prepare(&tomb_sql(tomb_cond))?.query_map([arg], row)?.collect::<rusqlite::Result<_>>()?;
                found.extend(tombs);
                found.truncate(limit);
                Ok(found)
            };
            let found = find("d.id = ?1", &[needle.to_owned()], Some(("d.id = ?1", needle.to_owned().into())))?;
            if !found.is_empty() {
                return Ok(found);
            }
            if url::Url::parse(needle).is_ok_and(|u| matches!(u.scheme(), "http" | "https")) {
                return find("d.link = ?1", &[canonical_link(needle)], Some(("d.link_hash = ?1", link_hash(needle).into())));
            }
            let words: Vec<String> = needle.split_whitespace().map(|w| format!("%{}%", w.replace(['%', '_'], ""))).collect();
            if words.is_empty() {
                return Ok(Vec::new());
            }
            let cond: Vec<String> = (1..=words.len()).map(|i| format!("d.title LIKE ?{i}")).collect();
            // Tombstones keep no title: retention's decisions are found
            // by id or link.
            find(&cond.join(" AND "), &words, None)
        })
    }

    /// The copies story `id` absorbed: entries of other sources (or other
    /// ids) left out as its duplicates, newest first, at most `limit`.
    pub fn absorbed(&self, id: &str, limit: usize) -> Result<Vec<Recorded>> {
        self.with(|c| {
            let sql = format!(
                "SELECT coalesce(s.name, '?'), d.id, d.link, d.title, d.reason, d.decided FROM decisions d \
                 LEFT JOIN sources s ON s.pk = d.source WHERE d.reason LIKE 'duplicate of ' || ?1 || ' %' \
                 ORDER BY d.decided DESC, d.id LIMIT {limit}"
            );
            c.prepare(&sql)?
                .query_map([id.replace(['%', '_'], "")], |r| {
                    Ok(Recorded {
                        source: r.get(0)?,
                        decision: Decision { id: r.get(1)?, link: r.get(2)?, title: r.get(3)?, reason: r.get(4)? },
                        decided: time(r.get(5)?),
                    })
                })?
                .collect()
        })
    }
}
