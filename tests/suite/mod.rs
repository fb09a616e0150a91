//! Integration test modules.

mod cli;
mod differential;
mod edges;
mod filesys;
mod invariants;
mod kernels;
mod syscalls;
pub mod util;
