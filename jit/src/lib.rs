//! `pxvm-jit`: a Cranelift JIT for pxVM that agrees with the interpreter on every
//! observable (exit, pc, cycles, registers, memory, host output) for every program and
//! every fuel budget.
//!
//! Guest code is translated a *region* at a time: the basic blocks reachable by static
//! edges from one entry pc (`scan`) become one Cranelift function (`region` lays out the
//! function, `translate` gives each instruction's semantics, `edges` the control flow
//! between blocks, `liveness` which comparison results need not be materialised) whose
//! guest registers live in SSA variables, so hot loops run as native loops. Edges out of a
//! region and indirect jumps (JR, RET) look the target up in a pc-indexed entry table and
//! tail-call the region found there, or return to the Rust `dispatch`er, which steps the
//! instructions that are never compiled (HALT, SYSCALL, unknown opcodes, fetch faults) and
//! fuel tails with `pxvm::exec::step`. Fuel is checked on entry to each tree of blocks
//! (once per loop iteration); writes to translated bytes are caught by a per-byte code map
//! (`codemap`; stores inside a region's code-free *store window* skip it) and invalidate
//! just the affected regions (`cache`). `backend` owns the Cranelift module; `abi` is the
//! contract between compiled code and Rust; `engine` exposes the `jit` and `tiered`
//! engines; `dump` writes compiled regions out for profiling (`PXOS_JIT_DUMP=<dir>`).

mod abi;
mod backend;
mod cache;
mod codemap;
mod counted;
mod dispatch;
mod dump;
mod edges;
mod engine;
mod fastloop;
mod liveness;
mod region;
mod scan;
mod translate;

pub use cache::{CacheLimits, CacheStats, INTERPRET_AFTER, LIVE_AFTER};
pub use dispatch::Policy;
pub use engine::{JitConfig, JitEngine};
pub use scan::RegionLimits;
