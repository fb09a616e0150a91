//! The disassembler (stub; being written).

/// A listing of `bytes`.
pub fn disassemble(bytes: &[u8]) -> String {
    format!("; {} bytes\n", bytes.len())
}
