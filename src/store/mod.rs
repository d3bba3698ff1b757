//! The store: one database (SQLite, or PostgreSQL: see [`facade`] and
//! [`pg`]) that remembers every story wirefeed has
//! published and every source's HTTP state between runs.
//!
//! It is what keeps promises to readers: a story's id and `published`
//! date never change once published; an edited story moves `updated` and
//! keeps its id; a story pruned by retention is not republished as new
//! (tombstones). The channels are read from it with indexed queries, so
//! publishing costs `max_items` per channel whatever the store's size.
//!
//! Durability: WAL mode with `synchronous = NORMAL`, every source's
//! changes in one transaction. A process killed at any instant loses at
//! most the transaction in progress; what was committed stays (SQLite
//! guarantees this for process crashes; a power loss may also lose the
//! last transactions, never consistency). One process writes at a time
//! ([`lock`]).

pub mod copy;
pub mod decisions;
pub mod explain;
pub mod facade;
pub mod lock;
pub mod pg;
pub mod requests;
pub mod schema;
pub mod sources;
pub mod stories;
pub mod takedowns;

use rusqlite::{Connection, OpenFlags, OptionalExtension};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use crate::config::Config;
use lock::StoreLock;
use schema::SchemaError;

pub use facade::{Location, Reader, STORE_URL_VAR, Store};
pub use sources::{SourceState, SourceSummary};
pub use stories::{BatchOutcome, Entry, StoredStory};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "{path}: the store is damaged or not a database ({message}); it was left as it is: restore a backup (see README, \"State\") or move it away to start afresh"
    )]
    Corrupt { path: PathBuf, message: String },
    #[error("{path}: {cause}")]
    Schema { path: PathBuf, cause: SchemaError },
    #[error("{path}: in use by another wirefeed{}; gave up after waiting {}", holder.map(|p| format!(" (PID {p})")).unwrap_or_default(), humantime::format_duration(*waited))]
    Locked { path: PathBuf, holder: Option<u32>, waited: Duration },
    #[error("{path}: cannot lock the store: {cause}")]
    Lock { path: PathBuf, cause: std::io::Error },
    #[error("{path}: {cause}")]
    Sqlite { path: PathBuf, cause: rusqlite::Error },
    /// SQLite's error for a write its filesystem refused ("disk I/O
    /// error" when even the `-shm` file cannot grow), with what the
    /// filesystem says: full, or read-only.
    #[error("{path}: {cause} ({disk})")]
    Disk { path: PathBuf, cause: rusqlite::Error, disk: String },
    /// A PostgreSQL store's error; `url` is the store URL without its
    /// password.
    #[error("{url}: {}", pg::describe(cause))]
    Postgres { url: String, cause: postgres::Error },
    /// A PostgreSQL store at a schema this wirefeed cannot use.
    #[error("{url}: {cause}")]
    PostgresSchema { url: String, cause: SchemaError },
    /// Another wirefeed holds the PostgreSQL store's writer lock.
    #[error("{url}: in use by another wirefeed (it holds the store's advisory lock); gave up after waiting {}", humantime::format_duration(*waited))]
    PostgresLocked { url: String, waited: Duration },
}

impl StoreError {
    /// The filesystem refused the store a write (it is full, read-only, or
    /// failed an I/O): SQLite rolled the transaction back, what was
    /// committed before is intact, and the same write may succeed once the
    /// disk is fixed. On PostgreSQL: the error is transient
    /// ([`pg::is_transient`]: a lost connection, a full disk, a server
    /// shutting down). `run` keeps going and tries again.
    pub fn is_refused_write(&self) -> bool {
        use rusqlite::ErrorCode::{CannotOpen, DiskFull, ReadOnly, SystemIoFailure};
        match self {
            StoreError::Disk { .. } => true,
            StoreError::Postgres { cause, .. } => pg::is_transient(cause),
            StoreError::Sqlite { cause, .. } => {
                matches!(cause.sqlite_error_code(), Some(DiskFull | ReadOnly | SystemIoFailure | CannotOpen))
            }
            _ => false,
        }
    }

    fn from_sqlite(path: &Path, source: rusqlite::Error) -> StoreError {
        use rusqlite::ErrorCode::{CannotOpen, DatabaseCorrupt, DiskFull, NotADatabase, ReadOnly, SystemIoFailure};
        match source.sqlite_error_code() {
            Some(NotADatabase | DatabaseCorrupt) => StoreError::Corrupt { path: path.to_owned(), message: source.to_string() },
            Some(DiskFull | ReadOnly | SystemIoFailure | CannotOpen) => match disk_state(path) {
                Some(disk) => StoreError::Disk { path: path.to_owned(), cause: source, disk },
                None => StoreError::Sqlite { path: path.to_owned(), cause: source },
            },
            _ => StoreError::Sqlite { path: path.to_owned(), cause: source },
        }
    }
}

/// What the filesystem holding the store says, when that explains a
/// refused write: read-only, or (nearly) no space left. SQLite reports an
/// `-shm` file that cannot grow as a bare "disk I/O error".
#[cfg(unix)]
fn disk_state(path: &Path) -> Option<String> {
    use rustix::fs::StatVfsMountFlags;
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let fs = rustix::fs::statvfs(dir).ok()?;
    let free = fs.f_bavail.saturating_mul(fs.f_frsize);
    if fs.f_flag.contains(StatVfsMountFlags::RDONLY) {
        Some("its filesystem is read-only".to_owned())
    } else if free < 1 << 20 {
        Some(format!("No space left on device: {free} bytes free on its filesystem"))
    } else {
        None
    }
}

#[cfg(not(unix))]
fn disk_state(_path: &Path) -> Option<String> {
    None
}

/// The open store, holding the writer's lock.
pub struct SqliteStore {
    conn: Connection,
    path: PathBuf,
    _lock: StoreLock,
    /// Retention bookkeeping: see [`stories`].
    prune_mark: Option<(i64, i64)>,
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

pub(crate) fn configure(conn: &Connection) -> rusqlite::Result<()> {
    // Readers (other connections) must wait for a writer's commit rather
    // than fail.
    conn.busy_timeout(Duration::from_secs(30))?;
    conn.pragma_update(None, "foreign_keys", true)?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "cache_size", -65_536)?;
    // Checkpoint the WAL every ~40 MB rather than every 4 MB: an index page
    // changed by many transactions is then written back (and synced) once.
    conn.pragma_update(None, "wal_autocheckpoint", 10_000)?;
    Ok(())
}

impl SqliteStore {
    /// Opens the store of `config`, creating it if needed.
    pub fn open(config: &Config) -> Result<SqliteStore> {
        SqliteStore::open_at(&config.store.path, config.store.lock_timeout)
    }

    /// Opens (or creates) the store at `path`, waiting up to `lock_wait`
    /// for another process using it, and migrates it to the latest schema.
    pub fn open_at(path: &Path, lock_wait: Duration) -> Result<SqliteStore> {
        SqliteStore::open_version(path, lock_wait, schema::LATEST)
    }

    /// [`SqliteStore::open_at`], migrating only up to `version` (for tests of
    /// migrations).
    pub fn open_version(path: &Path, lock_wait: Duration, version: u32) -> Result<SqliteStore> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|cause| StoreError::Lock { path: path.to_owned(), cause })?;
        }
        let lock = StoreLock::acquire(path, lock_wait)?;
        let sql = |e| StoreError::from_sqlite(path, e);
        let mut conn = Connection::open(path).map_err(sql)?;
        configure(&conn).map_err(sql)?;
        let wal: String = conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0)).map_err(sql)?;
        if !wal.eq_ignore_ascii_case("wal") {
            tracing::warn!(store = %path.display(), "SQLite refused WAL mode ({wal}); continuing in {wal} mode");
        }
        schema::migrate(&mut conn, version).map_err(|e| match e {
            SchemaError::Sqlite(e) => StoreError::from_sqlite(path, e),
            e => StoreError::Schema { path: path.to_owned(), cause: e },
        })?;
        Ok(SqliteStore { conn, path: path.to_owned(), _lock: lock, prune_mark: None })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn err(&self) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
        |e| StoreError::from_sqlite(&self.path, e)
    }

    /// A second, read-only connection that tasks on other threads share
    /// (WAL lets it read while this one writes).
    pub fn reader(&self) -> Result<SqliteReader> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&self.path, flags).map_err(self.err())?;
        configure(&conn).map_err(self.err())?;
        Ok(SqliteReader { conn: Mutex::new(conn), path: self.path.clone() })
    }

    pub fn meta(&self, key: &str) -> Result<Option<String>> {
        self.conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0)).optional().map_err(self.err())
    }

    pub fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        self.conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?1, ?2)", (key, value)).map(drop).map_err(self.err())
    }

    /// Records a finished run (for `/healthz` and `wirefeed sources`).
    pub fn record_run(&self, run: &RunRecord) -> Result<()> {
        let tx = self.conn.unchecked_transaction().map_err(self.err())?;
        tx.execute(
            "INSERT INTO runs(started, finished, ok, summary) VALUES (?1, ?2, ?3, ?4)",
            (run.started.timestamp(), run.finished.timestamp(), run.ok, &run.summary),
        )
        .map_err(self.err())?;
        // The last thousand runs are plenty of history.
        tx.execute("DELETE FROM runs WHERE pk <= (SELECT max(pk) FROM runs) - 1000", []).map_err(self.err())?;
        tx.commit().map_err(self.err())
    }

    pub fn last_run(&self) -> Result<Option<RunRecord>> {
        last_run(&self.conn).map_err(self.err())
    }
}

/// One finished `build` or `run` pass.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRecord {
    pub started: chrono::DateTime<chrono::Utc>,
    pub finished: chrono::DateTime<chrono::Utc>,
    pub ok: bool,
    pub summary: String,
}

fn last_run(conn: &Connection) -> rusqlite::Result<Option<RunRecord>> {
    conn.query_row("SELECT started, finished, ok, summary FROM runs ORDER BY pk DESC LIMIT 1", [], |r| {
        Ok(RunRecord { started: stories::time(r.get(0)?), finished: stories::time(r.get(1)?), ok: r.get(2)?, summary: r.get(3)? })
    })
    .optional()
}

/// Read access from any thread (one query at a time).
pub struct SqliteReader {
    conn: Mutex<Connection>,
    path: PathBuf,
}

impl SqliteReader {
    /// Opens a store read-only, without taking the writer's lock (for
    /// `wirefeed sources`, `stories` and `serve`, which never write).
    pub fn open(path: &Path) -> Result<SqliteReader> {
        let err = |e| StoreError::from_sqlite(path, e);
        if !path.exists() {
            return Err(StoreError::Sqlite { path: path.to_owned(), cause: rusqlite::Error::InvalidPath(path.to_owned()) });
        }
        let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX).map_err(err)?;
        configure(&conn).map_err(err)?;
        let version: u32 = conn.pragma_query_value(None, "user_version", |r| r.get(0)).map_err(err)?;
        if version != schema::LATEST {
            let source = match version > schema::LATEST {
                true => SchemaError::TooNew { found: version },
                false => SchemaError::Old { found: version },
            };
            return Err(StoreError::Schema { path: path.to_owned(), cause: source });
        }
        Ok(SqliteReader { conn: Mutex::new(conn), path: path.to_owned() })
    }

    fn with<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T> {
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        f(&conn).map_err(|e| StoreError::from_sqlite(&self.path, e))
    }

    pub fn last_run(&self) -> Result<Option<RunRecord>> {
        self.with(last_run)
    }
}
