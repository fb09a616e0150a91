//! Running a kernel once and describing the result: [`run_kernel`] boots a fresh machine,
//! runs it on an engine against a host, and returns a [`RunReport`] holding every
//! observable of the run (exit, pc, cycles, registers, a digest of memory, the output
//! lines and the pending replacement kernel). The report is what `pxos run --json` prints
//! and what engine comparisons compare.

use crate::runtime::host::PxHost;
use crate::util::sha256_hex;
use pxvm::{Engine, Exit, Machine};
use serde::Serialize;

/// The default instruction budget of `pxos run`.
pub const DEFAULT_FUEL: u64 = 100_000_000;

/// A pending replacement kernel, as reported.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PendingReport {
    pub path: String,
    pub size: usize,
    pub sha256: String,
}

/// Everything observable about one run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RunReport {
    pub engine: String,
    pub exit: Exit,
    pub cycles: u64,
    pub pc: u32,
    pub regs: [i32; 8],
    pub sysout: Vec<String>,
    pub memory_sha256: String,
    pub pending_kernel: Option<PendingReport>,
}

impl RunReport {
    /// Describe a finished run.
    pub fn new(engine: &str, exit: Exit, m: &Machine, host: &PxHost) -> RunReport {
        RunReport {
            engine: engine.to_string(),
            exit,
            cycles: m.cycles,
            pc: m.pc,
            regs: m.regs,
            sysout: host.sysout.clone(),
            memory_sha256: sha256_hex(&m.mem[..]),
            pending_kernel: host.pending.as_ref().map(|p| PendingReport {
                path: p.path.clone(),
                size: p.bytes.len(),
                sha256: sha256_hex(&p.bytes),
            }),
        }
    }

    /// One line for people: exit, cycles, pc and the pending kernel if any.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "[{}] exit={} cycles={} pc={}",
            self.engine, self.exit, self.cycles, self.pc
        );
        if let Some(p) = &self.pending_kernel {
            s += &format!(" pending_kernel={} ({} bytes)", p.path, p.size);
        }
        s
    }
}

/// The result of [`run_kernel`]: the report plus the final machine and host, for callers
/// that need more than the report (the boot cycle, rendering).
#[derive(Debug)]
pub struct RunOutcome {
    pub exit: Exit,
    pub machine: Machine,
    pub host: PxHost,
}

/// Boot `kernel` on a fresh machine and run it on `engine` against `host` for at most
/// `fuel` instructions.
pub fn run_kernel(
    kernel: &[u8],
    engine: &mut dyn Engine,
    mut host: PxHost,
    fuel: u64,
) -> Result<RunOutcome, pxvm::KernelTooLarge> {
    let mut machine = Machine::new(kernel)?;
    let exit = engine.run(&mut machine, &mut host, fuel);
    Ok(RunOutcome {
        exit,
        machine,
        host,
    })
}

impl RunOutcome {
    /// The report of this run, naming the engine.
    pub fn report(&self, engine: &str) -> RunReport {
        RunReport::new(engine, self.exit, &self.machine, &self.host)
    }
}
