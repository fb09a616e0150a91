//! Files a user names on the command line — kernels, manifests, targets, checkpoints,
//! pictures, logs — as opposed to the version store's own files (`store::atomic`).
//!
//! Reading: [`read_bounded`] opens without blocking (a FIFO with no writer must not hang
//! pxos), refuses anything but a regular file (a FIFO, a device such as `/dev/zero`, a
//! folder) and reads at most a stated number of bytes, so no input can exhaust memory.
//!
//! Writing: [`write_output`] replaces a regular file atomically (temporary file, fsync,
//! rename, fsync of the folder, through the store's crash-safe writer) but never renames
//! over what is not a regular file: a symbolic link is followed and its target written, a
//! device or FIFO is written through (`--png /dev/stdout` works; `/dev/full` gives an
//! error), a folder is refused. [`check_output`] tells before a long job whether its output
//! could be written at all, and [`same_file`] whether two paths are one file.
//! [`check_distinct`] refuses an output that names an input or another output (so no
//! option can overwrite what another reads or writes), [`prepare_output`] checks an
//! output at the start of a long job and opens a FIFO or device then (a FIFO nobody
//! reads is refused before the work, not after it), and [`lock_output`] holds a file a
//! long job writes for the whole job, so a second pxos process given it is refused.
//!
//! The lock of a file `NAME` is a sidecar file `.NAME.lock` beside it (beside the link's
//! target when `NAME` is a symbolic link), locked with `File::try_lock`: the file itself
//! cannot carry the lock, since an atomic replacement gives it a new inode every time.
//! The holder removes the lock file when it is done (a process killed leaves it behind,
//! unlocked and harmless: the next run takes it and removes it).

use std::fs::{self, File, Metadata, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Why a user-named file could not be read or written. Each message names the file and
/// says what was wrong, once.
#[derive(Debug, Error)]
pub enum FileError {
    #[error("cannot read {}: {error}", path.display())]
    Read { path: PathBuf, error: io::Error },
    #[error("cannot write {}: {error}", path.display())]
    Write { path: PathBuf, error: io::Error },
    #[error("{} is {what}, not a regular file", path.display())]
    NotRegular { path: PathBuf, what: &'static str },
    #[error("{} is larger than {} bytes, the most pxos reads of {what}", path.display(), super::thousands(*limit))]
    TooLarge {
        path: PathBuf,
        limit: u64,
        what: &'static str,
    },
    #[error("cannot write {}: it is a folder", path.display())]
    IsFolder { path: PathBuf },
    #[error("cannot write {}: it is a symbolic link to {}, which does not exist", path.display(), target.display())]
    DanglingLink { path: PathBuf, target: PathBuf },
    #[error("cannot write {}: the folder {} does not exist", path.display(), folder.display())]
    NoFolder { path: PathBuf, folder: PathBuf },
    #[error("{} is in use by another pxos process (its lock {} is held); wait for it to end, or give another file", path.display(), lock.display())]
    InUse { path: PathBuf, lock: PathBuf },
    #[error("{option} {} is {what}, not a folder", path.display())]
    NotAFolder {
        option: String,
        path: PathBuf,
        what: &'static str,
    },
    #[error("{option} {}: the folder {} does not exist", path.display(), folder.display())]
    NoParent {
        option: String,
        path: PathBuf,
        folder: PathBuf,
    },
    #[error("{option} {}: {} is {what}, not a folder", path.display(), folder.display())]
    ParentNotAFolder {
        option: String,
        path: PathBuf,
        folder: PathBuf,
        what: &'static str,
    },
    #[error("{option} {}: cannot create the folder: {error}", path.display())]
    CreateFolder {
        option: String,
        path: PathBuf,
        error: io::Error,
    },
    #[error("{option} {} is the same file as {other} {}", path.display(), other_path.display())]
    SameFile {
        option: String,
        path: PathBuf,
        other: String,
        other_path: PathBuf,
    },
}

/// What kind of file `meta` describes, for messages ("a FIFO (named pipe)", "a folder", ...).
pub use super::nofollow::kind_of as describe;

/// Open `path` for reading if it is a regular file (following symbolic links). The open
/// never blocks: a FIFO is opened non-blocking and then refused.
pub fn open_regular(path: &Path) -> Result<(File, Metadata), FileError> {
    let read_err = |error| FileError::Read {
        path: path.to_path_buf(),
        error,
    };
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path).map_err(read_err)?;
    let meta = file.metadata().map_err(read_err)?;
    if !meta.is_file() {
        return Err(FileError::NotRegular {
            path: path.to_path_buf(),
            what: describe(&meta),
        });
    }
    Ok((file, meta))
}

/// Read the regular file at `path`, refusing one longer than `limit` bytes (`what` names
/// the content in the message, e.g. "a kernel").
pub fn read_bounded(path: &Path, limit: u64, what: &'static str) -> Result<Vec<u8>, FileError> {
    let (file, meta) = open_regular(path)?;
    let too_large = || FileError::TooLarge {
        path: path.to_path_buf(),
        limit,
        what,
    };
    if meta.len() > limit {
        return Err(too_large());
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|error| FileError::Read {
            path: path.to_path_buf(),
            error,
        })?;
    if bytes.len() as u64 > limit {
        return Err(too_large());
    }
    Ok(bytes)
}

/// [`read_bounded`] as UTF-8 text.
pub fn read_text_bounded(path: &Path, limit: u64, what: &'static str) -> Result<String, FileError> {
    let bytes = read_bounded(path, limit, what)?;
    String::from_utf8(bytes).map_err(|_| FileError::Read {
        path: path.to_path_buf(),
        error: io::Error::new(io::ErrorKind::InvalidData, "not UTF-8 text"),
    })
}

/// Read one line (up to and including `\n`) of at most `limit` bytes into `line`
/// (cleared first). Returns `Ok(None)` at the end of input, `Ok(Some(true))` for a line
/// ending in `\n`, `Ok(Some(false))` for a last line without one. A longer line is an
/// error of kind `InvalidData`; the reader has then consumed the first `limit + 1` bytes.
pub fn read_line_bounded(
    reader: &mut impl io::BufRead,
    line: &mut Vec<u8>,
    limit: usize,
) -> io::Result<Option<bool>> {
    line.clear();
    let mut limited = io::Read::take(reader, limit as u64 + 1);
    let n = io::BufRead::read_until(&mut limited, b'\n', line)?;
    if n == 0 {
        return Ok(None);
    }
    let complete = line.last() == Some(&b'\n');
    if !complete && line.len() > limit {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "a line longer than {} bytes",
                super::thousands(limit as u64)
            ),
        ));
    }
    Ok(Some(complete))
}

/// Read one line of any length, keeping only its first `cap` bytes in `head` (cleared
/// first), so that memory stays bounded. Returns the line's full length in bytes
/// (0 at the end of input) and whether it ended with `\n`.
pub fn read_line_head(
    reader: &mut impl io::BufRead,
    head: &mut Vec<u8>,
    cap: usize,
) -> io::Result<(u64, bool)> {
    head.clear();
    let mut len = 0u64;
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Ok((len, false));
        }
        let (n, ended) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (buf.len(), false),
        };
        let room = cap.saturating_sub(head.len()).min(n);
        head.extend_from_slice(&buf[..room]);
        reader.consume(n);
        len += n as u64;
        if ended {
            return Ok((len, true));
        }
    }
}

/// Where writing to `path` really goes: `Ok(None)` if nothing is there yet; otherwise the
/// final path (symbolic links resolved) and what is there.
fn resolve_output(path: &Path) -> Result<Option<(PathBuf, Metadata)>, FileError> {
    let write_err = |error| FileError::Write {
        path: path.to_path_buf(),
        error,
    };
    let link = match fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(write_err(e)),
    };
    if !link.file_type().is_symlink() {
        return Ok(Some((path.to_path_buf(), link)));
    }
    match fs::metadata(path) {
        // A link to a pipe or a socket (`/dev/stdout` in a pipeline: `/proc/self/fd/1`,
        // then `pipe:[N]`) has no path to resolve to; it is written through the link.
        Ok(meta) if !meta.is_file() && !meta.is_dir() => Ok(Some((
            fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf()),
            meta,
        ))),
        Ok(meta) => {
            let target = fs::canonicalize(path).map_err(write_err)?;
            Ok(Some((target, meta)))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Err(FileError::DanglingLink {
            path: path.to_path_buf(),
            target: fs::read_link(path).unwrap_or_default(),
        }),
        Err(e) => Err(write_err(e)),
    }
}

fn folder_of(path: &Path) -> &Path {
    path.parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// Check, before a long job, that [`write_output`] (or [`open_append`]) could write
/// `path`: it is not a folder or a dangling link, and its folder exists and takes a new
/// file. Nothing is left behind.
pub fn check_output(path: &Path) -> Result<(), FileError> {
    let target = match resolve_output(path)? {
        Some((_, meta)) if meta.is_dir() => {
            return Err(FileError::IsFolder {
                path: path.to_path_buf(),
            });
        }
        Some((_, meta)) if !meta.is_file() => return Ok(()), // written through
        Some((target, _)) => target,
        None => path.to_path_buf(),
    };
    let folder = folder_of(&target);
    if !folder.is_dir() {
        return Err(FileError::NoFolder {
            path: path.to_path_buf(),
            folder: folder.to_path_buf(),
        });
    }
    // The folder must take a new file (the atomic replacement's temporary).
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let probe = folder.join(format!(".{name}.tmp.{}.check", std::process::id()));
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
        .map_err(|error| FileError::Write {
            path: path.to_path_buf(),
            error,
        })?;
    let _ = fs::remove_file(&probe);
    Ok(())
}

/// Check a folder the user names (`--fs DIR`, `--out DIR`; `option` names it in
/// messages): it is a folder (a symbolic link to one is followed), or it is missing and
/// its parent folder exists, so that [`make_folder`] can create it — only its last
/// component: a mistyped parent is refused, never created. Returns whether it exists.
/// Nothing is created.
pub fn check_folder(option: &str, path: &Path) -> Result<bool, FileError> {
    let not_a_folder = |path: &Path, meta: &Metadata| FileError::NotAFolder {
        option: option.to_string(),
        path: path.to_path_buf(),
        what: describe(meta),
    };
    match fs::metadata(path) {
        Ok(meta) if meta.is_dir() => return Ok(true),
        Ok(meta) => return Err(not_a_folder(path, &meta)),
        Err(e) if e.kind() != io::ErrorKind::NotFound => {
            return Err(FileError::CreateFolder {
                option: option.to_string(),
                path: path.to_path_buf(),
                error: e,
            });
        }
        Err(_) => {}
    }
    // Missing, or a symbolic link to nothing.
    if fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(FileError::DanglingLink {
            path: path.to_path_buf(),
            target: fs::read_link(path).unwrap_or_default(),
        });
    }
    let folder = folder_of(path);
    match fs::metadata(folder) {
        Ok(meta) if meta.is_dir() => Ok(false),
        Ok(meta) => Err(FileError::ParentNotAFolder {
            option: option.to_string(),
            path: path.to_path_buf(),
            folder: folder.to_path_buf(),
            what: describe(&meta),
        }),
        Err(_) => Err(FileError::NoParent {
            option: option.to_string(),
            path: path.to_path_buf(),
            folder: folder.to_path_buf(),
        }),
    }
}

/// [`check_folder`], then create the folder if it is missing (its last component only).
pub fn make_folder(option: &str, path: &Path) -> Result<(), FileError> {
    if !check_folder(option, path)? {
        match fs::create_dir(path) {
            Ok(()) => {}
            // Made meanwhile by someone else: fine if it is a folder.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && path.is_dir() => {}
            Err(error) => {
                return Err(FileError::CreateFolder {
                    option: option.to_string(),
                    path: path.to_path_buf(),
                    error,
                });
            }
        }
    }
    Ok(())
}

/// Write `bytes` to the user-named output `path`: a regular file (or a new one) is
/// replaced atomically; a symbolic link is followed; a device or FIFO is written through;
/// a folder or a dangling link is refused. On error a regular destination is untouched.
pub fn write_output(path: &Path, bytes: &[u8]) -> Result<(), FileError> {
    let write_err = |error| FileError::Write {
        path: path.to_path_buf(),
        error,
    };
    match resolve_output(path)? {
        Some((_, meta)) if meta.is_dir() => Err(FileError::IsFolder {
            path: path.to_path_buf(),
        }),
        Some((target, meta)) if !meta.is_file() => {
            let mut file =
                open_through(OpenOptions::new().write(true), &target).map_err(write_err)?;
            file.write_all(bytes).map_err(write_err)?;
            file.flush().map_err(write_err)
        }
        found => {
            let target = found.map_or_else(|| path.to_path_buf(), |(t, _)| t);
            let folder = folder_of(&target);
            if !folder.is_dir() {
                return Err(FileError::NoFolder {
                    path: path.to_path_buf(),
                    folder: folder.to_path_buf(),
                });
            }
            super::atomic::write_atomic(&target, bytes).map_err(|e| {
                write_err(match e {
                    super::FsError::Io { source, .. } => source,
                    other => io::Error::other(other.to_string()),
                })
            })
        }
    }
}

/// Open an output for writing without ever blocking in `open`: a FIFO nobody reads is an
/// error ("no process reads it") instead of a hang. Once open, the file is made blocking
/// again, so writes to a FIFO with a slow reader wait for it as they should.
fn open_through(options: &mut OpenOptions, path: &Path) -> io::Result<File> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32);
    }
    let file = options.open(path).map_err(|e| {
        if cfg!(unix) && e.raw_os_error() == Some(libc::ENXIO) {
            io::Error::other("it is a FIFO that no process is reading")
        } else {
            e
        }
    })?;
    #[cfg(unix)]
    {
        let flags = rustix::fs::fcntl_getfl(&file)?;
        rustix::fs::fcntl_setfl(&file, flags - rustix::fs::OFlags::NONBLOCK)?;
    }
    Ok(file)
}

/// Open the user-named output `path` for appending (created if missing; links followed;
/// devices and FIFOs written through; folders refused).
pub fn open_append(path: &Path) -> Result<File, FileError> {
    if let Some((_, meta)) = resolve_output(path)?
        && meta.is_dir()
    {
        return Err(FileError::IsFolder {
            path: path.to_path_buf(),
        });
    }
    open_through(OpenOptions::new().create(true).append(true), path).map_err(|error| {
        FileError::Write {
            path: path.to_path_buf(),
            error,
        }
    })
}

/// Which file a path names, so that `a`, `./a` and a link to `a` compare equal.
#[derive(Debug, PartialEq, Eq)]
enum Identity {
    /// An existing file (links followed): its device and inode (its canonical path where
    /// there are no inodes). `regular` is false for a device, a FIFO or a folder.
    Existing {
        id: (u64, u64, PathBuf),
        regular: bool,
    },
    /// A file not created yet: its canonical folder and its name.
    New(PathBuf),
    /// A path that cannot be resolved (its folder is missing): as given.
    Unknown(PathBuf),
}

fn identity(path: &Path) -> Identity {
    if let Ok(meta) = fs::metadata(path) {
        #[cfg(unix)]
        let id = {
            use std::os::unix::fs::MetadataExt;
            (meta.dev(), meta.ino(), PathBuf::new())
        };
        #[cfg(not(unix))]
        let id = (
            0,
            0,
            fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf()),
        );
        return Identity::Existing {
            id,
            regular: meta.is_file(),
        };
    }
    // A dangling link names its target.
    let path = match fs::read_link(path) {
        Ok(target) => folder_of(path).join(target),
        Err(_) => path.to_path_buf(),
    };
    match (fs::canonicalize(folder_of(&path)), path.file_name()) {
        (Ok(folder), Some(name)) => Identity::New(folder.join(name)),
        _ => Identity::Unknown(path),
    }
}

/// Whether `a` and `b` name the same file: the same existing file (same device and
/// inode, links followed), or the same file to be created (same canonical folder, same
/// name).
pub fn same_file(a: &Path, b: &Path) -> bool {
    identity(a) == identity(b)
}

/// Refuse an output that names an input or an earlier output: each of `outputs` and
/// `inputs` is (how the message names it, its path) — e.g. `("--out", path)`,
/// `("the seed kernel", path)`. Paths are compared as files ([`same_file`]): `./a`, `a`
/// and a link to `a` are one file. Devices and FIFOs, which are written through rather
/// than replaced, may be named twice (`--out /dev/stdout --plot /dev/stdout`).
pub fn check_distinct(
    outputs: &[(&str, &Path)],
    inputs: &[(&str, &Path)],
) -> Result<(), FileError> {
    let ids: Vec<Identity> = outputs.iter().map(|(_, p)| identity(p)).collect();
    for (k, ((option, path), id)) in outputs.iter().zip(&ids).enumerate() {
        if matches!(id, Identity::Existing { regular: false, .. }) {
            continue;
        }
        let earlier = outputs[..k].iter().zip(&ids).map(|(o, i)| (o, i == id));
        let read = inputs.iter().map(|o| (o, same_file(o.1, path)));
        if let Some(((other, other_path), _)) = read.chain(earlier).find(|(_, same)| *same) {
            return Err(FileError::SameFile {
                option: option.to_string(),
                path: path.to_path_buf(),
                other: other.to_string(),
                other_path: other_path.to_path_buf(),
            });
        }
    }
    Ok(())
}

/// An output checked at the start of a long job ([`prepare_output`]), written at its end
/// with [`PreparedOutput::write`].
#[derive(Debug)]
pub struct PreparedOutput {
    path: PathBuf,
    /// A FIFO or device, opened when the output was prepared.
    through: Option<File>,
}

impl PreparedOutput {
    /// The output's path as given.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Write `bytes` as [`write_output`] does (a FIFO or device through the file opened
    /// when the output was prepared).
    pub fn write(self, bytes: &[u8]) -> Result<(), FileError> {
        let Some(mut file) = self.through else {
            return write_output(&self.path, bytes);
        };
        let write_err = |error| FileError::Write {
            path: self.path.clone(),
            error,
        };
        file.write_all(bytes).map_err(write_err)?;
        file.flush().map_err(write_err)
    }
}

/// [`check_output`], and for a FIFO or device, opening it now as [`write_output`] would
/// at the end: a FIFO that no process reads is refused before the job instead of after
/// it, and one that a process reads stays open (its reader does not see the end of it)
/// until [`PreparedOutput::write`].
pub fn prepare_output(path: &Path) -> Result<PreparedOutput, FileError> {
    check_output(path)?;
    let through = match resolve_output(path)? {
        Some((target, meta)) if !meta.is_file() && !meta.is_dir() => Some(
            open_through(OpenOptions::new().write(true), &target).map_err(|error| {
                FileError::Write {
                    path: path.to_path_buf(),
                    error,
                }
            })?,
        ),
        _ => None,
    };
    Ok(PreparedOutput {
        path: path.to_path_buf(),
        through,
    })
}

/// A hold on an output for the whole of a job ([`lock_output`]); released, and its lock
/// file removed, on drop.
#[derive(Debug)]
pub struct OutputLock {
    file: File,
    lock: PathBuf,
}

impl Drop for OutputLock {
    fn drop(&mut self) {
        // Removed while still held: whoever opened it meanwhile finds, once it has the
        // lock, that it locked a removed file, and starts again (see `lock_output`).
        let _ = fs::remove_file(&self.lock);
        let _ = self.file.unlock();
    }
}

/// Hold the output `path` for as long as the returned lock lives: if another process
/// (pxos) holds it, [`FileError::InUse`]. A device or a FIFO, written through and owned
/// by no one, is not locked (`Ok(None)`). See the module's notes for the lock file.
pub fn lock_output(path: &Path) -> Result<Option<OutputLock>, FileError> {
    let target = match resolve_output(path)? {
        Some((_, meta)) if !meta.is_file() => return Ok(None),
        Some((target, _)) => target,
        None => path.to_path_buf(),
    };
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let lock = folder_of(&target).join(format!(".{name}.lock"));
    let write_err = |error| FileError::Write {
        path: lock.clone(),
        error,
    };
    loop {
        let file =
            super::nofollow::no_follow(OpenOptions::new().create(true).truncate(false).write(true))
                .open(&lock)
                .map_err(write_err)?;
        let meta = file.metadata().map_err(write_err)?;
        if !meta.is_file() {
            return Err(FileError::NotRegular {
                path: lock,
                what: describe(&meta),
            });
        }
        match file.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                return Err(FileError::InUse {
                    path: path.to_path_buf(),
                    lock,
                });
            }
            Err(fs::TryLockError::Error(error)) => return Err(write_err(error)),
        }
        // The holder before us removes the file before it lets go: a lock on a file no
        // longer at `lock` holds nothing.
        if fs::symlink_metadata(&lock).is_ok_and(|now| same_inode(&now, &meta)) {
            return Ok(Some(OutputLock { file, lock }));
        }
    }
}

fn same_inode(a: &Metadata, b: &Metadata) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        (a.dev(), a.ino()) == (b.dev(), b.ino())
    }
    #[cfg(not(unix))]
    {
        let _ = (a, b);
        true
    }
}

/// Remove the temporaries that an interrupted atomic write of `path` left in its folder
/// (`.<name>.tmp.<pid>.<n>`), except those of processes still running. Returns how many
/// were removed.
pub fn remove_stale_temporaries(path: &Path) -> usize {
    // Behind a link, the temporaries are beside the link's target.
    let resolved = fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let path = resolved.as_path();
    let Some(name) = path.file_name().map(|n| n.to_string_lossy().into_owned()) else {
        return 0;
    };
    let prefix = format!(".{name}.tmp.");
    let Ok(entries) = fs::read_dir(folder_of(path)) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let file_name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = file_name.strip_prefix(&prefix) else {
            continue;
        };
        let Some(pid) = rest.split('.').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if process_alive(pid) || !entry.file_type().is_ok_and(|t| t.is_file()) {
            continue;
        }
        if fs::remove_file(entry.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// Whether a process with this id runs (always "yes" where that cannot be told, so
/// nothing of a live writer is removed).
fn process_alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    if cfg!(target_os = "linux") {
        Path::new("/proc").join(pid.to_string()).exists()
    } else {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_bounded_and_regular_only() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("f");
        fs::write(&f, b"12345").unwrap();
        assert_eq!(read_bounded(&f, 5, "x").unwrap(), b"12345");
        assert!(matches!(
            read_bounded(&f, 4, "x"),
            Err(FileError::TooLarge { .. })
        ));
        assert!(matches!(
            read_bounded(dir.path(), 4, "x"),
            Err(FileError::NotRegular {
                what: "a folder",
                ..
            })
        ));
        #[cfg(unix)]
        assert!(matches!(
            read_bounded(Path::new("/dev/zero"), 4, "x"),
            Err(FileError::NotRegular { .. })
        ));
    }

    #[test]
    fn a_locked_output_is_in_use_until_released_and_leaves_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.jsonl");
        let first = lock_output(&path).unwrap().expect("a new file is locked");
        assert!(matches!(
            lock_output(&dir.path().join(".").join("run.jsonl")),
            Err(FileError::InUse { .. })
        ));
        drop(first);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0, "lock removed");
        let again = lock_output(&path).unwrap();
        assert!(again.is_some());
        // Devices are written through and owned by no one.
        #[cfg(unix)]
        assert!(lock_output(Path::new("/dev/null")).unwrap().is_none());
    }

    #[test]
    fn distinct_outputs_compare_files_not_spellings() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in.asm");
        fs::write(&input, b"HALT\n").unwrap();
        let dotted = dir.path().join(".").join("in.asm");
        let err = check_distinct(&[("--out", &dotted)], &[("the seed kernel", &input)]);
        assert!(matches!(err, Err(FileError::SameFile { .. })));
        let new = dir.path().join("new.bin");
        let new_dotted = dir.path().join("sub").join("..").join("new.bin");
        fs::create_dir(dir.path().join("sub")).unwrap();
        let err = check_distinct(&[("--out", &new), ("--log", &new_dotted)], &[]);
        assert_eq!(
            err.unwrap_err().to_string(),
            format!(
                "--log {} is the same file as --out {}",
                new_dotted.display(),
                new.display()
            )
        );
        #[cfg(unix)]
        {
            let null = Path::new("/dev/null");
            assert!(check_distinct(&[("--out", null), ("--plot", null)], &[]).is_ok());
        }
        assert!(check_distinct(&[("--out", &new)], &[("the seed kernel", &input)]).is_ok());
    }

    #[test]
    fn bounded_lines() {
        let mut r = io::Cursor::new(b"ab\ncdefg\nhi".to_vec());
        let mut line = Vec::new();
        assert_eq!(read_line_bounded(&mut r, &mut line, 4).unwrap(), Some(true));
        assert_eq!(line, b"ab\n");
        assert!(read_line_bounded(&mut r, &mut line, 4).is_err());
        let mut r = io::Cursor::new(b"ab\nhi".to_vec());
        read_line_bounded(&mut r, &mut line, 4).unwrap();
        assert_eq!(
            read_line_bounded(&mut r, &mut line, 4).unwrap(),
            Some(false)
        );
        assert_eq!(line, b"hi");
        assert_eq!(read_line_bounded(&mut r, &mut line, 4).unwrap(), None);
        let mut r = io::Cursor::new(b"abcdefgh\nxy".to_vec());
        assert_eq!(read_line_head(&mut r, &mut line, 3).unwrap(), (9, true));
        assert_eq!(line, b"abc");
        assert_eq!(read_line_head(&mut r, &mut line, 3).unwrap(), (2, false));
        assert_eq!(read_line_head(&mut r, &mut line, 3).unwrap(), (0, false));
    }

    #[test]
    fn outputs_follow_links_and_refuse_folders() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("t");
        fs::write(&target, b"old").unwrap();
        let link = dir.path().join("l");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        write_output(&link, b"new").unwrap();
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read(&target).unwrap(), b"new");
        assert!(matches!(
            write_output(dir.path(), b"x"),
            Err(FileError::IsFolder { .. })
        ));
        let missing = dir.path().join("no/such/file");
        assert!(matches!(
            check_output(&missing),
            Err(FileError::NoFolder { .. })
        ));
        check_output(&dir.path().join("new")).unwrap();
        assert!(!dir.path().join("new").exists());
        assert!(same_file(&link, &target));
        assert!(!same_file(&link, &missing));
    }
}
