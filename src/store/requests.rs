//! `wirefeed fetch` beside a running `wirefeed run`: the run holds the
//! store's lock, so `fetch` cannot fetch itself; it asks the run instead,
//! through a row of the `requests` table, and waits for the answer in the
//! same row. SQLite (WAL) lets the asking process write that row while the
//! run holds the advisory lock.
//!
//! A request is asked (`asked`), taken by the run when it starts on it
//! (`taken`), then answered with each source's outcome (`answered`,
//! `answer`). Answered requests are deleted after a day.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OpenFlags, OptionalExtension};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use super::facade::Requester;
use super::schema;
use super::{Result, SqliteStore, StoreError};

/// A request as the run sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchRequest {
    pub pk: i64,
    /// Source names as given; empty asks for every enabled source.
    pub sources: Vec<String>,
}

/// One source's outcome, in the answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FetchAnswer {
    pub source: String,
    /// False when the fetch failed (or no such source is configured).
    pub ok: bool,
    /// The status as `wirefeed build` prints it ("ok: 2 new, …", "error: …").
    pub status: String,
}

/// Where a request stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestState {
    /// Not yet seen by a run.
    Waiting,
    /// A run is on it.
    Taken,
    Answered(Vec<FetchAnswer>),
    /// The row is gone (withdrawn, or the store was replaced).
    Gone,
}

fn time(t: DateTime<Utc>) -> i64 {
    t.timestamp()
}

impl SqliteStore {
    /// Requests no run has taken yet, oldest first; they are marked taken.
    pub fn take_requests(&self, now: DateTime<Utc>) -> Result<Vec<FetchRequest>> {
        let err = self.err();
        let tx = self.conn.unchecked_transaction().map_err(&err)?;
        let rows: Vec<(i64, String)> = {
            let mut stmt = tx.prepare_cached("SELECT pk, sources FROM requests WHERE taken IS NULL ORDER BY pk").map_err(&err)?;
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).map_err(&err)?.collect::<rusqlite::Result<_>>().map_err(&err)?
        };
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        tx.execute("UPDATE requests SET taken = ?1 WHERE taken IS NULL", [time(now)]).map_err(&err)?;
        tx.commit().map_err(&err)?;
        Ok(rows.into_iter().map(|(pk, sources)| FetchRequest { pk, sources: serde_json::from_str(&sources).unwrap_or_default() }).collect())
    }

    /// Answers a request; requests answered over a day ago are deleted.
    pub fn answer_request(&self, pk: i64, answer: &[FetchAnswer], now: DateTime<Utc>) -> Result<()> {
        let err = self.err();
        let json = serde_json::to_string(answer).expect("answers serialize");
        self.conn.execute("UPDATE requests SET answered = ?2, answer = ?3 WHERE pk = ?1", (pk, time(now), json)).map_err(&err)?;
        self.conn.execute("DELETE FROM requests WHERE answered < ?1", [time(now) - 86_400]).map_err(&err)?;
        Ok(())
    }
}

/// The asking side: a connection to a store another process holds (no
/// lock taken).
pub struct SqliteRequester {
    conn: Connection,
    path: PathBuf,
}

impl SqliteRequester {
    /// Opens the store at `path` to ask its run. A store of an older schema
    /// (a run of an older wirefeed) has no `requests` table: refused.
    pub fn open(path: &Path) -> Result<SqliteRequester> {
        let err = |e| StoreError::from_sqlite(path, e);
        let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX).map_err(err)?;
        conn.busy_timeout(Duration::from_secs(30)).map_err(err)?;
        schema::require_latest(&conn).map_err(|cause| StoreError::Schema { path: path.to_owned(), cause })?;
        Ok(SqliteRequester { conn, path: path.to_owned() })
    }

    fn err(&self) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
        |e| StoreError::from_sqlite(&self.path, e)
    }

    /// Asks for `sources` (empty: all) to be fetched; returns the request.
    pub fn ask(&self, sources: &[String], now: DateTime<Utc>) -> Result<i64> {
        let json = serde_json::to_string(sources).expect("names serialize");
        self.conn.execute("INSERT INTO requests(sources, asked) VALUES (?1, ?2)", (json, time(now))).map_err(self.err())?;
        Ok(self.conn.last_insert_rowid())
    }

    pub fn state(&self, pk: i64) -> Result<RequestState> {
        let row: Option<(Option<i64>, Option<String>)> = self
            .conn
            .query_row("SELECT taken, answer FROM requests WHERE pk = ?1", [pk], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()
            .map_err(self.err())?;
        Ok(match row {
            None => RequestState::Gone,
            Some((_, Some(answer))) => RequestState::Answered(serde_json::from_str(&answer).unwrap_or_default()),
            Some((Some(_), None)) => RequestState::Taken,
            Some((None, None)) => RequestState::Waiting,
        })
    }

    /// Withdraws a request no run has taken; false if one already has.
    pub fn withdraw(&self, pk: i64) -> Result<bool> {
        let n = self.conn.execute("DELETE FROM requests WHERE pk = ?1 AND taken IS NULL", [pk]).map_err(self.err())?;
        Ok(n > 0)
    }
}
