//! Register liveness over a region's blocks: which guest registers a block's body may read
//! before writing them. The translator uses it to leave comparison results (CMP, SLT,
//! SLTU, SLTI) as flags feeding the branch, and to turn them into register values only on
//! the edges where that register is still read — typically the loop exits and never the
//! back edge.
//!
//! Every place where compiled code can leave counts as reading every register, because
//! leaving writes them all back: a store that may hit translated code, a CALL's push, a
//! SYSCALL (which also hands every register to the host), an
//! edge to another region or to the dispatcher, a JR or RET — and every edge into a block
//! that is not folded into the current one, because the fuel check on that edge may fail.
//! So a register is dead at a block's entry only if the block writes it before anything
//! can leave: exactly the case of a comparison redone by every iteration of a loop, whose
//! previous result the back edge then need not produce.
//!
//! Invariant: an instruction's reads, writes and ways out are decided by exhaustive
//! matches (on the opcode for registers, on the ISA's `Memory` column for leaving after a
//! write, on its `Flow` column for dynamic exits), and `coverage` checks each against the
//! reference semantics.

use super::RegSet;
use super::scan::{Plan, PlannedBlock, PlannedInsn};
use pxvm::isa::{Flow, Memory, Opcode};
use pxvm::machine::{SP, jump_target, word_index};

/// What one instruction does to liveness: the registers it reads and writes, and whether
/// compiled code may leave right after it (then everything is read).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Effect {
    pub uses: RegSet,
    pub defs: RegSet,
    pub may_leave: bool,
}

impl Effect {
    /// Reads nothing, writes nothing, never leaves (NOP, a no-op with invalid registers).
    const NONE: Effect = Effect {
        uses: RegSet::EMPTY,
        defs: RegSet::EMPTY,
        may_leave: false,
    };
}

/// The liveness effect of one planned instruction.
pub(crate) fn effect(p: &PlannedInsn) -> Effect {
    if !p.insn.regs_valid() {
        return Effect::NONE; // a counted no-op
    }
    let (uses, defs) = operands(p.insn.op, p.insn.regs);
    Effect {
        uses,
        defs,
        may_leave: may_leave(p),
    }
}

/// The registers `op` reads and writes, given its (valid) register operands. One arm per
/// opcode and no catch-all: a new opcode must say what it reads and writes here.
fn operands(op: Opcode, [a, b, c]: [u8; 3]) -> (RegSet, RegSet) {
    use Opcode::*;
    let none = RegSet::EMPTY;
    let (a, b, c, sp) = (
        RegSet::of(a),
        RegSet::of(b),
        RegSet::of(c),
        RegSet::of(SP as u8),
    );
    match op {
        NOP | JMP | HALT => (none, none),
        // The host may read and write every register.
        SYSCALL => (RegSet::ALL, RegSet::ALL),
        IMM8 | IMM32 | LOAD => (none, a),
        MOV | LDW | LDB | ADDI | ANDI | ORI | XORI | SHLI | SHRI | SARI | SLTI => (b, a),
        ADD | SUB | MUL | DIV | MOD | AND | OR | XOR | SHL | SHR | SAR | SLT | SLTU | CMP => {
            (b | c, a)
        }
        STORE | JZ | JNZ | JR => (a, none),
        STW | STB => (a | b, none),
        CALL | RET => (sp, sp),
    }
}

/// Whether compiled code may leave right after `p` (a write that may hit translated
/// code), decided by the ISA's memory column: a new kind of access must say here
/// whether it can leave.
fn may_leave(p: &PlannedInsn) -> bool {
    match p.insn.op.memory() {
        Memory::None | Memory::LoadAbs | Memory::LoadWord | Memory::LoadByte | Memory::Pop => false,
        // Out of range, STORE is ignored and cannot hit code (unless its address is live).
        Memory::StoreAbs => p.live || word_index(p.insn.imm).is_some(),
        Memory::StoreWord | Memory::StoreByte => true,
        // CALL pushes only when its target is in memory.
        Memory::Push => jump_target(p.insn.imm).is_some(),
        // SYSCALL: the host may write anything, and compiled code leaves if it wrote
        // translated bytes.
        Memory::Host => true,
    }
}

/// Whether compiled code leaves through a dynamic lookup after `last` (JR, RET), which
/// reads every register, decided by the ISA's flow column.
fn leaves_dynamically(last: &PlannedInsn) -> bool {
    match last.insn.op.flow() {
        Flow::Indirect | Flow::Return => last.insn.regs_valid(),
        // SYSCALL goes on to a static successor (its leaving is `may_leave`'s).
        Flow::Next | Flow::Jump | Flow::Branch | Flow::Call | Flow::Syscall => false,
        // Never compiled; if it were, leaving to the dispatcher reads everything.
        Flow::Halt => true,
    }
}

/// The registers `block` reads before writing them, given what is live after it.
fn live_before(block: &PlannedBlock, live_out: RegSet) -> RegSet {
    let mut live = live_out;
    for p in block.insns.iter().rev() {
        let e = effect(p);
        live = if e.may_leave {
            RegSet::ALL
        } else {
            live.minus(e.defs) | e.uses
        };
    }
    live
}

/// What is live when `block` ends: the union over its exits. An edge to a folded child
/// contributes what the child's body reads; anything else (an edge with a fuel check,
/// another region, the dispatcher, a dynamic jump) reads every register.
fn live_after(plan: &Plan, block: &PlannedBlock, live_in: &[RegSet]) -> RegSet {
    let last = &block.insns[block.insns.len() - 1];
    let mut live = if leaves_dynamically(last) {
        RegSet::ALL
    } else {
        RegSet::EMPTY
    };
    for pc in &block.succs {
        live |= match plan.index.get(pc) {
            Some(&j) if plan.blocks[j].folded => live_in[j],
            _ => RegSet::ALL,
        };
    }
    live
}

/// The registers some instruction of `plan` may write. The others still hold, in `Ctx`,
/// the values the region was entered with, so leaving need not store them back — and
/// their values are dead once last read instead of live through every loop.
pub(crate) fn written(plan: &Plan) -> RegSet {
    (plan.blocks.iter().flat_map(|b| &b.insns)).fold(RegSet::EMPTY, |w, p| w | effect(p).defs)
}

/// For every block of `plan`, the registers its body may read before writing them.
pub(crate) fn live_in(plan: &Plan) -> Vec<RegSet> {
    let n = plan.blocks.len();
    let mut live = vec![RegSet::EMPTY; n];
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
    use crate::analysis::scan::{BlockMode, RegionLimits, plan_region};
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
        assert!(!live[0].contains(2u8), "R2 is written before it is read");
        assert!([0u8, 1, 3].iter().all(|&r| live[0].contains(r)));
    }
}
