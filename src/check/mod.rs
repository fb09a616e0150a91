//! Checking that every engine computes what the reference interpreter computes: the
//! differential harness ([`difftest`]), the seeded random program generator
//! ([`generator`]) and the fuzzer that feeds one to the other ([`fuzz`]).
//!
//! **Architecture Invariant:** the reference (`pxvm::interp::run_reference`) is the only
//! oracle; an engine's result is never compared with another engine's.

pub mod difftest;
pub mod fuzz;
pub mod generator;
