//! What wirefeed remembers between runs about each external source: HTTP
//! validators, Retry-After, permanent moves, a disabled flag, the first
//! time each story was seen, and the stories of its last good fetch (so a
//! 304 or a failed fetch still publishes them).
//!
//! Kept in one JSON file, `.wirefeed/state.json` beside the config, written
//! atomically. The SQLite store (a later step) takes this over.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::ingest::fetch::Validators;
use crate::model::Story;

pub const STATE_VERSION: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("{path}: cannot read state: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path}: state file is corrupt ({message}); it was left as is: move it away to start afresh")]
    Corrupt { path: PathBuf, message: String },
    #[error("{path}: written by a newer wirefeed (state version {found}, this one reads {STATE_VERSION})")]
    TooNew { path: PathBuf, found: u32 },
    #[error("{path}: cannot write state: {source}")]
    Write { path: PathBuf, source: std::io::Error },
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct State {
    pub version: u32,
    /// By source name.
    pub sources: BTreeMap<String, SourceState>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct SourceState {
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

pub fn state_path(config: &Config) -> PathBuf {
    config.root().join(".wirefeed").join("state.json")
}

impl State {
    pub fn load(path: &Path) -> Result<State, StateError> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(State { version: STATE_VERSION, ..Default::default() }),
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

    /// Streams the state into a temporary file and renames it over the old
    /// one: never a half-written state, and no second copy in memory.
    pub fn save(&self, path: &Path) -> Result<(), StateError> {
        crate::publish::write::write_atomic_with(path, |w| serde_json::to_writer(w, self).map_err(std::io::Error::other))
            .map_err(|source| StateError::Write { path: path.to_owned(), source })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_file_is_empty_state_and_corrupt_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        assert!(State::load(&path).unwrap().sources.is_empty());
        std::fs::write(&path, b"{\"version\": 1, \"sources\": [").unwrap();
        let err = State::load(&path).unwrap_err().to_string();
        assert!(err.contains("corrupt") && err.contains("state.json"), "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), b"{\"version\": 1, \"sources\": [");
        std::fs::write(&path, b"{\"version\": 99, \"sources\": {}}").unwrap();
        assert!(State::load(&path).unwrap_err().to_string().contains("newer wirefeed"));
    }

    #[test]
    fn round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x/state.json");
        let mut s = State { version: STATE_VERSION, ..Default::default() };
        s.sources.insert("a".into(), SourceState { url: "http://x/".into(), validators: Validators { etag: Some("\"e\"".into()), last_modified: None }, ..Default::default() });
        s.save(&path).unwrap();
        assert_eq!(State::load(&path).unwrap().sources, s.sources);
    }
}
