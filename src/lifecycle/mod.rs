//! What decides which version of a store's kernel runs: the boot cycle ([`boot`]: boot the
//! current version, take SELF_MODIFY requests, roll back, boot canaries during a rollout)
//! and the Phase 3 evolution pipeline ([`pipeline`]: candidates from `build/`, validation,
//! A/B tests, windows, background evolution, `pxos watch`).
//!
//! **Architecture Invariant:** the lifecycle changes a store only through
//! `crate::store`'s operations; it is the top layer of the library.

pub mod boot;
pub mod pipeline;
