//! The analysis layer: what a region of guest code *is*, as plain data, before any
//! Cranelift IR exists. [`scan`] decodes the blocks reachable from a hot entry into a
//! [`Plan`] (blocks, fuel trees, the guest bytes the code depends on); [`liveness`] says
//! which registers each block reads before writing them; [`counted`] recognises counted
//! self-loops whose addresses and fuel can be checked once on entry; [`loops`] finds the
//! other loops whose fuel can be checked once per group of iterations.
//!
//! Invariant: this layer imports nothing from `lower` or `runtime` and never touches
//! Cranelift; every decision about an opcode goes through an exhaustive match on the ISA
//! table's [`Flow`](pxvm::isa::Flow) and [`Memory`](pxvm::isa::Memory) columns (or on the
//! opcode itself, with no catch-all), so a new opcode is a compile error here until each
//! analysis has decided what it means.

pub(crate) mod counted;
pub(crate) mod liveness;
pub(crate) mod loops;
mod regset;
pub(crate) mod scan;

pub(crate) use regset::RegSet;
pub(crate) use scan::{Plan, PlannedBlock, PlannedInsn};
