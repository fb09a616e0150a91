//! Counted self-loops: a block that jumps back to its own start while a counter runs down
//! (`ADDI Rc, Rc, -1` … `JNZ Rc`) or an index climbs to a bound (`ADDI Ri, Ri, k` …
//! `SLT Rt, Ri, Rb` … `JNZ Rt`), whose memory accesses use base registers that are either
//! untouched by the loop or stepped by a constant once per iteration. For such a loop the
//! number of iterations `n`, and every address each access will use, follow from the
//! register values on entry, so the lowering (`lower::fastloop`) can check them all — and
//! the fuel for all `n` iterations — once, then run all `n` iterations in a fast copy with
//! no per-access bounds checks, store-window checks or fuel checks, and leave by the
//! loop's ordinary exit edge. When any entry-time check fails, the ordinary, fully checked
//! body runs every iteration.
//!
//! This module only recognises the shape (pure analysis of one planned block).
//! Invariant (soundness of the fast copy): every guest memory access of an accepted body
//! is listed in [`CountedLoop::accesses`]. The decision is an exhaustive match on the
//! ISA's [`Memory`] column: an access this analysis does not model (the stack, the host)
//! rejects the loop, so no access can run unchecked because it was overlooked here.

use super::PlannedBlock;
use super::liveness::effect;
use pxvm::isa::{Memory, Opcode};
use pxvm::machine::jump_target;

/// How a counted loop decides to go round again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LoopTest {
    /// `JNZ counter`, the counter stepped by -1: `counter` iterations (when positive).
    CountDown { counter: u8 },
    /// `JNZ flag` with `flag = SLT index, bound`, the index stepped by `step > 0` before
    /// the comparison and `bound` untouched: until the stepped index reaches the bound.
    Below { index: u8, step: i32, bound: u8 },
}

/// One guest memory access of the loop body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Access {
    /// Base register (`None` for LOAD/STORE, whose address is the immediate alone).
    pub base: Option<u8>,
    pub offset: i32,
    /// 4 (word) or 1 (byte).
    pub len: u32,
    pub store: bool,
    /// Whether the base register's step comes before the access in the block (then the
    /// first iteration already sees the stepped value).
    pub after_step: bool,
}

/// A recognised counted self-loop.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CountedLoop {
    pub test: LoopTest,
    /// Per register: the constant it is stepped by once per iteration (0: not written).
    /// Registers written any other way are not listed and may not be bases.
    pub step: [Option<i32>; 8],
    pub accesses: Vec<Access>,
}

/// The access a counted loop's body may make, by the ISA's memory column: `Some(None)` for
/// none, `Some(Some(access))` for a plain load or store the fast copy can check on entry,
/// `None` for an access it does not model (the loop is then not counted).
fn data_access(memory: Memory) -> Option<Option<pxvm::isa::DataAccess>> {
    match memory {
        Memory::None => Some(None),
        Memory::LoadAbs
        | Memory::StoreAbs
        | Memory::LoadWord
        | Memory::StoreWord
        | Memory::LoadByte
        | Memory::StoreByte => memory.data().map(Some),
        Memory::Push | Memory::Pop | Memory::Host => None,
    }
}

/// Recognise `block` as a counted self-loop, or `None`.
pub(crate) fn analyse(block: &PlannedBlock) -> Option<CountedLoop> {
    let (last, body) = block.insns.split_last()?;
    let jumps_home = last.insn.op == Opcode::JNZ
        && last.insn.regs_valid()
        && jump_target(last.insn.imm) == Some(block.start);
    if !jumps_home || body.iter().any(|p| p.live || !p.insn.regs_valid()) {
        return None;
    }
    // Who writes each register: `Some(Some((k, at)))` for exactly one `ADDI r, r, k` at
    // index `at`, `Some(None)` for any other writing, `None` for no write.
    let mut writes: [Option<Option<(i32, usize)>>; 8] = [None; 8];
    for (at, p) in body.iter().enumerate() {
        for r in effect(p).defs.iter().map(|r| r as u8) {
            let [a, b, _] = p.insn.regs;
            let stepped = p.insn.op == Opcode::ADDI && a == r && b == r;
            writes[usize::from(r)] = match (writes[usize::from(r)], stepped) {
                (None, true) => Some(Some((p.insn.imm, at))),
                _ => Some(None),
            };
        }
    }
    let step_of = |r: u8| match writes[usize::from(r)] {
        None => Some((0, None)),
        Some(Some((k, at))) => Some((k, Some(at))),
        Some(None) => None,
    };
    let mut step = [None; 8];
    for r in 0..8u8 {
        step[usize::from(r)] = step_of(r).map(|(k, _)| k);
    }
    let flag = last.insn.regs[0];
    let test = match step_of(flag) {
        Some((-1, Some(_))) => LoopTest::CountDown { counter: flag },
        _ => {
            // The flag must be written once, by an SLT of a stepped index and an untouched
            // bound, after the index's step.
            let (at, cmp) = body
                .iter()
                .enumerate()
                .rev()
                .find(|(_, p)| effect(p).defs.contains(flag))?;
            let [_, index, bound] = cmp.insn.regs;
            let flag_writes = body
                .iter()
                .filter(|p| effect(p).defs.contains(flag))
                .count();
            let (k, stepped_at) = step_of(index)?;
            let ok = cmp.insn.op == Opcode::SLT
                && flag_writes == 1
                && index != bound
                && k > 0
                && stepped_at.is_some_and(|s| s < at)
                && step_of(bound) == Some((0, None));
            if !ok {
                return None;
            }
            LoopTest::Below {
                index,
                step: k,
                bound,
            }
        }
    };
    let mut accesses = Vec::new();
    for (at, p) in body.iter().enumerate() {
        let Some(access) = data_access(p.insn.op.memory())? else {
            continue;
        };
        let base = access.base_operand.map(|i| p.insn.regs[i]);
        let (len, store) = (access.width, access.store);
        let after_step = match base {
            Some(r) => match step_of(r)? {
                (_, Some(stepped_at)) => stepped_at < at,
                (_, None) => false,
            },
            None => false,
        };
        accesses.push(Access {
            base,
            offset: p.insn.imm,
            len,
            store,
            after_step,
        });
    }
    Some(CountedLoop {
        test,
        step,
        accesses,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::scan::{BlockMode, RegionLimits, plan_region};
    use pxvm::Insn;

    fn block_of(insns: &[(Opcode, [u8; 3], i32)]) -> PlannedBlock {
        let mut code = Vec::new();
        for &(op, regs, imm) in insns {
            Insn::new(op, regs, imm).encode_into(&mut code);
        }
        let mut mem = vec![0u8; pxvm::MEM_SIZE];
        mem[..code.len()].copy_from_slice(&code);
        let plan = plan_region(&mem, 0, &RegionLimits::default(), |_| BlockMode::Normal).unwrap();
        plan.blocks[0].clone()
    }

    #[test]
    fn matmul_inner_loop_counts_down() {
        use Opcode::*;
        let block = block_of(&[
            (LDW, [7, 3, 0], 0x2000),
            (LDW, [6, 4, 0], 0x3000),
            (MUL, [7, 7, 6], 0),
            (ADD, [0, 0, 7], 0),
            (ADDI, [3, 3, 0], 4),
            (ADDI, [4, 4, 0], 128),
            (ADDI, [5, 5, 0], -1),
            (JNZ, [5, 0, 0], 0),
        ]);
        let cl = analyse(&block).unwrap();
        assert_eq!(cl.test, LoopTest::CountDown { counter: 5 });
        assert_eq!(cl.step[3], Some(4));
        assert_eq!(cl.step[7], None, "R7 is loaded, not stepped");
        assert_eq!(cl.step[1], Some(0));
        assert_eq!(cl.accesses.len(), 2);
        assert!(!cl.accesses[0].after_step && cl.accesses[0].offset == 0x2000);
    }

    #[test]
    fn index_below_bound_with_a_store() {
        use Opcode::*;
        // CLEAR: STB R1,R3,0 ; ADDI R1,R1,1 ; SLT R4,R1,R2 ; JNZ R4, CLEAR
        let block = block_of(&[
            (STB, [1, 3, 0], 0),
            (ADDI, [1, 1, 0], 1),
            (SLT, [4, 1, 2], 0),
            (JNZ, [4, 0, 0], 0),
        ]);
        let cl = analyse(&block).unwrap();
        assert_eq!(
            cl.test,
            LoopTest::Below {
                index: 1,
                step: 1,
                bound: 2
            }
        );
        assert!(cl.accesses[0].store && !cl.accesses[0].after_step);
    }

    #[test]
    fn shapes_that_are_not_counted() {
        use Opcode::*;
        // The counter is stepped twice.
        let twice = block_of(&[
            (ADDI, [5, 5, 0], -1),
            (ADDI, [5, 5, 0], -1),
            (JNZ, [5, 0, 0], 0),
        ]);
        assert_eq!(analyse(&twice), None);
        // A base register that the loop loads.
        let loaded_base = block_of(&[
            (LDW, [3, 3, 0], 0),
            (ADDI, [5, 5, 0], -1),
            (JNZ, [5, 0, 0], 0),
        ]);
        assert_eq!(analyse(&loaded_base), None);
        // The bound moves.
        let moving_bound = block_of(&[
            (ADDI, [1, 1, 0], 1),
            (ADDI, [2, 2, 0], 1),
            (SLT, [4, 1, 2], 0),
            (JNZ, [4, 0, 0], 0),
        ]);
        assert_eq!(analyse(&moving_bound), None);
        // Counting up to zero is not a count-down.
        let up = block_of(&[(ADDI, [5, 5, 0], 1), (JNZ, [5, 0, 0], 0)]);
        assert_eq!(analyse(&up), None);
    }
}
