//! Opening a guest file strictly beneath the `--fs` folder. The folder may hold symbolic
//! links, FIFOs or devices that someone else put there (`file_7 -> ../out/victim.txt`,
//! `build -> /etc`); a guest must reach none of them. So a guest path is walked one
//! component at a time from the folder, each folder opened with `O_NOFOLLOW |
//! O_DIRECTORY` relative to the one before (openat-style, so a link cannot be swapped in
//! between two checks), and the file itself is opened with `O_NOFOLLOW | O_NONBLOCK` and
//! accepted only if it is a regular file with one name (a hard link to a file elsewhere
//! is refused for writing and truncating). Anything else fails, and the guest's syscall
//! fails softly (R0 = 0) as any other failed file operation does.
//!
//! Guest paths come from [`super::files::path_for_id`] (`file_N`, `build/…`); components
//! that are empty, `.` or `..` are refused anyway.

use std::fs::File;
use std::io;
use std::path::Path;

/// What the guest wants to do with a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Read an existing file.
    Read,
    /// Write into an existing file.
    Write,
    /// Create the file (and its folders) or truncate it; opened for writing.
    Create,
}

fn refused(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::PermissionDenied, what.to_string())
}

/// `path`'s components, checked: none empty, `.` or `..`.
fn components(path: &str) -> io::Result<(Vec<&str>, &str)> {
    let mut parts: Vec<&str> = path.split('/').collect();
    if parts
        .iter()
        .any(|p| p.is_empty() || *p == "." || *p == "..")
    {
        return Err(refused("a guest path component is empty, `.` or `..`"));
    }
    let name = parts.pop().unwrap_or_default();
    Ok((parts, name))
}

#[cfg(unix)]
mod imp {
    use super::{Access, components, refused};
    use rustix::fs::{
        AtFlags, CWD, FileType, Mode, OFlags, Stat, fstat, ftruncate, mkdirat, openat, statat,
    };
    use rustix::io::Errno;
    use std::fs::File;
    use std::io;
    use std::os::fd::OwnedFd;
    use std::path::Path;

    fn regular(stat: &Stat, access: Access) -> io::Result<()> {
        if FileType::from_raw_mode(stat.st_mode) != FileType::RegularFile {
            return Err(refused("not a regular file"));
        }
        if access != Access::Read && stat.st_nlink > 1 {
            return Err(refused("a file with more than one name (a hard link)"));
        }
        Ok(())
    }

    /// The folder that holds `path`'s last component, and that component.
    fn parent<'p>(root: &Path, path: &'p str, create: bool) -> io::Result<(OwnedFd, &'p str)> {
        let (folders, name) = components(path)?;
        let dir_flags = OFlags::DIRECTORY | OFlags::RDONLY | OFlags::CLOEXEC;
        let mut dir = openat(CWD, root, dir_flags, Mode::empty())?;
        for part in folders {
            let flags = dir_flags | OFlags::NOFOLLOW;
            dir = match openat(&dir, part, flags, Mode::empty()) {
                Err(Errno::NOENT) if create => {
                    match mkdirat(&dir, part, Mode::from_raw_mode(0o777)) {
                        Ok(()) | Err(Errno::EXIST) => {}
                        Err(e) => return Err(e.into()),
                    }
                    openat(&dir, part, flags, Mode::empty())?
                }
                other => other?,
            };
        }
        Ok((dir, name))
    }

    pub fn open(root: &Path, path: &str, access: Access) -> io::Result<File> {
        let (dir, name) = parent(root, path, access == Access::Create)?;
        match statat(&dir, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(stat) => regular(&stat, access)?,
            Err(Errno::NOENT) if access == Access::Create => {}
            Err(e) => return Err(e.into()),
        }
        let base = OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
        let flags = match access {
            Access::Read => base | OFlags::RDONLY,
            Access::Write => base | OFlags::WRONLY,
            Access::Create => base | OFlags::WRONLY | OFlags::CREATE,
        };
        let fd = openat(&dir, name, flags, Mode::from_raw_mode(0o666))?;
        // Checked again on the open file: the name may have been replaced in between.
        regular(&fstat(&fd)?, access)?;
        if access == Access::Create {
            ftruncate(&fd, 0)?;
        }
        Ok(File::from(fd))
    }
}

#[cfg(not(unix))]
mod imp {
    use super::{Access, components, refused};
    use std::fs::{self, File, OpenOptions};
    use std::io;
    use std::path::Path;

    /// Without openat: every component is checked with `symlink_metadata` first (a
    /// best effort; a link swapped in between is not noticed).
    pub fn open(root: &Path, path: &str, access: Access) -> io::Result<File> {
        let (folders, name) = components(path)?;
        let mut at = root.to_path_buf();
        for part in folders {
            at.push(part);
            match fs::symlink_metadata(&at) {
                Ok(m) if m.is_dir() => {}
                Ok(_) => return Err(refused("not a folder")),
                Err(e) if e.kind() == io::ErrorKind::NotFound && access == Access::Create => {
                    fs::create_dir(&at)?
                }
                Err(e) => return Err(e),
            }
        }
        at.push(name);
        match fs::symlink_metadata(&at) {
            Ok(m) if m.is_file() => {}
            Ok(_) => return Err(refused("not a regular file")),
            Err(e) if e.kind() == io::ErrorKind::NotFound && access == Access::Create => {}
            Err(e) => return Err(e),
        }
        match access {
            Access::Read => File::open(&at),
            Access::Write => OpenOptions::new().write(true).open(&at),
            Access::Create => File::create(&at),
        }
    }
}

/// Open guest file `path` beneath `root` for `access`, never through a link, and only if
/// it is a regular file (see the module docs).
pub fn open(root: &Path, path: &str, access: Access) -> io::Result<File> {
    imp::open(root, path, access)
}

/// Whether guest file `path` exists beneath `root` as a regular file reached without links.
pub fn is_regular(root: &Path, path: &str) -> bool {
    open(root, path, Access::Read).is_ok()
}
