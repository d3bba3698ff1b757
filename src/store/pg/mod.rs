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
use std::time::Duration;

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

/// Whether `e` may pass if the call is tried again: the connection was
/// lost (the next call connects again, where the handle may), the server
/// is shutting down or out of resources (a full disk: SQLSTATE class 53),
/// or the transaction lost a deadlock or serialization race (40001,
/// 40P01), or a race for a unique key (23505: two fleet workers storing
/// the same new story from two sources; tried again, the second finds it
/// stored and records a duplicate); or a prepared statement is unknown (26000: the call that
/// connected again still held statements of the old connection; the next
/// one prepares them anew). Codes per PostgreSQL's Appendix A, "Error
/// Codes".
pub fn is_transient(e: &postgres::Error) -> bool {
    match e.code() {
        Some(code) => {
            let code = code.code();
            ["08", "53", "57P", "40001", "40P01", "25006", "26000", "23505"].iter().any(|p| code.starts_with(p))
        }
        None => e.is_closed() || std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>()),
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
    /// The URL as given (with its password), to connect again.
    secret: String,
    /// Connect again when the connection was lost (see [`Conn::run`]):
    /// for handles that hold nothing on the session (fleet workers,
    /// readers, leases); never for a store holding the writer's session
    /// lock, which a new connection would not hold.
    reconnect: bool,
    /// Connections made so far: prepared statements belong to one.
    generation: u64,
}

impl Conn {
    fn connect(url: &str) -> Result<Conn> {
        let shown = redact(url);
        let client = off_runtime(|| Client::connect(url, NoTls)).map_err(|cause| StoreError::Postgres { url: shown.clone(), cause })?;
        Ok(Conn { client: Some(client), shown: PathBuf::from(&shown), url: shown, secret: url.to_owned(), reconnect: false, generation: 0 })
    }

    /// Runs `f` on the client (off any runtime thread), naming the store
    /// in its error.
    ///
    /// A connection found closed (the server restarted, the network
    /// dropped it) is made again first when this handle may reconnect;
    /// the call that found it lost failed with an error that
    /// [`StoreError::is_refused_write`] calls transient, so it is retried.
    pub(crate) fn run<T: Send>(&mut self, f: impl FnOnce(&mut Client) -> Result<T, postgres::Error> + Send) -> Result<T> {
        if self.reconnect && self.client.as_ref().is_some_and(Client::is_closed) {
            let secret = &self.secret;
            let client =
                off_runtime(|| Client::connect(secret, NoTls)).map_err(|cause| StoreError::Postgres { url: self.url.clone(), cause })?;
            if let Some(old) = self.client.replace(client) {
                off_runtime(move || drop(old));
            }
            self.generation += 1;
            tracing::warn!(store = %self.url, "connected to the store again");
        }
        let client = self.client.as_mut().expect("a connection until dropped");
        off_runtime(move || f(client)).map_err(|cause| StoreError::Postgres { url: self.url.clone(), cause })
    }

    /// Creates or migrates the schema up to `version`.
    fn migrate(&mut self, version: u32) -> Result<()> {
        let client = self.client.as_mut().expect("a connection until dropped");
        match off_runtime(|| schema::migrate(client, version)) {
            Ok(()) => Ok(()),
            Err(schema::PgSchemaError::Postgres(cause)) => Err(StoreError::Postgres { url: self.url.clone(), cause }),
            Err(schema::PgSchemaError::Schema(cause)) => Err(self.schema_error(cause)),
        }
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
pub(crate) struct Shared {
    conn: Mutex<Conn>,
    /// A fleet worker's store ([`PgStore::open_shared`]): each call takes
    /// the writer's lock in shared mode for its length, so that workers
    /// write at once but never while a `build` (or `store copy`) holds it
    /// exclusively.
    lock_each: bool,
}

impl Shared {
    /// A handle that holds nothing on the session: it reconnects.
    pub(crate) fn new(mut conn: Conn) -> Shared {
        conn.reconnect = true;
        Shared { conn: Mutex::new(conn), lock_each: false }
    }

    /// The connection's generation (see [`Conn::generation`]).
    pub(crate) fn generation(&self) -> u64 {
        self.conn.lock().unwrap_or_else(|p| p.into_inner()).generation
    }

    pub(crate) fn run<T: Send>(&self, f: impl FnOnce(&mut Client) -> Result<T, postgres::Error> + Send) -> Result<T> {
        let mut conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        if !self.lock_each {
            return conn.run(f);
        }
        // Session-level rather than inside the call's transaction: the
        // call may run several transactions (or none), and a lock that
        // outlived an error would hold off a `build` for good, so it is
        // let go whatever `f` returned; a dead connection lets go of it
        // anyway.
        conn.run(|c| c.execute("SELECT pg_advisory_lock_shared($1)", &[&WRITER_LOCK]))?;
        let result = conn.run(f);
        let unlocked = conn.run(|c| c.execute("SELECT pg_advisory_unlock_shared($1)", &[&WRITER_LOCK]));
        let value = result?;
        unlocked?;
        Ok(value)
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
    /// The connection generation `statements` were prepared on.
    pub(crate) statements_of: u64,
    /// A fleet worker's id: storing a source's state lets go of this
    /// worker's lease on it in the same statement (`pg::leases`).
    pub(crate) lease_owner: Option<String>,
}

impl PgStore {
    /// The prepared statements, emptied when the connection was made
    /// again since they were prepared.
    pub(crate) fn statements(&mut self) -> &mut stories::Statements {
        let generation = self.db.generation();
        if generation != self.statements_of {
            self.statements.clear();
            self.statements_of = generation;
        }
        &mut self.statements
    }

    /// Connects to `url`, takes the writer's lock (waiting up to
    /// `lock_wait`), and creates or migrates the schema.
    pub fn open(url: &str, lock_wait: Duration) -> Result<PgStore> {
        PgStore::open_version(url, lock_wait, schema::LATEST)
    }

    /// The store for one worker of a fleet (`wirefeed run` on PostgreSQL):
    /// connects, creates or migrates the schema, and holds no lock
    /// between calls: each call takes the writer's lock in shared mode
    /// for its length (waiting for a `build` that holds it exclusively).
    /// Workers write at once, each in its own transactions, on rows of
    /// the sources it holds by lease (`pg::leases`); where two meet (the
    /// same story from two sources, retention), PostgreSQL's row locks
    /// order them, and a transaction that loses a race (a unique key
    /// taken meanwhile, a deadlock) fails as transient and is tried again.
    ///
    /// `owner`, the worker's lease id: storing a source's state then also
    /// lets go of its lease (one statement, one row version, where a
    /// separate release would write the row twice).
    pub fn open_shared(url: &str, owner: Option<&str>) -> Result<PgStore> {
        let mut conn = Conn::connect(url)?;
        conn.migrate(schema::LATEST)?;
        let (url, shown) = (url.to_owned(), conn.shown.clone());
        conn.reconnect = true;
        let db = Shared { conn: Mutex::new(conn), lock_each: true };
        Ok(PgStore {
            db,
            url,
            shown,
            prune_mark: None,
            statements: Default::default(),
            statements_of: 0,
            lease_owner: owner.map(str::to_owned),
        })
    }

    /// [`PgStore::open`], migrating only up to `version`.
    pub fn open_version(url: &str, lock_wait: Duration, version: u32) -> Result<PgStore> {
        let mut conn = Conn::connect(url)?;
        // Waiting in the server's queue, not retrying: fleet workers take
        // the lock shared many times a second, so a retried try would
        // rarely find it free; a waiting exclusive request holds back new
        // shared ones, and `lock_timeout` bounds the wait.
        let wait_ms = lock_wait.as_millis().max(1) as i64;
        let got = conn.run(move |c| {
            c.batch_execute(&format!("SET lock_timeout = {wait_ms}"))?;
            let got = match c.execute("SELECT pg_advisory_lock($1)", &[&WRITER_LOCK]) {
                Ok(_) => true,
                Err(e) if e.code() == Some(&postgres::error::SqlState::LOCK_NOT_AVAILABLE) => false,
                Err(e) => return Err(e),
            };
            c.batch_execute("RESET lock_timeout")?;
            Ok(got)
        })?;
        if !got {
            return Err(StoreError::PostgresLocked { url: conn.url.clone(), waited: lock_wait });
        }
        conn.migrate(version)?;
        let (url, shown) = (url.to_owned(), conn.shown.clone());
        let db = Shared { conn: Mutex::new(conn), lock_each: false };
        Ok(PgStore { db, url, shown, prune_mark: None, statements: Default::default(), statements_of: 0, lease_owner: None })
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
            c.execute(
                "INSERT INTO meta(key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                &[&key, &value],
            )
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
        Ok(Some(v)) if v > schema::LATEST => Err(conn.schema_error(super::schema::SchemaError::TooNewPostgres { found: v })),
        Ok(Some(v)) => Err(conn.schema_error(super::schema::SchemaError::OldPostgres { found: v })),
        Ok(None) => Err(conn.schema_error(super::schema::SchemaError::Empty)),
        Err(cause) => Err(StoreError::Postgres { url: conn.url.clone(), cause }),
    }
}

/// Read access from any thread (one query at a time).
pub struct PgReader {
    pub(crate) db: Shared,
}

impl PgReader {
    pub fn open(url: &str) -> Result<PgReader> {
        Ok(PgReader { db: Shared::new(open_latest(url)?) })
    }

    pub fn last_run(&self) -> Result<Option<RunRecord>> {
        self.db.run(last_run)
    }

    /// The fleet of `run` workers (see [`leases::fleet_status`]).
    pub fn fleet_status(&self, overdue_after: Duration) -> Result<leases::FleetStatus> {
        self.db.run(move |c| leases::fleet_status(c, chrono::Utc::now(), leases::ALIVE_WITHIN, overdue_after))
    }
}

/// The store opened for takedowns (no writer's lock).
pub struct PgEditor {
    pub(crate) db: Shared,
}

impl PgEditor {
    pub fn open(url: &str) -> Result<PgEditor> {
        Ok(PgEditor { db: Shared::new(open_latest(url)?) })
    }
}

/// The asking side of `wirefeed fetch` (no writer's lock).
pub struct PgRequester {
    pub(crate) db: Shared,
}

impl PgRequester {
    pub fn open(url: &str) -> Result<PgRequester> {
        Ok(PgRequester { db: Shared::new(open_latest(url)?) })
    }
}
