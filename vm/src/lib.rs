//! `pxvm`: the pxVM instruction set and its reference implementation.
//!
//! The ISA is written once in [`isa`]; [`insn`] decodes and encodes it; [`asm`] and
//! [`disasm`] translate between bytecode and text; [`machine`] holds guest state; [`host`]
//! is the boundary every syscall crosses; [`exec`] defines what one instruction does and
//! [`interp`] runs it in a loop — the oracle every other engine is tested against.
//! With the `testkit` feature, [`testkit`] is the testing kit every engine test uses.
//! This crate never depends on Cranelift.

pub mod asm;
mod cycle;
pub mod disasm;
pub mod engine;
pub mod exec;
pub mod host;
pub mod insn;
pub mod interp;
pub mod isa;
pub mod machine;
pub mod syscalls;
#[cfg(feature = "testkit")]
pub mod testkit;
mod text;
pub mod vet;

pub use engine::{Engine, Exit};
pub use host::{DirectSyscall, DirectTable, Host, NO_DIRECT, NullHost, SyscallCtx, VmEvent};
pub use insn::{Decoded, Insn, decode};
pub use interp::{CycleSkippingInterpreter, Interpreter};
pub use isa::{Layout, Opcode};
pub use machine::{KernelTooLarge, MEM_SIZE, Machine};
