//! `pxvm-jit`: a Cranelift JIT for pxVM that agrees with the interpreter on every
//! observable (exit, pc, cycles, registers, memory, host output) for every program and
//! every fuel budget.
//!
//! Guest code is translated a *region* at a time — the basic blocks reachable by static
//! edges from one hot entry pc become one Cranelift function whose guest registers live in
//! SSA variables, so hot loops run as native loops. The crate has three layers, each
//! depending only on the ones before it:
//!
//! * `analysis` — pure data from guest bytes, no Cranelift: `scan` decodes a region into a
//!   `Plan` (blocks, fuel trees folded so a loop pays once per iteration, the guest bytes
//!   the code depends on), `liveness` says which registers each block reads before writing
//!   them (so comparison results can stay flags), `counted` recognises counted self-loops
//!   whose addresses and fuel can be checked once on entry. `RegSet` is a set of registers.
//! * `lower` — one `Lowerer` turns one plan into one function: the function's layout
//!   (`blocks`), each instruction (`insn`), memory accesses (`memory`), block terminators
//!   and the fuel on every edge (`edges`), SYSCALL as a call into the host (`syscall`),
//!   and the fast copy of counted loops (`fastloop`).
//! * `runtime` — `abi` (the contract between compiled code and Rust, the one module of
//!   this layer the lowering uses), `backend` (the Cranelift module and the two tiers of
//!   Cranelift settings: quick for first compiles, optimising for hot regions), `codemap` and `cache`
//!   (compiled regions, the pc-indexed entry table, invalidation of written code),
//!   `hostcall` (the helper compiled code calls to run a syscall on the host, no exit),
//!   `dispatch` (the Rust loop that steps what is never compiled — HALT, unknown opcodes,
//!   fetch faults — and fuel tails with `pxvm::exec::step`), `engine` (the `jit`
//!   and `tiered` engines), `dump` (`PXOS_JIT_DUMP=<dir>`, compiled regions for profiling).
//!
//! Edges out of a region and indirect jumps (JR, RET) look the target up in the entry
//! table and tail-call the region found there, or return to the dispatcher. Fuel is
//! checked on entry to each tree of blocks (once per loop iteration); writes to translated
//! bytes are caught by a per-byte code map (stores inside a region's code-free *store
//! window* skip it) and invalidate just the affected regions. Every decision about an
//! opcode goes through an exhaustive match on the ISA table's `Flow` and `Memory` columns
//! (or the opcode itself, with no catch-all), so a new opcode cannot be forgotten.

mod analysis;
#[cfg(test)]
mod coverage;
mod lower;
mod runtime;

pub use analysis::scan::RegionLimits;
pub use runtime::cache::{CacheLimits, CacheStats, INTERPRET_AFTER, LIVE_AFTER};
pub use runtime::dispatch::Policy;
pub use runtime::engine::{JitConfig, JitEngine, OPTIMISE_AFTER};
