//! Differential execution: run one scenario (a kernel, its starting files and a fuel
//! budget) on every engine and compare everything observable — exit, pc, cycles,
//! registers, all 65,536 bytes of memory, the output lines, the files the run left and the
//! pending replacement kernel. Every execution test in the project goes through
//! [`run_everywhere`], so adding an engine adds it to every test.

use crate::runtime::engines::EngineKind;
use crate::runtime::host::files::MemFiles;
use crate::runtime::host::PxHost;
use crate::runtime::run::{run_kernel, RunReport};
use pxvm::KernelTooLarge;
use pxvm::{Engine, MEM_SIZE};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// A kernel to run, with the guest files present at boot and the fuel budget.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scenario {
    pub kernel: Vec<u8>,
    pub files: BTreeMap<String, Vec<u8>>,
    pub fuel: u64,
}

impl Scenario {
    /// `kernel` with no files and the given fuel.
    pub fn new(kernel: Vec<u8>, fuel: u64) -> Scenario {
        Scenario {
            kernel,
            files: BTreeMap::new(),
            fuel,
        }
    }

    /// Add a guest file present at boot.
    pub fn with_file(mut self, path: &str, data: Vec<u8>) -> Scenario {
        self.files.insert(path.to_string(), data);
        self
    }
}

/// Everything one engine's run of a scenario left behind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Observed {
    pub report: RunReport,
    pub memory: Vec<u8>,
    pub files: BTreeMap<String, Vec<u8>>,
}

/// Run `scenario` on one engine.
pub fn run_one(kind: EngineKind, scenario: &Scenario) -> Result<Observed, KernelTooLarge> {
    run_on(kind.build().as_mut(), scenario)
}

/// Run `scenario` on the reference stepper (`pxvm::interp::run_reference`), the definition
/// of pxVM that every engine is compared with.
pub fn run_reference(scenario: &Scenario) -> Result<Observed, KernelTooLarge> {
    run_on(&mut pxvm::interp::Reference, scenario)
}

fn run_on(engine: &mut dyn Engine, scenario: &Scenario) -> Result<Observed, KernelTooLarge> {
    let name = engine.name();
    let mut files = MemFiles::new();
    for (path, data) in &scenario.files {
        files.insert(path, data.clone());
    }
    let outcome = run_kernel(
        &scenario.kernel,
        engine,
        PxHost::new(Box::new(files)),
        scenario.fuel,
    )?;
    Ok(Observed {
        report: outcome.report(name),
        memory: outcome.machine.mem.to_vec(),
        files: outcome.host.files().snapshot().unwrap_or_default(),
    })
}

/// Why [`run_everywhere`] failed.
#[derive(Debug, thiserror::Error)]
pub enum DiffError {
    #[error("kernel cannot be loaded: {0}")]
    Load(#[from] KernelTooLarge),
    #[error("{0}")]
    Divergence(String),
}

/// Run `scenario` on the reference stepper and on every engine; return the reference's
/// observation if all agree, or a report naming each difference.
pub fn run_everywhere(scenario: &Scenario) -> Result<Observed, DiffError> {
    let reference = run_reference(scenario)?;
    for &kind in EngineKind::ALL {
        let other = run_one(kind, scenario)?;
        if let Some(diff) = describe_difference(&reference, &other) {
            return Err(DiffError::Divergence(diff));
        }
    }
    Ok(reference)
}

/// A description of every observable on which `a` and `b` differ, or `None`.
pub fn describe_difference(a: &Observed, b: &Observed) -> Option<String> {
    let (ra, rb) = (&a.report, &b.report);
    let (na, nb) = (&ra.engine, &rb.engine);
    let mut out = String::new();
    let mut field = |name: &str, x: String, y: String| {
        if x != y {
            let _ = writeln!(out, "{name}: {na}={x} {nb}={y}");
        }
    };
    field("exit", ra.exit.to_string(), rb.exit.to_string());
    field("pc", ra.pc.to_string(), rb.pc.to_string());
    field("cycles", ra.cycles.to_string(), rb.cycles.to_string());
    field("regs", format!("{:?}", ra.regs), format!("{:?}", rb.regs));
    field(
        "pending_kernel",
        format!("{:?}", ra.pending_kernel),
        format!("{:?}", rb.pending_kernel),
    );
    // Whole-slice comparison first: it is the common case and much faster than indexing.
    let first_memory_difference = if a.memory == b.memory {
        None
    } else {
        (0..MEM_SIZE.min(a.memory.len()).min(b.memory.len())).find(|&i| a.memory[i] != b.memory[i])
    };
    if let Some(i) = first_memory_difference {
        let _ = writeln!(
            out,
            "memory: first difference at {i:#06x}: {na}={:#04x} {nb}={:#04x}",
            a.memory[i], b.memory[i]
        );
    }
    if ra.sysout != rb.sysout {
        let i = ra
            .sysout
            .iter()
            .zip(&rb.sysout)
            .position(|(x, y)| x != y)
            .unwrap_or(ra.sysout.len().min(rb.sysout.len()));
        let _ = writeln!(
            out,
            "sysout: first difference at line {i}: {na}={:?} {nb}={:?} ({} vs {} lines)",
            ra.sysout.get(i),
            rb.sysout.get(i),
            ra.sysout.len(),
            rb.sysout.len()
        );
    }
    if a.files != b.files {
        let _ = writeln!(
            out,
            "files: {na} has {:?}, {nb} has {:?}",
            a.files.keys().collect::<Vec<_>>(),
            b.files.keys().collect::<Vec<_>>()
        );
    }
    (!out.is_empty()).then_some(out)
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
    let differs = |fuel: u64| -> Result<Option<(Observed, String)>, KernelTooLarge> {
        let s = Scenario {
            fuel,
            ..scenario.clone()
        };
        let reference = run_reference(&s)?;
        let other = run_on(make().as_mut(), &s)?;
        Ok(describe_difference(&reference, &other).map(|d| (reference, d)))
    };
    let Some((_, mut difference)) = differs(scenario.fuel)? else {
        return Ok(None);
    };
    // Invariant: budget `hi` diverges, budget `lo - 1` does not (budget 0 may diverge
    // only in how the run starts, which `lo = 0` covers).
    let (mut lo, mut hi) = (0, scenario.fuel);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        match differs(mid)? {
            Some((_, d)) => {
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
    use pxvm::{Exit, Host, Machine};

    /// An engine with a planted bug: after 25 instructions it sets R3 to 99.
    struct Buggy;

    impl Engine for Buggy {
        fn name(&self) -> &'static str {
            "buggy"
        }

        fn run(&mut self, m: &mut Machine, host: &mut dyn Host, fuel: u64) -> Exit {
            let exit = pxvm::interp::run(m, host, fuel.min(25));
            if m.cycles < 25 || exit != Exit::Fuel {
                return exit;
            }
            m.regs[3] = 99;
            pxvm::interp::run(m, host, fuel - 25)
        }
    }

    #[test]
    fn bisection_names_the_first_diverging_instruction() {
        // IMM32 R1, 1 ; loop: ADD R0, R0, R1 ; JMP loop
        let code = [
            pxvm::Insn::new(pxvm::Opcode::IMM32, [1, 0, 0], 1).encode(),
            pxvm::Insn::new(pxvm::Opcode::ADD, [0, 0, 1], 0).encode(),
            pxvm::Insn::new(pxvm::Opcode::JMP, [0; 3], 6).encode(),
        ]
        .concat();
        let scenario = Scenario::new(code, 1_000);
        let point = first_divergence_with(&|| Box::new(Buggy), &scenario)
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
