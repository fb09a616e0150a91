//! The one differential harness. It owns the comparison of engines: [`agree`] runs one
//! start state on the reference stepper ([`crate::interp::run_reference`], the only
//! oracle) and on every engine given, and [`difference`] names every observable on which
//! two runs differ — exit, pc, cycles, registers, all 65,536 bytes of memory, and whatever
//! the host shows ([`Observe`]). No engine is ever compared with another engine. Hosts with
//! real services (the root crate's `PxHost`) plug in by implementing [`Observe`].

use super::host::Recorder;
use crate::interp::Reference;
use crate::{Engine, Exit, Host, Machine, NullHost};
use std::fmt::{self, Debug, Write as _};

/// The end of one engine's run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Run<H> {
    /// The engine's name (`reference` for the oracle).
    pub engine: &'static str,
    /// Why it stopped.
    pub exit: Exit,
    /// Registers, pc, cycles and memory at the end.
    pub machine: Machine,
    /// The host, with everything the run did to it.
    pub host: H,
}

impl<H: Host> Run<H> {
    /// Run `machine` on `engine` against `host` for at most `fuel` instructions.
    pub fn on(engine: &mut dyn Engine, mut machine: Machine, mut host: H, fuel: u64) -> Run<H> {
        let exit = engine.run(&mut machine, &mut host, fuel);
        Run {
            engine: engine.name(),
            exit,
            machine,
            host,
        }
    }

    /// The same on the reference stepper: what every engine must do.
    pub fn reference(machine: Machine, host: H, fuel: u64) -> Run<H> {
        Run::on(&mut Reference, machine, host, fuel)
    }
}

/// What a host lets a differential test observe after a run.
pub trait Observe {
    /// Record in `diff` every observable on which `self` (the reference's host) and
    /// `other` differ.
    fn compare(&self, other: &Self, diff: &mut Diff);
}

impl Observe for NullHost {
    fn compare(&self, _: &Self, _: &mut Diff) {}
}

/// The differences found between two runs, one observable a line
/// (`regs: reference=[..] jit=[..]`).
#[derive(Debug)]
pub struct Diff {
    want: &'static str,
    got: &'static str,
    report: String,
}

impl Diff {
    /// No differences yet between the run of `want` (the reference) and of `got`.
    pub fn new(want: &'static str, got: &'static str) -> Diff {
        Diff {
            want,
            got,
            report: String::new(),
        }
    }

    /// Compare one value, shown with `Debug`.
    pub fn value<T: Debug + PartialEq + ?Sized>(&mut self, name: &str, want: &T, got: &T) {
        if want != got {
            self.differs(name, format!("{want:?}"), format!("{got:?}"));
        }
    }

    /// Record that `name` differs, as the two sides describe it.
    pub fn differs(&mut self, name: &str, want: impl fmt::Display, got: impl fmt::Display) {
        let (a, b) = (self.want, self.got);
        let _ = writeln!(self.report, "{name}: {a}={want} {b}={got}");
    }

    /// Compare two byte images, naming the first differing address.
    pub fn bytes(&mut self, name: &str, want: &[u8], got: &[u8]) {
        // Whole-slice comparison first: it is the common case and much faster than indexing.
        if want == got {
            return;
        }
        let (a, b) = (self.want, self.got);
        match want.iter().zip(got).position(|(x, y)| x != y) {
            Some(i) => {
                let _ = writeln!(
                    self.report,
                    "{name}: first difference at {i:#06x}: {a}={:#04x} {b}={:#04x}",
                    want[i], got[i]
                );
            }
            None => self.differs(name, want.len(), got.len()),
        }
    }

    /// Compare two lists of lines, naming the first differing line.
    pub fn lines(&mut self, name: &str, want: &[String], got: &[String]) {
        if want == got {
            return;
        }
        let i = want
            .iter()
            .zip(got)
            .position(|(x, y)| x != y)
            .unwrap_or(want.len().min(got.len()));
        let (a, b) = (self.want, self.got);
        let _ = writeln!(
            self.report,
            "{name}: first difference at line {i}: {a}={:?} {b}={:?} ({} vs {} lines)",
            want.get(i),
            got.get(i),
            want.len(),
            got.len()
        );
    }

    /// The report, or `None` if nothing differed.
    pub fn into_report(self) -> Option<String> {
        (!self.report.is_empty()).then_some(self.report)
    }
}

/// Every observable on which `got` differs from `want`, one a line, or `None`.
pub fn difference<H: Observe>(want: &Run<H>, got: &Run<H>) -> Option<String> {
    let mut diff = Diff::new(want.engine, got.engine);
    let (m, n) = (&want.machine, &got.machine);
    diff.differs_if("exit", want.exit, got.exit);
    diff.differs_if("pc", m.pc, n.pc);
    diff.differs_if("cycles", m.cycles, n.cycles);
    diff.value("regs", &m.regs, &n.regs);
    diff.bytes("memory", &m.mem[..], &n.mem[..]);
    want.host.compare(&got.host, &mut diff);
    diff.into_report()
}

impl Diff {
    fn differs_if<T: fmt::Display + PartialEq>(&mut self, name: &str, want: T, got: T) {
        if want != got {
            self.differs(name, want, got);
        }
    }
}

/// An engine that did not do what the reference did.
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
#[error("{report}")]
pub struct Divergence {
    /// The engine's name.
    pub engine: &'static str,
    /// What differs, one observable a line (see [`difference`]).
    pub report: String,
}

impl Debug for Divergence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} diverges from the reference:\n{}",
            self.engine, self.report
        )
    }
}

/// Run `start()` with `fuel` on the reference stepper and on each of `engines` (each from
/// its own fresh `start()`); the reference's run if every engine agrees on every
/// observable, else the first divergence.
pub fn agree<H: Host + Observe>(
    engines: &mut [Box<dyn Engine>],
    start: impl Fn() -> (Machine, H),
    fuel: u64,
) -> Result<Run<H>, Divergence> {
    let (machine, host) = start();
    let want = Run::reference(machine, host, fuel);
    for engine in engines {
        let (machine, host) = start();
        let got = Run::on(engine.as_mut(), machine, host, fuel);
        if let Some(report) = difference(&want, &got) {
            return Err(Divergence {
                engine: got.engine,
                report,
            });
        }
    }
    Ok(want)
}

/// Panic, naming `context` and every difference, unless `got` did what `want` did.
///
/// # Panics
/// If the runs differ on any observable.
#[track_caller]
pub fn assert_same<H: Observe>(want: &Run<H>, got: &Run<H>, context: &str) {
    if let Some(report) = difference(want, got) {
        panic!(
            "{context}: {} differs from {}:\n{report}",
            got.engine, want.engine
        );
    }
}

/// A fresh machine with `code` loaded at 0.
///
/// # Panics
/// If `code` does not fit in memory.
#[track_caller]
pub fn boot(code: &[u8]) -> Machine {
    Machine::new(code).expect("the test program fits in memory")
}

/// `code` run with `fuel` on `engine` against a fresh [`Recorder`].
pub fn recorded(engine: &mut dyn Engine, code: &[u8], fuel: u64) -> Run<Recorder> {
    Run::on(engine, boot(code), Recorder::default(), fuel)
}

/// `code` run with `fuel` on the reference stepper against a fresh [`Recorder`].
pub fn reference(code: &[u8], fuel: u64) -> Run<Recorder> {
    recorded(&mut Reference, code, fuel)
}

/// [`agree`] for `code` against fresh [`Recorder`]s; the reference's run.
///
/// # Panics
/// If an engine diverges, with the report.
#[track_caller]
pub fn check(engines: &mut [Box<dyn Engine>], code: &[u8], fuel: u64) -> Run<Recorder> {
    match agree(engines, || (boot(code), Recorder::default()), fuel) {
        Ok(run) => run,
        Err(d) => panic!("fuel={fuel}: {d:?}"),
    }
}

/// An engine with a planted bug, for testing the harnesses themselves: the fast
/// interpreter, except that once `after` instructions have retired R3 becomes 99.
#[derive(Clone, Copy, Debug)]
pub struct Planted {
    /// When the bug strikes, in retired instructions.
    pub after: u64,
}

impl Engine for Planted {
    fn name(&self) -> &'static str {
        "planted"
    }

    fn run(&mut self, m: &mut Machine, host: &mut dyn Host, fuel: u64) -> Exit {
        if m.cycles >= self.after {
            return crate::interp::run(m, host, fuel);
        }
        let first = (self.after - m.cycles).min(fuel);
        let exit = crate::interp::run(m, host, first);
        if exit != Exit::Fuel || m.cycles < self.after {
            return exit;
        }
        m.regs[3] = 99;
        crate::interp::run(m, host, fuel - first)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::code::{imm32, jmp, program, rrr};
    use crate::{Interpreter, Opcode::ADD};

    #[test]
    fn agree_names_the_diverging_engine_and_observable() {
        let code = program(&[imm32(1, 1), rrr(ADD, 0, 0, 1), jmp(6)]);
        let mut engines: Vec<Box<dyn Engine>> =
            vec![Box::new(Interpreter), Box::new(Planted { after: 25 })];
        let ok = check(&mut engines[..1], &code, 100);
        assert_eq!(ok.engine, "reference");
        assert_eq!(ok.machine.regs[0], 50);
        let err = agree(&mut engines, || (boot(&code), Recorder::default()), 100).unwrap_err();
        assert_eq!(err.engine, "planted");
        assert_eq!(
            err.report,
            "regs: reference=[50, 1, 0, 0, 0, 0, 0, 0] planted=[50, 1, 0, 99, 0, 0, 0, 0]\n"
        );
    }
}
