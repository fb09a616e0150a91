//! `pxos`: the runtime around pxVM kernels — the host and its syscalls ([`host`]), loading
//! kernels from `.asm` or bytecode files ([`kernel`]), choosing an engine ([`engines`]),
//! running a kernel and reporting every observable of the run ([`run`]), reading and
//! writing the files a user names ([`userfile`]); the version store ([`store`]), the boot
//! cycle ([`boot`]) and the Phase 3 evolution pipeline ([`pipeline`]). The `pxos` binary
//! (`src/main.rs`, `src/cli/`) is a thin command-line layer over this library.

pub mod batch;
pub mod bench;
pub mod boot;
pub mod difftest;
pub mod engines;
pub mod evolve;
pub mod fuzz;
pub mod gen;
pub mod host;
pub mod kernel;
pub mod pipeline;
pub mod render;
pub mod run;
pub mod store;
pub mod userfile;

pub use pxvm;
