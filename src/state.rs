//! What wirefeed remembers between runs about each external source: HTTP
//! validators, Retry-After, permanent moves, a disabled flag, the first
//! time each story was seen, and the stories of its last good fetch (so a
//! 304 or a failed fetch still publishes them).
//!
//! One JSON file per source under `.wirefeed/sources/` beside the config,
//! each replaced atomically by its own source's task, so a run holds one
//! source's stories in memory at a time, not all of them. The SQLite store
//! (a later step) takes this over.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::ingest::fetch::Validators;
use crate::model::Story;
use crate::model::text::slugify;

pub const STATE_VERSION: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("{path}: cannot read state: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path}: state file is corrupt ({message}); it was left as is: move it away to start this source afresh")]
    Corrupt { path: PathBuf, message: String },
    #[error("{path}: written by a newer wirefeed (state version {found}, this one reads {STATE_VERSION})")]
    TooNew { path: PathBuf, found: u32 },
    #[error("{path}: cannot write state: {source}")]
    Write { path: PathBuf, source: std::io::Error },
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct SourceState {
    pub version: u32,
    /// The configured URL this state belongs to; a changed URL starts afresh.
    pub url: String,
    pub validators: Validators,
    pub retry_until: Option<DateTime<Utc>>,
    /// Target of a permanent redirect: fetched instead of `url` from now on.
    pub moved_to: Option<String>,
    /// Why the source is no longer fetched (410 Gone).
    pub disabled: Option<String>,
    pub last_fetch: Option<DateTime<Utc>>,
    pub last_status: Option<String>,
    pub last_error: Option<String>,
    /// Story id → when it was first seen: the stable date of undated entries.
    pub first_seen: BTreeMap<String, DateTime<Utc>>,
    /// The stories of the last good fetch, with the hash of their raw entry.
    pub stories: Vec<KeptStory>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct KeptStory {
    /// xxh3 of the entry as parsed: an equal hash means the entry did not
    /// change, so its normalized (sanitized) form is reused.
    pub hash: u64,
    pub story: Story,
}

/// The folder of the per-source state files.
pub fn state_dir(config: &Config) -> PathBuf {
    config.root().join(".wirefeed").join("sources")
}

/// A source's state file: a readable slug of its name plus a hash of the
/// exact name, so names that slug alike do not collide.
pub fn source_state_path(dir: &Path, name: &str) -> PathBuf {
    let hash = xxhash_rust::xxh3::xxh3_64(name.as_bytes()) as u32;
    let slug: String = slugify(name).chars().take(40).collect();
    dir.join(format!("{slug}-{hash:08x}.json"))
}

impl SourceState {
    /// The saved state, or a fresh one when there is none yet.
    pub fn load(path: &Path) -> Result<SourceState, StateError> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(SourceState { version: STATE_VERSION, ..Default::default() }),
            Err(source) => return Err(StateError::Read { path: path.to_owned(), source }),
        };
        /// Only the version, so a newer format is named as such rather
        /// than reported as corrupt.
        #[derive(Deserialize)]
        struct Version {
            version: u32,
        }
        match serde_json::from_slice::<Version>(&bytes) {
            Ok(v) if v.version > STATE_VERSION => return Err(StateError::TooNew { path: path.to_owned(), found: v.version }),
            _ => {}
        }
        serde_json::from_slice(&bytes).map_err(|e| StateError::Corrupt { path: path.to_owned(), message: e.to_string() })
    }

    /// Replaces the file in one rename: the old state or the new one, never
    /// half of either.
    pub fn save(&mut self, path: &Path) -> Result<(), StateError> {
        self.version = STATE_VERSION;
        use crate::publish::write::{Durability, write_atomic_with};
        write_atomic_with(path, Durability::ProcessCrash, |w| serde_json::to_writer(w, self).map_err(std::io::Error::other))
            .map_err(|source| StateError::Write { path: path.to_owned(), source })
    }
}

/// Removes the state of sources no longer in the config.
pub fn forget_other_sources(dir: &Path, keep: &[PathBuf]) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let p = e.path();
        if p.extension().is_some_and(|x| x == "json") && !keep.contains(&p) {
            tracing::info!(path = %p.display(), "removing the state of a source no longer configured");
            let _ = std::fs::remove_file(&p);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_file_is_fresh_state_and_corrupt_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        assert!(SourceState::load(&path).unwrap().stories.is_empty());
        std::fs::write(&path, b"{\"version\": 1, \"stories\": [").unwrap();
        let err = SourceState::load(&path).unwrap_err().to_string();
        assert!(err.contains("corrupt") && err.contains("s.json"), "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), b"{\"version\": 1, \"stories\": [");
        std::fs::write(&path, b"{\"version\": 99}").unwrap();
        assert!(SourceState::load(&path).unwrap_err().to_string().contains("newer wirefeed"));
    }

    #[test]
    fn round_trips_and_names_do_not_collide() {
        let dir = tempfile::tempdir().unwrap();
        let path = source_state_path(&dir.path().join("x"), "Wire A");
        assert_ne!(path, source_state_path(&dir.path().join("x"), "wire-a"));
        let mut s = SourceState { url: "http://x/".into(), validators: Validators { etag: Some("\"e\"".into()), last_modified: None }, ..Default::default() };
        s.save(&path).unwrap();
        assert_eq!(SourceState::load(&path).unwrap(), s);
    }
}
