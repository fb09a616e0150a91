//! The layout of a region's function:
//!
//! * entry (see `Lowerer::new`): load the guest registers and the fuel from `ctx` into SSA
//!   variables, then dispatch on `pc` (a jump table over the region's block starts, or a
//!   search tree when they lie far apart or are few) to that block's checked entry;
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
//!   table; this function's own entry means a branch back to the switch, another
//!   function's means write the registers back and tail-call it, none means return
//!   `EXIT_JUMP` to the dispatcher;
//! * every exit writes the registers (those the region may write), fuel and pc back to
//!   `ctx`.

use super::{Current, Lowerer, host_flags};
use crate::analysis::counted;
use crate::runtime::abi::{EXIT_CODE_WRITE, EXIT_FUEL, EXIT_JUMP, off};
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{BlockCall, InstBuilder, JumpTableData};
use cranelift_frontend::Switch;

/// Largest pc span of a region's blocks for which the switch is a jump table.
const MAX_TABLE_SPAN: u32 = 256;

/// Most entry blocks for which the switch is a search tree of compares even when a jump
/// table would fit: a table has an entry per pc of the span, each a block (an edge)
/// Cranelift must lay out and allocate registers for — 65 of them for the 16 straight
/// instructions of `kernel_v1`, whose region has a single entry — while a tree over so
/// few entries costs at most three compares.
const MAX_TREE_ENTRIES: usize = 4;

impl Lowerer<'_> {
    /// `switch(pc)`: to the checked entry of the block starting at `pc`, else leave. When
    /// the block starts lie close together and there are more than [`MAX_TREE_ENTRIES`]
    /// of them, this is one bounds-checked indirect jump through a table indexed by
    /// `pc - lowest start` (what RET and JR inside a region use, so it matters);
    /// otherwise a search tree of compares.
    pub(super) fn emit_switch(&mut self) {
        let plan = self.plan;
        self.b.switch_to_block(self.frame.switch);
        let pc = self.b.block_params(self.frame.switch)[0];
        let miss = self.b.create_block();
        let low = plan.blocks.iter().map(|b| b.start).min().unwrap_or(0);
        let high = plan.blocks.iter().map(|b| b.start).max().unwrap_or(0);
        let roots = || plan.blocks.iter().enumerate().filter(|(_, b)| !b.folded);
        if high - low < MAX_TABLE_SPAN && roots().count() > MAX_TREE_ENTRIES {
            let mut targets = vec![miss; (high - low + 1) as usize];
            for (i, block) in roots() {
                targets[(block.start - low) as usize] = self.blocks[i].checked;
            }
            let dfg = &mut self.b.func.dfg;
            let default = dfg.block_call(miss, &[]);
            let table: Vec<BlockCall> = targets.iter().map(|&t| dfg.block_call(t, &[])).collect();
            let jt = self
                .b
                .create_jump_table(JumpTableData::new(default, &table));
            let low_v = self.c32(low as i32);
            // Below `low` the difference wraps to a huge index: out of the table, the default.
            let index = self.b.ins().isub(pc, low_v);
            self.b.ins().br_table(index, jt);
        } else {
            let mut sw = Switch::new();
            for (i, block) in roots() {
                sw.set_entry(u128::from(block.start), self.blocks[i].checked);
            }
            sw.emit(&mut self.b, pc, miss);
        }
        self.b.switch_to_block(miss);
        self.leave_dynamic(pc);
    }

    /// Checked entry and body of block `i`. The checked entry (reached from the switch)
    /// requires the fuel of the longest path through the block's subtree and takes what
    /// makes the refunds on the way out of the tree come out right (for a root: exactly
    /// its `need`); edges from other blocks do the same check on the edge (see `edges`).
    pub(super) fn emit_block(&mut self, i: usize) {
        let plan = self.plan;
        let block = &plan.blocks[i];
        if !block.folded {
            self.emit_checked_entry(i);
        }
        self.b.switch_to_block(self.blocks[i].body);
        self.start_block(i);
        // A counted self-loop first tries its fast copy (optimised code only); its
        // ordinary body follows.
        let counted = (!block.folded && self.fast_loops)
            .then(|| counted::analyse(block))
            .flatten();
        if let Some(plain) = counted.and_then(|cl| self.emit_fast_loop(i, &cl)) {
            self.b.switch_to_block(plain);
            self.cur.back_edge = Some((i, plain));
        }
        // The header of an amortised loop first tries a group of unchecked copies.
        self.group_check(i);
        self.emit_instructions(i);
    }

    /// Reset the per-block state for emitting block `i`.
    pub(super) fn start_block(&mut self, i: usize) {
        let block = &self.plan.blocks[i];
        self.cur = Current {
            leave_refund: self.plan.blocks[block.root].need - block.prefix,
            pending: self.blocks[i].carried,
            back_edge: None,
        };
    }

    /// The instructions of block `i` and its terminator, into the current block.
    pub(super) fn emit_instructions(&mut self, i: usize) {
        let block = &self.plan.blocks[i];
        let n = block.insns.len();
        for (k, p) in block.insns[..n - 1].iter().enumerate() {
            let checks = self.checks_at(i, k);
            self.with_checks(checks, |l| l.straight(p, (n - 1 - k) as u64));
        }
        let checks = self.checks_at(i, n - 1);
        self.with_checks(checks, |l| l.emit_last(&block.insns[n - 1]));
    }

    /// The checked entry of root block `i`, which the switch (and edges from other trees)
    /// reach.
    fn emit_checked_entry(&mut self, i: usize) {
        let block = &self.plan.blocks[i];
        self.b.switch_to_block(self.blocks[i].checked);
        let f = self.b.use_var(self.env.fuel);
        let enough =
            self.b
                .ins()
                .icmp_imm_u(IntCC::UnsignedGreaterThanOrEqual, f, block.need as i64);
        let short = self.b.create_block();
        self.b.set_cold_block(short);
        let pay = self.b.create_block();
        self.b.ins().brif(enough, pay, &[], short, &[]);
        self.b.switch_to_block(short);
        self.leave(block.start, EXIT_FUEL);
        self.b.switch_to_block(pay);
        self.take(self.plan.entry_take(i));
        let body = self.blocks[i].body;
        self.b.ins().jump(body, &[]);
    }

    /// Store the SSA registers the region may have changed, and the fuel, back into `ctx`.
    fn write_back(&mut self) {
        for i in self.frame.written.iter() {
            let v = self.b.use_var(self.env.regs[i]);
            self.b
                .ins()
                .store(host_flags(), v, self.env.ctx, off::REGS + 4 * i as i32);
        }
        let f = self.b.use_var(self.env.fuel);
        self.b.ins().store(host_flags(), f, self.env.ctx, off::FUEL);
    }

    /// `chain(pc)`: continue at `pc` (0..=65,535) through the entry table. The table base
    /// and this function's address are materialised here, not kept live through the loops.
    pub(super) fn emit_chain(&mut self) {
        let (chain, ptr, ctx) = (self.frame.chain, self.env.ptr, self.env.ctx);
        self.b.switch_to_block(chain);
        let pc = self.b.block_params(chain)[0];
        let entries = self.b.ins().load(ptr, host_flags(), ctx, off::ENTRIES);
        let idx = self.b.ins().uextend(ptr, pc);
        let shift = ptr.bytes().trailing_zeros();
        let scaled = self.b.ins().ishl_imm_u(idx, i64::from(shift));
        let slot = self.b.ins().iadd(entries, scaled);
        let code = self.b.ins().load(ptr, host_flags(), slot, 0);
        let self_addr = self.b.ins().func_addr(ptr, self.frame.self_ref);
        let is_self = self.b.ins().icmp(IntCC::Equal, code, self_addr);
        let other = self.b.create_block();
        let switch = self.frame.switch;
        self.b.ins().brif(is_self, switch, &[pc.into()], other, &[]);
        self.b.switch_to_block(other);
        let found = self.b.create_block();
        let missing = self.b.create_block();
        self.b.ins().brif(code, found, &[], missing, &[]);
        self.b.switch_to_block(missing);
        let reason = self.c32(EXIT_JUMP as i32);
        let exit = self.frame.exit;
        self.b.ins().jump(exit, &[pc.into(), reason.into()]);
        self.b.switch_to_block(found);
        self.write_back();
        let sig = self.frame.region_sig;
        self.b.ins().return_call_indirect(sig, code, &[ctx, pc]);
    }

    /// `exit(pc, reason)` and `code_write_exit(pc, addr, len)`.
    pub(super) fn emit_exits(&mut self) {
        let (code_write_exit, exit, ctx) =
            (self.frame.code_write_exit, self.frame.exit, self.env.ctx);
        self.b.switch_to_block(code_write_exit);
        let params = self.b.block_params(code_write_exit).to_vec();
        (self.b.ins()).store(host_flags(), params[1], ctx, off::WRITE_ADDR);
        (self.b.ins()).store(host_flags(), params[2], ctx, off::WRITE_LEN);
        let reason = self.c32(EXIT_CODE_WRITE as i32);
        self.b.ins().jump(exit, &[params[0].into(), reason.into()]);

        self.b.switch_to_block(exit);
        let params = self.b.block_params(exit).to_vec();
        self.write_back();
        self.b.ins().store(host_flags(), params[0], ctx, off::PC);
        self.b.ins().return_(&[params[1]]);
    }
}
