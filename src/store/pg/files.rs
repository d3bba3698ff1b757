//! The published files of a PostgreSQL store (table `published_files`):
//! what a fleet of `run` workers renders once, and what any number of
//! `serve` processes answer with, byte for byte.
//!
//! Each [`PgFiles`] has a connection of its own, so that the publish lock
//! (a session advisory lock, [`PUBLISH_LOCK`]) is held exactly as long as
//! the value lives, whatever the store's own connection does meanwhile,
//! and goes with the connection if the process dies mid-publish.
//!
//! A reader sees that something changed by reading one number,
//! [`PgFiles::version`]: it is bumped in the same transaction as the
//! files it describes (a sequence would not do: `nextval` is seen before
//! the rows it numbers are committed).
//!
//! Every method fails only with `StoreError::Postgres` (the server's or
//! the connection's error, naming the URL without its password), or, in
//! [`PgFiles::open`], `StoreError::PostgresSchema` for a store at another
//! schema version.

use std::collections::HashMap;

use super::{Conn, PgStore, open_latest};
use crate::store::Result;

/// The advisory lock key of a publish ("wfdp"; the writer's is "wfd1",
/// the migration's "wfdm").
pub const PUBLISH_LOCK: i64 = 0x7766_6470;

/// The ETag of `bytes` as stored and served: xxh3-64 in 16 hex digits,
/// unquoted. The same bytes give the same tag on every machine.
pub fn etag_of(bytes: &[u8]) -> String {
    format!("{:016x}", xxhash_rust::xxh3::xxh3_64(bytes))
}

/// One stored file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFile {
    /// Relative to the site's root, `/`-separated (`all.rss`,
    /// `topics/x.atom`, `stories/a.html`).
    pub path: String,
    pub body: Vec<u8>,
    /// See [`etag_of`].
    pub etag: String,
    /// When these bytes were first published, Unix seconds (a publish
    /// that writes the same bytes again keeps it).
    pub modified: i64,
    /// The [`PgFiles::version`] of the publish that wrote them.
    pub version: i64,
}

/// The files as of one version, without bodies older than `since`.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// The [`PgFiles::version`] these files are as of.
    pub version: i64,
    /// Every stored path with the version that wrote it.
    pub paths: HashMap<String, i64>,
    /// Full rows of the files written after `since`.
    pub changed: Vec<StoredFile>,
}

/// A connection to a store's published files.
pub struct PgFiles {
    conn: Conn,
}

impl PgStore {
    /// A connection of its own to this store's published files.
    pub fn files(&self) -> Result<PgFiles> {
        PgFiles::open(&self.url)
    }
}

impl PgFiles {
    /// Connects to the store at `url` (which must exist, at this
    /// wirefeed's schema).
    pub fn open(url: &str) -> Result<PgFiles> {
        Ok(PgFiles { conn: open_latest(url)? })
    }

    /// Takes the publish lock if no other session holds it: `false` when
    /// another worker is publishing. Held until this value is dropped.
    pub fn try_lock(&mut self) -> Result<bool> {
        self.conn.run(|c| Ok(c.query_one("SELECT pg_try_advisory_lock($1)", &[&PUBLISH_LOCK])?.get(0)))
    }

    /// The number of publishes that changed a file so far (0 before the
    /// first).
    pub fn version(&mut self) -> Result<i64> {
        self.conn.run(version)
    }

    /// Every stored path with its ETag.
    pub fn index(&mut self) -> Result<HashMap<String, String>> {
        self.conn.run(|c| Ok(c.query("SELECT path, etag FROM published_files", &[])?.into_iter().map(|r| (r.get(0), r.get(1))).collect()))
    }

    /// The stored files at `paths` (those that exist).
    pub fn read(&mut self, paths: &[String]) -> Result<Vec<StoredFile>> {
        let paths = paths.to_vec();
        self.conn.run(move |c| {
            let rows = c.query("SELECT path, body, etag, modified, version FROM published_files WHERE path = ANY($1)", &[&paths])?;
            Ok(rows.iter().map(row).collect())
        })
    }

    /// Writes `writes` (path, bytes) whose bytes differ from the stored
    /// ones and deletes `removes`, in one transaction with the version's
    /// bump; `modified` is now, Unix seconds. Returns the new version, or
    /// `None` when nothing changed (the version stays).
    pub fn commit(&mut self, writes: &[(String, Vec<u8>)], removes: &[String], modified: i64) -> Result<Option<i64>> {
        self.conn.run(move |c| {
            let mut tx = c.transaction()?;
            let stored: HashMap<String, String> =
                tx.query("SELECT path, etag FROM published_files", &[])?.into_iter().map(|r| (r.get(0), r.get(1))).collect();
            let changed: Vec<(&String, &Vec<u8>, String)> =
                writes.iter().map(|(p, b)| (p, b, etag_of(b))).filter(|(p, _, etag)| stored.get(*p) != Some(etag)).collect();
            let gone: Vec<&String> = removes.iter().filter(|p| stored.contains_key(*p)).collect();
            if changed.is_empty() && gone.is_empty() {
                return Ok(None);
            }
            let v: i64 = tx.query_one("UPDATE published_version SET version = version + 1 RETURNING version", &[])?.get(0);
            let upsert = tx.prepare(
                "INSERT INTO published_files(path, body, etag, modified, version) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (path) DO UPDATE SET body = EXCLUDED.body, etag = EXCLUDED.etag, \
                 modified = EXCLUDED.modified, version = EXCLUDED.version",
            )?;
            for (path, body, etag) in &changed {
                tx.execute(&upsert, &[path, body, etag, &modified, &v])?;
            }
            tx.execute("DELETE FROM published_files WHERE path = ANY($1)", &[&gone])?;
            tx.commit()?;
            Ok(Some(v))
        })
    }

    /// Every path with its version, and the full rows of files written
    /// after version `since` (0: all), as of one consistent moment.
    pub fn snapshot(&mut self, since: i64) -> Result<Snapshot> {
        self.conn.run(move |c| {
            let mut tx = c.build_transaction().isolation_level(postgres::IsolationLevel::RepeatableRead).read_only(true).start()?;
            let version = version(&mut tx)?;
            let paths = tx.query("SELECT path, version FROM published_files", &[])?.into_iter().map(|r| (r.get(0), r.get(1))).collect();
            let changed = tx
                .query("SELECT path, body, etag, modified, version FROM published_files WHERE version > $1", &[&since])?
                .iter()
                .map(row)
                .collect();
            tx.commit()?;
            Ok(Snapshot { version, paths, changed })
        })
    }
}

fn version(c: &mut impl postgres::GenericClient) -> Result<i64, postgres::Error> {
    Ok(c.query_one("SELECT version FROM published_version", &[])?.get(0))
}

fn row(r: &postgres::Row) -> StoredFile {
    StoredFile { path: r.get(0), body: r.get(1), etag: r.get(2), modified: r.get(3), version: r.get(4) }
}
