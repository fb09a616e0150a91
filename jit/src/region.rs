//! One [`Plan`] becomes one Cranelift function, `(ctx, pc) -> exit reason`, in the tail-call
//! convention. Its shape:
//!
//! * entry: load the guest registers and the fuel from `ctx` into SSA variables, then
//!   dispatch on `pc` (a `Switch` over the region's block starts) to that block's checked
//!   entry;
//! * each guest block has a *checked* entry and a *body* (the instructions and the
//!   terminator). Blocks whose only predecessor pays for them are *folded* into it
//!   (`scan::fold_fuel_checks`): the folded edges form trees, and an edge inside a tree
//!   goes straight to the body. A tree's root takes, at its checked entry, the fuel of the
//!   longest path through the tree (`need`) after checking that much is left (else it
//!   leaves with `EXIT_FUEL`, nothing run); an edge that leaves the tree gives back what
//!   its path did not use. So a loop pays with one compare and one subtraction per
//!   iteration, and the fuel is exact whenever control leaves a tree;
//! * edges to blocks of the region are direct branches, so a hot loop never leaves the
//!   function and its registers stay in machine registers;
//! * edges out of the region, and every JR/RET, go through the *chain* block: look the
//!   target up in the entry table; this function's own entry means a branch back to the
//!   switch, another function's means write the registers back and tail-call it, none
//!   means return `EXIT_JUMP` to the dispatcher;
//! * every exit writes the registers, fuel and pc back to `ctx`.

use crate::abi::{off, region_signature, EXIT_CODE_WRITE, EXIT_FUEL, EXIT_JUMP};
use crate::scan::{Plan, PlannedInsn};
use crate::translate::Fx;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{
    types, Block, FuncRef, Function, InstBuilder, MemFlagsData, Type, Value,
};
use cranelift_codegen::isa::TargetFrontendConfig;
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext, Switch};
use pxvm::isa::Opcode;
use pxvm::machine::{jump_target, SP};

/// Flags for the `Ctx` block and the entry table (aligned host memory).
fn host_flags() -> MemFlagsData {
    MemFlagsData::trusted()
}

/// The per-function blocks shared by every guest block.
struct Shared {
    switch: Block,
    chain: Block,
    exit: Block,
    checked: Vec<Block>,
    body: Vec<Block>,
    /// This function, for recognising its own entries in the chain block.
    self_ref: FuncRef,
}

/// Emit the function for `plan` into `func` (whose signature must be
/// [`region_signature`]). `self_ref` refers to this very function, so that the chain
/// block can recognise its own entries.
pub(crate) fn build(
    func: &mut Function,
    fctx: &mut FunctionBuilderContext,
    plan: &Plan,
    ptr: Type,
    self_ref: FuncRef,
    frontend: TargetFrontendConfig,
) {
    let mut b = FunctionBuilder::new(func, fctx);
    let regs = std::array::from_fn(|_| b.declare_var(types::I32));
    let fuel = b.declare_var(types::I64);
    let region_sig = b.import_signature(region_signature(ptr));

    let entry = b.create_block();
    b.append_block_params_for_function_params(entry);
    b.switch_to_block(entry);
    let ctx = b.block_params(entry)[0];
    let pc = b.block_params(entry)[1];
    let mem = b.ins().load(ptr, host_flags(), ctx, off::MEM);
    let codemap = b.ins().load(ptr, host_flags(), ctx, off::CODEMAP);
    for (i, &var) in regs.iter().enumerate() {
        let v = b
            .ins()
            .load(types::I32, host_flags(), ctx, off::REGS + 4 * i as i32);
        b.def_var(var, v);
    }
    let f = b.ins().load(types::I64, host_flags(), ctx, off::FUEL);
    b.def_var(fuel, f);

    let switch = b.create_block();
    b.append_block_param(switch, types::I32);
    let chain = b.create_block();
    b.append_block_param(chain, types::I32);
    let exit = b.create_block();
    b.append_block_param(exit, types::I32);
    b.append_block_param(exit, types::I32);
    let code_write_exit = b.create_block();
    for _ in 0..3 {
        b.append_block_param(code_write_exit, types::I32);
    }
    b.set_cold_block(code_write_exit);
    b.ins().jump(switch, &[pc.into()]);

    let checked = plan.blocks.iter().map(|_| b.create_block()).collect();
    let body = plan.blocks.iter().map(|_| b.create_block()).collect();
    let mut fx = Fx {
        b,
        regs,
        fuel,
        ptr,
        ctx,
        mem,
        codemap,
        code_write_exit,
        leave_refund: 0,
    };
    let sh = Shared {
        switch,
        chain,
        exit,
        checked,
        body,
        self_ref,
    };

    emit_switch(&mut fx, plan, &sh);
    for i in 0..plan.blocks.len() {
        emit_block(&mut fx, plan, &sh, i);
    }
    emit_chain(&mut fx, &sh, region_sig);
    emit_exits(&mut fx, &sh);
    fx.b.seal_all_blocks();
    fx.b.finalize(frontend);
}

/// `switch(pc)`: to the checked entry of the block starting at `pc`, else leave.
fn emit_switch(fx: &mut Fx<'_>, plan: &Plan, sh: &Shared) {
    fx.b.switch_to_block(sh.switch);
    let pc = fx.b.block_params(sh.switch)[0];
    let miss = fx.b.create_block();
    let mut sw = Switch::new();
    for (i, block) in plan.blocks.iter().enumerate() {
        sw.set_entry(u128::from(block.start), sh.checked[i]);
    }
    sw.emit(&mut fx.b, pc, miss);
    fx.b.switch_to_block(miss);
    let reason = fx.c32(EXIT_JUMP as i32);
    fx.b.ins().jump(sh.exit, &[pc.into(), reason.into()]);
}

/// Where an edge goes.
#[derive(Clone, Copy)]
enum Dest {
    /// A block of this region, by its label: the body of a folded child of the current
    /// block (fuel already paid), or another block's checked entry.
    Local { block: Block, leaves: bool },
    /// Through the chain block to `pc` (a dynamic value or a constant).
    Chain(DestPc),
    /// Back to the dispatcher at a constant pc (65,536: only it can report the fault).
    Exit(u32),
}

#[derive(Clone, Copy)]
enum DestPc {
    Const(u32),
    Dynamic(Value),
}

impl Dest {
    /// Whether the edge leaves the current block's fuel tree (so the block's
    /// `leave_refund` must be given back on the way).
    fn leaves(self) -> bool {
        match self {
            Dest::Local { leaves, .. } => leaves,
            Dest::Chain(_) | Dest::Exit(_) => true,
        }
    }
}

/// Where an edge to the static `pc` goes.
fn target(plan: &Plan, sh: &Shared, pc: u32) -> Dest {
    if let Some(&j) = plan.index.get(&pc) {
        // A folded block's only predecessor is the block this edge leaves (the edge
        // exists), so its fuel was taken at the root of that block's tree.
        return if plan.blocks[j].folded {
            Dest::Local {
                block: sh.body[j],
                leaves: false,
            }
        } else {
            Dest::Local {
                block: sh.checked[j],
                leaves: true,
            }
        };
    }
    if jump_target(pc as i32).is_some() {
        Dest::Chain(DestPc::Const(pc))
    } else {
        Dest::Exit(pc)
    }
}

/// Jump to `dest` from the current (unterminated) block, giving back fuel if it leaves
/// the tree.
fn jump_to(fx: &mut Fx<'_>, sh: &Shared, dest: Dest) {
    if dest.leaves() {
        fx.refund(fx.leave_refund);
    }
    match dest {
        Dest::Local { block, .. } => {
            fx.b.ins().jump(block, &[]);
        }
        Dest::Chain(pc) => {
            let v = match pc {
                DestPc::Const(pc) => fx.c32(pc as i32),
                DestPc::Dynamic(v) => v,
            };
            fx.b.ins().jump(sh.chain, &[v.into()]);
        }
        Dest::Exit(pc) => {
            let v = fx.c32(pc as i32);
            let reason = fx.c32(EXIT_JUMP as i32);
            fx.b.ins().jump(sh.exit, &[v.into(), reason.into()]);
        }
    }
}

fn goto(fx: &mut Fx<'_>, plan: &Plan, sh: &Shared, pc: u32) {
    let dest = target(plan, sh, pc);
    jump_to(fx, sh, dest);
}

/// Branch on `cond` (non-zero) to `then` or `other`. A side that gives back fuel or
/// passes arguments gets an edge block of its own, so that the hot side of a loop branch
/// does no work for the cold one.
fn brif_to(fx: &mut Fx<'_>, sh: &Shared, cond: Value, then: Dest, other: Dest) {
    let mut edges = Vec::new();
    let mut label = |fx: &mut Fx<'_>, d: Dest| match d {
        Dest::Local { block, leaves } if !leaves || fx.leave_refund == 0 => block,
        _ => {
            let e = fx.b.create_block();
            edges.push((e, d));
            e
        }
    };
    let t = label(fx, then);
    let o = label(fx, other);
    fx.b.ins().brif(cond, t, &[], o, &[]);
    for (e, d) in edges {
        fx.b.switch_to_block(e);
        jump_to(fx, sh, d);
    }
}

/// Branch to `pc_if` when `cond` is non-zero, else to `pc_else`.
fn branch(fx: &mut Fx<'_>, plan: &Plan, sh: &Shared, cond: Value, pc_if: u32, pc_else: u32) {
    let then = target(plan, sh, pc_if);
    let other = target(plan, sh, pc_else);
    brif_to(fx, sh, cond, then, other);
}

/// A dynamic jump: to the chain block with `dest` if it is inside memory, else fall
/// through to `next`.
fn jump_dynamic(fx: &mut Fx<'_>, plan: &Plan, sh: &Shared, dest: Value, next: u32) {
    let ok =
        fx.b.ins()
            .icmp_imm_u(IntCC::UnsignedLessThan, dest, pxvm::MEM_SIZE as i64);
    let other = target(plan, sh, next);
    brif_to(fx, sh, ok, Dest::Chain(DestPc::Dynamic(dest)), other);
}

/// Checked entry and body of block `i`. The checked entry requires the fuel of the
/// longest path through the block's subtree and takes what makes the refunds on the way
/// out of the tree come out right (for a root: exactly its `need`).
fn emit_block(fx: &mut Fx<'_>, plan: &Plan, sh: &Shared, i: usize) {
    let block = &plan.blocks[i];
    let root = &plan.blocks[block.root];
    fx.b.switch_to_block(sh.checked[i]);
    let f = fx.b.use_var(fx.fuel);
    let enough =
        fx.b.ins()
            .icmp_imm_u(IntCC::UnsignedGreaterThanOrEqual, f, block.need as i64);
    let short = fx.b.create_block();
    fx.b.set_cold_block(short);
    let pay = fx.b.create_block();
    fx.b.ins().brif(enough, pay, &[], short, &[]);
    fx.b.switch_to_block(short);
    let pc = fx.c32(block.start as i32);
    let reason = fx.c32(EXIT_FUEL as i32);
    fx.b.ins().jump(sh.exit, &[pc.into(), reason.into()]);

    fx.b.switch_to_block(pay);
    // Pretend the path from the root to here was taken: modular arithmetic, the
    // intermediate value may wrap, every exit from the tree adds back what is unused.
    let take = root.need - (block.prefix - block.len());
    let f = fx.b.use_var(fx.fuel);
    let f = fx.b.ins().iadd_imm_s(f, -(take as i64));
    fx.b.def_var(fx.fuel, f);
    fx.b.ins().jump(sh.body[i], &[]);

    fx.b.switch_to_block(sh.body[i]);
    fx.leave_refund = root.need - block.prefix;
    let n = block.insns.len();
    for (k, p) in block.insns[..n - 1].iter().enumerate() {
        fx.straight(p, (n - 1 - k) as u64);
    }
    emit_last(fx, plan, sh, &block.insns[n - 1]);
}

/// The last instruction of a block: a control transfer, or an ordinary instruction
/// followed by the fall-through.
fn emit_last(fx: &mut Fx<'_>, plan: &Plan, sh: &Shared, p: &PlannedInsn) {
    use Opcode::*;
    let insn = p.insn;
    let next = p.next();
    let target_pc = jump_target(insn.imm);
    let valid = insn.regs_valid();
    match insn.op {
        JMP => goto(fx, plan, sh, target_pc.unwrap_or(next)),
        JZ | JNZ if valid && target_pc.is_some() => {
            let r = fx.reg(insn.regs[0]);
            let cc = if insn.op == JZ {
                IntCC::Equal
            } else {
                IntCC::NotEqual
            };
            let cond = fx.b.ins().icmp_imm_s(cc, r, 0);
            branch(fx, plan, sh, cond, target_pc.unwrap_or(next), next);
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
            let dest = fx.load_word(sp);
            let four = fx.c32(4);
            let sp = fx.b.ins().iadd(sp, four);
            fx.set_reg(SP as u8, sp);
            jump_dynamic(fx, plan, sh, dest, next);
        }
        JZ | JNZ | JR => goto(fx, plan, sh, next),
        _ => {
            fx.straight(p, 0);
            goto(fx, plan, sh, next);
        }
    }
}

/// Store the SSA registers and fuel back into `ctx`.
fn write_back(fx: &mut Fx<'_>) {
    for i in 0..8 {
        let v = fx.b.use_var(fx.regs[i]);
        fx.b.ins()
            .store(host_flags(), v, fx.ctx, off::REGS + 4 * i as i32);
    }
    let f = fx.b.use_var(fx.fuel);
    fx.b.ins().store(host_flags(), f, fx.ctx, off::FUEL);
}

/// `chain(pc)`: continue at `pc` (0..=65,535) through the entry table. The table base and
/// this function's address are materialised here, not kept live through the loops.
fn emit_chain(fx: &mut Fx<'_>, sh: &Shared, region_sig: cranelift_codegen::ir::SigRef) {
    fx.b.switch_to_block(sh.chain);
    let pc = fx.b.block_params(sh.chain)[0];
    let entries = fx.b.ins().load(fx.ptr, host_flags(), fx.ctx, off::ENTRIES);
    let idx = fx.b.ins().uextend(fx.ptr, pc);
    let shift = fx.ptr.bytes().trailing_zeros();
    let scaled = fx.b.ins().ishl_imm_u(idx, i64::from(shift));
    let slot = fx.b.ins().iadd(entries, scaled);
    let code = fx.b.ins().load(fx.ptr, host_flags(), slot, 0);
    let self_addr = fx.b.ins().func_addr(fx.ptr, sh.self_ref);
    let is_self = fx.b.ins().icmp(IntCC::Equal, code, self_addr);
    let other = fx.b.create_block();
    fx.b.ins()
        .brif(is_self, sh.switch, &[pc.into()], other, &[]);
    fx.b.switch_to_block(other);
    let found = fx.b.create_block();
    let missing = fx.b.create_block();
    fx.b.ins().brif(code, found, &[], missing, &[]);
    fx.b.switch_to_block(missing);
    let reason = fx.c32(EXIT_JUMP as i32);
    fx.b.ins().jump(sh.exit, &[pc.into(), reason.into()]);
    fx.b.switch_to_block(found);
    write_back(fx);
    let ctx = fx.ctx;
    fx.b.ins()
        .return_call_indirect(region_sig, code, &[ctx, pc]);
}

/// `exit(pc, reason)` and `code_write_exit(pc, addr, len)`.
fn emit_exits(fx: &mut Fx<'_>, sh: &Shared) {
    fx.b.switch_to_block(fx.code_write_exit);
    let params = fx.b.block_params(fx.code_write_exit).to_vec();
    let ctx = fx.ctx;
    fx.b.ins()
        .store(host_flags(), params[1], ctx, off::WRITE_ADDR);
    fx.b.ins()
        .store(host_flags(), params[2], ctx, off::WRITE_LEN);
    let reason = fx.c32(EXIT_CODE_WRITE as i32);
    fx.b.ins().jump(sh.exit, &[params[0].into(), reason.into()]);

    fx.b.switch_to_block(sh.exit);
    let params = fx.b.block_params(sh.exit).to_vec();
    write_back(fx);
    fx.b.ins().store(host_flags(), params[0], ctx, off::PC);
    fx.b.ins().return_(&[params[1]]);
}
