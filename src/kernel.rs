//! Loading a kernel named on the command line: a `.asm` file is assembled, anything else
//! is raw bytecode. Either way the result fits the machine's 64 KiB memory, or the caller
//! gets an error that says which file and why.

use pxvm::asm::{assemble, AsmErrors};
use pxvm::MEM_SIZE;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Why a kernel file could not be loaded.
#[derive(Debug, Error)]
pub enum KernelError {
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} is not UTF-8 text (an .asm file must be)", path.display())]
    NotText { path: PathBuf },
    #[error("{0}")]
    Asm(#[from] AsmErrors),
    #[error("{}: kernel is {size} bytes; at most {MEM_SIZE} fit in memory", path.display())]
    TooLarge { path: PathBuf, size: u64 },
    #[error("{}: kernel is empty", path.display())]
    Empty { path: PathBuf },
}

/// Whether `path` names assembly source (by its `.asm` extension, any case).
pub fn is_assembly(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("asm"))
}

/// Load the kernel at `path`: assemble `.asm`, read anything else as bytecode.
/// Empty kernels and kernels over 65,536 bytes are refused.
pub fn load(path: &Path) -> Result<Vec<u8>, KernelError> {
    let io = |source| KernelError::Io {
        path: path.to_path_buf(),
        source,
    };
    let bytes = if is_assembly(path) {
        let raw = std::fs::read(path).map_err(io)?;
        let text = String::from_utf8(raw).map_err(|_| KernelError::NotText {
            path: path.to_path_buf(),
        })?;
        assemble(&text, &path.display().to_string())?
    } else {
        let size = std::fs::metadata(path).map_err(io)?.len();
        if size > MEM_SIZE as u64 {
            return Err(KernelError::TooLarge {
                path: path.to_path_buf(),
                size,
            });
        }
        std::fs::read(path).map_err(io)?
    };
    if bytes.is_empty() {
        return Err(KernelError::Empty {
            path: path.to_path_buf(),
        });
    }
    if bytes.len() > MEM_SIZE {
        return Err(KernelError::TooLarge {
            path: path.to_path_buf(),
            size: bytes.len() as u64,
        });
    }
    Ok(bytes)
}
