//! The version store: a folder (default `./pxos_fs`) that keeps every kernel version with
//! its lineage, as the seed lays it out —
//!
//! ```text
//! pxos_fs/
//! ├── versions.json              the version database (see [`db`])
//! ├── pxos.lock                  the advisory lock of commands that change the store
//! ├── kernels/
//! │   ├── kernel_v1.0.bin        one file per version (see [`names`] for the naming rule)
//! │   ├── kernel_v1.0_backup.bin a backup taken before v1.0 was replaced
//! │   └── kernel_current.bin     a copy of the current version's kernel
//! └── build/                     the guest's files while `pxos boot` runs
//! ```
//!
//! **Crash safety.** Every file is written with [`atomic::write_atomic`] (temporary file,
//! fsync, rename, folder fsync), and a change is written in this order: new kernel files and
//! backups first, then `versions.json` — the commit point — then `kernel_current.bin`. So
//! versions.json never names a kernel that is not fully on disk, and a process killed at any
//! instant leaves the old state or the new one. `kernel_current.bin` is a derived copy: after
//! a crash between the last two steps it may still hold the previous current kernel, which
//! `verify` (and the next change of the current version) puts right. Booting always reads
//! the current entry's own file and checks its SHA-256.
//!
//! **Damage.** versions.json is read tolerantly ([`load`]): a bad entry, field or event
//! costs only itself. A missing versions.json, or one that cannot be read at all (not
//! JSON, no `history`), is rebuilt from `kernels/` (see [`rebuild`]); structural problems
//! are fixed in memory on load ([`db::Db::sanitize`]). [`Store::warnings`] holds the
//! reports; the fixes are written with the next change, or by `verify` ([`verify`]).
//! A damaged versions.json is never lost: before the first write over it, it is kept
//! beside the store as `versions.json.damaged-<date>`.
//!
//! **Links.** A store may come from someone else: its folders must be real folders and
//! its files regular files, never followed out of the store ([`nofollow`]).
//!
//! **Concurrency.** [`Store::open`] reads; [`Store::open_mut`] also takes the store's lock
//! ([`lock`]) and is needed for every change (the changes are in [`ops`]).

pub mod candidates;
mod db;
mod diagnose;
mod error;
mod index;
mod load;
mod lock;
mod names;
mod ops;
mod rebuild;
mod sanitize;
mod service;
pub mod verify;

pub use db::{Db, Entry, Event, EventKind, Status};
pub use error::{Result, StoreError};
pub use index::Index;
pub use lock::StoreLock;
pub use names::validate as validate_name;
pub use ops::{Assessment, validate_kernel};
pub use service::{StoreVersions, SwitchRequest};

use crate::util::{FsError, atomic, date, nofollow, sha256_hex};
use std::fs;
use std::path::{Path, PathBuf};

/// The default store folder.
pub const DEFAULT_DIR: &str = "pxos_fs";

/// The database file's name.
pub const VERSIONS_FILE: &str = "versions.json";

/// versions.json larger than this is treated as damaged (no store gets near it).
const MAX_DB_BYTES: u64 = 256 << 20;

/// An open version store.
#[derive(Debug)]
pub struct Store {
    root: PathBuf,
    db: Db,
    lock: Option<lock::StoreLock>,
    /// A shared lock held while reading (see [`Store::open_unchanging`]).
    _reading: Option<lock::ReadLock>,
    /// What loading had to fix in memory (rebuild, sanitize); written back by the next
    /// change.
    problems: Vec<String>,
    /// versions.json as it was, if it was damaged: kept beside the store before the
    /// first write over it.
    damaged: Option<Kept>,
}

/// A damaged versions.json's bytes and where they are kept.
#[derive(Debug)]
struct Kept {
    path: PathBuf,
    bytes: Vec<u8>,
}

impl Store {
    /// Open the store at `root` for reading. A damaged versions.json is rebuilt in memory
    /// (see [`Store::warnings`]); nothing is written.
    pub fn open(root: &Path) -> Result<Store> {
        if !Self::exists(root) {
            return Err(StoreError::NotAStore {
                root: root.to_path_buf(),
            });
        }
        let (db, problems, damaged) = load(root)?;
        Ok(Store {
            root: root.to_path_buf(),
            db,
            lock: None,
            _reading: None,
            problems,
            damaged,
        })
    }

    /// Open the store at `root` for reading, holding a shared lock for as long as the
    /// `Store` lives, so that no `pxos` process changes it meanwhile (calling `on_wait`
    /// first if one is; see [`lock::ReadLock`]). Nothing is written.
    pub fn open_unchanging(root: &Path, on_wait: &mut dyn FnMut(&Path)) -> Result<Store> {
        if !Self::exists(root) {
            return Err(StoreError::NotAStore {
                root: root.to_path_buf(),
            });
        }
        let reading = lock::ReadLock::acquire(root, on_wait)?;
        Ok(Store {
            _reading: reading,
            ..Self::open(root)?
        })
    }

    /// Open the store at `root` for changes: take its lock (calling `on_wait` first if
    /// another process holds it, then waiting), then load it. With `create`, a missing
    /// folder is created (with its lock file; `kernels/` and `build/` follow with the first
    /// registration); without, a folder that is not a store is an error.
    pub fn open_mut(root: &Path, create: bool, on_wait: &mut dyn FnMut(&Path)) -> Result<Store> {
        if !Self::exists(root) {
            if !create {
                return Err(StoreError::NotAStore {
                    root: root.to_path_buf(),
                });
            }
            atomic::create_dir(root)?;
        }
        let lock = lock::StoreLock::acquire(root, on_wait)?;
        let (db, problems, damaged) = load(root)?;
        Ok(Store {
            root: root.to_path_buf(),
            db,
            lock: Some(lock),
            _reading: None,
            problems,
            damaged,
        })
    }

    /// Whether `root` looks like a store (has versions.json or `kernels/`).
    pub fn exists(root: &Path) -> bool {
        root.join(VERSIONS_FILE).is_file() || root.join("kernels").is_dir()
    }

    /// The store folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The kernels folder.
    pub fn kernels_dir(&self) -> PathBuf {
        self.root.join("kernels")
    }

    /// The path of kernel file `file`.
    pub fn kernel_path(&self, file: &str) -> PathBuf {
        self.kernels_dir().join(file)
    }

    /// The database as loaded (and as changed by this process since).
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Every version, oldest first.
    pub fn list(&self) -> &[Entry] {
        &self.db.history
    }

    /// Problems found while loading (a rebuilt versions.json, dropped entries, ...) and
    /// lineage gaps (parents missing from the history).
    pub fn warnings(&self) -> Vec<String> {
        let mut out = self.problems.clone();
        if let Some(path) = self.damaged_copy() {
            out.push(format!(
                "the damaged versions.json will be kept as {} when the store is next written",
                path.display()
            ));
        }
        out.extend(self.db.lineage_warnings());
        out
    }

    /// Where the damaged versions.json this store was loaded from will be kept (it is
    /// written there just before the first write over it), if it was damaged.
    pub fn damaged_copy(&self) -> Option<&Path> {
        self.damaged.as_ref().map(|k| k.path.as_path())
    }

    /// Whether this store was opened for changes (holds the lock).
    pub fn is_locked(&self) -> bool {
        self.lock.is_some()
    }

    /// The current version.
    pub fn current(&self) -> Option<&Entry> {
        self.db.current_entry()
    }

    /// The newest version named `name`, or an error naming the store.
    pub fn get(&self, name: &str) -> Result<&Entry> {
        self.db
            .by_name(name)
            .ok_or_else(|| StoreError::UnknownVersion {
                name: name.to_string(),
                root: self.root.clone(),
            })
    }

    /// The version with id `id`, or an error naming the store.
    pub fn get_by_id(&self, id: u64) -> Result<&Entry> {
        self.db.by_id(id).ok_or(StoreError::UnknownId {
            id,
            root: self.root.clone(),
        })
    }

    /// The kernel of `entry`, checked against the recorded size and SHA-256.
    pub fn read_kernel(&self, entry: &Entry) -> Result<Vec<u8>> {
        let path = self.kernel_path(&entry.file);
        let bytes = read_bounded(&path)?;
        if let Some(problem) = kernel_problem(entry, &bytes) {
            return Err(StoreError::KernelDamaged { path, problem });
        }
        Ok(bytes)
    }

    pub(crate) fn require_lock(&self) -> Result<()> {
        match self.lock {
            Some(_) => Ok(()),
            None => Err(StoreError::ReadOnly {
                root: self.root.clone(),
            }),
        }
    }

    /// Write a change: `files` (kernel files and backups, into `kernels/`) first, then
    /// versions.json (the commit point), then `kernel_current.bin` if the current version
    /// changed or `refresh_current` is set. On success `db` becomes the store's database
    /// and the load warnings are cleared (the new database has their fixes).
    pub(crate) fn commit(
        &mut self,
        db: Db,
        files: &[(&str, &[u8])],
        refresh_current: bool,
    ) -> Result<()> {
        self.require_lock()?;
        check_layout(&self.root)?;
        let kernels = self.kernels_dir();
        atomic::create_dir(&kernels)?;
        atomic::create_dir(&self.root.join("build"))?;
        if let Some(kept) = &self.damaged {
            atomic::write_synced(&kept.path, &kept.bytes)?;
        }
        for (file, bytes) in files {
            atomic::write_synced(&kernels.join(file), bytes)?;
        }
        if !files.is_empty() {
            atomic::sync_dir(&kernels)?;
        }
        atomic::write_atomic(&self.root.join(VERSIONS_FILE), &db.to_json())?;
        let changed = db.current_id != self.db.current_id;
        self.db = db;
        self.problems.clear();
        self.damaged = None;
        if changed || refresh_current {
            self.refresh_current_copy()?;
        }
        Ok(())
    }

    /// Make `kernels/kernel_current.bin` a copy of the current version's kernel (if it is
    /// not already), or remove it if no version is current. Returns whether it changed it.
    pub fn refresh_current_copy(&mut self) -> Result<bool> {
        self.require_lock()?;
        let path = self.kernel_path(names::CURRENT_FILE);
        let Some(entry) = self.current() else {
            if fs::symlink_metadata(&path).is_err() {
                return Ok(false);
            }
            fs::remove_file(&path).map_err(StoreError::io("remove", &path))?;
            atomic::sync_dir(&self.kernels_dir())?;
            return Ok(true);
        };
        let bytes = self.read_kernel(entry)?;
        if read_bounded(&path).is_ok_and(|old| old == bytes) {
            return Ok(false);
        }
        // Never torn; the folder is not fsynced, because a crash that loses this rename
        // only leaves the previous copy, which is as stale as a crash just before it.
        atomic::write_synced(&path, &bytes)?;
        Ok(true)
    }
}

/// Read a kernel-sized regular file (not through a link; refusing anything over 64 KiB
/// without reading it all, as damaged).
pub(crate) fn read_bounded(path: &Path) -> Result<Vec<u8>> {
    match nofollow::read_regular(path, pxvm::MEM_SIZE as u64)? {
        Ok(bytes) => Ok(bytes),
        Err(size) => Err(StoreError::KernelDamaged {
            path: path.to_path_buf(),
            problem: pxvm::KernelTooLarge { size }.to_string(),
        }),
    }
}

/// Refuse a store whose `kernels/` or `build/` is a link (or not a folder): writing
/// through it would put files outside the store.
pub(crate) fn check_layout(root: &Path) -> Result<()> {
    nofollow::check_folder(&root.join("kernels"))?;
    nofollow::check_folder(&root.join("build"))?;
    Ok(())
}

/// What is wrong with `bytes` as `entry`'s kernel, if anything.
pub(crate) fn kernel_problem(entry: &Entry, bytes: &[u8]) -> Option<String> {
    if bytes.len() as u64 != entry.size {
        return Some(format!(
            "holds {} bytes, versions.json records {}",
            bytes.len(),
            entry.size
        ));
    }
    match &entry.sha256 {
        Some(sha) if *sha != sha256_hex(bytes) => {
            Some("its SHA-256 differs from the one versions.json records".to_string())
        }
        _ => None,
    }
}

/// Load versions.json (rebuilding it from `kernels/` if missing or unreadable) and
/// sanitize it; return it with the messages about what was wrong, and the file's bytes if
/// they are to be kept as a damaged copy.
fn load(root: &Path) -> Result<(Db, Vec<String>, Option<Kept>)> {
    check_layout(root)?;
    let path = root.join(VERSIONS_FILE);
    let (damaged, bytes) = match nofollow::read_regular(&path, MAX_DB_BYTES) {
        Err(FsError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            ("is missing".to_string(), None)
        }
        Err(e) => return Err(e.into()),
        Ok(Err(size)) => (format!("is {size} bytes, too large to read"), None),
        Ok(Ok(bytes)) => match load::parse(&bytes) {
            Ok((mut db, mut problems)) => {
                problems.extend(db.sanitize());
                if problems.is_empty() {
                    return Ok((db, problems, None));
                }
                return Ok((db, problems, Some(keep(root, bytes))));
            }
            Err(why) => (why, Some(bytes)),
        },
    };
    let (db, mut warnings) = rebuild::rebuild(root)?;
    if db.history.is_empty() && bytes.is_none() && damaged == "is missing" {
        // A new store: nothing to rebuild, nothing to report.
        return Ok((db, Vec::new(), None));
    }
    warnings.insert(
        0,
        format!(
            "{} {damaged}; rebuilt it from {} ({} version(s); lineage and statuses are lost)",
            path.display(),
            root.join("kernels").display(),
            db.history.len()
        ),
    );
    Ok((db, warnings, bytes.map(|b| keep(root, b))))
}

/// Where a damaged versions.json is kept: `versions.json.damaged-<date>` (with `-2`, `-3`,
/// … if that exists).
fn keep(root: &Path, bytes: Vec<u8>) -> Kept {
    let stamp: String = date::now_utc()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    let base = format!("{VERSIONS_FILE}.damaged-{stamp}");
    let path = (1u32..)
        .map(|n| match n {
            1 => root.join(&base),
            n => root.join(format!("{base}-{n}")),
        })
        .find(|p| fs::symlink_metadata(p).is_err())
        .unwrap_or_else(|| root.join(base));
    Kept { path, bytes }
}
