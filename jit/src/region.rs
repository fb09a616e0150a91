//! One [`Plan`] becomes one Cranelift function, `(ctx, pc) -> exit reason`, in the tail-call
//! convention. Its shape:
//!
//! * entry: load the guest registers and the fuel from `ctx` into SSA variables, then
//!   dispatch on `pc` (a jump table over the region's block starts, or a search tree when
//!   they lie far apart) to that block's checked entry;
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
//! * edges out of the region, and every JR/RET, go through the *chain* block (a RET first
//!   compares its target with the region's return sites and, on a match, takes the
//!   checked edge to that block directly, see `edges`): look the target up in the entry
//!   table; this function's own entry means a branch back to the
//!   switch, another function's means write the registers back and tail-call it, none
//!   means return `EXIT_JUMP` to the dispatcher;
//! * every exit writes the registers, fuel and pc back to `ctx`.

use crate::abi::{off, region_signature, EXIT_CODE_WRITE, EXIT_FUEL, EXIT_JUMP};
use crate::codemap::StoreWindow;
use crate::counted;
use crate::edges;
use crate::fastloop;
use crate::liveness::{self, Regs};
use crate::scan::Plan;
use crate::translate::Fx;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{
    types, Block, BlockCall, FuncRef, Function, InstBuilder, JumpTableData, MemFlagsData, Type,
};
use cranelift_codegen::isa::TargetFrontendConfig;
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext, Switch};

/// Flags for the `Ctx` block and the entry table (aligned host memory).
fn host_flags() -> MemFlagsData {
    MemFlagsData::trusted()
}

/// The per-function blocks and facts shared by every guest block.
pub(crate) struct Shared {
    switch: Block,
    pub chain: Block,
    /// `exit(pc, reason)`: write everything back and return `reason`.
    pub exit: Block,
    /// Per guest block: the entry that checks and takes fuel (used by the switch).
    checked: Vec<Block>,
    /// Per guest block: its instructions.
    pub body: Vec<Block>,
    /// Per guest block: the registers its body may read before writing them.
    pub live_in: Vec<Regs>,
    /// This function, for recognising its own entries in the chain block.
    self_ref: FuncRef,
    /// The registers the region may write (see `liveness::written`).
    written: Regs,
}

/// Emit the function for `plan` into `func` (whose signature must be
/// [`region_signature`]). `self_ref` refers to this very function, so that the chain
/// block can recognise its own entries; stores inside `window` skip the code map.
pub(crate) fn build(
    func: &mut Function,
    fctx: &mut FunctionBuilderContext,
    plan: &Plan,
    window: StoreWindow,
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
        window,
        code_write_exit,
        leave_refund: 0,
        pending: [None; 8],
        carried: vec![[None; 8]; plan.blocks.len()],
        unchecked: false,
        pure_loads: false,
        loop_plain: None,
    };
    let sh = Shared {
        switch,
        chain,
        exit,
        checked,
        body,
        live_in: liveness::live_in(plan),
        self_ref,
        written: liveness::written(plan),
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

/// Largest pc span of a region's blocks for which the switch is a jump table.
const MAX_TABLE_SPAN: u32 = 256;

/// `switch(pc)`: to the checked entry of the block starting at `pc`, else leave. When the
/// block starts lie close together this is one bounds-checked indirect jump through a
/// table indexed by `pc - lowest start` (what RET and JR inside a region use, so it
/// matters); otherwise a search tree of compares.
fn emit_switch(fx: &mut Fx<'_>, plan: &Plan, sh: &Shared) {
    fx.b.switch_to_block(sh.switch);
    let pc = fx.b.block_params(sh.switch)[0];
    let miss = fx.b.create_block();
    let low = plan.blocks.iter().map(|b| b.start).min().unwrap_or(0);
    let high = plan.blocks.iter().map(|b| b.start).max().unwrap_or(0);
    if high - low < MAX_TABLE_SPAN {
        let mut targets = vec![miss; (high - low + 1) as usize];
        for (i, block) in plan.blocks.iter().enumerate().filter(|(_, b)| !b.folded) {
            targets[(block.start - low) as usize] = sh.checked[i];
        }
        let dfg = &mut fx.b.func.dfg;
        let default = dfg.block_call(miss, &[]);
        let table: Vec<BlockCall> = targets.iter().map(|&t| dfg.block_call(t, &[])).collect();
        let jt = fx.b.create_jump_table(JumpTableData::new(default, &table));
        let low_v = fx.c32(low as i32);
        // Below `low` the difference wraps to a huge index: out of the table, the default.
        let index = fx.b.ins().isub(pc, low_v);
        fx.b.ins().br_table(index, jt);
    } else {
        let mut sw = Switch::new();
        for (i, block) in plan.blocks.iter().enumerate().filter(|(_, b)| !b.folded) {
            sw.set_entry(u128::from(block.start), sh.checked[i]);
        }
        sw.emit(&mut fx.b, pc, miss);
    }
    fx.b.switch_to_block(miss);
    edges::leave_dynamic(fx, sh, pc);
}

/// Checked entry and body of block `i`. The checked entry (reached from the switch)
/// requires the fuel of the longest path through the block's subtree and takes what
/// makes the refunds on the way out of the tree come out right (for a root: exactly its
/// `need`); edges from other blocks do the same check on the edge (see `edges`).
fn emit_block(fx: &mut Fx<'_>, plan: &Plan, sh: &Shared, i: usize) {
    let block = &plan.blocks[i];
    if !block.folded {
        emit_checked_entry(fx, plan, sh, i);
    }
    fx.b.switch_to_block(sh.body[i]);
    fx.pending = fx.carried[i];
    fx.leave_refund = plan.blocks[block.root].need - block.prefix;
    // A counted self-loop first tries its fast copy; its ordinary body follows.
    let counted = (!block.folded).then(|| counted::analyse(block)).flatten();
    if let Some(plain) = counted.and_then(|cl| fastloop::emit(fx, plan, sh, i, &cl)) {
        fx.b.switch_to_block(plain);
        fx.loop_plain = Some((i, plain));
    }
    let n = block.insns.len();
    for (k, p) in block.insns[..n - 1].iter().enumerate() {
        fx.straight(p, (n - 1 - k) as u64);
    }
    edges::emit_last(fx, plan, sh, &block.insns[n - 1]);
    fx.loop_plain = None;
}

/// The checked entry of root block `i`, which the switch (and edges from other trees)
/// reach.
fn emit_checked_entry(fx: &mut Fx<'_>, plan: &Plan, sh: &Shared, i: usize) {
    let block = &plan.blocks[i];
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
    edges::leave(fx, sh, block.start, EXIT_FUEL);
    fx.b.switch_to_block(pay);
    fx.take(edges::take(plan, i));
    fx.b.ins().jump(sh.body[i], &[]);
}

/// Store the SSA registers the region may have changed, and the fuel, back into `ctx`.
fn write_back(fx: &mut Fx<'_>, sh: &Shared) {
    for i in (0..8).filter(|&i| sh.written >> i & 1 != 0) {
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
    write_back(fx, sh);
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
    write_back(fx, sh);
    fx.b.ins().store(host_flags(), params[0], ctx, off::PC);
    fx.b.ins().return_(&[params[1]]);
}
