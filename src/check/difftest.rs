//! Differential execution: run one scenario (a kernel, its starting files and a fuel
//! budget) on every engine and compare everything observable — exit, pc, cycles,
//! registers, all 65,536 bytes of memory, the output lines, the files the run left and the
//! pending replacement kernel. It is the testing kit's one harness
//! ([`pxvm::testkit::agree`]) with the real host, `PxHost`, and the scenario's guest files;
//! every execution test of the root crate goes through [`run_everywhere`] (or [`check`]),
//! so adding an engine adds it to every test. It also bisects a divergence to the first
//! instruction that shows it ([`first_divergence`]).

use crate::runtime::engines::EngineKind;
use crate::runtime::host::PxHost;
use crate::runtime::host::files::MemFiles;
use crate::runtime::run::RunReport;
use crate::util::sha256_hex;
use pxvm::KernelTooLarge;
pub use pxvm::testkit::Scenario;
use pxvm::testkit::{self, Diff, Observe, Run};
use pxvm::{Engine, Machine};
use std::collections::BTreeMap;

/// Everything one engine's run of a scenario left behind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Observed {
    pub report: RunReport,
    pub memory: Vec<u8>,
    pub files: BTreeMap<String, Vec<u8>>,
}

impl Observed {
    /// What `run` left, as reported.
    pub fn of(run: &Run<PxHost>) -> Observed {
        Observed {
            report: RunReport::new(run.engine, run.exit, &run.machine, &run.host),
            memory: run.machine.mem.to_vec(),
            files: run.host.files().snapshot().unwrap_or_default(),
        }
    }
}

/// `PxHost`'s observables: the output lines, the pending replacement kernel and, where
/// the file store can list them, the files.
impl Observe for PxHost {
    fn compare(&self, other: &Self, diff: &mut Diff) {
        let pending = |h: &PxHost| {
            h.pending
                .as_ref()
                .map(|p| (p.path.clone(), p.bytes.len(), sha256_hex(&p.bytes)))
        };
        diff.value("pending_kernel", &pending(self), &pending(other));
        diff.lines("sysout", &self.sysout, &other.sysout);
        let (a, b) = (self.files().snapshot(), other.files().snapshot());
        if a != b {
            let names = |f: &Option<BTreeMap<String, Vec<u8>>>| {
                format!("{:?}", f.iter().flat_map(|f| f.keys()).collect::<Vec<_>>())
            };
            diff.differs("files", names(&a), names(&b));
        }
    }
}

/// The machine and host a scenario boots: its kernel at 0, its files in memory.
fn start(scenario: &Scenario) -> Result<impl Fn() -> (Machine, PxHost) + '_, KernelTooLarge> {
    let machine = Machine::new(&scenario.kernel)?;
    Ok(move || {
        let mut files = MemFiles::new();
        for (path, data) in &scenario.files {
            files.insert(path, data.clone());
        }
        (machine.clone(), PxHost::new(Box::new(files)))
    })
}

/// `scenario` run on `engine`.
fn run_on(engine: &mut dyn Engine, scenario: &Scenario) -> Result<Run<PxHost>, KernelTooLarge> {
    let (machine, host) = start(scenario)?();
    Ok(Run::on(engine, machine, host, scenario.fuel))
}

/// Run `scenario` on one engine.
pub fn run_one(kind: EngineKind, scenario: &Scenario) -> Result<Observed, KernelTooLarge> {
    Ok(Observed::of(&run_on(kind.build().as_mut(), scenario)?))
}

/// Run `scenario` on the reference stepper (`pxvm::interp::run_reference`), the definition
/// of pxVM that every engine is compared with.
pub fn run_reference(scenario: &Scenario) -> Result<Observed, KernelTooLarge> {
    Ok(Observed::of(&run_on(
        &mut pxvm::interp::Reference,
        scenario,
    )?))
}

/// Why [`run_everywhere`] failed.
#[derive(Debug, thiserror::Error)]
pub enum DiffError {
    #[error("kernel cannot be loaded: {0}")]
    Load(#[from] KernelTooLarge),
    #[error("{0}")]
    Divergence(String),
}

/// Run `scenario` on the reference stepper and on every engine ([`testkit::agree`] with
/// `PxHost`); return the reference's observation if all agree, or a report naming each
/// difference.
pub fn run_everywhere(scenario: &Scenario) -> Result<Observed, DiffError> {
    let mut engines: Vec<_> = EngineKind::ALL.iter().map(|k| k.build()).collect();
    let run = testkit::agree(&mut engines, start(scenario)?, scenario.fuel)
        .map_err(|d| DiffError::Divergence(d.report))?;
    Ok(Observed::of(&run))
}

/// [`run_everywhere`] for tests: the reference's observation.
///
/// # Panics
/// If the kernel does not load or an engine diverges, with the report.
#[track_caller]
pub fn check(scenario: &Scenario) -> Observed {
    match run_everywhere(scenario) {
        Ok(observed) => observed,
        Err(err) => panic!("engines disagree on {scenario:?}:\n{err}"),
    }
}

/// Where two engines first disagree, found by [`first_divergence`].
#[derive(Clone, Debug)]
pub struct DivergencePoint {
    /// Instructions retired (by both) before the diverging one.
    pub cycles: u64,
    /// The pc of the diverging instruction (both engines agree on it).
    pub pc: u32,
    /// That instruction, disassembled.
    pub instruction: String,
    /// What differs after it, one observable per line.
    pub difference: String,
}

/// Run `scenario` on the reference and on `kind`; if they disagree, find the first
/// instruction after which they do (bisecting on the fuel budget: runs are deterministic
/// and a run with budget n is a prefix of any longer run) and describe it.
pub fn first_divergence(
    kind: EngineKind,
    scenario: &Scenario,
) -> Result<Option<DivergencePoint>, KernelTooLarge> {
    first_divergence_with(&|| kind.build(), scenario)
}

/// [`first_divergence`] for any engine: `make` builds a fresh one for each trial run.
pub fn first_divergence_with(
    make: &dyn Fn() -> Box<dyn Engine>,
    scenario: &Scenario,
) -> Result<Option<DivergencePoint>, KernelTooLarge> {
    let differs = |fuel: u64| -> Result<Option<String>, KernelTooLarge> {
        let s = Scenario {
            fuel,
            ..scenario.clone()
        };
        let reference = run_on(&mut pxvm::interp::Reference, &s)?;
        let other = run_on(make().as_mut(), &s)?;
        Ok(testkit::difference(&reference, &other))
    };
    let Some(mut difference) = differs(scenario.fuel)? else {
        return Ok(None);
    };
    // Invariant: budget `hi` diverges, budget `lo - 1` does not (budget 0 may diverge
    // only in how the run starts, which `lo = 0` covers).
    let (mut lo, mut hi) = (0, scenario.fuel);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        match differs(mid)? {
            Some(d) => {
                hi = mid;
                difference = d;
            }
            None => lo = mid + 1,
        }
    }
    // Budget `hi` is the first that diverges: the state after `hi - 1` instructions is
    // common to both, and the instruction at its pc is the culprit.
    let before = run_reference(&Scenario {
        fuel: hi.saturating_sub(1),
        ..scenario.clone()
    })?;
    let pc = before.report.pc;
    let instruction = match pxvm::decode(&before.memory, pc as usize) {
        Ok(pxvm::Decoded::Insn(insn)) => insn.to_string(),
        Ok(pxvm::Decoded::Unknown(byte)) => format!(".byte {byte:#04x} (unknown opcode)"),
        Err(_) => "(fetch past the end of memory)".to_string(),
    };
    Ok(Some(DivergencePoint {
        cycles: hi.saturating_sub(1),
        pc,
        instruction,
        difference,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use pxvm::testkit::Planted;
    use pxvm::testkit::code::{imm32, jmp, program, rrr};

    #[test]
    fn bisection_names_the_first_diverging_instruction() {
        // IMM32 R1, 1 ; loop: ADD R0, R0, R1 ; JMP loop
        let code = program(&[imm32(1, 1), rrr(pxvm::Opcode::ADD, 0, 0, 1), jmp(6)]);
        let scenario = Scenario::new(code, 1_000);
        let point = first_divergence_with(&|| Box::new(Planted { after: 25 }), &scenario)
            .unwrap()
            .expect("diverges");
        assert_eq!(point.cycles, 24, "the 25th instruction diverges");
        assert_eq!(point.pc, 10, "after 24 instructions the loop is at its JMP");
        assert_eq!(point.instruction, "JMP 6");
        assert!(point.difference.contains("regs"), "{}", point.difference);
        let same = first_divergence(EngineKind::Interp, &scenario).unwrap();
        assert!(same.is_none());
    }
}
