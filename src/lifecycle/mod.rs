//! What decides which version of a store's kernel runs: the boot cycle ([`boot`]: boot the
//! current version, take SELF_MODIFY requests, roll back, boot canaries during a rollout),
//! the Phase 3 evolution pipeline ([`pipeline`]: candidates from `build/`, validation,
//! A/B tests, windows, background evolution, `pxos watch`) and an evolution experiment's
//! results in a store ([`evolved`]: its lineage, the promotion of its best).
//!
//! **Architecture Invariant:** the lifecycle changes a store only through
//! `crate::store`'s operations; it is the top layer of the library.

pub mod boot;
pub mod evolved;
pub mod pipeline;
