//! Checking that every engine computes what the reference interpreter computes, with the
//! real host: the differential harness ([`difftest`], the testing kit's
//! `pxvm::testkit::agree` with `PxHost` and guest files) and the fuzzer that feeds it the
//! kit's seeded programs ([`fuzz`]). The generator, builder and comparison themselves live
//! in `pxvm::testkit`, once.
//!
//! **Architecture Invariant:** the reference (`pxvm::interp::run_reference`) is the only
//! oracle; an engine's result is never compared with another engine's.

pub mod difftest;
pub mod fuzz;
