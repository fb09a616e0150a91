//! The contract every engine fulfils: run a [`Machine`] against a [`Host`] for at most
//! `fuel` retired instructions and say why it stopped. Two engines given the same machine,
//! host and fuel must leave identical registers, pc, cycle count, memory and host output.

use crate::host::Host;
use crate::machine::Machine;
use std::fmt;

/// Why a run stopped. Written (`Display`, and with the `serde` feature in JSON) by its
/// lower-case name: `halt`, `error` or `fuel`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "lowercase")
)]
pub enum Exit {
    /// The guest executed HALT.
    Halt,
    /// Fetching an instruction ran past the end of memory; `m.pc` is 65,536.
    Error,
    /// The fuel ran out: exactly `fuel` instructions retired in this run.
    Fuel,
}

impl Exit {
    /// The lower-case name used in JSON and summaries: `halt`, `error` or `fuel`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Exit::Halt => "halt",
            Exit::Error => "error",
            Exit::Fuel => "fuel",
        }
    }
}

impl fmt::Display for Exit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// An execution engine.
pub trait Engine {
    /// A short name (`interp`, `jit`, ...).
    fn name(&self) -> &'static str;

    /// Run `m` until it halts, faults, or has retired `fuel` instructions in this call.
    /// When the fuel is used up the run stops at once, even before a HALT.
    fn run(&mut self, m: &mut Machine, host: &mut dyn Host, fuel: u64) -> Exit;
}
