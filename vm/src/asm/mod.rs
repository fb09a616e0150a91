//! The assembler (stub; being written).

use thiserror::Error;

/// One assembly error, located.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{file}:{line}:{col}: {message}")]
pub struct AsmError {
    pub file: String,
    pub line: usize,
    pub col: usize,
    pub message: String,
}

/// All errors found in one source.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{}", .errors.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n"))]
pub struct AsmErrors {
    pub errors: Vec<AsmError>,
}

/// Assemble `source` (named `file` in error messages) to bytecode.
pub fn assemble(source: &str, file: &str) -> Result<Vec<u8>, AsmErrors> {
    let _ = source;
    Err(AsmErrors {
        errors: vec![AsmError {
            file: file.to_string(),
            line: 1,
            col: 1,
            message: "assembler not written yet".into(),
        }],
    })
}
