//! The fast copy of a counted self-loop (see `analysis::counted`), in optimised code only
//! (`lower::build`'s `loop_copies`): at the loop's entry, from the
//! register values there, compute the iteration count `n`, check that every address each
//! access will use in the `n` iterations is inside memory (loads) or inside the
//! region's store window (stores), and that the fuel covers all `n` iterations; if so, take
//! that fuel at once, run the `n` iterations with no checks at all and leave the loop by
//! its ordinary exit edge. Otherwise go straight to the ordinary body. The loop's own back
//! edge goes to the ordinary body, so the entry checks run once per entry into the loop,
//! not per iteration. Short bodies run
//! their fast iterations in groups of eight or four (one loop test per group) while a
//! whole group is fast, then one at a time. At the start of each group (or single iteration) every
//! base register is *anchored*: widened and added to the memory base once, so that each
//! access of the group is one load or store at that pointer plus a displacement known
//! when compiling (the offset plus the steps taken since), with no 32-bit address sum and
//! widening per access (`Lowerer::anchored` says when that is the guest's address).
//!
//! Everything is computed in 64-bit arithmetic from 32-bit register values, so nothing the
//! checks look at can wrap: an address range that passes lies inside memory, where the
//! guest's wrapping 32-bit address sums give the same addresses.
//!
//! Invariant: the fast copy runs under `Checks::Unchecked*` only after the entry checks
//! passed, and only for the `n` iterations they covered.

use super::{Anchor, Checks, Lowerer};
use crate::analysis::counted::{CountedLoop, LoopTest};
use crate::analysis::liveness::effect;
use crate::analysis::{PlannedInsn, RegSet};
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{Block, InstBuilder, Value, types};
use pxvm::MEM_SIZE;
use pxvm::isa::Opcode;
use pxvm::machine::NUM_REGS;

/// Bodies up to this many instructions are unrolled.
const MAX_UNROLLED_BODY: usize = 16;
/// Iterations per unrolled group.
const UNROLL: i64 = 4;
/// Bodies up to this many instructions are unrolled further, [`SHORT_UNROLL`] iterations
/// per group (measured: the loop test and the anchoring of each group are then a small
/// part of memcpy's and matmul's inner loops).
const SHORT_BODY: usize = 8;
/// Iterations per group of a short body.
const SHORT_UNROLL: i64 = 8;

impl Lowerer<'_> {
    /// Emit, into the current block (the body entry of counted loop `i`), the entry checks
    /// and the fast copy. Returns the block where the ordinary body must be emitted, or `None`
    /// (nothing emitted) when no iteration could ever take the fast copy.
    pub(super) fn emit_fast_loop(&mut self, i: usize, cl: &CountedLoop) -> Option<Block> {
        let block = &self.plan.blocks[i];
        let (last, body) = block.insns.split_last()?;
        if cl
            .accesses
            .iter()
            .any(|a| a.store && self.env.window.limit(a.len) == 0)
        {
            return None;
        }
        let plain = self.b.create_block();
        let extra = self.entry_checks(block.insns.len() as i64, cl, plain);
        let f = self.b.use_var(self.env.fuel);
        let f = self.b.ins().isub(f, extra);
        self.b.def_var(self.env.fuel, f);
        self.fast_iterations(cl, body, last);
        // Out of the loop, the way its ordinary body leaves it (the loop test just failed).
        self.goto(block.next);
        Some(plain)
    }

    /// The register `r` sign-extended to 64 bits.
    fn wide(&mut self, r: u8) -> Value {
        let v = self.reg(r);
        self.b.ins().sextend(types::I64, v)
    }

    /// Go on (in a new current block) only if `cond` holds, else to `plain`.
    pub(super) fn require(&mut self, cond: Value, plain: Block) {
        let next = self.b.create_block();
        self.b.ins().brif(cond, next, &[], plain, &[]);
        self.b.seal_block(next);
        self.b.switch_to_block(next);
    }

    /// Go on only if the fast copy may run this time (`n >= 2`, the fuel, every address,
    /// no index wrap), else to `plain`: one well-predicted branch per check, cheaper than
    /// combining them into one flag (a counted loop is often short, as matmul's 32
    /// iterations, so the checks are paid often). Returns the fuel the fast copy takes
    /// beyond the iteration already paid for.
    fn entry_checks(&mut self, len: i64, cl: &CountedLoop, plain: Block) -> Value {
        // n, and whether n >= 2 (shorter loops are not worth the checks).
        let (n, ok) = match cl.test {
            LoopTest::CountDown { counter } => {
                let c = self.wide(counter);
                let ok = self
                    .b
                    .ins()
                    .icmp_imm_s(IntCC::SignedGreaterThanOrEqual, c, 2);
                (c, ok)
            }
            LoopTest::Below { index, step, bound } => {
                let (i0, b) = (self.wide(index), self.wide(bound));
                let d = self.b.ins().isub(b, i0);
                let ok = self
                    .b
                    .ins()
                    .icmp_imm_s(IntCC::SignedGreaterThan, d, i64::from(step));
                let up = self.b.ins().iadd_imm_s(d, i64::from(step) - 1);
                // The index must not wrap on the last step (the guest's SLT would then see a
                // negative index and go round again): `i0 + n * step < bound + step` fits.
                let fits = self.b.ins().icmp_imm_s(
                    IntCC::SignedLessThanOrEqual,
                    b,
                    i64::from(i32::MAX) - i64::from(step) + 1,
                );
                let ok = self.b.ins().band(ok, fits);
                (self.b.ins().sdiv_imm_s(up, i64::from(step)), ok)
            }
        };
        self.require(ok, plain);

        // Fuel for the n - 1 iterations after the one the loop's entry already paid for.
        let runs = self.b.ins().iadd_imm_s(n, -1);
        let extra = self.b.ins().imul_imm_s(runs, len);
        let fuel = self.b.use_var(self.env.fuel);
        let enough = self
            .b
            .ins()
            .icmp(IntCC::UnsignedGreaterThanOrEqual, fuel, extra);
        self.require(enough, plain);

        // Every address of the n iterations, by its two ends.
        for a in &cl.accesses {
            let (base, k) = match a.base {
                Some(r) => (self.wide(r), cl.step[usize::from(r)].unwrap_or(0)),
                None => (self.b.ins().iconst(types::I64, 0), 0),
            };
            let first_at = i64::from(a.offset) + if a.after_step { i64::from(k) } else { 0 };
            let first = self.b.ins().iadd_imm_s(base, first_at);
            let span = self.b.ins().imul_imm_s(runs, i64::from(k));
            let last = self.b.ins().iadd(first, span);
            let (low, high) = if k >= 0 { (first, last) } else { (last, first) };
            let (min, max) = if a.store {
                (
                    i64::from(self.env.window.lo),
                    i64::from(self.env.window.hi - a.len),
                )
            } else {
                (0, (MEM_SIZE as u32 - a.len) as i64)
            };
            let above = self
                .b
                .ins()
                .icmp_imm_s(IntCC::SignedGreaterThanOrEqual, low, min);
            let below = self
                .b
                .ins()
                .icmp_imm_s(IntCC::SignedLessThanOrEqual, high, max);
            self.require(above, plain);
            self.require(below, plain);
        }
        extra
    }

    /// The fast iterations, from the current block (the fuel paid): groups while a group's
    /// worth remain, then single ones; ends in the block where the loop test has just failed,
    /// every register a plain value, for the caller to emit the loop's exit edge.
    fn fast_iterations(&mut self, cl: &CountedLoop, body: &[PlannedInsn], last: &PlannedInsn) {
        let unroll = match body.len() {
            n if n <= SHORT_BODY => SHORT_UNROLL,
            n if n <= MAX_UNROLLED_BODY => UNROLL,
            _ => 1,
        };
        let group_bound = match cl.test {
            LoopTest::Below { step, bound, .. } => {
                let b = self.wide(bound);
                Some(self.b.ins().iadd_imm_s(b, -i64::from(step) * (unroll - 1)))
            }
            LoopTest::CountDown { .. } => None,
        };
        let group = self.b.create_block();
        self.b.ins().jump(group, &[]);

        // Whether (from the registers between two iterations) the loop runs at least
        // `iterations` more: a group's worth, or one (the guest's own loop test).
        let room = |l: &mut Self, iterations: i64| match cl.test {
            LoopTest::Below { index, bound, .. } => match group_bound.filter(|_| iterations > 1) {
                Some(b) => {
                    let x = l.wide(index);
                    l.b.ins().icmp(IntCC::SignedLessThan, x, b)
                }
                None => {
                    let (x, b) = (l.reg(index), l.reg(bound));
                    l.b.ins().icmp(IntCC::SignedLessThan, x, b)
                }
            },
            LoopTest::CountDown { counter } => {
                let c = l.reg(counter);
                l.b.ins()
                    .icmp_imm_s(IntCC::SignedGreaterThanOrEqual, c, iterations)
            }
        };

        // Groups of `unroll` iterations while that many remain, then single ones, then out.
        let (group_body, single_check, single, out) = (
            self.b.create_block(),
            self.b.create_block(),
            self.b.create_block(),
            self.b.create_block(),
        );
        self.b.switch_to_block(group);
        self.clear_pending();
        let go = room(self, unroll);
        self.b.ins().brif(go, group_body, &[], single_check, &[]);
        self.b.switch_to_block(group_body);
        self.anchor_bases(cl);
        for _ in 0..unroll {
            self.iteration(body, cl);
        }
        self.drop_anchors();
        self.round_again(cl, last, group);

        self.b.switch_to_block(single_check);
        let go = room(self, 1);
        self.b.ins().brif(go, single, &[], out, &[]);
        self.b.switch_to_block(single);
        self.anchor_bases(cl);
        self.iteration(body, cl);
        self.drop_anchors();
        // Both ways on need every register as a plain value (the way out may read any); the
        // loop flag is set on each of them instead.
        let flag = usize::from(last.insn.regs[0]);
        if let LoopTest::Below { .. } = cl.test {
            self.cur.pending[flag] = None;
        }
        self.materialize(RegSet::ALL);
        self.clear_pending();
        let again = room(self, 1);
        let round = self.b.create_block();
        self.b.ins().brif(again, round, &[], out, &[]);
        self.b.switch_to_block(round);
        self.round_again(cl, last, single);

        self.b.switch_to_block(out);
        self.clear_pending();
        if let LoopTest::Below { .. } = cl.test {
            let zero = self.c32(0);
            self.set_reg(last.insn.regs[0], zero);
        }
    }

    /// One fast iteration of the body, with no checks. In a loop that stores nothing and
    /// steps every base register, the loads are read-only and movable
    /// (`Checks::UncheckedPure`). That is sound: each load's address depends on a stepped
    /// register, whose value is a parameter of a fast loop's header, so Cranelift cannot
    /// move the load above that header (and so above the entry checks), and nothing stores
    /// between any two places it could put it.
    fn iteration(&mut self, body: &[PlannedInsn], cl: &CountedLoop) {
        let pure = cl.accesses.iter().all(|a| {
            !a.store
                && a.base
                    .is_some_and(|r| cl.step[usize::from(r)].is_some_and(|k| k != 0))
        });
        let checks = if pure {
            Checks::UncheckedPure
        } else {
            Checks::Unchecked
        };
        self.with_checks(checks, |l| {
            for p in body {
                l.straight(p, 0);
                l.track_anchors(p);
            }
        });
    }

    /// At the start of a group of fast iterations: anchor every base register of the
    /// loop's accesses, so that the group's accesses address memory from one host pointer
    /// per register, with constant displacements (see `Lowerer::anchored`).
    fn anchor_bases(&mut self, cl: &CountedLoop) {
        for r in cl.accesses.iter().filter_map(|a| a.base) {
            if self.anchors[usize::from(r)].is_none() {
                let v = self.wide(r);
                let ptr = self.b.ins().iadd(self.env.mem, v);
                self.anchors[usize::from(r)] = Some(Anchor { ptr, delta: 0 });
            }
        }
    }

    /// After `p` in a fast iteration: an anchored register's step moves its delta (the
    /// analysis lets no other instruction write a base register; any that did would drop
    /// the anchor).
    fn track_anchors(&mut self, p: &PlannedInsn) {
        let [a, b, _] = p.insn.regs;
        for r in effect(p).defs.iter() {
            let Some(anchor) = &mut self.anchors[r] else {
                continue;
            };
            if p.insn.op == Opcode::ADDI && usize::from(a) == r && a == b {
                anchor.delta += i64::from(p.insn.imm);
            } else {
                self.anchors[r] = None;
            }
        }
    }

    /// At the end of a group: forget the anchors.
    fn drop_anchors(&mut self) {
        self.anchors = [None; NUM_REGS];
    }

    /// After an iteration that goes round again (so a `Below` loop's flag is 1): make every
    /// register a plain value (the next check may leave the loop, and what follows it may
    /// read any) and jump to `to`.
    fn round_again(&mut self, cl: &CountedLoop, last: &PlannedInsn, to: Block) {
        if let LoopTest::Below { .. } = cl.test {
            let one = self.c32(1);
            self.set_reg(last.insn.regs[0], one);
        }
        self.materialize(RegSet::ALL);
        self.clear_pending();
        self.b.ins().jump(to, &[]);
    }
}
