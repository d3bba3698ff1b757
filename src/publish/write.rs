//! Atomic, change-only file writes.
//!
//! A feed reader polling mid-build must see the old file or the new one,
//! never half of either: the bytes go to a temporary file in the same
//! folder, are flushed to disk, and replace the target with one rename.
//! A file whose bytes did not change is not touched at all, so its
//! modification time (and the HTTP validators derived from it) stay put.

use std::io::{self, Write};
use std::path::Path;

/// Writes `bytes` to `path` unless it already holds exactly them.
/// Returns whether the file was written.
pub fn write_if_changed(path: &Path, bytes: &[u8]) -> io::Result<bool> {
    match std::fs::read(path) {
        Ok(existing) if existing == bytes => return Ok(false),
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(io::Error::new(e.kind(), format!("{}: {e}", path.display()))),
    }
    write_atomic(path, bytes)?;
    Ok(true)
}

/// Replaces `path` with `bytes` in one rename, durably (file and folder
/// are synced before and after).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let context = |e: io::Error| io::Error::new(e.kind(), format!("{}: {e}", path.display()));
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir).map_err(context)?;
    let mut tmp = tempfile::Builder::new().prefix(".wirefeed-").suffix(".tmp").tempfile_in(dir).map_err(context)?;
    tmp.write_all(bytes).map_err(context)?;
    tmp.as_file().sync_all().map_err(context)?;
    set_readable(tmp.as_file())?;
    tmp.persist(path).map_err(|e| context(e.error))?;
    // Make the rename itself durable.
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
