//! Differential fuzzing: run generated programs ([`crate::gen`]) on every engine, and when
//! engines disagree, shrink the program to a small one that still shows the disagreement.
//! `pxos fuzz` is a loop around [`check_seed`] and [`minimise`].

use crate::difftest::{run_everywhere, DiffError, Scenario};
use pxvm::{decode, Decoded};

/// A divergence found by the fuzzer.
#[derive(Debug, Clone)]
pub struct Finding {
    pub seed: u64,
    /// The program as generated.
    pub original: Scenario,
    /// The smallest variant found that still diverges.
    pub minimised: Scenario,
    /// The divergence report of the minimised program.
    pub report: String,
}

/// The divergence report for `scenario`, or `None` if all engines agree.
pub fn divergence(scenario: &Scenario) -> Option<String> {
    match run_everywhere(scenario) {
        Ok(_) => None,
        Err(DiffError::Divergence(report)) => Some(report),
        Err(err @ DiffError::Load(_)) => Some(err.to_string()),
    }
}

/// Generate the program for `seed` and check it on every engine.
pub fn check_seed(seed: u64) -> Option<Finding> {
    let original = crate::gen::scenario(seed);
    divergence(&original)?;
    let minimised = minimise(&original, 2_000);
    let report = divergence(&minimised).unwrap_or_default();
    Some(Finding {
        seed,
        original,
        minimised,
        report,
    })
}

/// Whether `s` diverges, spending one run of `budget` (none left: false).
fn still_diverges(s: &Scenario, budget: &mut u32) -> bool {
    if *budget == 0 {
        return false;
    }
    *budget -= 1;
    divergence(s).is_some()
}

/// Shrink a diverging scenario while it keeps diverging, trying at most `budget` runs:
/// lower the fuel, replace whole instructions by NOPs (addresses stay put), drop files,
/// and cut the tail of the program.
pub fn minimise(scenario: &Scenario, mut budget: u32) -> Scenario {
    let mut best = scenario.clone();
    // Smallest fuel that still diverges (divergence is monotone in practice).
    let (mut lo, mut hi) = (0, best.fuel);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let trial = Scenario {
            fuel: mid,
            ..best.clone()
        };
        if still_diverges(&trial, &mut budget) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    best.fuel = hi;
    let mut progress = true;
    while progress && budget > 0 {
        progress = false;
        for path in best.files.keys().cloned().collect::<Vec<_>>() {
            let mut trial = best.clone();
            trial.files.remove(&path);
            if still_diverges(&trial, &mut budget) {
                best = trial;
                progress = true;
            }
        }
        let cut = best.kernel.len() / 2;
        if cut > 0 {
            let mut trial = best.clone();
            trial.kernel.truncate(cut.max(1));
            if still_diverges(&trial, &mut budget) {
                best = trial;
                progress = true;
            }
        }
        let mut pc = 0;
        while pc < best.kernel.len() && budget > 0 {
            let len = decode(&best.kernel, pc).map_or(1, |d| d.len());
            let is_nop = matches!(decode(&best.kernel, pc), Ok(Decoded::Insn(i)) if i.op == pxvm::Opcode::NOP);
            if !is_nop {
                let mut trial = best.clone();
                let end = (pc + len).min(trial.kernel.len());
                trial.kernel[pc..end].fill(0x01);
                if still_diverges(&trial, &mut budget) {
                    best = trial;
                    progress = true;
                }
            }
            pc += len;
        }
    }
    best
}
