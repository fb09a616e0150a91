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

/// Whether `a` and `b` name the same existing file (same device and inode, links
/// followed). `false` if either does not exist.
pub fn same_file(a: &Path, b: &Path) -> bool {
    match (fs::metadata(a), fs::metadata(b)) {
        #[cfg(unix)]
        (Ok(x), Ok(y)) => {
            use std::os::unix::fs::MetadataExt;
            (x.dev(), x.ino()) == (y.dev(), y.ino())
        }
        #[cfg(not(unix))]
        (Ok(_), Ok(_)) => match (fs::canonicalize(a), fs::canonicalize(b)) {
            (Ok(x), Ok(y)) => x == y,
            _ => false,
        },
        _ => false,
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
