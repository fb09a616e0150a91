//! An aid for performance work: with `PXOS_JIT_DUMP=<dir>` in the environment, every
//! compiled region is written to `<dir>` as `region-<addr>.bin` (its machine code, as
//! loaded at `<addr>`), `region-<addr>.vcode` (Cranelift's listing, with block labels)
//! and `region-<addr>.plan` (its guest blocks: start, fuel tree, successors; and the
//! loops that optimised code checks the fuel of once per group, `analysis::loops`).
//! The `.bin` file disassembles with
//! `objdump -D -b binary -mi386:x86-64 --adjust-vma=0x<addr> region-<addr>.bin`, and the
//! addresses match what `perf record` samples inside compiled code. Failures to write
//! are ignored: dumping must never change what the engine does.

use crate::analysis::{Plan, loops};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The dump folder, if dumping is on (read once per process).
pub(crate) fn dir() -> Option<&'static PathBuf> {
    static DIR: OnceLock<Option<PathBuf>> = OnceLock::new();
    DIR.get_or_init(|| std::env::var_os("PXOS_JIT_DUMP").map(PathBuf::from))
        .as_ref()
}

/// Write one region's machine code, listing and plan.
pub(crate) fn region(dir: &Path, addr: usize, code: &[u8], listing: &str, plan: &Plan) {
    let stem = format!("region-{addr:x}");
    std::fs::write(dir.join(format!("{stem}.bin")), code).ok();
    std::fs::write(dir.join(format!("{stem}.vcode")), listing).ok();
    let mut text = String::new();
    for (i, b) in plan.blocks.iter().enumerate() {
        let tree = if b.folded {
            format!("folded into block {}", b.root)
        } else {
            format!("root, need {}", b.need)
        };
        let succs: Vec<String> = b.succs.iter().map(|s| s.to_string()).collect();
        text += &format!(
            "block {i}: pc {}..{} ({} insns), {tree}, succs [{}]\n",
            b.start,
            b.next,
            b.len(),
            succs.join(", ")
        );
    }
    for lp in loops::find(plan) {
        let members: Vec<String> = (lp.member.iter().enumerate())
            .filter(|&(_, &m)| m)
            .map(|(i, _)| i.to_string())
            .collect();
        text += &format!(
            "amortised loop (optimised code): header block {}, blocks [{}], {} copies of at most {} fuel\n",
            lp.header,
            members.join(", "),
            lp.copies,
            lp.iteration_fuel
        );
    }
    std::fs::write(dir.join(format!("{stem}.plan")), text).ok();
}
