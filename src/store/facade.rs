//! The store's one interface over its two backends: SQLite (a file, the
//! embedded default) and PostgreSQL (`[store] url`).
//!
//! Why an enum and not a trait object: there are exactly two backends,
//! both compiled in, and the interface is wide (about fifty methods, some
//! generic, like [`Store::retopic`], which a `dyn` trait cannot have).
//! A `match` per call is free next to any query; the SQLite path keeps
//! its own concrete code, statement cache and transactions untouched
//! (no boxing, no extra allocation per row, no extra round trip), so its
//! speed is what it was. Callers keep the names they had (`Store`,
//! `Reader`, `Editor`, `Requester`) and never learn which backend they
//! hold. A third backend would be a third variant: the compiler then
//! lists every method that must learn it.

use chrono::{DateTime, Utc};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::decisions::Recorded;
use super::explain::Found;
use super::pg::{PgEditor, PgReader, PgRequester, PgStore};
use super::requests::{FetchAnswer, FetchRequest, RequestState, SqliteRequester};
use super::sources::{SourceKind, SourceState, SourceSummary};
use super::stories::{Batch, BatchOutcome, FileStoryRow, MergedRules, Retention, StoredStory};
use super::takedowns::{SqliteEditor, Takedown, TakedownError};
use super::{Result, RunRecord, SqliteReader, SqliteStore};
use crate::config::Config;
use crate::model::Story;

/// The environment variable that selects a PostgreSQL store, over
/// `[store] url` and `[store] path`.
pub const STORE_URL_VAR: &str = "WIREFEED_STORE_URL";

/// Where a store lives: a SQLite file or a PostgreSQL database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    Sqlite(PathBuf),
    /// A `postgres://` or `postgresql://` URL (as libpq takes it).
    Postgres(String),
}

impl Location {
    /// A command-line argument: a `postgres://`/`postgresql://` URL, else
    /// a file path.
    pub fn parse(text: &str) -> Location {
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            Location::Postgres(text.to_owned())
        } else {
            Location::Sqlite(PathBuf::from(text))
        }
    }

    /// The store of `config`: `WIREFEED_STORE_URL` if set and not empty,
    /// else `[store] url`, else the SQLite file at `[store] path`.
    pub fn of(config: &Config) -> Location {
        match std::env::var(STORE_URL_VAR).ok().filter(|u| !u.trim().is_empty()) {
            Some(url) => Location::Postgres(url.trim().to_owned()),
            None => match &config.store.url {
                Some(url) => Location::Postgres(url.clone()),
                None => Location::Sqlite(config.store.path.clone()),
            },
        }
    }
}

impl From<PathBuf> for Location {
    fn from(path: PathBuf) -> Location {
        Location::Sqlite(path)
    }
}

impl std::fmt::Display for Location {
    /// The path, or the URL without its password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Sqlite(p) => write!(f, "{}", p.display()),
            Location::Postgres(url) => f.write_str(&super::pg::redact(url)),
        }
    }
}

/// Calls the same method on whichever backend `$self` holds.
macro_rules! dispatch {
    ($self:expr, $b:ident => $call:expr) => {
        match $self {
            Self::Sqlite($b) => $call,
            Self::Postgres($b) => $call,
        }
    };
}

/// The open store, holding the writer's lock (SQLite: a file lock;
/// PostgreSQL: a session advisory lock).
pub enum Store {
    Sqlite(SqliteStore),
    /// Boxed: a PostgreSQL client is several times a SQLite handle's size.
    Postgres(Box<PgStore>),
}

impl Store {
    /// Opens the store of `config` (see [`Location::of`]), creating it if
    /// needed, and migrates it to the latest schema.
    pub fn open(config: &Config) -> Result<Store> {
        Store::open_location(&Location::of(config), config.store.lock_timeout)
    }

    /// Opens (or creates) the store at `location`, waiting up to
    /// `lock_wait` for another process using it.
    pub fn open_location(location: &Location, lock_wait: Duration) -> Result<Store> {
        match location {
            Location::Sqlite(path) => Store::open_at(path, lock_wait),
            Location::Postgres(url) => PgStore::open(url, lock_wait).map(|s| Store::Postgres(Box::new(s))),
        }
    }

    /// Opens the store of `config` for one `wirefeed run` worker: on
    /// PostgreSQL without holding the writer's lock between calls (see
    /// [`PgStore::open_shared`]), so that any number of workers share it;
    /// on SQLite as [`Store::open`] (one process at a time).
    ///
    /// `lease_owner`: the worker's id in the fleet's leases; storing a
    /// source's state then lets go of this worker's lease on it.
    pub fn open_worker(config: &Config, lease_owner: Option<&str>) -> Result<Store> {
        match Location::of(config) {
            Location::Postgres(url) => PgStore::open_shared(&url, lease_owner).map(|s| Store::Postgres(Box::new(s))),
            location => Store::open_location(&location, config.store.lock_timeout),
        }
    }

    /// Opens (or creates) the SQLite store at `path`.
    pub fn open_at(path: &Path, lock_wait: Duration) -> Result<Store> {
        SqliteStore::open_at(path, lock_wait).map(Store::Sqlite)
    }

    /// [`Store::open_at`], migrating only up to `version` (for tests of
    /// SQLite migrations).
    pub fn open_version(path: &Path, lock_wait: Duration, version: u32) -> Result<Store> {
        SqliteStore::open_version(path, lock_wait, version).map(Store::Sqlite)
    }

    /// The SQLite file, or for PostgreSQL the URL without its password
    /// (for messages).
    pub fn path(&self) -> &Path {
        dispatch!(self, s => s.path())
    }

    /// A second connection that tasks on other threads share.
    pub fn reader(&self) -> Result<Reader> {
        match self {
            Store::Sqlite(s) => s.reader().map(Reader::Sqlite),
            Store::Postgres(s) => s.reader().map(|r| Reader::Postgres(Box::new(r))),
        }
    }

    pub fn meta(&self, key: &str) -> Result<Option<String>> {
        dispatch!(self, s => s.meta(key))
    }

    pub fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        dispatch!(self, s => s.set_meta(key, value))
    }

    /// Records a finished run (for `/healthz` and `wirefeed sources`).
    pub fn record_run(&self, run: &RunRecord) -> Result<()> {
        dispatch!(self, s => s.record_run(run))
    }

    pub fn last_run(&self) -> Result<Option<RunRecord>> {
        dispatch!(self, s => s.last_run())
    }

    /// Every saved source by name, with its row key.
    pub fn sources(&self) -> Result<HashMap<String, (i64, SourceState)>> {
        dispatch!(self, s => s.sources())
    }

    /// The row of a source, created on first sight.
    pub fn source_pk(&self, name: &str, kind: SourceKind, url: &str) -> Result<i64> {
        dispatch!(self, s => s.source_pk(name, kind, url))
    }

    /// The name a source's ids are scoped by (see the SQLite backend's
    /// `source_scope`): the one it had when first stored.
    pub fn source_scope(&self, pk: i64, default: &str) -> Result<String> {
        dispatch!(self, s => s.source_scope(pk, default))
    }

    /// Renames stored feed sources whose config entry was renamed; returns
    /// (old, new) names.
    pub fn adopt_renamed_sources(&self, configured: &[(&str, &str)]) -> Result<Vec<(String, String)>> {
        dispatch!(self, s => s.adopt_renamed_sources(configured))
    }

    /// Deletes sources no longer configured (and their stories); returns
    /// each one's name and story count.
    pub fn forget_sources_except(&self, configured: &HashSet<String>, keep_files: bool) -> Result<Vec<(String, u64)>> {
        dispatch!(self, s => s.forget_sources_except(configured, keep_files))
    }

    /// Every source with its story count, by name.
    pub fn source_summaries(&self) -> Result<Vec<SourceSummary>> {
        dispatch!(self, s => s.source_summaries())
    }

    /// Applies one source's turn in one transaction.
    pub fn apply(&mut self, batch: Batch<'_>, retention: &Retention, now: DateTime<Utc>) -> Result<BatchOutcome> {
        dispatch!(self, s => s.apply(batch, retention, now))
    }

    /// Applies several sources' turns in one transaction, all or nothing;
    /// outcomes in the order of `batches`.
    pub fn apply_all(&mut self, batches: Vec<Batch<'_>>, retention: &Retention, now: DateTime<Utc>) -> Result<Vec<BatchOutcome>> {
        dispatch!(self, s => s.apply_all(batches, retention, now))
    }

    /// Saves the state of sources that brought no entries, in one
    /// transaction; returns each one's story count.
    pub fn save_states(&mut self, states: &[(i64, &SourceState)]) -> Result<Vec<usize>> {
        dispatch!(self, s => s.save_states(states))
    }

    /// Gives every stored story the topics `topics` decides for it;
    /// returns how many stories changed.
    pub fn retopic(&mut self, topics: impl Fn(&Story) -> Vec<String>) -> Result<usize> {
        dispatch!(self, s => s.retopic(topics))
    }

    /// The stories a `[[stories]]` folder's source holds.
    pub fn file_stories(&self, source_pk: i64) -> Result<Vec<FileStoryRow>> {
        dispatch!(self, s => s.file_stories(source_pk))
    }

    /// The newest `limit` stories of a channel (`None`: the merged one).
    pub fn channel(&self, topic: Option<&str>, limit: usize) -> Result<Vec<StoredStory>> {
        dispatch!(self, s => s.channel(topic, limit))
    }

    /// The merged channel as `rules` shape it.
    pub fn merged_channel(&self, limit: usize, rules: &MergedRules) -> Result<Vec<StoredStory>> {
        dispatch!(self, s => s.merged_channel(limit, rules))
    }

    /// Digest of what a channel file last published, if recorded.
    pub fn channel_digest(&self, path: &str) -> Result<Option<u64>> {
        dispatch!(self, s => s.channel_digest(path))
    }

    /// Links of the newsroom's own stories still published.
    pub fn own_story_links(&self) -> Result<Vec<String>> {
        dispatch!(self, s => s.own_story_links())
    }

    /// Every channel path a digest is recorded for.
    pub fn channel_paths(&self) -> Result<Vec<String>> {
        dispatch!(self, s => s.channel_paths())
    }

    pub fn forget_channel(&self, path: &str) -> Result<()> {
        dispatch!(self, s => s.forget_channel(path))
    }

    pub fn set_channel_digest(&self, path: &str, digest: u64) -> Result<()> {
        dispatch!(self, s => s.set_channel_digest(path, digest))
    }

    pub fn story_count(&self) -> Result<u64> {
        dispatch!(self, s => s.story_count())
    }

    /// Requests no run has taken yet, oldest first; they are marked taken.
    pub fn take_requests(&self, now: DateTime<Utc>) -> Result<Vec<FetchRequest>> {
        dispatch!(self, s => s.take_requests(now))
    }

    /// Answers a request; requests answered over a day ago are deleted.
    pub fn answer_request(&self, pk: i64, answer: &[FetchAnswer], now: DateTime<Utc>) -> Result<()> {
        dispatch!(self, s => s.answer_request(pk, answer, now))
    }

    /// Changes so far to the takedowns (any number that moves on each).
    pub fn takedowns_version(&self) -> Result<Option<String>> {
        dispatch!(self, s => s.takedowns_version())
    }

    /// Every takedown, newest first.
    pub fn takedowns(&self) -> Result<Vec<Takedown>> {
        dispatch!(self, s => s.takedowns())
    }
}

/// Read access from any thread (one query at a time per reader).
pub enum Reader {
    Sqlite(SqliteReader),
    /// Boxed: a PostgreSQL client is several times a SQLite handle's size.
    Postgres(Box<PgReader>),
}

impl Reader {
    /// Opens a SQLite store read-only, without the writer's lock.
    pub fn open(path: &Path) -> Result<Reader> {
        SqliteReader::open(path).map(Reader::Sqlite)
    }

    /// Opens the store at `location` for reading (it must exist, at this
    /// wirefeed's schema).
    pub fn open_location(location: &Location) -> Result<Reader> {
        match location {
            Location::Sqlite(path) => Reader::open(path),
            Location::Postgres(url) => PgReader::open(url).map(|r| Reader::Postgres(Box::new(r))),
        }
    }

    pub fn last_run(&self) -> Result<Option<RunRecord>> {
        dispatch!(self, r => r.last_run())
    }

    /// On PostgreSQL, the fleet of `run` workers: live workers, leases
    /// held, sources due over `overdue_after` that none has claimed;
    /// `None` on SQLite (one process, no fleet).
    pub fn fleet_status(&self, overdue_after: Duration) -> Result<Option<super::pg::leases::FleetStatus>> {
        match self {
            Self::Sqlite(_) => Ok(None),
            Self::Postgres(r) => r.fleet_status(overdue_after).map(Some),
        }
    }

    pub fn source_summaries(&self) -> Result<Vec<SourceSummary>> {
        dispatch!(self, r => r.source_summaries())
    }

    /// Hashes of the entries stored (or let go by retention) for a source.
    pub fn known_hashes(&self, source_pk: i64) -> Result<HashSet<u64>> {
        dispatch!(self, r => r.known_hashes(source_pk))
    }

    pub fn channel(&self, topic: Option<&str>, limit: usize) -> Result<Vec<StoredStory>> {
        dispatch!(self, r => r.channel(topic, limit))
    }

    pub fn story_count(&self) -> Result<u64> {
        dispatch!(self, r => r.story_count())
    }

    /// Decisions by entry id, canonical link, or title words; newest first.
    pub fn find_decisions(&self, needle: &str, limit: usize) -> Result<Vec<Recorded>> {
        dispatch!(self, r => r.find_decisions(needle, limit))
    }

    /// The copies story `id` absorbed, newest first.
    pub fn absorbed(&self, id: &str, limit: usize) -> Result<Vec<Recorded>> {
        dispatch!(self, r => r.absorbed(id, limit))
    }

    /// Stories by id, canonical link, or title words; newest first.
    pub fn find_stories(&self, needle: &str, limit: usize) -> Result<Vec<Found>> {
        dispatch!(self, r => r.find_stories(needle, limit))
    }

    /// The 1-based position of story `pk` in a channel, if it shows it.
    pub fn rank(&self, pk: i64, topic: Option<&str>, merged: &MergedRules) -> Result<Option<usize>> {
        dispatch!(self, r => r.rank(pk, topic, merged))
    }

    /// The takedown that hides a story with this id or canonical link.
    pub fn takedown_for(&self, id: &str, canonical: Option<&str>) -> Result<Option<Takedown>> {
        dispatch!(self, r => r.takedown_for(id, canonical))
    }
}

/// The store, opened for takedowns (without the writer's lock).
pub enum Editor {
    Sqlite(SqliteEditor),
    /// Boxed: a PostgreSQL client is several times a SQLite handle's size.
    Postgres(Box<PgEditor>),
}

impl Editor {
    /// Opens an existing SQLite store at the schema this wirefeed writes.
    pub fn open(path: &Path) -> Result<Editor> {
        SqliteEditor::open(path).map(Editor::Sqlite)
    }

    pub fn open_location(location: &Location) -> Result<Editor> {
        match location {
            Location::Sqlite(path) => Editor::open(path),
            Location::Postgres(url) => PgEditor::open(url).map(|e| Editor::Postgres(Box::new(e))),
        }
    }

    /// Takes down the story with this id or link.
    pub fn hide(&mut self, target: &str, reason: Option<&str>, now: DateTime<Utc>) -> Result<Takedown, TakedownError> {
        dispatch!(self, e => e.hide(target, reason, now))
    }

    /// Puts a taken-down story back; returns what was lifted.
    pub fn unhide(&mut self, target: &str) -> Result<Vec<Takedown>, TakedownError> {
        dispatch!(self, e => e.unhide(target))
    }

    /// Every takedown, newest first.
    pub fn list(&self) -> Result<Vec<Takedown>> {
        dispatch!(self, e => e.list())
    }
}

/// The asking side of `wirefeed fetch` beside a running `run`.
pub enum Requester {
    Sqlite(SqliteRequester),
    /// Boxed: a PostgreSQL client is several times a SQLite handle's size.
    Postgres(Box<PgRequester>),
}

impl Requester {
    /// Opens the SQLite store at `path` to ask its run.
    pub fn open(path: &Path) -> Result<Requester> {
        SqliteRequester::open(path).map(Requester::Sqlite)
    }

    pub fn open_location(location: &Location) -> Result<Requester> {
        match location {
            Location::Sqlite(path) => Requester::open(path),
            Location::Postgres(url) => PgRequester::open(url).map(|r| Requester::Postgres(Box::new(r))),
        }
    }

    /// Asks for `sources` (empty: all) to be fetched; returns the request.
    pub fn ask(&self, sources: &[String], now: DateTime<Utc>) -> Result<i64> {
        dispatch!(self, r => r.ask(sources, now))
    }

    pub fn state(&self, pk: i64) -> Result<RequestState> {
        dispatch!(self, r => r.state(pk))
    }

    /// Withdraws a request no run has taken; false if one already has.
    pub fn withdraw(&self, pk: i64) -> Result<bool> {
        dispatch!(self, r => r.withdraw(pk))
    }
}
