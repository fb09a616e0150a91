//! Integration test modules.

mod architecture;
mod batch;
mod checks_first;
mod cli;
pub mod cli_util;
mod crash;
mod demo;
mod differential;
mod edges;
#[cfg(unix)]
mod escape;
mod evolution;
mod evolve;
mod evolve_cases;
pub mod filesys;
mod harden;
#[cfg(unix)]
mod hostile;
mod invariants;
mod islands;
mod kernels;
mod pipeline;
mod pipeline_crash;
mod plot;
mod render;
mod store;
mod store_cli;
mod store_damage;
mod store_scale;
pub mod store_util;
mod syscalls;
mod version_syscalls;
