//! The products built on the runtime: drawing a run's output ([`render`]), evolving kernels
//! ([`evolve`]), batch runs over many kernels ([`batch`]) and the benchmark suite
//! ([`bench`]).
//!
//! **Architecture Invariant:** tools use the runtime, `check` and `util`, never the store
//! or the lifecycle; a tool may use another tool's public API (evolution draws with
//! `render`), never its internals.

pub mod batch;
pub mod bench;
pub mod evolve;
pub mod render;
