//! One writer per store: an advisory lock on `<store>.lock`, which holds
//! the PID of the process that has it.
//!
//! The lock is the operating system's (flock on Unix), so it goes away
//! with the process however the process ends: a `kill -9` never leaves a
//! stale lock behind, and the PID in the file is only informative.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::StoreError;

#[derive(Debug)]
pub struct StoreLock {
    _file: File,
}

pub fn lock_path(store: &Path) -> PathBuf {
    let mut name = store.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

impl StoreLock {
    /// Takes the lock, waiting up to `wait` for another process to let go.
    pub fn acquire(store: &Path, wait: Duration) -> Result<StoreLock, StoreError> {
        let path = lock_path(store);
        let io_err = |cause| StoreError::Lock { path: path.clone(), cause };
        let mut file = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&path).map_err(io_err)?;
        let start = Instant::now();
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(TryLockError::WouldBlock) if start.elapsed() < wait => std::thread::sleep(Duration::from_millis(50)),
                Err(TryLockError::WouldBlock) => {
                    let mut text = String::new();
                    let _ = file.read_to_string(&mut text);
                    return Err(StoreError::Locked { path: store.to_owned(), holder: text.trim().parse().ok(), waited: wait });
                }
                Err(TryLockError::Error(e)) => return Err(io_err(e)),
            }
        }
        file.set_len(0).map_err(io_err)?;
        file.seek(SeekFrom::Start(0)).map_err(io_err)?;
        writeln!(file, "{}", std::process::id()).map_err(io_err)?;
        Ok(StoreLock { _file: file })
    }
}
