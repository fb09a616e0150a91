//! Fuel checked once per group of iterations in an amortised loop (see
//! `analysis::loops`). The loop is emitted `copies` more times after the ordinary blocks.
//! In copy `c`, each edge between two blocks of the loop is the ordinary edge without its
//! fuel check: it gives back and takes exactly the fuel the ordinary edge would, and
//! continues in the same copy — except the edges back to the header, which continue at
//! the header of copy `c + 1`, and, from the last copy, are the ordinary checked edge.
//! Edges out of the loop are the ordinary ones (an edge into the body of a folded block
//! outside the loop reaches that block's ordinary body, which therefore takes no pending
//! comparisons from its predecessor: `GuestBlock::carries`).
//!
//! The ordinary body of the header (entered only after its fuel was checked and taken)
//! starts with the group check: when the fuel before the header took its own was at least
//! `group_fuel`, it goes on in copy 0. Each iteration takes at most `iteration_fuel`, and
//! takes the `need` of each root at most once, so before entering a root in iteration
//! `i < copies` at least `(copies - i - 1) * iteration_fuel + need` is left: every check
//! a copy leaves out would have passed, and the run is the ordinary one, instruction for
//! instruction, with the fuel exact wherever it is observed. When less fuel is left, the
//! ordinary code runs the last iterations with every check, and ends the run exactly where
//! it always did.
//!
//! The group check also proves, for each of the loop's `GroupAccess`es, the addresses of
//! the first and the last copy (in 64-bit arithmetic, where they cannot wrap): inside
//! memory for a load, inside the store window for a store. The address is linear in the
//! copy, so every copy's address lies between them, and those accesses run in the copies
//! under `Checks::Unchecked` (no bounds check, no store-window check: the window holds no
//! translated code). When a proof fails, the ordinary code runs the iteration.
//!
//! Invariant: the copies are entered only through the group check, and each copy leaves
//! out only the checks of edges into roots of the loop and the checks of the accesses the
//! group check proved.

use super::{Checks, LoopCopies, Lowerer};
use crate::analysis::loops::{AmortisedLoop, GroupAccess, Step};
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{Block, InstBuilder, types};
use pxvm::MEM_SIZE;

impl Lowerer<'_> {
    /// Create the copies' blocks of `loops`, and stop the predecessors of the folded blocks
    /// the copies leave to from carrying comparisons into them.
    pub(super) fn plan_copies(&mut self, loops: Vec<AmortisedLoop>) {
        let plan = self.plan;
        for lp in loops {
            for (i, block) in plan.blocks.iter().enumerate() {
                if !lp.member[i] {
                    continue;
                }
                for pc in &block.succs {
                    if let Some(&j) = plan.index.get(pc)
                        && plan.blocks[j].folded
                        && !lp.member[j]
                    {
                        self.blocks[j].carries = false;
                    }
                }
            }
            let bodies = (0..lp.copies)
                .map(|_| {
                    (0..plan.blocks.len())
                        .map(|i| lp.member[i].then(|| self.b.create_block()))
                        .collect()
                })
                .collect();
            self.loops.push(LoopCopies { lp, bodies });
        }
    }

    /// At the start of the ordinary body of block `i` (its fuel taken): if `i` heads an
    /// amortised loop, go on in its copy 0 when a whole group's fuel was there, and leave
    /// the builder where the ordinary body goes on.
    pub(super) fn group_check(&mut self, i: usize) {
        let Some(k) = self.loops.iter().position(|c| c.lp.header == i) else {
            return;
        };
        let lp = &self.loops[k].lp;
        // The header's fuel has just been taken: its `need` (a root's `entry_take`).
        let left = lp.group_fuel() - self.plan.entry_take(i);
        let first = self.loops[k].bodies[0][i].expect("the header is a member");
        let copies = lp.copies as i64;
        let accesses: Vec<GroupAccess> = (lp.accesses.iter())
            .filter(|a| self.provable(a))
            .copied()
            .collect();
        // The registers the proofs read, widened here, where both ways go on from: reading
        // a register may materialise a pending comparison, which must hold on both.
        let mut wide = [None; 8];
        for a in &accesses {
            let regs = match a.step {
                Step::Imm(_) => vec![a.base],
                Step::Reg(s) => vec![a.base, s],
            };
            for r in regs {
                if wide[usize::from(r)].is_none() {
                    let v = self.reg(r);
                    wide[usize::from(r)] = Some(self.b.ins().sextend(types::I64, v));
                }
            }
        }
        let f = self.b.use_var(self.env.fuel);
        let whole = (self.b.ins()).icmp_imm_u(IntCC::UnsignedGreaterThanOrEqual, f, left as i64);
        let plain = self.b.create_block();
        if accesses.is_empty() {
            self.b.ins().brif(whole, first, &[], plain, &[]);
        } else {
            let prove = self.b.create_block();
            self.b.ins().brif(whole, prove, &[], plain, &[]);
            self.b.seal_block(prove);
            self.b.switch_to_block(prove);
            for a in &accesses {
                let base = wide[usize::from(a.base)].expect("widened above");
                let at = |l: &mut Self, c: i64| match a.step {
                    Step::Imm(k) => {
                        let d = i64::from(a.offset) + (c + a.before) * i64::from(k);
                        l.b.ins().iadd_imm_s(base, d)
                    }
                    Step::Reg(s) => {
                        let s = wide[usize::from(s)].expect("widened above");
                        let span = l.b.ins().imul_imm_s(s, c + a.before);
                        let x = l.b.ins().iadd(base, span);
                        l.b.ins().iadd_imm_s(x, i64::from(a.offset))
                    }
                };
                let (min, max) = if a.store {
                    let lo = i64::from(self.env.window.lo);
                    (lo, lo + i64::from(self.env.window.limit(a.len)) - 1)
                } else {
                    (0, (MEM_SIZE as u32 - a.len) as i64)
                };
                for c in [0, copies - 1] {
                    let x = at(self, c);
                    let above = (self.b.ins()).icmp_imm_s(IntCC::SignedGreaterThanOrEqual, x, min);
                    self.require(above, plain);
                    let below = (self.b.ins()).icmp_imm_s(IntCC::SignedLessThanOrEqual, x, max);
                    self.require(below, plain);
                }
            }
            self.b.ins().jump(first, &[]);
        }
        self.b.switch_to_block(plain);
    }

    /// Whether the group check can prove `a` at all (a store needs room in the window).
    fn provable(&self, a: &GroupAccess) -> bool {
        !a.store || self.env.window.limit(a.len) > 0
    }

    /// The checks for instruction `k` of block `i` where it is being emitted: none of its
    /// own in a copy whose group check proved its address, else the current ones.
    pub(super) fn checks_at(&self, i: usize, k: usize) -> Checks {
        let Some((lp, _)) = self.copy else {
            return self.checks;
        };
        let proven = (self.loops[lp].lp.accesses.iter())
            .any(|a| a.block == i && a.insn == k && self.provable(a));
        if proven {
            Checks::Unchecked
        } else {
            self.checks
        }
    }

    /// Emit every copy of every amortised loop.
    pub(super) fn emit_loop_copies(&mut self) {
        for k in 0..self.loops.len() {
            for c in 0..self.loops[k].lp.copies {
                for i in 0..self.plan.blocks.len() {
                    if let Some(body) = self.loops[k].bodies[c][i] {
                        self.copy = Some((k, c));
                        self.b.switch_to_block(body);
                        self.start_block(i);
                        self.emit_instructions(i);
                        self.copy = None;
                    }
                }
            }
        }
    }

    /// In a copy: the body of block `j` in the same copy, if `j` belongs to the loop.
    pub(super) fn copy_body(&self, j: usize) -> Option<Block> {
        let (k, c) = self.copy?;
        self.loops[k].bodies[c][j]
    }

    /// In a copy: where an edge into root `j` goes with no fuel check, if it may skip it
    /// (a member of the loop, and not the back edge of the last copy).
    pub(super) fn unchecked_target(&self, j: usize) -> Option<Block> {
        let (k, c) = self.copy?;
        let copies = &self.loops[k];
        if j != copies.lp.header {
            return copies.bodies[c][j];
        }
        copies.bodies.get(c + 1).and_then(|b| b[j])
    }

    /// The body an edge into folded block `j` jumps to, and whether it may hand `j` its
    /// pending comparisons.
    pub(super) fn folded_target(&self, j: usize) -> (Block, bool) {
        match self.copy_body(j) {
            Some(body) => (body, true),
            None => (self.blocks[j].body, self.blocks[j].carries),
        }
    }
}
