//! The version store's errors. Every message says what went wrong and where (the store
//! folder, the file, the version name or id), so the CLI can print it as it is.

use std::path::PathBuf;
use thiserror::Error;

/// Why a version-store operation failed. A failed operation leaves the store as it was.
#[derive(Debug, Error)]
pub enum StoreError {
    /// A version name that cannot be used (it becomes part of a file name).
    #[error("invalid version name {name:?}: {reason}")]
    InvalidName { name: String, reason: &'static str },

    /// A kernel with no bytes.
    #[error("kernel is empty; a kernel must hold 1 to 65,536 bytes")]
    KernelEmpty,

    /// A kernel that does not fit in guest memory.
    #[error(transparent)]
    KernelTooLarge(#[from] pxvm::KernelTooLarge),

    /// The folder holds no version store.
    #[error("{} is not a version store (it has no versions.json and no kernels/ folder); `pxos register` creates one", root.display())]
    NotAStore { root: PathBuf },

    /// An I/O operation failed.
    #[error("cannot {op} {}: {source}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },

    /// No version has this name.
    #[error("no version named {name:?} in {}", root.display())]
    UnknownVersion { name: String, root: PathBuf },

    /// No version has this id.
    #[error("no version with id {id} in {}", root.display())]
    UnknownId { id: u64, root: PathBuf },

    /// The version failed its boot assessment (or its kernel is lost) and may not be booted.
    #[error(
        "version {name} (id {id}) is marked {status} and is not booted; use --force to put it back on probation"
    )]
    NotBootable {
        name: String,
        id: u64,
        status: &'static str,
    },

    /// The store has no current version to boot.
    #[error("{} has no current version; register one with `pxos register NAME KERNEL`, or put one marked bad back on probation with `pxos switch --force NAME`", root.display())]
    NoCurrent { root: PathBuf },

    /// A kernel file does not hold what versions.json records for it.
    #[error("{}: {problem}; run `pxos verify` to repair the store", path.display())]
    KernelDamaged { path: PathBuf, problem: String },

    /// A rollback that goes further back than the lineage does.
    #[error(
        "cannot roll back {steps} generation(s) from {from}: it has only {available} bootable ancestor(s)"
    )]
    RollbackTooFar {
        steps: u32,
        available: u32,
        from: String,
    },

    /// The store's lock could not be taken.
    #[error("cannot lock the store {}: {source}", path.display())]
    Lock {
        path: PathBuf,
        source: std::io::Error,
    },

    /// A mutating operation on a store opened read-only (a programming error).
    #[error("the store {} was opened read-only; open it for changes first", root.display())]
    ReadOnly { root: PathBuf },

    /// A canary boot was recorded with no rollout under way (a programming error).
    #[error("the store {} has no rollout under way", root.display())]
    NoRollout { root: PathBuf },

    /// The candidate counter ran out (a hand-edited `pipeline.last_candidate`).
    #[error("the store {} has run out of candidate ids (pipeline.last_candidate is 18446744073709551615)", root.display())]
    CandidateIdsExhausted { root: PathBuf },

    /// No candidate has this id.
    #[error("no candidate with id {id} in {}", root.display())]
    UnknownCandidate { id: u64, root: PathBuf },

    /// The id counter ran out (`latest_id` is 2^64 - 1).
    #[error("the store {} has run out of version ids (latest_id is 18446744073709551615); `pxos verify` lowers it if no version uses ids that high", root.display())]
    IdsExhausted { root: PathBuf },

    /// A store folder that is a link or not a folder, a store file that is a link, a FIFO,
    /// a device or a folder, or a failed crash-safe write (`crate::util`'s helpers).
    #[error(transparent)]
    Fs(#[from] crate::util::FsError),
}

impl StoreError {
    /// An [`StoreError::Io`] for `op` on `path`.
    pub fn io(op: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| StoreError::Io { op, path, source }
    }
}

/// Result of a version-store operation.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
