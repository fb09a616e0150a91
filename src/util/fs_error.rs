//! The one error of the crash-safe and no-follow file helpers ([`super::atomic`],
//! [`super::nofollow`]): which operation failed on which path, or which kind of file stood
//! where a folder or a regular file was expected. The store wraps it unchanged
//! (`StoreError::Fs`), so its messages read the same wherever the helpers are used.

use std::path::PathBuf;
use thiserror::Error;

/// Why a file-system helper refused or failed. Nothing was written when it is returned.
#[derive(Debug, Error)]
pub enum FsError {
    /// An I/O operation failed.
    #[error("cannot {op} {}: {source}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },

    /// A folder that is a link or not a folder at all.
    #[error("{} {}; nothing was written", path.display(), super::nofollow::not_a_folder(kind))]
    NotAFolder { path: PathBuf, kind: &'static str },

    /// A file that is a link, a FIFO, a device or a folder.
    #[error("{} is {kind}, not a regular file; pxOS neither reads nor writes through it", path.display())]
    NotRegular { path: PathBuf, kind: &'static str },
}

impl FsError {
    /// An [`FsError::Io`] for `op` on `path`.
    pub fn io(op: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| FsError::Io { op, path, source }
    }

    /// The underlying I/O error, if this is one.
    pub fn io_error(&self) -> Option<&std::io::Error> {
        match self {
            FsError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Result of a file-system helper.
pub type Result<T, E = FsError> = std::result::Result<T, E>;
