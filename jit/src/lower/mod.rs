//! The lowering layer: one [`Plan`] becomes one Cranelift function, `(ctx, pc) -> exit
//! reason`, in the tail-call convention, through one [`Lowerer`]. The lowerer's state is
//! split by lifetime — the function environment ([`Env`]: SSA variables and values every
//! block may use), the function's shared blocks ([`Frame`]), the per-region tables kept
//! beside the plan's blocks ([`GuestBlock`], one per planned block), the state of the guest
//! block being emitted ([`Current`]) and the memory-check mode ([`Checks`], changed only
//! in a scope by [`Lowerer::with_checks`]) — and its behaviour by concern, one `impl`
//! block per file:
//!
//! * `blocks`: the function's layout — the entry switch, each guest block's checked entry
//!   and body, the chain block, the exits;
//! * `insn`: each straight-line instruction's semantics, mirroring `pxvm::exec::step`;
//! * `memory`: bounds-checked loads and stores, the store window and the code map;
//! * `edges`: block terminators and the fuel accounting on every edge;
//! * `syscall`: SYSCALL, a call into the host through the helper in `Ctx`;
//! * `fastloop`: the fast copy of a counted self-loop;
//! * `amortise`: the unrolled copies of other loops, which take their fuel but check it
//!   once per group of iterations.
//!
//! Invariants: the lowering imports from `runtime` only `runtime::abi` (the contract with
//! the code cache), and from `analysis` only data; every guest address is bounds-checked
//! before it is added to the memory base (per access, or, under `Checks::Unchecked*`, by
//! the entry checks of a counted loop's fast copy); every way out of compiled code writes
//! the registers and the fuel back, with the fuel exact; a fuel check is left out only
//! where the group check of an amortised loop proved it would pass.

mod amortise;
mod blocks;
mod edges;
mod fastloop;
mod insn;
mod memory;
mod syscall;

#[cfg(test)]
pub(crate) use edges::taken_when_zero;

use crate::analysis::loops::{self, AmortisedLoop};
use crate::analysis::{Plan, RegSet, liveness};
use crate::runtime::abi::{
    StoreWindow, direct_signature, host_call_signature, off, region_signature,
};
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{
    Block, FuncRef, Function, InstBuilder, MemFlagsData, SigRef, Type, Value, types,
};
use cranelift_codegen::isa::TargetFrontendConfig;
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext, Variable};
use pxvm::machine::NUM_REGS;

/// Emit the function for `plan` into `func` (whose signature must be
/// [`region_signature`]). `self_ref` refers to this very function, so that the chain
/// block can recognise its own entries; stores inside `window` skip the code map.
/// `loop_copies`: give counted self-loops their fast copy (`fastloop`) and the plan's
/// amortisable loops unrolled copies that check their fuel once per group (`amortise`).
/// Both are more code to compile, worth it only for optimised code: quick code runs at
/// most `OPTIMISE_AFTER` guest instructions of a region (its fuel slice), too few for a
/// fast copy to pay for its compile (measured on a loaded Xeon: the quick compile of
/// memcpy's region 0.97 -> 0.65 ms, matmul's 0.98 -> 0.80 ms).
#[allow(clippy::too_many_arguments)]
pub(crate) fn build(
    func: &mut Function,
    fctx: &mut FunctionBuilderContext,
    plan: &Plan,
    window: StoreWindow,
    ptr: Type,
    self_ref: FuncRef,
    frontend: TargetFrontendConfig,
    loop_copies: bool,
) {
    let mut l = Lowerer::new(func, fctx, plan, (window, ptr), self_ref, frontend);
    l.fast_loops = loop_copies;
    if loop_copies {
        l.plan_copies(loops::find(plan));
    }
    l.emit_switch();
    for i in 0..plan.blocks.len() {
        l.emit_block(i);
    }
    l.emit_loop_copies();
    l.emit_chain();
    l.emit_exits();
    l.b.seal_all_blocks();
    l.b.finalize(frontend);
}

/// Flags for the `Ctx` block and the entry table (aligned host memory).
fn host_flags() -> MemFlagsData {
    MemFlagsData::trusted()
}

/// A comparison not yet materialised as a register value.
#[derive(Clone, Copy, Debug)]
struct Pending {
    cc: IntCC,
    x: Value,
    y: Value,
}

/// Per register: a comparison whose 0/1 result is not yet in the register's variable.
type Pendings = [Option<Pending>; NUM_REGS];

/// How memory accesses are checked while instructions are emitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Checks {
    /// Every load is bounds-checked; every store checks the store window, else the bounds
    /// and the code map.
    Checked,
    /// In the fast copy of a counted loop: every address was checked before the loop, so
    /// accesses go straight to memory.
    Unchecked,
    /// As `Unchecked`, in a loop that stores nothing: guest memory cannot change while it
    /// runs, so its loads are marked read-only and movable and Cranelift may schedule each
    /// one next to its use (instead of all loads of an unrolled group first, which runs
    /// out of registers).
    UncheckedPure,
}

impl Checks {
    /// Whether each access checks its own address.
    fn per_access(self) -> bool {
        match self {
            Checks::Checked => true,
            Checks::Unchecked | Checks::UncheckedPure => false,
        }
    }
}

/// The function environment: what every block of the function may use.
struct Env {
    /// Guest R0..R7 as SSA variables.
    regs: [Variable; NUM_REGS],
    /// The remaining fuel.
    fuel: Variable,
    /// The host pointer type.
    ptr: Type,
    /// The `Ctx` pointer (function parameter).
    ctx: Value,
    /// Guest memory base.
    mem: Value,
    /// Where stores need no other check (see `runtime::abi::StoreWindow`).
    window: StoreWindow,
}

/// The function's own blocks and facts, shared by every guest block.
struct Frame {
    /// `switch(pc)`: to the checked entry of the block starting at `pc`, else leave.
    switch: Block,
    /// `chain(pc)`: continue at `pc` through the entry table.
    chain: Block,
    /// `exit(pc, reason)`: write everything back and return `reason`.
    exit: Block,
    /// Exit after a store hit translated code: params `(resume pc, addr, len)`, all i32.
    code_write_exit: Block,
    /// This function, for recognising its own entries in the chain block.
    self_ref: FuncRef,
    /// The signature of region functions, for the chain block's tail call.
    region_sig: SigRef,
    /// The signature of the host-call helper (`abi::HostCall`).
    host_sig: SigRef,
    /// The signature of a direct syscall (`pxvm::DirectSyscall`).
    direct_sig: SigRef,
    /// The registers the region may write (see `liveness::written`).
    written: RegSet,
}

/// The per-region table entry of one planned block (same index as `plan.blocks`).
struct GuestBlock {
    /// The entry that checks and takes fuel (reached from the switch and other trees).
    checked: Block,
    /// Its instructions.
    body: Block,
    /// The registers its body may read before writing them.
    live_in: RegSet,
    /// The comparisons still pending when control enters it. Only a folded block (entered
    /// from its one predecessor, never from the switch) can have any; the predecessor is
    /// emitted first and its values dominate the block.
    carried: Pendings,
    /// Whether its predecessor may hand it pending comparisons (`carried`): not when the
    /// block is a folded child of an amortised loop's block outside that loop, which the
    /// loop's copies enter too (their values do not dominate it).
    carries: bool,
}

/// In a counted loop's fast copy: a base register's value as a host pointer, taken once
/// at the start of a group of iterations (`fastloop`), from which each access of the group
/// addresses memory with a constant displacement (`Lowerer::anchored`, in `memory`).
#[derive(Clone, Copy, Debug)]
struct Anchor {
    /// `mem + sext(r)`, with `r`'s value at the start of the group.
    ptr: Value,
    /// What the register's steps since then have added (`r = anchor value + delta`).
    delta: i64,
}

/// The copies of one amortised loop (see `amortise`).
struct LoopCopies {
    lp: AmortisedLoop,
    /// Per copy, per planned block: the body of that block in that copy (members only).
    bodies: Vec<Vec<Option<Block>>>,
}

/// The state of the guest block being emitted, reset for each block.
struct Current {
    /// Fuel the block gives back when control leaves its fuel tree after its last
    /// instruction (`need(root) - prefix`, see `scan::fold_fuel_checks`).
    leave_refund: u64,
    /// Per register: a comparison (condition and operands) whose 0/1 result is not yet
    /// written to the register's variable. It is written when the register is read, on
    /// the edges where it is live, and on every way out of compiled code — each time by a
    /// fresh compare there, so that the branch's own compare has no other use and fuses
    /// with the jump instead of being kept as a value on the hot path.
    pending: Pendings,
    /// While emitting the ordinary body of counted loop `.0`: the block that body starts
    /// at, where its own back edge goes (other edges into the loop go to its entry checks).
    back_edge: Option<(usize, Block)>,
}

/// Lowers one plan into one Cranelift function (see the module documentation).
pub(crate) struct Lowerer<'a> {
    b: FunctionBuilder<'a>,
    plan: &'a Plan,
    env: Env,
    frame: Frame,
    blocks: Vec<GuestBlock>,
    cur: Current,
    checks: Checks,
    /// The amortised loops of the region and their copies.
    loops: Vec<LoopCopies>,
    /// While emitting copy `.1` of amortised loop `.0`.
    copy: Option<(usize, usize)>,
    /// While emitting a fast group of a counted loop: the anchored base registers.
    anchors: [Option<Anchor>; NUM_REGS],
    /// Whether counted self-loops get their fast copy.
    fast_loops: bool,
}

impl<'a> Lowerer<'a> {
    /// Start the function: its entry block loads the registers and the fuel from `ctx`
    /// and jumps to the switch; every other block is created, empty.
    fn new(
        func: &'a mut Function,
        fctx: &'a mut FunctionBuilderContext,
        plan: &'a Plan,
        (window, ptr): (StoreWindow, Type),
        self_ref: FuncRef,
        frontend: TargetFrontendConfig,
    ) -> Lowerer<'a> {
        let mut b = FunctionBuilder::new(func, fctx);
        let regs = std::array::from_fn(|_| b.declare_var(types::I32));
        let fuel = b.declare_var(types::I64);
        let region_sig = b.import_signature(region_signature(ptr));
        let host_sig = b.import_signature(host_call_signature(ptr, frontend.default_call_conv));
        let direct_sig = b.import_signature(direct_signature(ptr, frontend.default_call_conv));

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

        let checked: Vec<Block> = plan.blocks.iter().map(|_| b.create_block()).collect();
        let body: Vec<Block> = plan.blocks.iter().map(|_| b.create_block()).collect();
        let live_in = liveness::live_in(plan);
        let blocks = (checked.into_iter().zip(body).zip(live_in))
            .map(|((checked, body), live_in)| GuestBlock {
                checked,
                body,
                live_in,
                carried: [None; NUM_REGS],
                carries: true,
            })
            .collect();
        Lowerer {
            b,
            plan,
            env: Env {
                regs,
                fuel,
                ptr,
                ctx,
                mem,
                window,
            },
            frame: Frame {
                switch,
                chain,
                exit,
                code_write_exit,
                self_ref,
                region_sig,
                host_sig,
                direct_sig,
                written: liveness::written(plan),
            },
            blocks,
            cur: Current {
                leave_refund: 0,
                pending: [None; NUM_REGS],
                back_edge: None,
            },
            checks: Checks::Checked,
            loops: Vec::new(),
            copy: None,
            anchors: [None; NUM_REGS],
            fast_loops: false,
        }
    }

    /// Run `f` with memory accesses checked as `checks` says, then restore the mode.
    fn with_checks<R>(&mut self, checks: Checks, f: impl FnOnce(&mut Self) -> R) -> R {
        let saved = std::mem::replace(&mut self.checks, checks);
        let result = f(self);
        self.checks = saved;
        result
    }

    /// An i32 constant.
    fn c32(&mut self, v: i32) -> Value {
        self.b.ins().iconst(types::I32, i64::from(v as u32))
    }

    /// The value of register `r` (materialising a pending comparison).
    fn reg(&mut self, r: u8) -> Value {
        let r = usize::from(r);
        if let Some(p) = self.cur.pending[r].take() {
            let v = self.pending_value(p);
            self.b.def_var(self.env.regs[r], v);
        }
        self.b.use_var(self.env.regs[r])
    }

    /// The 0/1 value of a pending comparison, computed in the current block. A
    /// `select_spectre_guard` rather than `uextend`: the optimizer would share this compare
    /// with the branch's, and a `uextend` of it would then make the hot path compute the
    /// flag as a value (`sete`), while a select, like the branch, re-emits the compare
    /// where it is used.
    fn pending_value(&mut self, p: Pending) -> Value {
        let flag = self.b.ins().icmp(p.cc, p.x, p.y);
        let one = self.c32(1);
        let zero = self.c32(0);
        self.b.ins().select_spectre_guard(flag, one, zero)
    }

    /// Register `r` := `v`.
    fn set_reg(&mut self, r: u8, v: Value) {
        self.cur.pending[usize::from(r)] = None;
        self.b.def_var(self.env.regs[usize::from(r)], v);
    }

    /// Register `r` := the 0/1 result of a comparison, kept pending.
    fn set_pending(&mut self, r: u8, cc: IntCC, x: Value, y: Value) {
        self.cur.pending[usize::from(r)] = Some(Pending { cc, x, y });
    }

    /// Forget every pending comparison (their registers hold plain values).
    fn clear_pending(&mut self) {
        self.cur.pending = [None; NUM_REGS];
    }

    /// If register `r` holds a pending comparison: that comparison as a condition (an
    /// `i8` flag, non-zero when the register would be 1), computed in the current block.
    fn flag(&mut self, r: u8) -> Option<Value> {
        let p = self.cur.pending[usize::from(r)]?;
        Some(self.b.ins().icmp(p.cc, p.x, p.y))
    }

    /// Hand the pending comparisons of the registers in `regs` to folded block `j`, whose
    /// only way in is the edge being emitted.
    fn carry_into(&mut self, j: usize, regs: RegSet) {
        for r in 0..NUM_REGS {
            self.blocks[j].carried[r] = self.cur.pending[r].filter(|_| regs.contains(r));
        }
    }

    /// Write the pending comparisons of the registers in `regs` to their variables, in the
    /// current block only (an edge or an exit); the main path keeps them pending.
    fn materialize(&mut self, regs: RegSet) {
        for r in regs.iter() {
            if let Some(p) = self.cur.pending[r] {
                let v = self.pending_value(p);
                self.b.def_var(self.env.regs[r], v);
            }
        }
    }

    /// `fuel -= n` (modular: see `Plan::entry_take`).
    fn take(&mut self, n: u64) {
        let f = self.b.use_var(self.env.fuel);
        let f = self.b.ins().iadd_imm_s(f, (n as i64).wrapping_neg());
        self.b.def_var(self.env.fuel, f);
    }

    /// `fuel += n` (giving back what a block paid for but will not run).
    fn refund(&mut self, n: u64) {
        if n > 0 {
            let f = self.b.use_var(self.env.fuel);
            let f = self.b.ins().iadd_imm_s(f, n as i64);
            self.b.def_var(self.env.fuel, f);
        }
    }
}
