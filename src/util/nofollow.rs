//! Touching a store's files without leaving the store: a store folder may come from
//! someone else, and a symbolic link inside it (`kernels -> /home/you`, `kernel_v1.0.bin
//! -> /etc/passwd`) or a FIFO (which blocks whoever opens it) must not make pxOS read,
//! write or hang outside it. So the store's folders (`kernels/`, `build/`) must be real
//! folders ([`check_folder`]), and its files are read only if they are regular files,
//! opened without following a link and without blocking ([`read_regular`]). Writes replace
//! files by renaming a new file over them (see [`super::atomic`]), which replaces a link
//! instead of writing through it.

use super::fs_error::{FsError, Result};
use std::fs::{self, File, OpenOptions};
use std::io::Read;
use std::path::Path;

/// What a file-system object is, for messages ("a symbolic link", "a FIFO (named pipe)",
/// "a character device", ...). The one description of file kinds: the store's refusals and
/// the user-named files of `super::userfile` both use it.
pub fn kind_of(meta: &fs::Metadata) -> &'static str {
    let ft = meta.file_type();
    if ft.is_dir() {
        return "a folder";
    }
    if ft.is_symlink() {
        return "a symbolic link";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if ft.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if ft.is_char_device() {
            return "a character device";
        }
        if ft.is_block_device() {
            return "a block device";
        }
        if ft.is_socket() {
            return "a socket";
        }
    }
    if ft.is_file() {
        "a regular file"
    } else {
        "not a regular file"
    }
}

/// Why a file of kind `kind` ([`kind_of`]) cannot stand where a folder belongs, for
/// messages: "is a regular file, not a folder"; for a symbolic link it adds that links
/// are never followed (and only then).
pub fn not_a_folder(kind: &str) -> String {
    if kind == "a symbolic link" {
        format!("is {kind}, not a folder (links are never followed)")
    } else {
        format!("is {kind}, not a folder")
    }
}

/// Refuse `dir` if it exists as anything but a real folder (a symbolic link above all).
pub fn check_folder(dir: &Path) -> Result<()> {
    match fs::symlink_metadata(dir) {
        Ok(meta) if meta.is_dir() => Ok(()),
        Ok(meta) => Err(FsError::NotAFolder {
            path: dir.to_path_buf(),
            kind: kind_of(&meta),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(FsError::io("inspect", dir)(e)),
    }
}

/// Open `path` for reading if it is a regular file, without following a link and
/// without blocking on a FIFO.
pub fn open_regular(path: &Path) -> Result<File> {
    let meta = fs::symlink_metadata(path).map_err(FsError::io("read", path))?;
    if !meta.is_file() {
        return Err(not_regular(path, &meta));
    }
    let file = no_follow(OpenOptions::new().read(true))
        .open(path)
        .map_err(FsError::io("read", path))?;
    // Checked again on the open file: the name may have been replaced in between.
    let meta = file.metadata().map_err(FsError::io("read", path))?;
    if !meta.is_file() {
        return Err(not_regular(path, &meta));
    }
    Ok(file)
}

/// The bytes of the regular file `path`, refusing (without reading it all) one larger than
/// `max` bytes: `Ok(Err(size))`.
pub fn read_regular(path: &Path, max: u64) -> Result<Result<Vec<u8>, u64>> {
    let file = open_regular(path)?;
    let mut bytes = Vec::new();
    file.take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(FsError::io("read", path))?;
    if bytes.len() as u64 > max {
        let size = fs::metadata(path).map(|m| m.len()).unwrap_or(max + 1);
        return Ok(Err(size));
    }
    Ok(Ok(bytes))
}

/// `options` set not to follow a symbolic link in the last path component and not to
/// block on a FIFO (where the platform has the flags).
pub fn no_follow(options: &mut OpenOptions) -> &mut OpenOptions {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        let flags = rustix::fs::OFlags::NOFOLLOW | rustix::fs::OFlags::NONBLOCK;
        options.custom_flags(flags.bits() as i32);
    }
    options
}

fn not_regular(path: &Path, meta: &fs::Metadata) -> FsError {
    FsError::NotRegular {
        path: path.to_path_buf(),
        kind: kind_of(meta),
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn links_fifos_and_folders_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("outside.txt");
        fs::write(&outside, b"secret").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&outside, &link).unwrap();
        let fifo = dir.path().join("fifo");
        rustix::fs::mkfifoat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
        )
        .unwrap();
        for (path, kind) in [
            (&link, "a symbolic link"),
            (&fifo, "a FIFO"),
            (&dir.path().to_path_buf(), "a folder"),
        ] {
            let err = read_regular(path, 10).unwrap_err().to_string();
            assert!(err.contains(kind), "{err}");
        }
        assert_eq!(read_regular(&outside, 10).unwrap().unwrap(), b"secret");
        assert_eq!(read_regular(&outside, 3).unwrap(), Err(6));
        assert!(check_folder(&link).is_err());
        assert!(check_folder(dir.path()).is_ok());
        assert!(check_folder(&dir.path().join("absent")).is_ok());
    }
}
