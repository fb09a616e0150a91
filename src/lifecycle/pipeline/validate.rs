//! Candidate validation, the `validating` state: the static checks of `pxvm::vet` (the same
//! SELF_MODIFY applies) and a boot on probation — a plain boot on a fresh machine with the
//! policy's fuel, on the reference interpreter and on every engine, which must agree on
//! every observable (as `pxos run --engine both` checks) and must halt.

use crate::check::difftest::{DiffError, Scenario, run_everywhere};

/// Validate `bytes` with a boot of at most `fuel` instructions: the boot's cycle count, or
/// why the candidate is rejected.
pub fn validate(bytes: &[u8], fuel: u64) -> Result<u64, String> {
    pxvm::vet::vet(bytes).map_err(|e| e.to_string())?;
    let seen = run_everywhere(&Scenario::new(bytes.to_vec(), fuel)).map_err(|e| match e {
        DiffError::Load(e) => format!("cannot be loaded: {e}"),
        DiffError::Divergence(d) => format!(
            "the engines disagree on its probation boot: {}",
            d.trim_end().replace('\n', "; ")
        ),
    })?;
    let r = &seen.report;
    if r.exit != pxvm::Exit::Halt {
        return Err(format!(
            "its probation boot did not halt: exit={} after {} cycles (fuel {fuel})",
            r.exit, r.cycles
        ));
    }
    Ok(r.cycles)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halting_kernels_pass_and_loops_do_not() {
        let ok = pxvm::asm::assemble("IMM32 R1, 1\nSYSCALL 10\nHALT\n", "k.asm").unwrap();
        assert_eq!(validate(&ok, 1_000), Ok(2), "HALT is not counted");
        let looping = pxvm::asm::assemble("loop: JMP loop\n", "k.asm").unwrap();
        let e = validate(&looping, 1_000).unwrap_err();
        assert!(e.contains("did not halt") && e.contains("exit=fuel"), "{e}");
        let e = validate(b"HALT\n", 1_000).unwrap_err();
        assert!(e.contains("assembly source text"), "{e}");
    }
}
