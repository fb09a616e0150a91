//! Phase 3, automatic evolution: every new kernel — a file dropped into `<store>/build/`,
//! a SELF_MODIFY request when the policy routes it here, or the best kernel of background
//! evolution — becomes a candidate and walks one pipeline, each state recorded in the
//! store (`crate::store::candidates`) and each change kept in the candidate's history:
//!
//! ```text
//!  build/x.asm ─assemble─┐
//!  build/x.bin ──────────┼─► queued ─► validating ─► ab_testing ─► ready ─(window)─► canary(1..n) ─► promoted
//!  SELF_MODIFY (policy) ─┤      │           │             │                              │
//!  background evolve ────┘      ├─rejected──┴─rejected    └─ab_failed                    └─reverted
//!                               └─duplicate
//! ```
//!
//! The parts: [`intake`] takes files and kernels in (exactly once, complete files only);
//! [`validate`] vets and boots a candidate on every engine; [`ab`] runs the A/B test;
//! [`policy`] is the store's `policy.json`; [`window`] the evolution windows and the
//! injectable clock; [`autonomous`] background evolution; [`service`] the steps that move
//! candidates on; [`watch`] the long-running `pxos watch` around them. The rollout itself
//! happens in the boot cycle (`crate::lifecycle::boot`), which boots the canary for a growing share of
//! boots. This module never changes a store except through `crate::store`'s operations.

mod ab;
mod autonomous;
mod intake;
mod policy;
mod service;
mod validate;
mod watch;
pub mod window;

pub use ab::{
    AbReport, AbScenario, Verdict, WorkloadError, ab_test, load_workload, side_by_side_png,
    store_workload,
};
pub use intake::submit;
pub use policy::{BOUNDS, KEYS, MAX_FUEL, POLICY_FILE, Policy, PolicyError, SelfModifyRoute, keys};
pub use service::{Did, Idle, Outcome, step};
pub use watch::{WATCH_LOCK, WatchOptions, watch};

use crate::store::StoreError;
use std::path::{Path, PathBuf};

/// Why a pipeline step could not be taken (a candidate's own failures are states, not
/// errors).
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Fs(#[from] crate::util::FsError),
    #[error(transparent)]
    Policy(#[from] policy::PolicyError),
    #[error(transparent)]
    Workload(ab::WorkloadError),
    #[error("cannot {op} {}: {source}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} {why}; refusing to use it", path.display())]
    Unsafe { path: PathBuf, why: &'static str },
    #[error("background evolution: {0}")]
    Evolve(String),
    #[error("{0}")]
    Clock(String),
    #[error("another `pxos watch` is already running on {} (it holds {}); stop it first", root.display(), lock.display())]
    AlreadyWatched { root: PathBuf, lock: PathBuf },
    #[error("cannot watch {}: {message}", path.display())]
    Watch { path: PathBuf, message: String },
}

impl PipelineError {
    pub(crate) fn io(op: &'static str, path: &Path, source: std::io::Error) -> PipelineError {
        PipelineError::Io {
            op,
            path: path.to_path_buf(),
            source,
        }
    }
}
