//! What wirefeed remembers between runs about each external source: HTTP
//! validators, Retry-After, permanent moves, a disabled flag, the first
//! time each story was seen, and the stories of its last good fetch (so a
//! 304 or a failed fetch still publishes them).
//!
//! One JSON-lines file, `.wirefeed/sources.jsonl` beside the config: a run
//! reads each source's line when that source's turn comes and writes the
//! new line when it is done, so it holds one source's stories at a time,
//! not all of them; the new file replaces the old in one rename. The SQLite
//! store (a later step) takes this over.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::ingest::fetch::Validators;
use crate::model::Story;

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
#[serde(default)]
pub struct SourceState {
    pub version: u32,
    /// The configured URL this state belongs to; a changed URL starts afresh.
    pub url: String,
    pub validators: Validators,
    pub retry_until: Option<DateTime<Utc>>,
    /// Target of a permanent redirect: fetched instead of `url` from now on.
    pub moved_to: Option<String>,
    /// The feed a web page at `url` advertised (with `discover = true`).
    pub discovered: Option<String>,
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

/// The state file: one JSON line per source after a header line, so a
/// run streams it out source by source and reads back only the line it
/// needs, without holding every source's stories at once.
pub fn state_path(config: &Config) -> PathBuf {
    config.root().join(".wirefeed").join("sources.jsonl")
}

#[derive(Serialize, Deserialize)]
struct Header {
    version: u32,
}

#[derive(Deserialize)]
struct NameOnly {
    name: String,
}

#[derive(Serialize)]
struct Record<'a> {
    name: &'a str,
    state: &'a SourceState,
}

#[derive(Deserialize)]
struct OwnedRecord {
    state: SourceState,
}

/// The saved state of every source, indexed by name; lines are read on
/// demand.
pub struct StateReader {
    path: PathBuf,
    file: Option<std::fs::File>,
    index: HashMap<String, (u64, usize)>,
}

impl StateReader {
    /// No saved state at all.
    pub fn empty(path: &Path) -> StateReader {
        StateReader { path: path.to_owned(), file: None, index: HashMap::new() }
    }

    /// Opens and indexes the state file (a missing file is an empty state).
    pub fn open(path: &Path) -> Result<StateReader, StateError> {
        use std::io::BufRead;
        let read_err = |source| StateError::Read { path: path.to_owned(), source };
        let corrupt = |message: String| StateError::Corrupt { path: path.to_owned(), message };
        let file = match std::fs::File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(StateReader { path: path.to_owned(), file: None, index: HashMap::new() });
            }
            Err(e) => return Err(read_err(e)),
        };
        // Streamed: memory is one line, not the file.
        let mut reader = std::io::BufReader::with_capacity(1 << 20, &file);
        let mut line = Vec::new();
        reader.read_until(b'\n', &mut line).map_err(read_err)?;
        let header: Header = serde_json::from_slice(&line).map_err(|_| corrupt("no header line".into()))?;
        if header.version > STATE_VERSION {
            return Err(StateError::TooNew { path: path.to_owned(), found: header.version });
        }
        let mut index = HashMap::new();
        let mut offset = line.len() as u64;
        for n in 2.. {
            line.clear();
            let len = reader.read_until(b'\n', &mut line).map_err(read_err)?;
            if len == 0 {
                break;
            }
            if !line.iter().all(u8::is_ascii_whitespace) {
                let name = serde_json::from_slice::<NameOnly>(&line).map_err(|e| corrupt(format!("line {n}: {e}")))?.name;
                index.insert(name, (offset, len));
            }
            offset += len as u64;
        }
        drop(reader);
        Ok(StateReader { path: path.to_owned(), file: Some(file), index })
    }

    fn line(&self, name: &str) -> Result<Option<Vec<u8>>, StateError> {
        let (Some(file), Some(&(offset, len))) = (&self.file, self.index.get(name)) else { return Ok(None) };
        let mut buf = vec![0; len];
        read_exact_at(file, &mut buf, offset).map_err(|source| StateError::Read { path: self.path.clone(), source })?;
        Ok(Some(buf))
    }

    /// A source's saved state, or a fresh one.
    pub fn load(&self, name: &str) -> Result<SourceState, StateError> {
        match self.line(name)? {
            None => Ok(SourceState { version: STATE_VERSION, ..Default::default() }),
            Some(line) => serde_json::from_slice::<OwnedRecord>(&line)
                .map(|r| r.state)
                .map_err(|e| StateError::Corrupt { path: self.path.clone(), message: format!("source {name:?}: {e}") }),
        }
    }
}

#[cfg(unix)]
fn read_exact_at(file: &std::fs::File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

#[cfg(not(unix))]
fn read_exact_at(file: &std::fs::File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = file.try_clone()?;
    f.seek(SeekFrom::Start(offset))?;
    f.read_exact(buf)
}

/// Writes the next state file beside the current one; [`StateWriter::commit`]
/// renames it into place, so a crash leaves the previous state whole.
pub struct StateWriter {
    path: PathBuf,
    out: std::io::BufWriter<tempfile::NamedTempFile>,
}

impl StateWriter {
    pub fn create(path: &Path) -> Result<StateWriter, StateError> {
        let write_err = |source| StateError::Write { path: path.to_owned(), source };
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        std::fs::create_dir_all(dir).map_err(write_err)?;
        let tmp = tempfile::Builder::new().prefix(".wirefeed-state-").tempfile_in(dir).map_err(write_err)?;
        let mut out = std::io::BufWriter::with_capacity(1 << 20, tmp);
        serde_json::to_writer(&mut out, &Header { version: STATE_VERSION }).map_err(|e| write_err(e.into()))?;
        out.write_all(b"\n").map_err(write_err)?;
        Ok(StateWriter { path: path.to_owned(), out })
    }

    pub fn write(&mut self, name: &str, state: &SourceState) -> Result<(), StateError> {
        let path = &self.path;
        let write_err = |source| StateError::Write { path: path.clone(), source };
        serde_json::to_writer(&mut self.out, &Record { name, state }).map_err(|e| write_err(e.into()))?;
        self.out.write_all(b"\n").map_err(write_err)
    }

    /// Copies a source's line from the old file as it was (a state this
    /// run could not read is never replaced by a guess).
    pub fn copy_from(&mut self, reader: &StateReader, name: &str) -> Result<(), StateError> {
        if let Some(line) = reader.line(name)? {
            self.out.write_all(&line).map_err(|source| StateError::Write { path: self.path.clone(), source })?;
        }
        Ok(())
    }

    /// Flushes, syncs and renames the new file over the old one.
    pub fn commit(self) -> Result<(), StateError> {
        let path = self.path;
        let write_err = |source| StateError::Write { path: path.clone(), source };
        let tmp = self.out.into_inner().map_err(|e| write_err(e.into_error()))?;
        tmp.as_file().sync_all().map_err(write_err)?;
        tmp.persist(&path).map_err(|e| write_err(e.error))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_copy_of_an_unread_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x/sources.jsonl");
        let empty = StateReader::open(&path).unwrap();
        assert!(empty.load("a").unwrap().stories.is_empty());
        let a = SourceState {
            url: "http://a/".into(),
            validators: Validators { etag: Some("\"e\"".into()), last_modified: None },
            ..Default::default()
        };
        let mut w = StateWriter::create(&path).unwrap();
        w.write("a", &a).unwrap();
        w.write("b \"quoted\"", &SourceState { url: "http://b/".into(), ..Default::default() }).unwrap();
        w.commit().unwrap();
        let r = StateReader::open(&path).unwrap();
        assert_eq!(r.load("a").unwrap(), a);
        assert_eq!(r.load("b \"quoted\"").unwrap().url, "http://b/");
        let mut w = StateWriter::create(&path).unwrap();
        w.copy_from(&r, "b \"quoted\"").unwrap();
        w.commit().unwrap();
        let r = StateReader::open(&path).unwrap();
        assert_eq!(r.load("b \"quoted\"").unwrap().url, "http://b/");
        assert!(r.load("a").unwrap().url.is_empty(), "a was not carried over");
    }

    #[test]
    fn corrupt_and_newer_files_are_refused_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sources.jsonl");
        std::fs::write(&path, b"{\"version\":1}\n{\"name\":\"a\",\"state\":{").unwrap();
        let err = StateReader::open(&path).err().unwrap().to_string();
        assert!(err.contains("corrupt") && err.contains("sources.jsonl") && err.contains("line 2"), "{err}");
        std::fs::write(&path, b"{\"version\":99}\n").unwrap();
        assert!(StateReader::open(&path).err().unwrap().to_string().contains("newer wirefeed"));
        assert_eq!(std::fs::read(&path).unwrap(), b"{\"version\":99}\n");
    }
}
