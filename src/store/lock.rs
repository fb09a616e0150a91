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
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                on_wait(&path);
                file.lock().map_err(|source| StoreError::Lock {
                    path: path.clone(),
                    source,
                })?;
            }
            Err(TryLockError::Error(source)) => {
                return Err(StoreError::Lock { path, source });
            }
        }
        Ok(StoreLock { _file: file, path })
    }

    /// Lock the store at `root` only if no one else holds it: `Ok(None)` if someone does.
    pub fn try_acquire(root: &Path) -> Result<Option<StoreLock>> {
        let mut busy = false;
        let (file, path) = open_lock_file(root)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => busy = true,
            Err(TryLockError::Error(source)) => return Err(StoreError::Lock { path, source }),
        }
        Ok((!busy).then_some(StoreLock { _file: file, path }))
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
        match file.try_lock_shared() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                on_wait(&path);
                file.lock_shared().map_err(|source| StoreError::Lock {
                    path: path.clone(),
                    source,
                })?;
            }
            Err(TryLockError::Error(source)) => return Err(StoreError::Lock { path, source }),
        }
        Ok(Some(ReadLock { _file: file }))
    }
}

/// Open (creating it if needed) the lock file of the store at `root`: a regular file,
/// not reached through a link (a link would make pxOS create or lock a file outside the
/// store) and never a FIFO (which would block).
fn open_lock_file(root: &Path) -> Result<(File, PathBuf)> {
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
