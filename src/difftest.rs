//! Differential execution: run one scenario (a kernel, its starting files and a fuel
//! budget) on every engine and compare everything observable — exit, pc, cycles,
//! registers, all 65,536 bytes of memory, the output lines, the files the run left and the
//! pending replacement kernel. Every execution test in the project goes through
//! [`run_everywhere`], so adding an engine adds it to every test.

use crate::engines::EngineKind;
use crate::host::files::MemFiles;
use crate::host::PxHost;
use crate::run::{run_kernel, RunReport};
use pxvm::machine::LoadError;
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
pub fn run_one(kind: EngineKind, scenario: &Scenario) -> Result<Observed, LoadError> {
    run_on(kind.build().as_mut(), scenario)
}

/// Run `scenario` on the reference stepper (`pxvm::interp::run_reference`), the definition
/// of pxVM that every engine is compared with.
pub fn run_reference(scenario: &Scenario) -> Result<Observed, LoadError> {
    run_on(&mut pxvm::interp::Reference, scenario)
}

fn run_on(engine: &mut dyn Engine, scenario: &Scenario) -> Result<Observed, LoadError> {
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
    Load(#[from] LoadError),
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
    if let Some(i) =
        (0..MEM_SIZE.min(a.memory.len()).min(b.memory.len())).find(|&i| a.memory[i] != b.memory[i])
    {
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
