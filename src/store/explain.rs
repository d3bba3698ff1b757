//! What `wirefeed explain` reads from the store: stories by id, link or
//! title words, their rank in each channel, their takedown.

use rusqlite::{OptionalExtension, params, params_from_iter};

use super::stories::{MergedRules, STORY_COLUMNS, StoredStory, VISIBLE, channel_rows, story_from_row, time};
use super::takedowns::Takedown;
use super::{Result, SqliteReader};
use crate::model::id::canonical_link;

/// A stored story found by [`SqliteReader::find_stories`].
#[derive(Debug, Clone)]
pub struct Found {
    pub pk: i64,
    pub stored: StoredStory,
    /// For the newsroom's own stories: the file it was read from, relative
    /// to its `[[stories]] path` (`None` before schema V3, or external).
    pub file: Option<String>,
}

impl SqliteReader {
    /// Stories whose id is `needle`, else whose canonical link is the
    /// canonical form of `needle` (a URL), else whose title contains every
    /// word of `needle` (ASCII letters in any case); newest first, at most
    /// `limit`.
    pub fn find_stories(&self, needle: &str, limit: usize) -> Result<Vec<Found>> {
        let needle = needle.trim();
        let n = super::stories::STORY_COLUMN_COUNT;
        let row = |r: &rusqlite::Row<'_>| Ok(Found { pk: r.get(n)?, stored: story_from_row(r)?, file: r.get(n + 1)? });
        self.with(|c| {
            let by = |cond: &str, value: &str| -> rusqlite::Result<Vec<Found>> {
                c.prepare(&format!("SELECT {STORY_COLUMNS}, s.pk, s.file FROM stories s WHERE {cond}"))?.query_map([value], row)?.collect()
            };
            let found = by("s.id = ?1", needle)?;
            if !found.is_empty() {
                return Ok(found);
            }
            if url::Url::parse(needle).is_ok_and(|u| matches!(u.scheme(), "http" | "https")) {
                return by("s.canonical = ?1", &canonical_link(needle));
            }
            let words: Vec<String> = needle.split_whitespace().map(|w| format!("%{}%", w.replace(['%', '_'], ""))).collect();
            if words.is_empty() {
                return Ok(Vec::new());
            }
            let cond: Vec<String> = (1..=words.len()).map(|i| format!("s.title LIKE ?{i}")).collect();
            let sql = format!(
                "SELECT {STORY_COLUMNS}, s.pk, s.file FROM stories s WHERE {} ORDER BY s.published DESC, s.pk LIMIT {limit}",
                cond.join(" AND ")
            );
            c.prepare(&sql)?.query_map(params_from_iter(&words), row)?.collect()
        })
    }

    /// The 1-based position of story `pk` in a channel's whole order
    /// (`None`: the merged one, shaped by `merged`); `None` when the
    /// channel leaves it out (not in the topic, taken down, its source
    /// kept out of `all` or past its `all_limit`).
    pub fn rank(&self, pk: i64, topic: Option<&str>, merged: &MergedRules) -> Result<Option<usize>> {
        self.with(|c| {
            let visible: bool =
                c.query_row(&format!("SELECT EXISTS (SELECT 1 FROM stories s WHERE s.pk = ?1 AND {VISIBLE})"), [pk], |r| r.get(0))?;
            if !visible {
                return Ok(None);
            }
            let published: i64 = c.query_row("SELECT published FROM stories WHERE pk = ?1", [pk], |r| r.get(0))?;
            let before: Option<i64> = match topic {
                Some(t) => {
                    let member: bool =
                        c.query_row("SELECT EXISTS (SELECT 1 FROM story_topics WHERE topic = ?1 AND story = ?2)", params![t, pk], |r| {
                            r.get(0)
                        })?;
                    if !member {
                        return Ok(None);
                    }
                    Some(c.query_row(
                        &format!(
                            "SELECT count(*) FROM story_topics t JOIN stories s ON s.pk = t.story WHERE t.topic = ?1 AND {VISIBLE} \
                             AND (t.published > ?2 OR (t.published = ?2 AND t.story < ?3))"
                        ),
                        params![t, published, pk],
                        |r| r.get(0),
                    )?)
                }
                None if *merged == MergedRules::default() => Some(c.query_row(
                    &format!("SELECT count(*) FROM stories s WHERE {VISIBLE} AND (s.published > ?1 OR (s.published = ?1 AND s.pk < ?2))"),
                    params![published, pk],
                    |r| r.get(0),
                )?),
                None => {
                    let rows = channel_rows(c, None, usize::MAX, merged)?;
                    return Ok(rows.iter().position(|(p, _)| *p == pk).map(|i| i + 1));
                }
            };
            Ok(before.map(|n| n as usize + 1))
        })
    }

    /// The takedown that hides a story with this id or canonical link.
    pub fn takedown_for(&self, id: &str, canonical: Option<&str>) -> Result<Option<Takedown>> {
        self.with(|c| {
            c.query_row(
                "SELECT key, id, link, title, reason, hidden_at FROM takedowns WHERE id = ?1 OR (?2 IS NOT NULL AND link = ?2) LIMIT 1",
                params![id, canonical],
                |r| {
                    Ok(Takedown {
                        key: r.get(0)?,
                        id: r.get(1)?,
                        link: r.get(2)?,
                        title: r.get(3)?,
                        reason: r.get(4)?,
                        hidden_at: time(r.get(5)?),
                    })
                },
            )
            .optional()
        })
    }
}
