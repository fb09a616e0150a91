//! `pxos`: the runtime around pxVM kernels and what is built on it, in layers; each layer
//! uses only the layers listed before it (ARCHITECTURE.md has the map and each module's
//! invariant):
//!
//! - [`util`]: what every layer shares (crash-safe and no-follow file access, the files a
//!   user names, hashes, numbers in messages);
//! - [`runtime`]: the host and its syscalls, loading kernels, the engines, running a kernel
//!   and reporting every observable of the run;
//! - [`check`]: the differential harness that runs one scenario on every engine against
//!   the reference, the random program generator and the fuzzer;
//! - [`store`]: the version store (versions, lineage, candidates, verify and repair);
//! - [`tools`]: the products built on the runtime: rendering, evolution, batch runs,
//!   benchmarks;
//! - [`lifecycle`]: what decides which version runs: the boot cycle and the Phase 3
//!   evolution pipeline.
//!
//! The `pxos` binary (`src/main.rs`, `src/cli/`) is a thin command-line layer over this
//! library.

pub mod util;

pub mod runtime;

pub mod check;

pub mod store;

pub mod tools;

pub mod lifecycle;

pub use pxvm;
