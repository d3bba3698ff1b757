//! The store on PostgreSQL (`[store] url`, or `WIREFEED_STORE_URL`): the
//! same tables, rules and answers as the SQLite store, for stores that
//! several machines share.
//!
//! Client: the synchronous `postgres` crate (rust-postgres). Every
//! caller of the store is synchronous code (`build` applies batches from
//! a sink called inside `Runtime::block_on`; `run` likewise; readers are
//! shared with fetch tasks through an `Arc`), so an async client would
//! need its own runtime and a `block_on` per call anyway, which is what
//! the sync crate does inside. That inner `block_on` panics on a thread
//! already driving a tokio runtime, so every call goes through
//! [`off_runtime`]: on such a thread it runs on a short-lived scoped
//! thread (tens of microseconds, less than one round trip); elsewhere it
//! runs in place.
//!
//! Like SQLite's, values are stored as the model gives them: times as
//! Unix seconds (`BIGINT`), hashes as signed 64-bit, lists as JSON text;
//! so a copy between backends is exact. One writer at a time: a session
//! advisory lock stands for SQLite's lock file, and goes with the
//! connection however the process ends.

pub mod files;
pub mod leases;
mod queries;
pub mod schema;
mod stories;

use postgres::{Client, NoTls};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::{Result, RunRecord, StoreError};

/// The advisory lock key of a store's writer ("wfd1", as SQLite's
/// application id).
const WRITER_LOCK: i64 = 0x7766_6431;

/// `url` without its password, for messages.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            if u.password().is_some() {
                let _ = u.set_password(Some("***"));
            }
            u.to_string()
        }
        // Not a URL we can parse: say nothing of what follows the scheme
        // (it may hold a password).
        Err(_) => format!("{} (unparsable URL)", url.split("://").next().unwrap_or("postgres")),
    }
}

/// A PostgreSQL error in words: the server's message (with its detail)
/// when it sent one, else the client's.
pub fn describe(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => match db.detail() {
            Some(detail) => format!("{} ({detail})", db.message()),
            None => db.message().to_owned(),
        },
        None => match std::error::Error::source(e) {
            Some(source) => format!("{e}: {source}"),
            None => e.to_string(),
        },
    }
}

/// Runs `f` where the sync client may block: in place, or on a scoped
/// thread when this thread drives a tokio runtime (see the module doc).
pub(crate) fn off_runtime<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    if tokio::runtime::Handle::try_current().is_err() {
        return f();
    }
    std::thread::scope(|s| match s.spawn(f).join() {
        Ok(t) => t,
        Err(panic) => std::panic::resume_unwind(panic),
    })
}

/// One connection and the (redacted) URL its errors name.
pub(crate) struct Conn {
    /// Always `Some` until dropped (see `Drop`).
    client: Option<Client>,
    url: String,
    /// What the URL showed in place of a path (`Store::path`).
    shown: PathBuf,
}

impl Conn {
    fn connect(url: &str) -> Result<Conn> {
        let shown = redact(url);
        let client = off_runtime(|| Client::connect(url, NoTls))
            .map_err(|cause| StoreError::Postgres { url: shown.clone(), cause })?;
        Ok(Conn { client: Some(client), shown: PathBuf::from(&shown), url: shown })
    }

    fn client(&mut self) -> &mut Client {
        self.client.as_mut().expect("a connection until dropped")
    }

    /// Runs `f` on the client (off any runtime thread), naming the store
    /// in its error.
    pub(crate) fn run<T: Send>(&mut self, f: impl FnOnce(&mut Client) -> Result<T, postgres::Error> + Send) -> Result<T> {
        let client = self.client.as_mut().expect("a connection until dropped");
        off_runtime(move || f(client)).map_err(|cause| StoreError::Postgres { url: self.url.clone(), cause })
    }

    fn schema_error(&self, cause: super::schema::SchemaError) -> StoreError {
        StoreError::PostgresSchema { url: self.url.clone(), cause }
    }
}

impl Drop for Conn {
    /// Closing the connection blocks too (the client says goodbye to the
    /// server): off the runtime, like every call. A reader shared with
    /// fetch tasks is often dropped by one of them.
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            off_runtime(move || drop(client));
        }
    }
}

/// A connection for `&self` methods (the SQLite store's `Connection` is
/// usable through `&`; this one needs `&mut`).
pub(crate) struct Shared(Mutex<Conn>);

impl Shared {
    pub(crate) fn run<T: Send>(&self, f: impl FnOnce(&mut Client) -> Result<T, postgres::Error> + Send) -> Result<T> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).run(f)
    }
}

/// The open PostgreSQL store, holding the writer's advisory lock.
pub struct PgStore {
    pub(crate) db: Shared,
    url: String,
    shown: PathBuf,
    /// Retention bookkeeping, as in the SQLite store.
    pub(crate) prune_mark: Option<(i64, i64)>,
    /// The apply path's prepared statements (on `db`'s connection).
    pub(crate) statements: stories::Statements,
}

impl PgStore {
    /// Connects to `url`, takes the writer's lock (waiting up to
    /// `lock_wait`), and creates or migrates the schema.
    pub fn open(url: &str, lock_wait: Duration) -> Result<PgStore> {
        PgStore::open_version(url, lock_wait, schema::LATEST)
    }

    /// [`PgStore::open`], migrating only up to `version`.
    pub fn open_version(url: &str, lock_wait: Duration, version: u32) -> Result<PgStore> {
        let mut conn = Conn::connect(url)?;
        let start = Instant::now();
        loop {
            let got: bool = conn.run(|c| c.query_one("SELECT pg_try_advisory_lock($1)", &[&WRITER_LOCK]).map(|r| r.get(0)))?;
            if got {
                break;
            }
            if start.elapsed() >= lock_wait {
                return Err(StoreError::PostgresLocked { url: conn.url.clone(), waited: lock_wait });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let client = conn.client();
        match off_runtime(|| schema::migrate(client, version)) {
            Ok(()) => {}
            Err(schema::PgSchemaError::Postgres(cause)) => return Err(StoreError::Postgres { url: conn.url.clone(), cause }),
            Err(schema::PgSchemaError::Schema(cause)) => return Err(conn.schema_error(cause)),
        }
        let (url, shown) = (url.to_owned(), conn.shown.clone());
        Ok(PgStore { db: Shared(Mutex::new(conn)), url, shown, prune_mark: None, statements: Default::default() })
    }

    /// The URL without its password (in place of the SQLite file's path).
    pub fn path(&self) -> &Path {
        &self.shown
    }

    /// A second connection for readers on other threads.
    pub fn reader(&self) -> Result<PgReader> {
        PgReader::open(&self.url)
    }

    pub fn meta(&self, key: &str) -> Result<Option<String>> {
        let key = key.to_owned();
        self.db.run(move |c| Ok(c.query_opt("SELECT value FROM meta WHERE key = $1", &[&key])?.map(|r| r.get(0))))
    }

    pub fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        let (key, value) = (key.to_owned(), value.to_owned());
        self.db.run(move |c| {
            c.execute("INSERT INTO meta(key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value", &[&key, &value])
                .map(drop)
        })
    }

    pub fn record_run(&self, run: &RunRecord) -> Result<()> {
        let run = run.clone();
        self.db.run(move |c| {
            let mut tx = c.transaction()?;
            tx.execute(
                "INSERT INTO runs(started, finished, ok, summary) VALUES ($1, $2, $3, $4)",
                &[&run.started.timestamp(), &run.finished.timestamp(), &run.ok, &run.summary],
            )?;
            tx.execute("DELETE FROM runs WHERE pk <= (SELECT max(pk) FROM runs) - 1000", &[])?;
            tx.commit()
        })
    }

    pub fn last_run(&self) -> Result<Option<RunRecord>> {
        self.db.run(last_run)
    }
}

fn last_run(c: &mut Client) -> Result<Option<RunRecord>, postgres::Error> {
    let row = c.query_opt("SELECT started, finished, ok, summary FROM runs ORDER BY pk DESC LIMIT 1", &[])?;
    Ok(row.map(|r| RunRecord {
        started: super::stories::time(r.get(0)),
        finished: super::stories::time(r.get(1)),
        ok: r.get(2),
        summary: r.get(3),
    }))
}

/// Opens an existing store at this wirefeed's schema (readers, editors
/// and requesters never migrate).
fn open_latest(url: &str) -> Result<Conn> {
    let mut conn = Conn::connect(url)?;
    match conn.run(|c| Ok(schema::version(c)))? {
        Ok(Some(v)) if v == schema::LATEST => Ok(conn),
        Ok(Some(v)) if v > schema::LATEST => Err(conn.schema_error(super::schema::SchemaError::TooNew { found: v })),
        Ok(Some(v)) => Err(conn.schema_error(super::schema::SchemaError::Old { found: v })),
        Ok(None) => Err(conn.schema_error(super::schema::SchemaError::Old { found: 0 })),
        Err(cause) => Err(StoreError::Postgres { url: conn.url.clone(), cause }),
    }
}

/// Read access from any thread (one query at a time).
pub struct PgReader {
    pub(crate) db: Shared,
}

impl PgReader {
    pub fn open(url: &str) -> Result<PgReader> {
        Ok(PgReader { db: Shared(Mutex::new(open_latest(url)?)) })
    }

    pub fn last_run(&self) -> Result<Option<RunRecord>> {
        self.db.run(last_run)
    }
}

/// The store opened for takedowns (no writer's lock).
pub struct PgEditor {
    pub(crate) db: Shared,
}

impl PgEditor {
    pub fn open(url: &str) -> Result<PgEditor> {
        Ok(PgEditor { db: Shared(Mutex::new(open_latest(url)?)) })
    }
}

/// The asking side of `wirefeed fetch` (no writer's lock).
pub struct PgRequester {
    pub(crate) db: Shared,
}

impl PgRequester {
    pub fn open(url: &str) -> Result<PgRequester> {
        Ok(PgRequester { db: Shared(Mutex::new(open_latest(url)?)) })
    }
}
