//! The fast copy of a counted self-loop (see `counted`): at the loop's entry, from the
//! register values there, compute the iteration count `n`, check that every address each
//! access will use in the first `n - 1` iterations is inside memory (loads) or inside the
//! region's store window (stores), and that the fuel covers all `n` iterations; if so, take
//! that fuel at once and run the first `n - 1` iterations with no checks at all, then the
//! last one in the ordinary body, which leaves the loop the ordinary way. Otherwise go
//! straight to the ordinary body. The loop's own back edge goes to the ordinary body, so
//! the entry checks run once per entry into the loop, not per iteration. Short bodies run
//! their fast iterations in groups of four (one loop test per group, and Cranelift folds
//! the steps of the induction registers into the addresses) while a whole group is fast,
//! then one at a time.
//!
//! Everything is computed in 64-bit arithmetic from 32-bit register values, so nothing the
//! checks look at can wrap: an address range that passes lies inside memory, where the
//! guest's wrapping 32-bit address sums give the same addresses.

use crate::counted::{CountedLoop, LoopTest};
use crate::liveness::Regs;
use crate::scan::PlannedBlock;
use crate::translate::Fx;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{types, Block, InstBuilder, Value};
use pxvm::MEM_SIZE;

/// Emit, into the current block (the loop's body entry), the entry checks and the fast
/// copy. Returns the block where the ordinary body must be emitted, or `None` (nothing
/// emitted) when no iteration could ever take the fast copy.
pub(crate) fn emit(
    fx: &mut Fx<'_>,
    block: &PlannedBlock,
    live_in: &Regs,
    cl: &CountedLoop,
) -> Option<Block> {
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
    let wide = |fx: &mut Fx<'_>, r: u8| {
        let v = fx.reg(r);
        fx.b.ins().sextend(types::I64, v)
    };

    // n, and whether n >= 2 (else there is nothing to run fast).
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
            (fx.b.ins().sdiv_imm_s(up, i64::from(step)), ok)
        }
    };
    let and = |fx: &mut Fx<'_>, ok: Value, more: Value| fx.b.ins().band(ok, more);

    // Fuel for the n - 1 iterations after the one the loop's entry already paid for.
    let len = block.insns.len() as i64;
    let runs = fx.b.ins().iadd_imm_s(n, -1);
    let extra = fx.b.ins().imul_imm_s(runs, len);
    let fuel = fx.b.use_var(fx.fuel);
    let enough =
        fx.b.ins()
            .icmp(IntCC::UnsignedGreaterThanOrEqual, fuel, extra);
    ok = and(fx, ok, enough);

    // Every address of the first n - 1 iterations, by its two ends.
    let last_step = fx.b.ins().iadd_imm_s(n, -2);
    for a in &cl.accesses {
        let (base, k) = match a.base {
            Some(r) => (wide(fx, r), cl.step[usize::from(r)].unwrap_or(0)),
            None => (fx.b.ins().iconst(types::I64, 0), 0),
        };
        let first_at = i64::from(a.offset) + if a.after_step { i64::from(k) } else { 0 };
        let first = fx.b.ins().iadd_imm_s(base, first_at);
        let span = fx.b.ins().imul_imm_s(last_step, i64::from(k));
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
    fx.b.ins().brif(ok, fast_entry, &[], plain, &[]);

    // Pay, and fix what ends the fast iterations: the single ones stop before the last
    // iteration, the groups before a group would reach it.
    fx.b.switch_to_block(fast_entry);
    let f = fx.b.use_var(fx.fuel);
    let f = fx.b.ins().isub(f, extra);
    fx.b.def_var(fx.fuel, f);
    let unroll = if body.len() <= MAX_UNROLLED_BODY {
        UNROLL
    } else {
        1
    };
    let bounds = match cl.test {
        LoopTest::Below { step, bound, .. } => {
            let b = wide(fx, bound);
            let single = fx.b.ins().iadd_imm_s(b, -i64::from(step));
            let group = fx.b.ins().iadd_imm_s(b, -i64::from(step) * unroll);
            Some((single, group))
        }
        LoopTest::CountDown { .. } => None,
    };
    let group = fx.b.create_block();
    fx.b.ins().jump(group, &[]);

    // Whether (from the registers now) `iterations` more iterations are all fast ones.
    let room = |fx: &mut Fx<'_>, iterations: i64, bound: Option<Value>| match (cl.test, bound) {
        (LoopTest::Below { index, .. }, Some(b)) => {
            let i = wide(fx, index);
            fx.b.ins().icmp(IntCC::SignedLessThan, i, b)
        }
        _ => {
            let c = fx.reg(last.insn.regs[0]);
            fx.b.ins()
                .icmp_imm_s(IntCC::SignedGreaterThan, c, iterations)
        }
    };

    // Groups of `unroll` iterations while they all are fast ones, then single ones.
    let (group_body, single_check, single) = (
        fx.b.create_block(),
        fx.b.create_block(),
        fx.b.create_block(),
    );
    fx.b.switch_to_block(group);
    fx.pending = [None; 8];
    let go = room(fx, unroll, bounds.map(|b| b.1));
    fx.b.ins().brif(go, group_body, &[], single_check, &[]);
    fx.b.switch_to_block(group_body);
    for _ in 0..unroll {
        iteration(fx, body, cl, last);
    }
    fx.materialize(*live_in);
    fx.pending = [None; 8];
    fx.b.ins().jump(group, &[]);

    fx.b.switch_to_block(single_check);
    let go = room(fx, 1, bounds.map(|b| b.0));
    fx.b.ins().brif(go, single, &[], plain, &[]);
    fx.b.switch_to_block(single);
    iteration(fx, body, cl, last);
    fx.materialize(*live_in);
    fx.pending = [None; 8];
    let again = room(fx, 1, bounds.map(|b| b.0));
    fx.b.ins().brif(again, single, &[], plain, &[]);
    Some(plain)
}

/// Bodies up to this many instructions are unrolled.
const MAX_UNROLLED_BODY: usize = 16;
/// Iterations per unrolled group.
const UNROLL: i64 = 4;

/// One fast iteration of the body, with no checks. Every fast iteration goes round
/// again, so a `Below` loop's flag is 1 after it.
fn iteration(
    fx: &mut Fx<'_>,
    body: &[crate::scan::PlannedInsn],
    cl: &CountedLoop,
    last: &crate::scan::PlannedInsn,
) {
    fx.unchecked = true;
    for p in body {
        fx.straight(p, 0);
    }
    fx.unchecked = false;
    if let LoopTest::Below { .. } = cl.test {
        let one = fx.c32(1);
        fx.set_reg(last.insn.regs[0], one);
    }
}
