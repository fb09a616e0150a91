//! Integration test modules.

mod batch;
mod cli;
pub mod cli_util;
mod crash;
mod demo;
mod differential;
mod edges;
mod evolution;
mod evolve;
mod filesys;
mod harden;
mod invariants;
mod kernels;
mod render;
mod store;
mod store_cli;
pub mod store_util;
mod syscalls;
pub mod util;
mod version_syscalls;
