//! The guest's virtual filesystem: file ids name paths (`300`–`303` are the build files,
//! any other id `N` is `file_N`), and a [`FileStore`] holds the bytes — in memory by
//! default ([`MemFiles`]) or in a folder given with `--fs DIR` ([`DirFiles`]). Paths only
//! ever come from [`path_for_id`], so nothing outside the folder can be named, and
//! [`DirFiles`] reaches them without following links (see [`super::beneath`]).
//!
//! Both stores bound what a hostile kernel can make them hold: at most [`MAX_FILE_BYTES`]
//! per file, [`MAX_TOTAL_BYTES`] grown in all and [`MAX_FILES`] files created; a write or
//! create past a limit fails (R0 = 0) as any other failed file operation does. (The
//! original pxVM had no limits; no kernel that stays under them can tell the difference.)

use super::beneath::{self, Access};
use crate::util::nofollow;
use std::collections::BTreeMap;
use std::fs;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Largest file a guest can grow (16 MiB).
pub const MAX_FILE_BYTES: usize = 16 << 20;

/// Most bytes a guest can add to one store, all files together (64 MiB).
pub const MAX_TOTAL_BYTES: usize = 64 << 20;

/// Most files a guest can create in one store.
pub const MAX_FILES: usize = 4096;

/// What [`MemFiles::copy_of_dir`] does with a symbolic link, FIFO, socket or device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OtherFiles {
    /// Leave it out, as a guest running on the folder itself does not see it.
    Skip,
    /// Refuse the folder, naming it: the files were given as a run's input, and a run
    /// without one of them would not be the run the user asked for.
    Refuse,
}

/// The path a file id names.
pub fn path_for_id(id: i32) -> String {
    match id {
        300 => "build/kernel_v2.asm".to_string(),
        301 => "build/kernel_v2.bin".to_string(),
        302 => "build/assembler.asm".to_string(),
        303 => "build/assembler.bin".to_string(),
        n => format!("file_{n}"),
    }
}

/// Where the guest's files live. All operations fail softly (false / `None`), as the
/// syscalls that use them do.
pub trait FileStore: std::fmt::Debug {
    /// Whether `path` exists.
    fn exists(&self, path: &str) -> bool;
    /// Create `path` empty, or truncate it.
    fn create(&mut self, path: &str) -> bool;
    /// The size of `path` in bytes, if it exists.
    fn size(&self, path: &str) -> Option<u64>;
    /// Up to `len` bytes of `path` from `offset` (fewer at the end; none past it).
    fn read(&self, path: &str, offset: usize, len: usize) -> Option<Vec<u8>>;
    /// Write `data` at `offset` into the existing file `path`, growing it as needed.
    fn write(&mut self, path: &str, offset: usize, data: &[u8]) -> bool;
    /// Every file and its bytes, if the store can list them cheaply (in-memory stores);
    /// engine comparisons use it to check what a run wrote.
    fn snapshot(&self) -> Option<BTreeMap<String, Vec<u8>>> {
        None
    }
}

/// Files held in memory (the default; nothing touches the disk).
#[derive(Debug, Default, Clone)]
pub struct MemFiles {
    files: BTreeMap<String, Vec<u8>>,
    total: usize,
}

impl MemFiles {
    /// An empty store.
    pub fn new() -> MemFiles {
        MemFiles::default()
    }

    /// Put a file in place (for setting up a run, e.g. a kernel to self-modify into).
    pub fn insert(&mut self, path: &str, data: Vec<u8>) {
        self.total += data.len();
        if let Some(old) = self.files.insert(path.to_string(), data) {
            self.total -= old.len();
        }
    }

    /// A copy of every regular file under the folder `root` (paths relative to it,
    /// `/`-separated), so a run can start from a folder's files without touching the
    /// folder. Symbolic links, FIFOs and devices are never followed or opened: `others`
    /// says whether they are skipped (as a guest run on the folder itself does not see
    /// them) or refused. Refuses folders holding more than the store limits allow.
    pub fn copy_of_dir(root: &Path, others: OtherFiles) -> std::io::Result<MemFiles> {
        fn walk(
            root: &Path,
            dir: &Path,
            out: &mut MemFiles,
            others: OtherFiles,
        ) -> std::io::Result<()> {
            let mut entries: Vec<_> = fs::read_dir(dir)?.collect::<Result<_, _>>()?;
            entries.sort_by_key(|e| e.path());
            for entry in entries {
                let path = entry.path();
                let kind = entry.file_type()?;
                let too_much = || {
                    std::io::Error::other(format!(
                        "{} holds more than {MAX_FILES} files or {} MiB",
                        root.display(),
                        MAX_TOTAL_BYTES >> 20
                    ))
                };
                if kind.is_dir() {
                    walk(root, &path, out, others)?;
                } else if kind.is_file() {
                    let rel = path.strip_prefix(root).map_err(std::io::Error::other)?;
                    let name: Vec<_> = rel.iter().map(|c| c.to_string_lossy()).collect();
                    if out.files.len() >= MAX_FILES {
                        return Err(too_much());
                    }
                    // Read without following a link (the name may have been replaced
                    // since it was listed) and no further than the bytes left.
                    let left = (MAX_TOTAL_BYTES - out.total) as u64;
                    let bytes = nofollow::read_regular(&path, left)
                        .map_err(|e| std::io::Error::other(e.to_string()))?
                        .map_err(|_| too_much())?;
                    out.insert(&name.join("/"), bytes);
                } else if others == OtherFiles::Refuse {
                    let meta = fs::symlink_metadata(&path)?;
                    return Err(std::io::Error::other(format!(
                        "{} is {}; guest files are regular files in folders (links are not followed)",
                        path.display(),
                        nofollow::kind_of(&meta)
                    )));
                }
            }
            Ok(())
        }
        let mut files = MemFiles::new();
        walk(root, root, &mut files, others)?;
        Ok(files)
    }

    /// The bytes of `path`, if it exists.
    pub fn get(&self, path: &str) -> Option<&[u8]> {
        self.files.get(path).map(Vec::as_slice)
    }
}

impl FileStore for MemFiles {
    fn exists(&self, path: &str) -> bool {
        self.files.contains_key(path)
    }

    fn create(&mut self, path: &str) -> bool {
        if !self.files.contains_key(path) && self.files.len() >= MAX_FILES {
            return false;
        }
        if let Some(old) = self.files.insert(path.to_string(), Vec::new()) {
            self.total -= old.len();
        }
        true
    }

    fn size(&self, path: &str) -> Option<u64> {
        self.files.get(path).map(|data| data.len() as u64)
    }

    fn read(&self, path: &str, offset: usize, len: usize) -> Option<Vec<u8>> {
        let data = self.files.get(path)?;
        let start = offset.min(data.len());
        let end = start.saturating_add(len).min(data.len());
        Some(data[start..end].to_vec())
    }

    fn write(&mut self, path: &str, offset: usize, data: &[u8]) -> bool {
        let Some(file) = self.files.get_mut(path) else {
            return false;
        };
        let end = offset + data.len();
        let growth = end.saturating_sub(file.len());
        if end > MAX_FILE_BYTES || self.total + growth > MAX_TOTAL_BYTES {
            return false;
        }
        if growth > 0 {
            file.resize(end, 0);
            self.total += growth;
        }
        file[offset..end].copy_from_slice(data);
        true
    }

    fn snapshot(&self) -> Option<BTreeMap<String, Vec<u8>>> {
        Some(self.files.clone())
    }
}

/// Files in a folder on disk (`--fs DIR`). Sub-folders such as `build/` are created as
/// needed; files are reached only beneath the folder, never through a symbolic link, and
/// only if they are regular files ([`super::beneath`]); I/O errors and refused files make
/// the operation fail softly.
#[derive(Debug, Clone)]
pub struct DirFiles {
    root: PathBuf,
    created: usize,
    grown: usize,
}

impl DirFiles {
    /// A store rooted at `root`. A missing folder is created if its parent folder exists
    /// (only its last component: a mistyped parent is an error, never created); a file
    /// that is not a folder is refused.
    pub fn open(root: &Path) -> std::io::Result<DirFiles> {
        use std::io::{Error, ErrorKind};
        match fs::metadata(root) {
            Ok(meta) if meta.is_dir() => {}
            Ok(meta) => {
                return Err(Error::other(format!(
                    "it is {}, not a folder",
                    crate::util::nofollow::kind_of(&meta)
                )));
            }
            Err(_) => match fs::create_dir(root) {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::AlreadyExists && root.is_dir() => {}
                Err(e) if e.kind() == ErrorKind::NotFound => {
                    let parent = root
                        .parent()
                        .filter(|p| !p.as_os_str().is_empty())
                        .unwrap_or(Path::new("."));
                    return Err(Error::new(
                        ErrorKind::NotFound,
                        format!("the folder {} does not exist", parent.display()),
                    ));
                }
                Err(e) => return Err(e),
            },
        }
        Ok(DirFiles {
            root: root.to_path_buf(),
            created: 0,
            grown: 0,
        })
    }

    fn file(&self, path: &str, access: Access) -> Option<fs::File> {
        beneath::open(&self.root, path, access).ok()
    }
}

impl FileStore for DirFiles {
    fn exists(&self, path: &str) -> bool {
        beneath::is_regular(&self.root, path)
    }

    fn create(&mut self, path: &str) -> bool {
        if self.created >= MAX_FILES && !self.exists(path) {
            return false;
        }
        let ok = self.file(path, Access::Create).is_some();
        self.created += usize::from(ok);
        ok
    }

    fn size(&self, path: &str) -> Option<u64> {
        Some(self.file(path, Access::Read)?.metadata().ok()?.len())
    }

    fn read(&self, path: &str, offset: usize, len: usize) -> Option<Vec<u8>> {
        let mut file = self.file(path, Access::Read)?;
        let size = file.metadata().ok()?.len() as usize;
        let start = offset.min(size);
        let end = start.saturating_add(len).min(size);
        file.seek(SeekFrom::Start(start as u64)).ok()?;
        let mut buf = vec![0; end - start];
        file.read_exact(&mut buf).ok()?;
        Some(buf)
    }

    fn write(&mut self, path: &str, offset: usize, data: &[u8]) -> bool {
        let end = offset + data.len();
        if end > MAX_FILE_BYTES {
            return false;
        }
        let Some(mut file) = self.file(path, Access::Write) else {
            return false;
        };
        let Ok(meta) = file.metadata() else {
            return false;
        };
        let growth = end.saturating_sub(meta.len() as usize);
        if self.grown + growth > MAX_TOTAL_BYTES {
            return false;
        }
        let ok = file.seek(SeekFrom::Start(offset as u64)).is_ok() && file.write_all(data).is_ok();
        self.grown += if ok { growth } else { 0 };
        ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exercise(store: &mut dyn FileStore) {
        assert!(!store.exists("file_1"));
        assert!(
            !store.write("file_1", 0, b"x"),
            "write needs an existing file"
        );
        assert!(store.create("file_1"));
        assert!(store.write("file_1", 0, b"hello"));
        assert!(store.write("file_1", 3, b"LOWORLD"));
        assert_eq!(store.read("file_1", 0, 100).unwrap(), b"helLOWORLD");
        assert_eq!(store.read("file_1", 8, 100).unwrap(), b"LD");
        assert_eq!(store.read("file_1", 80, 100).unwrap(), b"");
        assert!(store.create("build/kernel_v2.bin"));
        assert!(store.exists("build/kernel_v2.bin"));
        assert!(!store.write("file_1", MAX_FILE_BYTES, b"x"));
        assert!(store.create("file_1"));
        assert_eq!(store.read("file_1", 0, 100).unwrap(), b"");
    }

    #[test]
    fn memory_store_semantics() {
        exercise(&mut MemFiles::new());
    }

    #[test]
    fn folder_store_semantics() {
        let dir = tempfile::tempdir().unwrap();
        exercise(&mut DirFiles::open(dir.path()).unwrap());
        assert!(dir.path().join("build/kernel_v2.bin").is_file());
    }

    #[test]
    fn a_folder_can_be_copied_into_memory() {
        let dir = tempfile::tempdir().unwrap();
        let mut on_disk = DirFiles::open(dir.path()).unwrap();
        assert!(on_disk.create("build/kernel_v2.bin"));
        assert!(on_disk.write("build/kernel_v2.bin", 0, b"\x01\x00"));
        assert!(on_disk.create("file_3"));
        let copy = MemFiles::copy_of_dir(dir.path(), OtherFiles::Skip).unwrap();
        assert_eq!(copy.get("build/kernel_v2.bin"), Some(&b"\x01\x00"[..]));
        assert_eq!(copy.get("file_3"), Some(&b""[..]));
    }

    #[test]
    fn ids_name_fixed_paths() {
        assert_eq!(path_for_id(301), "build/kernel_v2.bin");
        assert_eq!(path_for_id(-7), "file_-7");
    }
}
