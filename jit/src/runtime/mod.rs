//! The runtime layer: everything that exists while guest code runs. `abi` is the contract
//! between compiled code and Rust (the `Ctx` block, exit reasons, signatures, the store
//! window); `backend` owns the Cranelift module and compiles plans through `lower`, with
//! its code in `codemem`'s pooled chunks; `codemap` and `cache` keep the compiled regions,
//! the entry table (`zeroed`: recycled between engines) and invalidation;
//! `hostcall` is the helper compiled code calls for SYSCALL, straight into the host;
//! `dispatch` is the Rust loop that owns a run; `engine` is the public `pxvm::Engine`;
//! `dump` writes compiled regions out for profiling.
//!
//! Invariant: no stale code runs (every write to translated bytes invalidates the regions
//! that depend on them before they can run again), and compiled code is entered only
//! through `Cache::enter`, whose `// SAFETY:` argument the rest of this layer upholds.

pub(crate) mod abi;
mod backend;
pub(crate) mod cache;
mod codemap;
#[cfg(all(unix, target_arch = "x86_64"))]
mod codemem;
pub(crate) mod dispatch;
mod dump;
pub(crate) mod engine;
mod hostcall;
mod zeroed;
