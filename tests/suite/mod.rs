//! Integration test modules.

mod batch;
mod cli;
pub mod cli_util;
mod differential;
mod edges;
mod filesys;
mod invariants;
mod kernels;
mod render;
mod syscalls;
pub mod util;
