//! What every layer of `pxos` shares and no layer owns: crash-safe file replacement
//! ([`atomic`]), touching files without following links or blocking on FIFOs
//! ([`nofollow`]) and their one error ([`FsError`]), the files a user names on the command
//! line ([`userfile`]), dates as the store writes them ([`date`]), content hashes ([`sha256_hex`]) and numbers in messages
//! ([`thousands`]).
//!
//! **Architecture Invariant:** `util` uses nothing else from this crate; everything else
//! may use it.

pub mod atomic;
pub mod date;
mod fs_error;
mod hash;
pub mod nofollow;
mod text;
pub mod userfile;

pub use fs_error::FsError;
pub use hash::sha256_hex;
pub use text::thousands;
