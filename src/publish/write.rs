//! Atomic, change-only file writes.
//!
//! A feed reader polling mid-build must see the old file or the new one,
//! never half of either: the bytes go to a temporary file in the same
//! folder, are flushed to disk, and replace the target with one rename.
//! A publish stages every changed file first and renames only once all of
//! them are on disk ([`Staged`]), so running out of space (or finding the
//! folder read-only) midway changes no published file.
//! A file whose bytes did not change is not touched at all, so its
//! modification time (and the HTTP validators derived from it) stay put.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// A file of the output folder that could not be written or removed: the
/// path is the file's own (never the temporary file's), the cause the
/// operating system's (`No space left on device`, `Read-only file system`).
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("{}: {cause}", path.display())]
    Write { path: PathBuf, cause: io::Error },
    #[error("{}: cannot remove: {cause}", path.display())]
    Remove { path: PathBuf, cause: io::Error },
}

impl WriteError {
    pub fn write(path: &Path) -> impl Fn(io::Error) -> WriteError + '_ {
        |cause| WriteError::Write { path: path.to_owned(), cause }
    }

    pub fn remove(path: &Path) -> impl Fn(io::Error) -> WriteError + '_ {
        |cause| WriteError::Remove { path: path.to_owned(), cause }
    }

    pub fn path(&self) -> &Path {
        match self {
            WriteError::Write { path, .. } | WriteError::Remove { path, .. } => path,
        }
    }
}

/// Whether `path` already holds exactly `bytes` (a missing file does not).
pub fn unchanged(path: &Path, bytes: &[u8]) -> Result<bool, WriteError> {
    match std::fs::read(path) {
        Ok(existing) => Ok(existing == bytes),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(WriteError::write(path)(e)),
    }
}

/// Writes `bytes` to `path` unless it already holds exactly them.
/// Returns whether the file was written.
pub fn write_if_changed(path: &Path, bytes: &[u8]) -> Result<bool, WriteError> {
    if unchanged(path, bytes)? {
        return Ok(false);
    }
    write_atomic(path, bytes)?;
    Ok(true)
}

/// Replaces `path` with `bytes` in one rename, durably (file and folder
/// are synced before and after).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    let mut staged = Staged::default();
    staged.add(path, bytes)?;
    staged.commit()
}

/// New versions of several files, each written in full and flushed to disk
/// beside its target, none in place yet: [`Staged::commit`] then renames
/// them in, one rename each (which needs no space). Dropped before that
/// (a full disk, a read-only folder, an fsync that failed), every temporary
/// file is deleted and every target keeps its old bytes, so a publish that
/// fails midway leaves the last good set of files whole, not half old and
/// half new.
#[derive(Default)]
pub struct Staged {
    files: Vec<(PathBuf, tempfile::TempPath)>,
}

impl Staged {
    /// Writes `bytes` to a temporary file in `path`'s folder (created if
    /// missing) and flushes it.
    pub fn add(&mut self, path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
        let err = WriteError::write(path);
        std::fs::create_dir_all(folder(path)).map_err(&err)?;
        let (mut file, tmp) = create_temp(folder(path)).map_err(&err)?;
        file.write_all(bytes).map_err(&err)?;
        #[cfg(test)]
        fault::check(fault::Op::Sync, path).map_err(&err)?;
        file.sync_all().map_err(&err)?;
        set_readable(&file).map_err(&err)?;
        // Closed, so that thousands of pages do not hold thousands of
        // descriptors; the path still deletes the file when dropped.
        drop(file);
        self.files.push((path.to_owned(), tmp));
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Renames every file into place, then makes the renames durable. A
    /// rename that fails (the folder deleted meanwhile) stops there; the
    /// temporary files not yet renamed are deleted.
    pub fn commit(self) -> Result<(), WriteError> {
        let mut folders: Vec<PathBuf> = Vec::new();
        for (path, tmp) in self.files {
            #[cfg(test)]
            fault::check(fault::Op::Rename, &path).map_err(WriteError::write(&path))?;
            tmp.persist(&path).map_err(|e| WriteError::write(&path)(e.error))?;
            let dir = folder(&path);
            if !folders.iter().any(|d| d == dir) {
                folders.push(dir.to_owned());
            }
        }
        for dir in folders {
            if let Ok(d) = std::fs::File::open(&dir) {
                let _ = d.sync_all();
            }
        }
        Ok(())
    }
}

/// A new `.wirefeed-<pid>-<n>.tmp` in `dir`, deleted when the path is
/// dropped. (Made here rather than by `tempfile`, whose errors name the
/// temporary file and hide the operating system's error code.)
fn create_temp(dir: &Path) -> io::Result<(std::fs::File, tempfile::TempPath)> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    loop {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = dir.join(format!(".wirefeed-{}-{n}.tmp", std::process::id()));
        match std::fs::OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(file) => match tempfile::TempPath::try_from_path(&path) {
                Ok(tmp) => return Ok((file, tmp)),
                Err(e) => {
                    let _ = std::fs::remove_file(&path);
                    return Err(e);
                }
            },
            // Left by an earlier process with the same id.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
}

fn folder(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// Temporary files are created 0600; published feeds are meant to be read
/// by a web server running as another user.
#[cfg(unix)]
fn set_readable(file: &std::fs::File) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(std::fs::Permissions::from_mode(0o644))
}

#[cfg(not(unix))]
fn set_readable(_file: &std::fs::File) -> io::Result<()> {
    Ok(())
}

/// A seam for the library's own tests (compiled only under `cfg(test)`,
/// so nothing else can reach it): the fsync of one staged file, or its
/// rename into place, fails with `EIO` as a failing disk would make it.
/// A real full or read-only disk is tested in `tests/disk.rs`; an fsync
/// that fails cannot be had from a tmpfs.
#[cfg(test)]
pub(crate) mod fault {
    use std::cell::RefCell;
    use std::path::{Path, PathBuf};

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Op {
        Sync,
        Rename,
    }

    thread_local! {
        static FAIL: RefCell<Option<(Op, PathBuf)>> = const { RefCell::new(None) };
    }

    /// Until the guard drops, `op` fails on this thread for the target
    /// `path`.
    pub fn inject(op: Op, path: &Path) -> Guard {
        FAIL.with(|f| *f.borrow_mut() = Some((op, path.to_owned())));
        Guard
    }

    pub struct Guard;

    impl Drop for Guard {
        fn drop(&mut self) {
            FAIL.with(|f| *f.borrow_mut() = None);
        }
    }

    pub(super) fn check(op: Op, path: &Path) -> std::io::Result<()> {
        let fails = FAIL.with(|f| f.borrow().as_ref().is_some_and(|(o, p)| *o == op && p == path));
        match fails {
            true => Err(std::io::Error::from_raw_os_error(5)), // EIO
            false => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> =
            std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        names
    }

    #[test]
    fn an_fsync_that_fails_keeps_every_published_file_and_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let text = format!(
            "[publish]\ntitle = \"t\"\nbase_url = \"https://e.example/\"\noutput_dir = \"{}\"\n",
            dir.path().join("feeds").display()
        );
        let config = crate::Config::from_toml(&text, &dir.path().join("wirefeed.toml")).unwrap();
        let files = |v: &str| -> Vec<(String, Vec<u8>)> {
            ["all.rss", "all.atom", "topics/x.json"].iter().map(|f| (f.to_string(), format!("{f} {v}").into_bytes())).collect()
        };
        crate::publish::write_all(&config, &files("old")).unwrap();
        let atom = dir.path().join("feeds/all.atom");
        let _fault = fault::inject(fault::Op::Sync, &atom);
        let err = crate::publish::write_all(&config, &files("new")).unwrap_err();
        assert_eq!(err.path(), atom);
        let message = err.to_string();
        assert!(message.starts_with(&format!("{}: ", atom.display())) && message.contains("(os error 5)"), "{message}");
        for (rel, old) in files("old") {
            assert_eq!(std::fs::read(dir.path().join("feeds").join(&rel)).unwrap(), old, "{rel} changed");
        }
        assert_eq!(names(&dir.path().join("feeds")), ["all.atom", "all.rss", "topics"], "a temporary file left");
    }

    #[test]
    fn a_rename_that_fails_leaves_each_file_whole_and_no_temporary_file() {
        // Renames need no space, so they fail only when the folder goes
        // away or breaks: the files renamed before are new, the rest old,
        // none half written.
        let dir = tempfile::tempdir().unwrap();
        let paths: Vec<PathBuf> = ["a.xml", "b.xml", "c.xml"].iter().map(|n| dir.path().join(n)).collect();
        for p in &paths {
            std::fs::write(p, b"old").unwrap();
        }
        let mut staged = Staged::default();
        for p in &paths {
            staged.add(p, b"new").unwrap();
        }
        let _fault = fault::inject(fault::Op::Rename, &paths[1]);
        let err = staged.commit().unwrap_err();
        assert_eq!(err.path(), paths[1]);
        assert!(err.to_string().contains("(os error 5)"), "{err}");
        let contents: Vec<Vec<u8>> = paths.iter().map(|p| std::fs::read(p).unwrap()).collect();
        assert_eq!(contents, [b"new".to_vec(), b"old".to_vec(), b"old".to_vec()]);
        assert_eq!(names(dir.path()), ["a.xml", "b.xml", "c.xml"], "a temporary file left");
    }

    #[test]
    fn writes_new_and_changed_files_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/feed.xml");
        assert!(write_if_changed(&path, b"one").unwrap());
        assert!(!write_if_changed(&path, b"one").unwrap());
        assert!(write_if_changed(&path, b"two").unwrap());
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        // No temporary files are left behind.
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, vec!["feed.xml"]);
    }

    #[test]
    fn a_set_that_fails_midway_changes_no_file_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.xml"), dir.path().join("b.xml"));
        std::fs::write(&a, b"old a").unwrap();
        std::fs::write(&b, b"old b").unwrap();
        // The third file's folder cannot be made: a file is in the way.
        std::fs::write(dir.path().join("blocked"), b"").unwrap();
        let mut staged = Staged::default();
        staged.add(&a, b"new a").unwrap();
        staged.add(&b, b"new b").unwrap();
        let err = staged.add(&dir.path().join("blocked/c.xml"), b"new c").unwrap_err();
        assert_eq!(err.path(), dir.path().join("blocked/c.xml"));
        drop(staged);
        assert_eq!(std::fs::read(&a).unwrap(), b"old a");
        assert_eq!(std::fs::read(&b).unwrap(), b"old b");
        let mut names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        names.sort();
        assert_eq!(names, vec!["a.xml", "b.xml", "blocked"]);
    }

    #[test]
    fn a_committed_set_replaces_every_file() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.xml"), dir.path().join("topics/b.xml"));
        std::fs::write(&a, b"old a").unwrap();
        let mut staged = Staged::default();
        staged.add(&a, b"new a").unwrap();
        staged.add(&b, b"new b").unwrap();
        // Staged is not published.
        assert_eq!(std::fs::read(&a).unwrap(), b"old a");
        assert!(!b.exists());
        staged.commit().unwrap();
        assert_eq!((std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap()), (b"new a".to_vec(), b"new b".to_vec()));
        let names: Vec<_> = std::fs::read_dir(dir.path().join("topics")).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, vec!["b.xml"]);
    }

    #[test]
    fn an_error_names_the_file_not_its_temporary_copy() {
        let dir = tempfile::tempdir().unwrap();
        // A folder where the file should be: the rename fails.
        let target = dir.path().join("all.rss");
        std::fs::create_dir_all(target.join("in-the-way")).unwrap();
        let message = write_atomic(&target, b"x").unwrap_err().to_string();
        assert!(message.starts_with(&format!("{}: ", target.display())), "{message}");
        assert!(!message.contains(".wirefeed-"), "{message}");
        assert!(message.contains("(os error "), "the operating system's error is kept: {message}");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, vec!["all.rss"], "no temporary file left");
    }
}
