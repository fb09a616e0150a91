//! Control flow out of a guest block: the terminators (JMP, JZ, JNZ, JR, CALL, RET, or the
//! fall-through) and the edges they take. An edge
//!
//! * into the body of a folded child costs nothing (its fuel was taken at the root);
//! * into another block of the region gives back the fuel its tree did not use, then
//!   checks and takes the fuel of the target's tree — on the edge itself, so that the
//!   target's body is entered with no exit of its own and reads only the registers it
//!   needs (a failing check leaves with `EXIT_FUEL` at the target's pc, having run
//!   nothing of it);
//! * out of the region (a static pc with no block here, JR, RET) goes through the chain
//!   block, or to the dispatcher for pc 65,536 — except that a RET whose target is the
//!   return site of a CALL in this region takes the checked edge to that block directly.
//!
//! Comparison results still pending (see `liveness`) become register values on exactly
//! the edges where the register is read — except on an edge into a folded child, which
//! is that block's only way in: there they stay pending, and the child materialises them
//! only where it reads them (often only on its cold exits).

use crate::abi::{EXIT_FUEL, EXIT_JUMP};
use crate::liveness::ALL;
use crate::region::Shared;
use crate::scan::{Plan, PlannedInsn};
use crate::translate::Fx;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{InstBuilder, Value};
use pxvm::isa::Opcode;
use pxvm::machine::{jump_target, SP};

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

/// Where an edge to the static `pc` goes.
fn target(plan: &Plan, pc: u32) -> Dest {
    match plan.index.get(&pc) {
        // A folded block's only predecessor is the block this edge leaves (the edge
        // exists), so its fuel was taken at the root of that block's tree.
        Some(&j) if plan.blocks[j].folded => Dest::Body(j),
        Some(&j) => Dest::Checked(j),
        None if jump_target(pc as i32).is_some() => Dest::Chain(DestPc::Const(pc)),
        None => Dest::Exit(pc),
    }
}

/// The fuel the checked entry of block `j` takes: the root's `need`, less what the path
/// from the root to `j` would already have taken (0 for a root). The value may wrap for a
/// folded block; every exit from the tree adds back what was not used.
pub(crate) fn take(plan: &Plan, j: usize) -> u64 {
    let block = &plan.blocks[j];
    plan.blocks[block.root].need - (block.prefix - block.len())
}

/// Emit the edge to `dest` into the current block, terminating it.
fn emit_edge(fx: &mut Fx<'_>, plan: &Plan, sh: &Shared, dest: Dest) {
    if !matches!(dest, Dest::Body(_)) {
        fx.refund(fx.leave_refund);
    }
    match dest {
        Dest::Body(j) => {
            fx.carry_into(j, sh.live_in[j]);
            fx.b.ins().jump(sh.body[j], &[]);
        }
        Dest::Checked(j) => {
            let f = fx.b.use_var(fx.fuel);
            let need = plan.blocks[j].need as i64;
            let enough =
                fx.b.ins()
                    .icmp_imm_u(IntCC::UnsignedGreaterThanOrEqual, f, need);
            let pay = fx.b.create_block();
            let short = fx.b.create_block();
            fx.b.set_cold_block(short);
            fx.b.ins().brif(enough, pay, &[], short, &[]);
            fx.b.switch_to_block(short);
            fx.materialize(ALL);
            leave(fx, sh, plan.blocks[j].start, EXIT_FUEL);
            fx.b.switch_to_block(pay);
            fx.materialize(sh.live_in[j]);
            fx.take(take(plan, j));
            let body = match fx.loop_plain {
                Some((k, plain)) if k == j => plain,
                _ => sh.body[j],
            };
            fx.b.ins().jump(body, &[]);
        }
        Dest::Chain(pc) => {
            fx.materialize(ALL);
            let v = match pc {
                DestPc::Const(pc) => fx.c32(pc as i32),
                DestPc::Dynamic(v) => v,
            };
            fx.b.ins().jump(sh.chain, &[v.into()]);
        }
        Dest::Exit(pc) => {
            fx.materialize(ALL);
            leave(fx, sh, pc, EXIT_JUMP);
        }
    }
}

/// Jump to the exit block with `pc` and `reason`.
pub(crate) fn leave(fx: &mut Fx<'_>, sh: &Shared, pc: u32, reason: u32) {
    let pc = fx.c32(pc as i32);
    let reason = fx.c32(reason as i32);
    fx.b.ins().jump(sh.exit, &[pc.into(), reason.into()]);
}

/// Jump to the exit block with a dynamic `pc` and `EXIT_JUMP`.
pub(crate) fn leave_dynamic(fx: &mut Fx<'_>, sh: &Shared, pc: Value) {
    let reason = fx.c32(EXIT_JUMP as i32);
    fx.b.ins().jump(sh.exit, &[pc.into(), reason.into()]);
}

/// Branch on `cond` (non-zero) to `then`, else to `other`. A side that has work to do
/// (give back fuel, check fuel, materialise flags, pass arguments) gets an edge block of
/// its own, so that the hot side of a loop branch does no work for the cold one.
///
/// `tested`: a register holding the pending comparison that `cond` is. On each edge its
/// value is then known — 1 towards `then`, 0 towards `other` — and an edge block writes
/// that constant instead of materialising the comparison (a loop's back edge, typically).
fn brif_to(
    fx: &mut Fx<'_>,
    plan: &Plan,
    sh: &Shared,
    cond: Value,
    (then, other): (Dest, Dest),
    tested: Option<u8>,
) {
    let mut edges = Vec::new();
    let mut label = |fx: &mut Fx<'_>, d: Dest, known: i32| match d {
        Dest::Body(j) if tested.is_none_or(|r| sh.live_in[j] >> r & 1 == 0) => {
            fx.carry_into(j, sh.live_in[j]);
            sh.body[j]
        }
        _ => {
            let e = fx.b.create_block();
            edges.push((e, d, known));
            e
        }
    };
    let t = label(fx, then, 1);
    let o = label(fx, other, 0);
    fx.b.ins().brif(cond, t, &[], o, &[]);
    for (e, d, known) in edges {
        fx.b.switch_to_block(e);
        match tested {
            Some(r) => {
                let saved = fx.pending[usize::from(r)];
                let v = fx.c32(known);
                fx.set_reg(r, v);
                emit_edge(fx, plan, sh, d);
                fx.pending[usize::from(r)] = saved;
            }
            None => emit_edge(fx, plan, sh, d),
        }
    }
}

pub(crate) fn goto(fx: &mut Fx<'_>, plan: &Plan, sh: &Shared, pc: u32) {
    let dest = target(plan, pc);
    emit_edge(fx, plan, sh, dest);
}

/// A dynamic jump: through the chain block to `dest` if it is inside memory, else fall
/// through to `next`.
fn jump_dynamic(fx: &mut Fx<'_>, plan: &Plan, sh: &Shared, dest: Value, next: u32) {
    let ok =
        fx.b.ins()
            .icmp_imm_u(IntCC::UnsignedLessThan, dest, pxvm::MEM_SIZE as i64);
    let other = target(plan, next);
    brif_to(
        fx,
        plan,
        sh,
        ok,
        (Dest::Chain(DestPc::Dynamic(dest)), other),
        None,
    );
}

/// Most return sites a RET compares its target against before the entry-table lookup.
const MAX_RETURN_SITES: usize = 8;

/// The return-address fast path of a RET: compare the popped target against the return
/// sites (the pc after each CALL) that start blocks of this region and, on a match, take
/// a checked edge straight to that block. It is the same edge the chain block would
/// reach through the entry table and the switch (refund, fuel check of the target's tree,
/// take), just without the table lookup and the indirect jump. The return sites lie
/// inside memory, so matching one implies the bounds check `jump_dynamic` makes. Leaves
/// the builder in the block where no site matched.
fn return_sites(fx: &mut Fx<'_>, plan: &Plan, sh: &Shared, dest: Value) {
    let mut sites: Vec<(u32, usize)> = Vec::new();
    for block in &plan.blocks {
        let last = block.insns[block.insns.len() - 1];
        if last.insn.op != Opcode::CALL || jump_target(last.insn.imm).is_none() {
            continue;
        }
        let site = last.next();
        if let Some(&j) = plan.index.get(&site).filter(|&&j| !plan.blocks[j].folded) {
            if !sites.iter().any(|&(s, _)| s == site) {
                sites.push((site, j));
            }
        }
    }
    for &(site, j) in sites.iter().take(MAX_RETURN_SITES) {
        let hit = fx.b.ins().icmp_imm_u(IntCC::Equal, dest, i64::from(site));
        let here = fx.b.create_block();
        let miss = fx.b.create_block();
        fx.b.ins().brif(hit, here, &[], miss, &[]);
        fx.b.switch_to_block(here);
        emit_edge(fx, plan, sh, Dest::Checked(j));
        fx.b.switch_to_block(miss);
    }
}

/// The last instruction of a block: a control transfer, or an ordinary instruction
/// followed by the fall-through.
pub(crate) fn emit_last(fx: &mut Fx<'_>, plan: &Plan, sh: &Shared, p: &PlannedInsn) {
    use Opcode::*;
    let insn = p.insn;
    let next = p.next();
    let target_pc = jump_target(insn.imm);
    let valid = insn.regs_valid();
    match insn.op {
        JMP => goto(fx, plan, sh, target_pc.unwrap_or(next)),
        JZ | JNZ if valid && target_pc.is_some() => {
            let (to, fall) = (target(plan, target_pc.unwrap_or(next)), target(plan, next));
            let r = insn.regs[0];
            // A pending comparison is the condition itself (non-zero = true).
            let (cond, if_set, if_clear, tested) = match (fx.flag(r), insn.op == JZ) {
                (Some(flag), true) => (flag, fall, to, Some(r)),
                (Some(flag), false) => (flag, to, fall, Some(r)),
                (None, jz) => {
                    let v = fx.reg(r);
                    let cc = if jz { IntCC::Equal } else { IntCC::NotEqual };
                    (fx.b.ins().icmp_imm_s(cc, v, 0), to, fall, None)
                }
            };
            brif_to(fx, plan, sh, cond, (if_set, if_clear), tested);
        }
        JR if valid => {
            let dest = fx.reg(insn.regs[0]);
            jump_dynamic(fx, plan, sh, dest, next);
        }
        CALL => match target_pc {
            Some(t) => {
                let sp = fx.reg(SP as u8);
                let four = fx.c32(4);
                let sp = fx.b.ins().isub(sp, four);
                fx.set_reg(SP as u8, sp);
                let ret = fx.c32(next as i32);
                fx.store(sp, ret, 4, t, 0);
                goto(fx, plan, sh, t);
            }
            None => goto(fx, plan, sh, next),
        },
        RET => {
            let sp = fx.reg(SP as u8);
            let dest = fx.load_return_address(sp);
            let four = fx.c32(4);
            let sp = fx.b.ins().iadd(sp, four);
            fx.set_reg(SP as u8, sp);
            return_sites(fx, plan, sh, dest);
            jump_dynamic(fx, plan, sh, dest, next);
        }
        JZ | JNZ | JR => goto(fx, plan, sh, next),
        _ => {
            fx.straight(p, 0);
            goto(fx, plan, sh, next);
        }
    }
}
