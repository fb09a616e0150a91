//! The store's advisory lock: every command that changes a store holds an exclusive
//! `File::lock` on `<store>/pxos.lock` for as long as it works, so two `pxos` processes
//! never interleave their writes; a command that must see the store whole and unchanged
//! (`verify --check`) holds a shared lock ([`ReadLock`]), which waits for writers. The lock is released when the holder exits, however it
//! exits (the operating system drops it with the last file descriptor, kill -9 included).
//! The lock file itself is never deleted: deleting it would let two processes lock two
//! different files.

use super::error::{Result, StoreError};
use crate::util::nofollow;
use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

/// The lock file's name in the store folder.
pub const LOCK_FILE: &str = "pxos.lock";

/// An exclusive hold on a store; released on drop.
#[derive(Debug)]
pub struct StoreLock {
    _file: File,
    path: PathBuf,
}

impl StoreLock {
    /// Lock the store at `root`. If another process holds the lock, `on_wait` is called
    /// once with the lock file's path and then this waits until the lock is free.
    pub fn acquire(root: &Path, on_wait: &mut dyn FnMut(&Path)) -> Result<StoreLock> {
        let (file, path) = open_lock_file(root)?;
        hold(&file, &path, Hold::Exclusive, Some(on_wait))?;
        Ok(StoreLock { _file: file, path })
    }

    /// Lock the store at `root` only if no one else holds it: `Ok(None)` if someone does.
    pub fn try_acquire(root: &Path) -> Result<Option<StoreLock>> {
        let (file, path) = open_lock_file(root)?;
        let taken = hold(&file, &path, Hold::Exclusive, None)?;
        Ok(taken.then_some(StoreLock { _file: file, path }))
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// A shared hold on a store, for reading it whole (`pxos verify --check`): no process
/// changes the store while it is held, and readers do not exclude each other. Released
/// on drop.
#[derive(Debug)]
pub struct ReadLock {
    _file: File,
}

impl ReadLock {
    /// Take a shared lock on the store at `root`, calling `on_wait` once with the lock
    /// file's path if a writer holds it, then waiting. `Ok(None)` if the store has no lock
    /// file this process may open (never written by pxOS, or read-only to this user):
    /// then nothing can be waited for, and the store is read as it is.
    pub fn acquire(root: &Path, on_wait: &mut dyn FnMut(&Path)) -> Result<Option<ReadLock>> {
        let path = lock_path(root)?;
        let file = match nofollow::no_follow(OpenOptions::new().read(true)).open(&path) {
            Ok(file) => file,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied
                ) =>
            {
                return Ok(None);
            }
            Err(e) => return Err(StoreError::io("open the lock file", &path)(e)),
        };
        hold(&file, &path, Hold::Shared, Some(on_wait))?;
        Ok(Some(ReadLock { _file: file }))
    }
}

/// Which lock a process takes on the lock file.
#[derive(Clone, Copy)]
enum Hold {
    /// A writer's: no one else holds any.
    Exclusive,
    /// A reader's: no writer holds one.
    Shared,
}

/// Take `hold` on the open lock file `file`: at once if it is free; else, with `on_wait`,
/// after calling it once and waiting, and without, not at all (`Ok(false)`).
fn hold(
    file: &File,
    path: &Path,
    hold: Hold,
    on_wait: Option<&mut dyn FnMut(&Path)>,
) -> Result<bool> {
    let lock_error = |source| StoreError::Lock {
        path: path.to_path_buf(),
        source,
    };
    let tried = match hold {
        Hold::Exclusive => file.try_lock(),
        Hold::Shared => file.try_lock_shared(),
    };
    match tried {
        Ok(()) => Ok(true),
        Err(TryLockError::WouldBlock) => {
            let Some(on_wait) = on_wait else {
                return Ok(false);
            };
            on_wait(path);
            match hold {
                Hold::Exclusive => file.lock(),
                Hold::Shared => file.lock_shared(),
            }
            .map_err(lock_error)?;
            Ok(true)
        }
        Err(TryLockError::Error(source)) => Err(lock_error(source)),
    }
}

/// The lock file's path in the store at `root`, refused if something other than a
/// regular file is there: a link would make pxOS create or lock a file outside the store,
/// and a FIFO would block.
fn lock_path(root: &Path) -> Result<PathBuf> {
    let path = root.join(LOCK_FILE);
    if let Ok(meta) = std::fs::symlink_metadata(&path)
        && !meta.is_file()
    {
        return Err(crate::util::FsError::NotRegular {
            path,
            kind: nofollow::kind_of(&meta),
        }
        .into());
    }
    Ok(path)
}

/// Open (creating it if needed) the lock file of the store at `root` (see [`lock_path`]),
/// without following a link.
fn open_lock_file(root: &Path) -> Result<(File, PathBuf)> {
    let path = lock_path(root)?;
    let file = nofollow::no_follow(OpenOptions::new().create(true).truncate(false).write(true))
        .open(&path)
        .map_err(StoreError::io("open the lock file", &path))?;
    Ok((file, path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_until_the_first_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let first = StoreLock::acquire(dir.path(), &mut |_| panic!("free lock waited")).unwrap();
        assert!(StoreLock::try_acquire(dir.path()).unwrap().is_none());
        drop(first);
        let again = StoreLock::try_acquire(dir.path()).unwrap();
        assert!(again.is_some());
        assert!(dir.path().join(LOCK_FILE).is_file());
    }
}
