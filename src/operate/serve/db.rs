//! `serve` on a PostgreSQL store: the files come from the store's
//! `published_files` table (`store::pg::files`), not from a folder.
//!
//! A thread of its own polls the store's files version every
//! [`POLL`] (one one-row query); when it moved, it reads the paths and
//! the rows written since the version it holds, builds their entries
//! (validators, compressed variants) and swaps the whole set in at once,
//! so a request never sees half of a publish. The ETag is the one stored
//! with the bytes and Last-Modified the time stored with them: every
//! `serve`, on any machine, answers the same. While the store cannot be
//! reached, the last set is served; that is logged once, and the thread
//! reconnects at the next poll.
//!
//! Polling rather than LISTEN/NOTIFY: as fast in practice (a new version
//! shows within [`POLL`]), with no notification lost across a reconnect
//! to care for.

use bytes::Bytes;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, RwLock, Weak};
use std::time::{Duration, UNIX_EPOCH};

use super::entry::{Entry, Stamp, entry, entry_tagged};
use crate::store::StoreError;
use crate::store::pg::files::{PgFiles, StoredFile};

/// How often the store's files version is read.
pub const POLL: Duration = Duration::from_millis(500);

/// How long [`DbFiles::start`] waits for the first set.
const FIRST_LOAD: Duration = Duration::from_secs(5);

type Set = HashMap<Box<str>, (i64, Arc<Entry>)>;

/// The published files of one PostgreSQL store, kept current.
pub(super) struct DbFiles {
    /// Path → (version that wrote it, entry).
    set: RwLock<Arc<Set>>,
}

impl DbFiles {
    /// Starts polling the store at `url`; returns once the first set is
    /// loaded (or the first try failed, or [`FIRST_LOAD`] passed: then
    /// requests get 404 until a poll succeeds).
    pub(super) fn start(url: String) -> Arc<DbFiles> {
        let files = Arc::new(DbFiles { set: RwLock::default() });
        let (tx, rx) = std::sync::mpsc::channel();
        let weak = Arc::downgrade(&files);
        let spawned = std::thread::Builder::new().name("serve-db".into()).spawn(move || poll(&url, weak, tx));
        match spawned {
            Ok(_) => {
                let _ = rx.recv_timeout(FIRST_LOAD);
            }
            Err(e) => tracing::error!("cannot start the thread that reads the store's files: {e}"),
        }
        files
    }

    pub(super) fn get(&self, key: &str) -> Option<Arc<Entry>> {
        self.set.read().unwrap_or_else(|e| e.into_inner()).get(key).map(|(_, e)| e.clone())
    }
}

/// Polls until the [`DbFiles`] is dropped (the server with it).
fn poll(url: &str, files: Weak<DbFiles>, first: std::sync::mpsc::Sender<()>) {
    let shown = crate::store::pg::redact(url);
    let mut conn: Option<PgFiles> = None;
    let mut seen: i64 = -1;
    let mut failing = false;
    loop {
        let Some(target) = files.upgrade() else { return };
        match refresh(url, &mut conn, seen, &target) {
            Ok(version) => {
                if failing {
                    tracing::warn!(store = %shown, "the store answers again: serving its files as of version {version}");
                    failing = false;
                }
                seen = version;
            }
            Err(e) => {
                if !failing {
                    tracing::error!(store = %shown, "cannot read the published files: {e}; serving the last ones, reconnecting");
                    failing = true;
                }
                conn = None;
            }
        }
        drop(target);
        let _ = first.send(());
        std::thread::sleep(POLL);
    }
}

/// Brings `target` to the store's current version if it moved past
/// `seen`; returns the version now held.
fn refresh(url: &str, conn: &mut Option<PgFiles>, seen: i64, target: &DbFiles) -> Result<i64, StoreError> {
    let db = match conn {
        Some(db) => db,
        None => conn.insert(PgFiles::open(url)?),
    };
    let version = db.version()?;
    if version == seen {
        return Ok(seen);
    }
    // A version that went back is another store (recreated, copied over):
    // everything is read again.
    let since = if version < seen { 0 } else { seen.max(0) };
    let snapshot = db.snapshot(since)?;
    let old = target.set.read().unwrap_or_else(|e| e.into_inner()).clone();
    let mut changed: HashMap<String, StoredFile> = snapshot.changed.into_iter().map(|f| (f.path.clone(), f)).collect();
    let mut set = Set::with_capacity(snapshot.paths.len());
    let mut missing = Vec::new();
    for (path, v) in snapshot.paths {
        if let Some(file) = changed.remove(&path) {
            set.insert(path.into(), (file.version, Arc::new(entry_of(file))));
        } else if let Some(kept) = old.get(path.as_str()).filter(|(held, _)| *held == v && since > 0) {
            set.insert(path.into(), kept.clone());
        } else {
            missing.push(path);
        }
    }
    // Rows older than `since` that this set lacks (none, unless an
    // earlier read was cut short): read on their own.
    for file in db.read(&missing)? {
        set.insert(file.path.clone().into(), (file.version, Arc::new(entry_of(file))));
    }
    *target.set.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(set);
    Ok(snapshot.version)
}

fn entry_of(file: StoredFile) -> Entry {
    let len = file.body.len() as u64;
    let stamp = Stamp { dev: 0, ino: 0, len, mtime: UNIX_EPOCH + Duration::from_secs(file.modified.max(0) as u64) };
    let path = Path::new(&file.path);
    // The stored tag is ours (hex); anything else is made again from the
    // bytes, which gives the same tag everywhere too.
    if !file.etag.is_empty() && file.etag.bytes().all(|b| b.is_ascii_hexdigit()) {
        entry_tagged(path, Bytes::from(file.body), stamp, &file.etag)
    } else {
        entry(path, Bytes::from(file.body), stamp)
    }
}
