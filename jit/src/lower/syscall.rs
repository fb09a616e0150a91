//! SYSCALL in compiled code: a call into the host with no exit to the dispatcher.
//!
//! If the host has a direct syscall for the number (`Ctx::direct`, looked up when the
//! SYSCALL runs, since compiled code outlives any one host), compiled code calls it with
//! R0..R3 in argument registers and takes R0 from its result: such a syscall reads and
//! writes nothing else and cannot write memory or panic (`pxvm::Host::direct_syscalls`),
//! so there is nothing to check afterwards. In a loop of the region, or in a region
//! without loops, no register goes through memory; outside the loops of a region that
//! has some, R1..R7 are stored before the call and loaded after it, so that no value is
//! live across a call there (that would cost the loops their registers).
//!
//! Otherwise it calls the helper whose address `Ctx` holds (`abi::HostCall`, implemented
//! by `runtime::hostcall`). Around that call the guest registers go through `ctx.regs`:
//! every register is stored before it (the host may read any) and loaded after it (the
//! host may write any). The helper says whether compiled code may go on; if not (the
//! syscall wrote bytes that translations depend on, or the host panicked), the code
//! leaves at once for the dispatcher at the instruction after the SYSCALL, with the fuel
//! exact, so that no stale translation runs (the running one included). That leaving
//! path writes only the fuel and the pc: `ctx.regs` already holds every register.
//!
//! Invariant: a SYSCALL always ends its block (`Flow::Syscall`), so nothing of the block
//! follows the call and leaving gives back exactly the block's `leave_refund`.

use super::{Lowerer, host_flags};
use crate::analysis::{PlannedInsn, RegSet};
use crate::runtime::abi::off;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{InstBuilder, MemFlagsData, types};
use pxvm::machine::NUM_REGS;

impl Lowerer<'_> {
    /// Call the host for SYSCALL `p`; afterwards the builder is in the block that goes on
    /// to the fall-through (the caller emits that edge).
    pub(super) fn syscall(&mut self, p: &PlannedInsn) {
        let ctx = self.env.ctx;
        self.materialize(RegSet::ALL);
        self.clear_pending();
        let num = p.insn.imm as u8;
        let table = (self.b.ins()).load(self.env.ptr, host_flags(), ctx, off::DIRECT);
        let slot = 8 * i32::from(num);
        let direct = (self.b.ins()).load(self.env.ptr, host_flags(), table, slot);
        let direct_block = self.b.create_block();
        let generic = self.b.create_block();
        let go_on = self.b.create_block();
        // The generic path costs a whole helper call: its layout does not matter. (The
        // second target of a branch is the one Cranelift lays out next.)
        self.b.set_cold_block(generic);
        let none = self.b.ins().icmp_imm_u(IntCC::Equal, direct, 0);
        self.b.ins().brif(none, generic, &[], direct_block, &[]);
        self.b.switch_to_block(direct_block);
        let host = (self.b.ins()).load(self.env.ptr, host_flags(), ctx, off::HOST);
        let mut args = vec![host];
        args.extend((0..4).map(|r| self.b.use_var(self.env.regs[r])));
        // Values live across a call must sit in callee-saved registers or stack slots. In
        // a loop of the region that is the cheapest way through the call; outside every
        // loop (a PRINT after the work) it would cost the loops their registers (measured:
        // sieve 3.0 → 4.5 ms, memcpy 0.51 → 0.85 ms), so there R1..R7 go through
        // `ctx.regs` instead (the direct syscall does not touch them) and nothing is live
        // across the call.
        let through_memory = self.region_loops() && !self.in_region_loop(p);
        if through_memory {
            for r in 1..NUM_REGS {
                let v = self.b.use_var(self.env.regs[r]);
                let at = off::REGS + 4 * r as i32;
                (self.b.ins()).store(MemFlagsData::new().with_notrap(), v, ctx, at);
            }
        }
        let call = (self.b.ins()).call_indirect(self.frame.direct_sig, direct, &args);
        let r0 = self.b.inst_results(call)[0];
        self.b.def_var(self.env.regs[0], r0);
        if through_memory {
            for r in 1..NUM_REGS {
                let at = off::REGS + 4 * r as i32;
                let v = (self.b.ins()).load(types::I32, host_flags(), ctx, at);
                self.b.def_var(self.env.regs[r], v);
            }
        }
        self.b.ins().jump(go_on, &[]);
        self.b.switch_to_block(generic);
        self.store_regs();
        let helper = (self.b.ins()).load(self.env.ptr, host_flags(), ctx, off::HOST_CALL);
        let num = self.c32(i32::from(num));
        let call = (self.b.ins()).call_indirect(self.frame.host_sig, helper, &[ctx, num]);
        let status = self.b.inst_results(call)[0];
        for r in 0..NUM_REGS {
            let v = (self.b.ins()).load(types::I32, host_flags(), ctx, off::REGS + 4 * r as i32);
            self.b.def_var(self.env.regs[r], v);
        }
        let leave = self.b.create_block();
        self.b.set_cold_block(leave);
        self.b.ins().brif(status, leave, &[], go_on, &[]);
        // Leaving: the registers in `ctx` are the ones just loaded, so unlike the shared
        // exit block (which every guest register would have to reach as a block
        // parameter) this path writes only the fuel and the pc.
        self.b.switch_to_block(leave);
        let fuel = self.b.use_var(self.env.fuel);
        let refund = self.cur.leave_refund;
        let fuel = if refund > 0 {
            self.b.ins().iadd_imm_s(fuel, refund as i64)
        } else {
            fuel
        };
        (self.b.ins()).store(host_flags(), fuel, ctx, off::FUEL);
        let pc = self.c32(p.next() as i32);
        (self.b.ins()).store(host_flags(), pc, ctx, off::PC);
        self.b.ins().return_(&[status]);
        self.b.switch_to_block(go_on);
    }

    /// Whether the region may hold a loop: some edge goes back to a block at or before
    /// its own start (every cycle has one). Without one, values live across a call cost
    /// nothing, and storing and loading the registers would only lengthen the code.
    fn region_loops(&self) -> bool {
        let plan = self.plan;
        plan.blocks.iter().any(|b| {
            b.succs
                .iter()
                .any(|&s| s <= b.start && plan.index.contains_key(&s))
        })
    }

    /// Whether the block that SYSCALL `p` ends is in a loop of the region.
    fn in_region_loop(&self, p: &PlannedInsn) -> bool {
        let plan = self.plan;
        plan.blocks
            .iter()
            .position(|b| b.insns.last().is_some_and(|last| last.pc == p.pc))
            .is_some_and(|j| plan.in_cycle(j))
    }

    /// Store every guest register into `ctx.regs`, four per 16-byte store: the host reads
    /// the registers as a whole, and a wide load over several narrow stores cannot be
    /// forwarded from the store buffer (measured: a stall that cost a third of a syscall
    /// round trip).
    fn store_regs(&mut self) {
        let ctx = self.env.ctx;
        let regs = self.env.regs;
        for half in 0..NUM_REGS / 4 {
            let r = |k: usize| regs[4 * half + k];
            let first = self.b.use_var(r(0));
            let mut v = self.b.ins().scalar_to_vector(types::I32X4, first);
            for k in 1..4 {
                let x = self.b.use_var(r(k));
                v = self.b.ins().insertlane(v, x, k as u8);
            }
            let at = off::REGS + 16 * half as i32;
            (self.b.ins()).store(MemFlagsData::new().with_notrap(), v, ctx, at);
        }
    }
}
