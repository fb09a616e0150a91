//! Register liveness over a region's blocks: which guest registers a block's body may read
//! before writing them. The translator uses it to leave comparison results (CMP, SLT,
//! SLTU, SLTI) as flags feeding the branch, and to turn them into register values only on
//! the edges where that register is still read — typically the loop exits and never the
//! back edge.
//!
//! Every place where compiled code can leave counts as reading every register, because
//! leaving writes them all back: a store that may hit translated code, a CALL's push, an
//! edge to another region or to the dispatcher, a JR or RET — and every edge into a block
//! that is not folded into the current one, because the fuel check on that edge may fail.
//! So a register is dead at a block's entry only if the block writes it before anything
//! can leave: exactly the case of a comparison redone by every iteration of a loop, whose
//! previous result the back edge then need not produce.

use crate::scan::{Plan, PlannedBlock, PlannedInsn};
use pxvm::isa::Opcode;
use pxvm::machine::{jump_target, word_index, SP};

/// A set of guest registers, bit `r` for R`r`.
pub(crate) type Regs = u8;

/// Every register.
pub(crate) const ALL: Regs = 0xFF;

fn bit(r: u8) -> Regs {
    1 << r
}

/// What one instruction does to liveness: the registers it reads and writes, and whether
/// compiled code may leave right after it (then everything is read).
pub(crate) struct Effect {
    uses: Regs,
    pub defs: Regs,
    may_leave: bool,
}

pub(crate) fn effect(p: &PlannedInsn) -> Effect {
    use Opcode::*;
    let insn = p.insn;
    let none = Effect {
        uses: 0,
        defs: 0,
        may_leave: false,
    };
    if !insn.regs_valid() {
        return none; // a counted no-op
    }
    let [a, b, c] = insn.regs;
    let sp = bit(SP as u8);
    match insn.op {
        NOP | JMP | HALT | SYSCALL => none,
        IMM8 | IMM32 | LOAD => Effect {
            defs: bit(a),
            ..none
        },
        MOV | LDW | LDB | ADDI | ANDI | ORI | XORI | SHLI | SHRI | SARI | SLTI => Effect {
            uses: bit(b),
            defs: bit(a),
            ..none
        },
        ADD | SUB | MUL | DIV | MOD | AND | OR | XOR | SHL | SHR | SAR | SLT | SLTU | CMP => {
            Effect {
                uses: bit(b) | bit(c),
                defs: bit(a),
                ..none
            }
        }
        STORE => Effect {
            uses: bit(a),
            may_leave: p.live || word_index(insn.imm).is_some(),
            ..none
        },
        STW | STB => Effect {
            uses: bit(a) | bit(b),
            may_leave: true,
            ..none
        },
        JZ | JNZ | JR => Effect {
            uses: bit(a),
            ..none
        },
        CALL => Effect {
            uses: sp,
            defs: sp,
            may_leave: jump_target(insn.imm).is_some(),
        },
        RET => Effect {
            uses: sp,
            defs: sp,
            ..none
        },
    }
}

/// The registers `block` reads before writing them, given what is live after it.
fn live_before(block: &PlannedBlock, live_out: Regs) -> Regs {
    let mut live = live_out;
    for p in block.insns.iter().rev() {
        let e = effect(p);
        live = if e.may_leave {
            ALL
        } else {
            (live & !e.defs) | e.uses
        };
    }
    live
}

/// What is live when `block` ends: the union over its exits. An edge to a folded child
/// contributes what the child's body reads; anything else (an edge with a fuel check,
/// another region, the dispatcher, a dynamic jump) reads every register.
fn live_after(plan: &Plan, block: &PlannedBlock, live_in: &[Regs]) -> Regs {
    use Opcode::*;
    let last = block.insns[block.insns.len() - 1].insn;
    let dynamic = last.regs_valid() && matches!(last.op, JR | RET);
    let mut live = if dynamic { ALL } else { 0 };
    for pc in &block.succs {
        live |= match plan.index.get(pc) {
            Some(&j) if plan.blocks[j].folded => live_in[j],
            _ => ALL,
        };
    }
    live
}

/// The registers some instruction of `plan` may write. The others still hold, in `Ctx`,
/// the values the region was entered with, so leaving need not store them back — and
/// their values are dead once last read instead of live through every loop.
pub(crate) fn written(plan: &Plan) -> Regs {
    (plan.blocks.iter().flat_map(|b| &b.insns)).fold(0, |w, p| w | effect(p).defs)
}

/// For every block of `plan`, the registers its body may read before writing them.
pub(crate) fn live_in(plan: &Plan) -> Vec<Regs> {
    let n = plan.blocks.len();
    let mut live = vec![0; n];
    // Sets only grow, each of n blocks by at most 8 bits: this terminates quickly.
    let mut changed = true;
    while changed {
        changed = false;
        for i in (0..n).rev() {
            let block = &plan.blocks[i];
            let out = live_after(plan, block, &live);
            let new = live_before(block, out);
            if new != live[i] {
                live[i] = new;
                changed = true;
            }
        }
    }
    live
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::{plan_region, BlockMode, RegionLimits};
    use pxvm::Insn;

    fn enc(code: &mut Vec<u8>, op: Opcode, regs: [u8; 3], imm: i32) {
        Insn::new(op, regs, imm).encode_into(code);
    }

    #[test]
    fn a_comparison_result_is_dead_on_the_back_edge() {
        // 0: SUB R0,R0,R1 ; 4: CMP R2,R0,R3 ; 8: JZ R2, 0 ; 14: HALT
        let mut code = Vec::new();
        enc(&mut code, Opcode::SUB, [0, 0, 1], 0);
        enc(&mut code, Opcode::CMP, [2, 0, 3], 0);
        enc(&mut code, Opcode::JZ, [2, 0, 0], 0);
        let mut mem = vec![0u8; pxvm::MEM_SIZE];
        mem[..code.len()].copy_from_slice(&code);
        let plan = plan_region(&mem, 0, &RegionLimits::default(), |_| BlockMode::Normal).unwrap();
        let live = live_in(&plan);
        // The loop reads R0, R1 and R3; the HALT exit reads everything but is outside.
        assert_eq!(live[0] & bit(2), 0, "R2 is written before it is read");
        assert_eq!(
            live[0] & (bit(0) | bit(1) | bit(3)),
            bit(0) | bit(1) | bit(3)
        );
    }
}
