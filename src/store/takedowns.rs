//! Takedowns: stories an editor removed from every channel (`wirefeed
//! hide`). A taken-down story stays in the store (so its source does not
//! bring it back as new) and every channel query leaves it out, by id and
//! by canonical link (so a copy from another source stays down as well).
//!
//! These commands open the store without the writer's lock, so they work
//! while `wirefeed run` holds it: each is one short SQLite transaction,
//! which WAL and the busy timeout let through between the run's own. A
//! running `run` notices the change within one `watch_interval` (the
//! `takedowns` meta counter) and republishes.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use std::path::{Path, PathBuf};

pub use super::facade::Editor;
use super::schema;
use super::stories::time;
use super::{Result, StoreError, configure};
use crate::model::id::canonical_link;

/// One taken-down story.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Takedown {
    /// The story's id, or the canonical link asked for when no stored
    /// story had it yet.
    pub key: String,
    pub id: Option<String>,
    /// Canonical link.
    pub link: Option<String>,
    pub title: Option<String>,
    pub reason: Option<String>,
    pub hidden_at: DateTime<Utc>,
}

/// The store, opened for takedowns (without the writer's lock).
pub struct SqliteEditor {
    conn: Connection,
    path: PathBuf,
}

/// `ID_OR_URL` named no story (and, for `hide`, is not a URL either).
#[derive(Debug, thiserror::Error)]
pub enum TakedownError {
    #[error("no stored story has the id or link {0:?} (give a story id, or an http(s) URL to take down before it arrives)")]
    NotFound(String),
    #[error("{0:?} is not taken down")]
    NotHidden(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn web_url(s: &str) -> bool {
    url::Url::parse(s.trim()).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
}

const COLUMNS: &str = "key, id, link, title, reason, hidden_at";

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Takedown> {
    Ok(Takedown { key: r.get(0)?, id: r.get(1)?, link: r.get(2)?, title: r.get(3)?, reason: r.get(4)?, hidden_at: time(r.get(5)?) })
}

impl SqliteEditor {
    /// Opens an existing store at the schema this wirefeed writes.
    pub fn open(path: &Path) -> Result<SqliteEditor> {
        let err = |e| StoreError::from_sqlite(path, e);
        if !path.exists() {
            return Err(StoreError::Sqlite { path: path.to_owned(), cause: rusqlite::Error::InvalidPath(path.to_owned()) });
        }
        let conn = Connection::open(path).map_err(err)?;
        configure(&conn).map_err(err)?;
        schema::require_latest(&conn).map_err(|cause| StoreError::Schema { path: path.to_owned(), cause })?;
        Ok(SqliteEditor { conn, path: path.to_owned() })
    }

    fn err(&self) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
        |e| StoreError::from_sqlite(&self.path, e)
    }

    /// Takes down the story with this id or link (a URL not stored yet is
    /// taken down before it arrives). Hiding again replaces the reason.
    pub fn hide(&mut self, target: &str, reason: Option<&str>, now: DateTime<Utc>) -> Result<Takedown, TakedownError> {
        let target = target.trim();
        let canonical = web_url(target).then(|| canonical_link(target));
        let path = self.path.clone();
        let err = |e| StoreError::from_sqlite(&path, e);
        let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(err)?;
        let found = tx
            .query_row(
                "SELECT id, canonical, title FROM stories WHERE id = ?1 OR (?2 IS NOT NULL AND canonical = ?2) ORDER BY id = ?1 DESC LIMIT 1",
                params![target, canonical],
                |r| Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?, r.get::<_, String>(2)?)),
            )
            .optional()
            .map_err(err)?;
        let takedown = match (found, canonical) {
            (Some((id, link, title)), _) => {
                Takedown { key: id.clone(), id: Some(id), link, title: Some(title), reason: None, hidden_at: now }
            }
            (None, Some(link)) => Takedown { key: link.clone(), id: None, link: Some(link), title: None, reason: None, hidden_at: now },
            (None, None) => return Err(TakedownError::NotFound(target.to_owned())),
        };
        let takedown = Takedown { reason: reason.map(str::to_owned), ..takedown };
        let t = &takedown;
        tx.execute(
            &format!("INSERT OR REPLACE INTO takedowns({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"),
            params![t.key, t.id, t.link, t.title, t.reason, t.hidden_at.timestamp()],
        )
        .map_err(err)?;
        bump(&tx).map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(takedown)
    }

    /// Puts a taken-down story back (by the id, key or link `hide` was
    /// given); returns what was lifted.
    pub fn unhide(&mut self, target: &str) -> Result<Vec<Takedown>, TakedownError> {
        let target = target.trim();
        let canonical = web_url(target).then(|| canonical_link(target));
        let path = self.path.clone();
        let err = |e| StoreError::from_sqlite(&path, e);
        let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(err)?;
        let which = "key = ?1 OR id = ?1 OR (?2 IS NOT NULL AND link = ?2)";
        let lifted: Vec<Takedown> = tx
            .prepare(&format!("SELECT {COLUMNS} FROM takedowns WHERE {which}"))
            .and_then(|mut s| s.query_map(params![target, canonical], from_row)?.collect())
            .map_err(err)?;
        if lifted.is_empty() {
            return Err(TakedownError::NotHidden(target.to_owned()));
        }
        tx.execute(&format!("DELETE FROM takedowns WHERE {which}"), params![target, canonical]).map_err(err)?;
        bump(&tx).map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(lifted)
    }

    /// Every takedown, newest first.
    pub fn list(&self) -> Result<Vec<Takedown>> {
        list(&self.conn).map_err(self.err())
    }
}

fn list(conn: &Connection) -> rusqlite::Result<Vec<Takedown>> {
    conn.prepare(&format!("SELECT {COLUMNS} FROM takedowns ORDER BY hidden_at DESC, key"))?.query_map([], from_row)?.collect()
}

/// Counts changes to the takedowns, so a running `run` sees them.
fn bump(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO meta(key, value) VALUES ('takedowns', '1') \
         ON CONFLICT(key) DO UPDATE SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)",
        [],
    )
    .map(drop)
}

impl super::SqliteStore {
    /// Changes so far to the takedowns (any number that moves on each).
    pub fn takedowns_version(&self) -> Result<Option<String>> {
        self.meta("takedowns")
    }

    /// Every takedown, newest first.
    pub fn takedowns(&self) -> Result<Vec<Takedown>> {
        list(&self.conn).map_err(self.err())
    }
}
