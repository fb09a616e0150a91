//! Differential fuzzing: run generated programs ([`pxvm::testkit::scenario`]) on every engine, and when
//! engines disagree, shrink the program to a small one that still shows the disagreement.
//! `pxos fuzz` is a loop around [`check_seed`] and [`minimise`].

use crate::check::difftest::{DiffError, Scenario, run_everywhere};
use pxvm::{Decoded, decode};

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
    let original = pxvm::testkit::scenario(seed);
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

/// Whether `s` still fails `test`, spending one run of `budget` (none left: false).
fn still_fails(s: &Scenario, budget: &mut u32, test: &dyn Fn(&Scenario) -> bool) -> bool {
    if *budget == 0 {
        return false;
    }
    *budget -= 1;
    test(s)
}

/// Shrink a diverging scenario while it keeps diverging, trying at most `budget` runs:
/// lower the fuel, replace whole instructions by NOPs (addresses stay put), drop files,
/// and cut the tail of the program.
pub fn minimise(scenario: &Scenario, budget: u32) -> Scenario {
    minimise_with(scenario, budget, &|s| divergence(s).is_some())
}

/// [`minimise`] with any failure test: shrink `scenario` while `fails` holds.
pub fn minimise_with(
    scenario: &Scenario,
    mut budget: u32,
    fails: &dyn Fn(&Scenario) -> bool,
) -> Scenario {
    let mut best = scenario.clone();
    let mut progress = true;
    while progress && budget > 0 {
        progress = false;
        for path in best.files.keys().cloned().collect::<Vec<_>>() {
            let mut trial = best.clone();
            trial.files.remove(&path);
            if still_fails(&trial, &mut budget, fails) {
                best = trial;
                progress = true;
            }
        }
        // The shortest prefix of the program that still fails (bisecting on its length).
        let (mut lo, mut hi) = (1, best.kernel.len());
        while lo < hi && budget > 0 {
            let mid = lo + (hi - lo) / 2;
            let mut trial = best.clone();
            trial.kernel.truncate(mid);
            if still_fails(&trial, &mut budget, fails) {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        if hi < best.kernel.len() {
            let mut trial = best.clone();
            trial.kernel.truncate(hi);
            if still_fails(&trial, &mut budget, fails) {
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
                if still_fails(&trial, &mut budget, fails) {
                    best = trial;
                    progress = true;
                }
            }
            pc += len;
        }
    }
    // Last, the smallest fuel that still fails (failures are monotone in fuel in practice;
    // done after the program shrank, since NOPs may need more fuel than what they replace).
    let (mut lo, mut hi) = (0, best.fuel);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let trial = Scenario {
            fuel: mid,
            ..best.clone()
        };
        if still_fails(&trial, &mut budget, fails) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    best.fuel = hi;
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimising_keeps_the_failure_and_drops_the_rest() {
        // A stand-in failure: the program still reaches an unknown opcode 0x80 within its
        // fuel (it prints the warning), with file_1 present.
        let fails = |s: &Scenario| {
            s.files.contains_key("file_1")
                && crate::check::difftest::run_reference(s)
                    .is_ok_and(|o| o.report.sysout.iter().any(|l| l.contains("0x80")))
        };
        let mut kernel = pxvm::testkit::Code::new();
        for v in 0..20 {
            kernel.imm(1, v);
        }
        kernel.put(&[0x80]);
        kernel.imm(2, 7);
        let kernel = kernel.finish();
        let scenario = Scenario::new(kernel, 1_000)
            .with_file("file_1", vec![1])
            .with_file("file_2", vec![2]);
        assert!(fails(&scenario));
        let small = minimise_with(&scenario, 500, &fails);
        assert!(fails(&small), "the minimised program still fails");
        assert_eq!(
            small.fuel, 121,
            "the smallest fuel that reaches the opcode through the NOPs"
        );
        assert!(
            !small.files.contains_key("file_2"),
            "irrelevant files are dropped"
        );
        assert!(
            small.kernel.len() <= 121,
            "the tail after the opcode is cut"
        );
        let decoded = crate::check::difftest::run_reference(&small).unwrap();
        assert_eq!(
            decoded.report.regs[1], 0,
            "the IMM32s before it became NOPs"
        );
    }
}
