//! Control flow out of a guest block: the terminators (decided by the ISA's [`Flow`]
//! column: jumps, branches, JR, CALL, RET, or the fall-through after an ordinary
//! instruction) and the edges they take. An edge
//!
//! * into the body of a folded child costs nothing (its fuel was taken at the root);
//! * into another block of the region gives back the fuel its tree did not use, then
//!   checks and takes the fuel of the target's tree — on the edge itself, so that the
//!   target's body is entered with no exit of its own and reads only the registers it
//!   needs (a failing check leaves with `EXIT_FUEL` at the target's pc, having run
//!   nothing of it);
//! * after a SYSCALL (which calls the host, see `syscall`) the fall-through is an edge
//!   like any other;
//! * out of the region (a static pc with no block here, JR, RET) goes through the chain
//!   block, or to the dispatcher for pc 65,536 — except that a RET whose target is the
//!   return site of a CALL in this region takes the checked edge to that block directly.
//!
//! Comparison results still pending (see `liveness`) become register values on exactly
//! the edges where the register is read — except on an edge into a folded child, which
//! is that block's only way in: there they stay pending, and the child materialises them
//! only where it reads them (often only on its cold exits). In the copies of an amortised
//! loop (see `amortise`), an edge into a block of the loop continues in the same copy, and
//! one into a root of the loop does not check the fuel it takes.
//!
//! Invariant: the fuel is exact on every edge that leaves a fuel tree, and every way out
//! of compiled code materialises every pending comparison first.

use super::Lowerer;
use crate::analysis::{PlannedInsn, RegSet};
use crate::runtime::abi::{EXIT_FUEL, EXIT_JUMP};
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{InstBuilder, Value};
use pxvm::isa::{Flow, Opcode};
use pxvm::machine::{SP, jump_target};

/// Where an edge goes.
#[derive(Clone, Copy)]
enum Dest {
    /// The body of block `j`, a folded child of the current block.
    Body(usize),
    /// Block `j` of the region, through a fuel check on the edge.
    Checked(usize),
    /// Through the chain block to a pc in memory (a constant or a dynamic value).
    Chain(DestPc),
    /// Back to the dispatcher at a constant pc (65,536: only it can report the fault).
    Exit(u32),
}

#[derive(Clone, Copy)]
enum DestPc {
    Const(u32),
    Dynamic(Value),
}

/// When a conditional branch ([`Flow::Branch`]) is taken: its register is zero (JZ) or
/// not (JNZ). One arm per opcode and no catch-all, so a new conditional branch must be
/// given its sense here (a test checks every `Flow::Branch` opcode has one).
pub(crate) fn taken_when_zero(op: Opcode) -> Option<bool> {
    use Opcode::*;
    match op {
        JZ => Some(true),
        JNZ => Some(false),
        HALT | NOP | IMM8 | IMM32 | MOV | ADD | SUB | MUL | DIV | MOD | AND | OR | XOR | SHL
        | SHR | SAR | SLT | SLTU | JMP | CMP | JR | CALL | RET | LOAD | STORE | LDW | STW | LDB
        | STB | ADDI | ANDI | ORI | XORI | SHLI | SHRI | SARI | SLTI | SYSCALL => None,
    }
}

/// Most return sites a RET compares its target against before the entry-table lookup.
const MAX_RETURN_SITES: usize = 8;

impl Lowerer<'_> {
    /// Where an edge to the static `pc` goes.
    fn target(&self, pc: u32) -> Dest {
        let plan = self.plan;
        match plan.index.get(&pc) {
            // A folded block's only predecessor is the block this edge leaves (the edge
            // exists), so its fuel was taken at the root of that block's tree.
            Some(&j) if plan.blocks[j].folded => Dest::Body(j),
            Some(&j) => Dest::Checked(j),
            None if jump_target(pc as i32).is_some() => Dest::Chain(DestPc::Const(pc)),
            None => Dest::Exit(pc),
        }
    }

    /// Emit the edge to `dest` into the current block, terminating it.
    fn emit_edge(&mut self, dest: Dest) {
        if !matches!(dest, Dest::Body(_)) {
            self.refund(self.cur.leave_refund);
        }
        match dest {
            Dest::Body(j) => {
                let (body, carries) = self.folded_target(j);
                if carries {
                    self.carry_into(j, self.blocks[j].live_in);
                } else {
                    self.materialize(self.blocks[j].live_in);
                }
                self.b.ins().jump(body, &[]);
            }
            Dest::Checked(j) if let Some(body) = self.unchecked_target(j) => {
                // In an amortised loop's copy: the group check proved this would pass.
                self.materialize(self.blocks[j].live_in);
                self.take(self.plan.entry_take(j));
                self.b.ins().jump(body, &[]);
            }
            Dest::Checked(j) => {
                let f = self.b.use_var(self.env.fuel);
                let need = self.plan.blocks[j].need as i64;
                let enough = self
                    .b
                    .ins()
                    .icmp_imm_u(IntCC::UnsignedGreaterThanOrEqual, f, need);
                let pay = self.b.create_block();
                let short = self.b.create_block();
                self.b.set_cold_block(short);
                self.b.ins().brif(enough, pay, &[], short, &[]);
                self.b.switch_to_block(short);
                self.materialize(RegSet::ALL);
                self.leave(self.plan.blocks[j].start, EXIT_FUEL);
                self.b.switch_to_block(pay);
                self.materialize(self.blocks[j].live_in);
                self.take(self.plan.entry_take(j));
                let body = match self.cur.back_edge {
                    Some((k, plain)) if k == j => plain,
                    _ => self.blocks[j].body,
                };
                self.b.ins().jump(body, &[]);
            }
            Dest::Chain(pc) => {
                self.materialize(RegSet::ALL);
                let v = match pc {
                    DestPc::Const(pc) => self.c32(pc as i32),
                    DestPc::Dynamic(v) => v,
                };
                let chain = self.frame.chain;
                self.b.ins().jump(chain, &[v.into()]);
            }
            Dest::Exit(pc) => {
                self.materialize(RegSet::ALL);
                self.leave(pc, EXIT_JUMP);
            }
        }
    }

    /// Jump to the exit block with `pc` and `reason`.
    pub(super) fn leave(&mut self, pc: u32, reason: u32) {
        let pc = self.c32(pc as i32);
        let reason = self.c32(reason as i32);
        let exit = self.frame.exit;
        self.b.ins().jump(exit, &[pc.into(), reason.into()]);
    }

    /// Jump to the exit block with a dynamic `pc` and `EXIT_JUMP`.
    pub(super) fn leave_dynamic(&mut self, pc: Value) {
        let reason = self.c32(EXIT_JUMP as i32);
        let exit = self.frame.exit;
        self.b.ins().jump(exit, &[pc.into(), reason.into()]);
    }

    /// Branch on `cond` (non-zero) to `then`, else to `other`. A side that has work to do
    /// (give back fuel, check fuel, materialise flags, pass arguments) gets an edge block
    /// of its own, so that the hot side of a loop branch does no work for the cold one.
    ///
    /// `tested`: a register holding the pending comparison that `cond` is. On each edge
    /// its value is then known — 1 towards `then`, 0 towards `other` — and an edge block
    /// writes that constant instead of materialising the comparison (a loop's back edge,
    /// typically).
    fn brif_to(&mut self, cond: Value, (then, other): (Dest, Dest), tested: Option<u8>) {
        let mut edges = Vec::new();
        let mut label = |l: &mut Self, d: Dest, known: i32| match d {
            Dest::Body(j)
                if l.folded_target(j).1
                    && tested.is_none_or(|r| !l.blocks[j].live_in.contains(r)) =>
            {
                l.carry_into(j, l.blocks[j].live_in);
                l.folded_target(j).0
            }
            _ => {
                let e = l.b.create_block();
                edges.push((e, d, known));
                e
            }
        };
        let t = label(self, then, 1);
        let o = label(self, other, 0);
        self.b.ins().brif(cond, t, &[], o, &[]);
        for (e, d, known) in edges {
            self.b.switch_to_block(e);
            match tested {
                Some(r) => {
                    let saved = self.cur.pending[usize::from(r)];
                    let v = self.c32(known);
                    self.set_reg(r, v);
                    self.emit_edge(d);
                    self.cur.pending[usize::from(r)] = saved;
                }
                None => self.emit_edge(d),
            }
        }
    }

    /// The edge to the static `pc`.
    pub(super) fn goto(&mut self, pc: u32) {
        let dest = self.target(pc);
        self.emit_edge(dest);
    }

    /// A dynamic jump: through the chain block to `dest` if it is inside memory, else fall
    /// through to `next`.
    fn jump_dynamic(&mut self, dest: Value, next: u32) {
        let ok = self
            .b
            .ins()
            .icmp_imm_u(IntCC::UnsignedLessThan, dest, pxvm::MEM_SIZE as i64);
        let other = self.target(next);
        self.brif_to(ok, (Dest::Chain(DestPc::Dynamic(dest)), other), None);
    }

    /// The return-address fast path of a RET: compare the popped target against the
    /// return sites (the pc after each CALL) that start blocks of this region and, on a
    /// match, take a checked edge straight to that block. It is the same edge the chain
    /// block would reach through the entry table and the switch (refund, fuel check of the
    /// target's tree, take), just without the table lookup and the indirect jump. The
    /// return sites lie inside memory, so matching one implies the bounds check
    /// `jump_dynamic` makes. Leaves the builder in the block where no site matched.
    fn return_sites(&mut self, dest: Value) {
        let plan = self.plan;
        let mut sites: Vec<(u32, usize)> = Vec::new();
        for block in &plan.blocks {
            let last = block.insns[block.insns.len() - 1];
            if last.insn.op.flow() != Flow::Call || jump_target(last.insn.imm).is_none() {
                continue;
            }
            let site = last.next();
            if let Some(&j) = plan.index.get(&site).filter(|&&j| !plan.blocks[j].folded)
                && !sites.iter().any(|&(s, _)| s == site)
            {
                sites.push((site, j));
            }
        }
        for &(site, j) in sites.iter().take(MAX_RETURN_SITES) {
            let hit = self.b.ins().icmp_imm_u(IntCC::Equal, dest, i64::from(site));
            let here = self.b.create_block();
            let miss = self.b.create_block();
            self.b.ins().brif(hit, here, &[], miss, &[]);
            self.b.switch_to_block(here);
            self.emit_edge(Dest::Checked(j));
            self.b.switch_to_block(miss);
        }
    }

    /// The last instruction of a block: a control transfer, or an ordinary instruction
    /// followed by the fall-through. Decided by the ISA's flow column.
    pub(super) fn emit_last(&mut self, p: &PlannedInsn) {
        let insn = p.insn;
        let next = p.next();
        let target_pc = jump_target(insn.imm);
        let valid = insn.regs_valid();
        match insn.op.flow() {
            Flow::Next => {
                self.straight(p, 0);
                self.goto(next);
            }
            Flow::Jump => self.goto(target_pc.unwrap_or(next)),
            Flow::Branch => match (taken_when_zero(insn.op), target_pc.filter(|_| valid)) {
                (Some(jz), Some(t)) => self.branch(insn.regs[0], jz, t, next),
                (Some(_), None) => self.goto(next),
                (None, _) => unreachable!("{} is a branch without a sense", insn.op),
            },
            Flow::Indirect if valid => {
                let dest = self.reg(insn.regs[0]);
                self.jump_dynamic(dest, next);
            }
            Flow::Indirect => self.goto(next),
            Flow::Call => match target_pc {
                Some(t) => {
                    let sp = self.reg(SP as u8);
                    let four = self.c32(4);
                    let sp = self.b.ins().isub(sp, four);
                    self.set_reg(SP as u8, sp);
                    let ret = self.c32(next as i32);
                    self.store(sp, ret, 4, t, 0);
                    self.goto(t);
                }
                None => self.goto(next),
            },
            Flow::Return => {
                let sp = self.reg(SP as u8);
                let dest = self.load_return_address(sp);
                let four = self.c32(4);
                let sp = self.b.ins().iadd(sp, four);
                self.set_reg(SP as u8, sp);
                self.return_sites(dest);
                self.jump_dynamic(dest, next);
            }
            Flow::Syscall => {
                if valid {
                    self.syscall(p);
                }
                self.goto(next);
            }
            // `scan::compiled_flow`: HALT is never planned. (A panic while compiling
            // leaves the entry to the interpreter; see `Cache::compile`.)
            Flow::Halt => unreachable!("{} is never compiled", insn.op),
        }
    }

    /// A conditional branch on register `r` to `to`, else to `next`; `jz`: taken when the
    /// register is zero.
    fn branch(&mut self, r: u8, jz: bool, to: u32, next: u32) {
        let (to, fall) = (self.target(to), self.target(next));
        // A pending comparison is the condition itself (non-zero = true).
        let (cond, if_set, if_clear, tested) = match (self.flag(r), jz) {
            (Some(flag), true) => (flag, fall, to, Some(r)),
            (Some(flag), false) => (flag, to, fall, Some(r)),
            (None, jz) => {
                let v = self.reg(r);
                let cc = if jz { IntCC::Equal } else { IntCC::NotEqual };
                (self.b.ins().icmp_imm_s(cc, v, 0), to, fall, None)
            }
        };
        self.brif_to(cond, (if_set, if_clear), tested);
    }
}
