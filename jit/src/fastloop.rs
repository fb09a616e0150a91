//! The fast copy of a counted self-loop (see `counted`): at the loop's entry, from the
//! register values there, compute the iteration count `n`, check that every address each
//! access will use in the `n` iterations is inside memory (loads) or inside the
//! region's store window (stores), and that the fuel covers all `n` iterations; if so, take
//! that fuel at once, run the `n` iterations with no checks at all and leave the loop by
//! its ordinary exit edge. Otherwise go straight to the ordinary body. The loop's own back
//! edge goes to the ordinary body, so the entry checks run once per entry into the loop,
//! not per iteration. Short bodies run
//! their fast iterations in groups of four (one loop test per group, and Cranelift folds
//! the steps of the induction registers into the addresses) while a whole group is fast,
//! then one at a time.
//!
//! Everything is computed in 64-bit arithmetic from 32-bit register values, so nothing the
//! checks look at can wrap: an address range that passes lies inside memory, where the
//! guest's wrapping 32-bit address sums give the same addresses.

use crate::counted::{CountedLoop, LoopTest};
use crate::edges;
use crate::liveness::ALL;
use crate::region::Shared;
use crate::scan::{Plan, PlannedInsn};
use crate::translate::Fx;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{types, Block, InstBuilder, Value};
use pxvm::MEM_SIZE;

/// Emit, into the current block (the body entry of counted loop `i`), the entry checks
/// and the fast copy. Returns the block where the ordinary body must be emitted, or `None`
/// (nothing emitted) when no iteration could ever take the fast copy.
pub(crate) fn emit(
    fx: &mut Fx<'_>,
    plan: &Plan,
    sh: &Shared,
    i: usize,
    cl: &CountedLoop,
) -> Option<Block> {
    let block = &plan.blocks[i];
    let (last, body) = block.insns.split_last()?;
    if cl
        .accesses
        .iter()
        .any(|a| a.store && fx.window.limit(a.len) == 0)
    {
        return None;
    }
    let plain = fx.b.create_block();
    let fast_entry = fx.b.create_block();
    let (ok, extra) = entry_checks(fx, block.insns.len() as i64, cl);
    fx.b.ins().brif(ok, fast_entry, &[], plain, &[]);
    fx.b.switch_to_block(fast_entry);
    let f = fx.b.use_var(fx.fuel);
    let f = fx.b.ins().isub(f, extra);
    fx.b.def_var(fx.fuel, f);
    fast_iterations(fx, cl, body, last);
    // Out of the loop, the way its ordinary body leaves it (the loop test just failed).
    edges::goto(fx, plan, sh, block.next);
    Some(plain)
}

/// The register `r` sign-extended to 64 bits.
fn wide(fx: &mut Fx<'_>, r: u8) -> Value {
    let v = fx.reg(r);
    fx.b.ins().sextend(types::I64, v)
}

/// Whether the fast copy may run this time (`n >= 2`, the fuel, every address, no index
/// wrap), and the fuel it takes beyond the iteration already paid for.
fn entry_checks(fx: &mut Fx<'_>, len: i64, cl: &CountedLoop) -> (Value, Value) {
    // n, and whether n >= 2 (shorter loops are not worth the checks).
    let (n, mut ok) = match cl.test {
        LoopTest::CountDown { counter } => {
            let c = wide(fx, counter);
            let ok = fx.b.ins().icmp_imm_s(IntCC::SignedGreaterThanOrEqual, c, 2);
            (c, ok)
        }
        LoopTest::Below { index, step, bound } => {
            let (i0, b) = (wide(fx, index), wide(fx, bound));
            let d = fx.b.ins().isub(b, i0);
            let ok =
                fx.b.ins()
                    .icmp_imm_s(IntCC::SignedGreaterThan, d, i64::from(step));
            let up = fx.b.ins().iadd_imm_s(d, i64::from(step) - 1);
            // The index must not wrap on the last step (the guest's SLT would then see a
            // negative index and go round again): `i0 + n * step < bound + step` fits.
            let fits = fx.b.ins().icmp_imm_s(
                IntCC::SignedLessThanOrEqual,
                b,
                i64::from(i32::MAX) - i64::from(step) + 1,
            );
            let ok = fx.b.ins().band(ok, fits);
            (fx.b.ins().sdiv_imm_s(up, i64::from(step)), ok)
        }
    };
    let and = |fx: &mut Fx<'_>, ok: Value, more: Value| fx.b.ins().band(ok, more);

    // Fuel for the n - 1 iterations after the one the loop's entry already paid for.
    let runs = fx.b.ins().iadd_imm_s(n, -1);
    let extra = fx.b.ins().imul_imm_s(runs, len);
    let fuel = fx.b.use_var(fx.fuel);
    let enough =
        fx.b.ins()
            .icmp(IntCC::UnsignedGreaterThanOrEqual, fuel, extra);
    ok = and(fx, ok, enough);

    // Every address of the n iterations, by its two ends.
    for a in &cl.accesses {
        let (base, k) = match a.base {
            Some(r) => (wide(fx, r), cl.step[usize::from(r)].unwrap_or(0)),
            None => (fx.b.ins().iconst(types::I64, 0), 0),
        };
        let first_at = i64::from(a.offset) + if a.after_step { i64::from(k) } else { 0 };
        let first = fx.b.ins().iadd_imm_s(base, first_at);
        let span = fx.b.ins().imul_imm_s(runs, i64::from(k));
        let last = fx.b.ins().iadd(first, span);
        let (low, high) = if k >= 0 { (first, last) } else { (last, first) };
        let (min, max) = if a.store {
            (i64::from(fx.window.lo), i64::from(fx.window.hi - a.len))
        } else {
            (0, (MEM_SIZE as u32 - a.len) as i64)
        };
        let above =
            fx.b.ins()
                .icmp_imm_s(IntCC::SignedGreaterThanOrEqual, low, min);
        let below =
            fx.b.ins()
                .icmp_imm_s(IntCC::SignedLessThanOrEqual, high, max);
        ok = and(fx, ok, above);
        ok = and(fx, ok, below);
    }
    (ok, extra)
}

/// The fast iterations, from the current block (the fuel paid): groups while a group's
/// worth remain, then single ones; ends in the block where the loop test has just failed,
/// every register a plain value, for the caller to emit the loop's exit edge.
fn fast_iterations(fx: &mut Fx<'_>, cl: &CountedLoop, body: &[PlannedInsn], last: &PlannedInsn) {
    let unroll = if body.len() <= MAX_UNROLLED_BODY {
        UNROLL
    } else {
        1
    };
    let group_bound = match cl.test {
        LoopTest::Below { step, bound, .. } => {
            let b = wide(fx, bound);
            Some(fx.b.ins().iadd_imm_s(b, -i64::from(step) * (unroll - 1)))
        }
        LoopTest::CountDown { .. } => None,
    };
    let group = fx.b.create_block();
    fx.b.ins().jump(group, &[]);

    // Whether (from the registers between two iterations) the loop runs at least
    // `iterations` more: a group's worth, or one (the guest's own loop test).
    let room = |fx: &mut Fx<'_>, iterations: i64| match cl.test {
        LoopTest::Below { index, bound, .. } => match group_bound.filter(|_| iterations > 1) {
            Some(b) => {
                let x = wide(fx, index);
                fx.b.ins().icmp(IntCC::SignedLessThan, x, b)
            }
            None => {
                let (x, b) = (fx.reg(index), fx.reg(bound));
                fx.b.ins().icmp(IntCC::SignedLessThan, x, b)
            }
        },
        LoopTest::CountDown { counter } => {
            let c = fx.reg(counter);
            fx.b.ins()
                .icmp_imm_s(IntCC::SignedGreaterThanOrEqual, c, iterations)
        }
    };

    // Groups of `unroll` iterations while that many remain, then single ones, then out.
    let (group_body, single_check, single, out) = (
        fx.b.create_block(),
        fx.b.create_block(),
        fx.b.create_block(),
        fx.b.create_block(),
    );
    fx.b.switch_to_block(group);
    fx.pending = [None; 8];
    let go = room(fx, unroll);
    fx.b.ins().brif(go, group_body, &[], single_check, &[]);
    fx.b.switch_to_block(group_body);
    for _ in 0..unroll {
        iteration(fx, body, cl);
    }
    round_again(fx, cl, last, group);

    fx.b.switch_to_block(single_check);
    let go = room(fx, 1);
    fx.b.ins().brif(go, single, &[], out, &[]);
    fx.b.switch_to_block(single);
    iteration(fx, body, cl);
    // Both ways on need every register as a plain value (the way out may read any); the
    // loop flag is set on each of them instead.
    let flag = usize::from(last.insn.regs[0]);
    if let LoopTest::Below { .. } = cl.test {
        fx.pending[flag] = None;
    }
    fx.materialize(ALL);
    fx.pending = [None; 8];
    let again = room(fx, 1);
    let round = fx.b.create_block();
    fx.b.ins().brif(again, round, &[], out, &[]);
    fx.b.switch_to_block(round);
    round_again(fx, cl, last, single);

    fx.b.switch_to_block(out);
    fx.pending = [None; 8];
    if let LoopTest::Below { .. } = cl.test {
        let zero = fx.c32(0);
        fx.set_reg(last.insn.regs[0], zero);
    }
}

/// One fast iteration of the body, with no checks. In a loop that stores nothing and
/// steps every base register, the loads are read-only and movable (see `Fx::pure_loads`).
/// That is sound: each load's address depends on a stepped register, whose value is a
/// parameter of a fast loop's header, so Cranelift cannot move the load above that header
/// (and so above the entry checks), and nothing stores between any two places it could
/// put it.
fn iteration(fx: &mut Fx<'_>, body: &[PlannedInsn], cl: &CountedLoop) {
    fx.unchecked = true;
    fx.pure_loads = cl.accesses.iter().all(|a| {
        !a.store
            && a.base
                .is_some_and(|r| cl.step[usize::from(r)].is_some_and(|k| k != 0))
    });
    for p in body {
        fx.straight(p, 0);
    }
    fx.unchecked = false;
    fx.pure_loads = false;
}

/// After an iteration that goes round again (so a `Below` loop's flag is 1): make every
/// register a plain value (the next check may leave the loop, and what follows it may
/// read any) and jump to `to`.
fn round_again(fx: &mut Fx<'_>, cl: &CountedLoop, last: &PlannedInsn, to: Block) {
    if let LoopTest::Below { .. } = cl.test {
        let one = fx.c32(1);
        fx.set_reg(last.insn.regs[0], one);
    }
    fx.materialize(ALL);
    fx.pending = [None; 8];
    fx.b.ins().jump(to, &[]);
}

/// Bodies up to this many instructions are unrolled.
const MAX_UNROLLED_BODY: usize = 16;
/// Iterations per unrolled group.
const UNROLL: i64 = 4;
