//! Content hashes as pxOS writes them everywhere (versions.json, run reports, candidate
//! records): lower-case hex SHA-256.

use sha2::{Digest, Sha256};

/// Hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}
