//! Crash-safe file replacement. [`write_atomic`] writes the new bytes to a temporary file in
//! the same folder, fsyncs it, renames it over the destination and fsyncs the folder, so a
//! crash at any instant (kill -9, power loss after the folder sync) leaves either the old
//! file or the new one, never a torn mix. Temporary files start with `.` and contain
//! `.tmp.`, so they can never be mistaken for kernels and `verify` can sweep up the ones an
//! interrupted write left behind ([`is_temp_name`]).

use super::fs_error::{FsError, Result};
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// Whether `name` (a file name) is one of [`write_atomic`]'s temporary files.
pub fn is_temp_name(name: &str) -> bool {
    name.starts_with('.') && name.contains(".tmp.")
}

/// Replace `path` with `bytes` atomically and durably: temporary file, fsync, rename,
/// fsync of the folder. On error the destination is untouched and the temporary removed.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_synced(path, bytes)?;
    sync_dir(parent_of(path))
}

/// [`write_atomic`] without the final folder fsync: the file is never torn, but the rename
/// is durable only once the caller fsyncs the folder (so that several files written into
/// one folder need only one folder fsync).
pub fn write_synced(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = parent_of(path);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(
        ".{name}.tmp.{}.{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(FsError::io("create", &tmp))?;
        file.write_all(bytes).map_err(FsError::io("write", &tmp))?;
        file.sync_all().map_err(FsError::io("fsync", &tmp))?;
        drop(file);
        fs::rename(&tmp, path).map_err(FsError::io("rename a temporary file onto", path))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

fn parent_of(path: &Path) -> &Path {
    path.parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// Fsync a folder, making the renames and creations inside it durable.
pub fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(FsError::io("fsync the folder", dir))
    }
    #[cfg(not(unix))]
    {
        // Folders cannot be opened as files here; renames are made durable by the OS.
        let _ = (dir, File::open);
        Ok(())
    }
}

/// Create `dir` (and its parents) if missing, making the creation durable.
pub fn create_dir(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    fs::create_dir_all(dir).map_err(FsError::io("create the folder", dir))?;
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        sync_dir(parent)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_contents_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.bin");
        write_atomic(&path, b"first").unwrap();
        write_atomic(&path, b"second").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"second");
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, ["a.bin"]);
    }

    #[test]
    fn a_failed_write_keeps_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.bin");
        write_atomic(&path, b"old").unwrap();
        // Renaming a file over a non-empty folder fails.
        let blocked = dir.path().join("sub");
        fs::create_dir(&blocked).unwrap();
        fs::write(blocked.join("x"), b"x").unwrap();
        assert!(write_atomic(&blocked, b"new").is_err());
        assert_eq!(fs::read(&path).unwrap(), b"old");
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            2,
            "no temporary left"
        );
    }

    #[test]
    fn temp_names_are_recognised() {
        assert!(is_temp_name(".versions.json.tmp.12.0"));
        assert!(!is_temp_name("kernel_v1.0.bin"));
        assert!(!is_temp_name("versions.json"));
    }
}
