//! The interpreter: the reference engine and correctness oracle. It is a plain loop around
//! [`exec::step`](crate::exec::step), decoding each instruction from memory as it goes, so
//! self-modifying code needs no bookkeeping at all.

use crate::engine::{Engine, Exit};
use crate::exec::{step, Step};
use crate::host::Host;
use crate::machine::Machine;

/// Run `m` against `host` for at most `fuel` retired instructions.
pub fn run<H: Host + ?Sized>(m: &mut Machine, host: &mut H, fuel: u64) -> Exit {
    for _ in 0..fuel {
        match step(m, host) {
            Step::Retired { .. } => {}
            Step::Halted => return Exit::Halt,
            Step::Faulted => return Exit::Error,
        }
    }
    Exit::Fuel
}

/// The interpreter as an [`Engine`].
#[derive(Debug, Default, Clone, Copy)]
pub struct Interpreter;

impl Engine for Interpreter {
    fn name(&self) -> &'static str {
        "interp"
    }

    fn run(&mut self, m: &mut Machine, host: &mut dyn Host, fuel: u64) -> Exit {
        run(m, host, fuel)
    }
}
