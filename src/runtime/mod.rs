//! Running one kernel: the host behind its syscalls ([`host`]: output lines, guest files,
//! version requests), loading a kernel from an `.asm` or bytecode file ([`kernel`]),
//! choosing an engine by name ([`engines`]) and running a kernel to a report of every
//! observable ([`run`]).
//!
//! **Architecture Invariant:** the runtime uses only `util` and the engine crates; it knows
//! nothing of stores, evolution or the CLI.

pub mod engines;
pub mod host;
pub mod kernel;
pub mod run;
