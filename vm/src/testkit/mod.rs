//! The testing kit (cargo feature `testkit`): everything a test of guest execution needs,
//! written once. It owns the bytecode builder ([`code`]), the recording host ([`host`]),
//! the one seeded program generator ([`generate`]) and the one differential harness
//! ([`agree`]), which compares every engine with [`crate::interp::run_reference`] on every
//! observable. The root crate's `pxos::check` (the `PxHost` scenarios, `pxos fuzz`) is
//! built on it; the JIT's and this crate's tests use it directly.
//!
//! **Architecture Invariant:** the kit only ever uses the oracle as the expected side;
//! it never compares one engine with another. It adds nothing to pxVM's semantics and no
//! engine depends on it.

pub mod agree;
pub mod code;
pub mod generate;
pub mod host;

pub use agree::{
    Diff, Divergence, Observe, Planted, Run, agree, assert_same, boot, check, difference, recorded,
    reference,
};
pub use code::{Code, Label};
pub use generate::{Rng, Scenario, scenario, soup};
pub use host::{Recorder, SYS_COPY, SYS_MIX, SYS_POKE};
