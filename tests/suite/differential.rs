//! Differential testing at volume: 2,000 generated programs (fixed seeds) — loops, calls,
//! array walks, self-patching code, syscalls, bad registers, unknown opcodes, wild jumps,
//! budgets ending mid-block — each run on every engine through `check`.

use super::util::check;
use pxvm::Exit;

#[test]
fn two_thousand_generated_programs_agree_on_every_engine() {
    let mut exits = std::collections::HashMap::new();
    let mut self_modified = 0;
    for seed in 0..2_000 {
        let scenario = pxos::check::generator::scenario(seed);
        let o = check(&scenario);
        *exits.entry(o.report.exit).or_insert(0) += 1;
        self_modified += usize::from(o.memory[..scenario.kernel.len()] != scenario.kernel[..]);
    }
    // The generator must keep exercising every way a run can end, and self-modification.
    assert!(
        exits.get(&Exit::Halt).copied().unwrap_or(0) > 500,
        "{exits:?}"
    );
    assert!(
        exits.get(&Exit::Fuel).copied().unwrap_or(0) > 300,
        "{exits:?}"
    );
    assert!(
        exits.get(&Exit::Error).copied().unwrap_or(0) > 5,
        "{exits:?}"
    );
    assert!(
        self_modified > 200,
        "only {self_modified} programs modified their code"
    );
}
