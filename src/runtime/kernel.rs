//! Loading a kernel named on the command line: a `.asm` file is assembled, anything else
//! is raw bytecode. Either way the result fits the machine's 64 KiB memory, or the caller
//! gets an error that says which file and why. Only regular files are read, and only as
//! much as a kernel can be (see [`crate::util::userfile`]).

use crate::util::userfile::{self, FileError};
use pxvm::asm::{AsmErrors, assemble};
use pxvm::{KernelTooLarge, MEM_SIZE};
use std::io::Read;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// The longest `.asm` source pxos reads (a full 64 KiB kernel written one byte per line
/// with comments fits many times over).
pub const MAX_SOURCE_BYTES: u64 = 16 << 20;

/// Why a kernel file could not be loaded.
#[derive(Debug, Error)]
pub enum KernelError {
    /// Not readable, not a regular file (a FIFO, a device, a folder), or too long.
    #[error(transparent)]
    File(#[from] FileError),
    #[error("{} is not UTF-8 text (an .asm file must be)", path.display())]
    NotText { path: PathBuf },
    #[error(transparent)]
    Asm(#[from] AsmErrors),
    #[error("{}: {source}", path.display())]
    TooLarge {
        path: PathBuf,
        source: KernelTooLarge,
    },
    #[error("{}: kernel is empty", path.display())]
    Empty { path: PathBuf },
}

/// Whether `path` names assembly source (by its `.asm` extension, any case).
pub fn is_assembly(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("asm"))
}

/// Load the kernel at `path`: assemble `.asm`, read anything else as bytecode.
/// Only regular files are read (never a FIFO or a device, which could block or never
/// end), and at most 65,537 bytes of bytecode: empty kernels and kernels over 65,536
/// bytes are refused.
pub fn load(path: &Path) -> Result<Vec<u8>, KernelError> {
    let bytes = if is_assembly(path) {
        let raw = userfile::read_bounded(path, MAX_SOURCE_BYTES, "assembly source")?;
        let text = String::from_utf8(raw).map_err(|_| KernelError::NotText {
            path: path.to_path_buf(),
        })?;
        assemble(&text, &path.display().to_string())?
    } else {
        read_bytecode(path)?
    };
    if bytes.is_empty() {
        return Err(KernelError::Empty {
            path: path.to_path_buf(),
        });
    }
    KernelTooLarge::check(bytes.len()).map_err(|source| KernelError::TooLarge {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(bytes)
}

/// Read bytecode: a regular file of at most 65,536 bytes (one byte more is read to tell a
/// file that grew).
pub fn read_bytecode(path: &Path) -> Result<Vec<u8>, KernelError> {
    let too_large = |size| KernelError::TooLarge {
        path: path.to_path_buf(),
        source: KernelTooLarge { size },
    };
    let (file, meta) = userfile::open_regular(path)?;
    if meta.len() > MEM_SIZE as u64 {
        return Err(too_large(meta.len()));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    (&file)
        .take(MEM_SIZE as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|error| FileError::Read {
            path: path.to_path_buf(),
            error,
        })?;
    if bytes.len() > MEM_SIZE {
        // It grew while it was read: its size now, if it can still be told.
        let size = file.metadata().map_or(bytes.len() as u64, |m| m.len());
        return Err(too_large(size.max(bytes.len() as u64)));
    }
    Ok(bytes)
}
