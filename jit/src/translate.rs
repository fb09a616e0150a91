//! The semantics of each pxVM instruction in Cranelift IR, mirroring `pxvm::exec::step`
//! line by line: wrapping arithmetic, DIV/MOD by zero giving 0 (and `i32::MIN / -1` giving
//! `i32::MIN`), shift counts masked to 5 bits, bounds-checked loads that read 0 outside
//! memory, and stores that are ignored outside memory and that leave compiled code (after
//! completing) when they hit bytes covered by a translation. Comparison results are kept
//! pending (`Pending`) until something needs them as a value. Control transfers at the end
//! of a block are emitted by `edges`, which knows where each successor lives.
//!
//! Every guest address is checked against the 64 KiB bounds before it is added to the
//! memory base, so compiled code can only touch the guest's own memory.

use crate::abi::off;
use crate::codemap::StoreWindow;
use crate::liveness::{Regs, ALL};
use crate::scan::PlannedInsn;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::Endianness;
use cranelift_codegen::ir::{types, Block, InstBuilder, MemFlagsData, Type, Value};
use cranelift_frontend::{FunctionBuilder, Variable};
use pxvm::isa::Opcode;
use pxvm::MEM_SIZE;

/// Highest address at which a 4-byte access fits.
const WORD_MAX: i64 = MEM_SIZE as i64 - 4;
/// Highest byte address.
const BYTE_MAX: i64 = MEM_SIZE as i64 - 1;

/// Flags for guest memory: little-endian, possibly unaligned, never trapping (the address
/// has been bounds-checked).
fn guest_flags() -> MemFlagsData {
    MemFlagsData::new()
        .with_notrap()
        .with_endianness(Endianness::Little)
}

/// Flags for the code-map base in `Ctx`.
fn ctx_flags() -> MemFlagsData {
    MemFlagsData::trusted()
}

/// Flags for the code map: it does not change while compiled code runs.
fn codemap_flags() -> MemFlagsData {
    MemFlagsData::new().with_notrap().with_readonly()
}

/// A comparison not yet materialised as a register value.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Pending {
    cc: IntCC,
    x: Value,
    y: Value,
}

/// The condition a comparison instruction (SLT, SLTI, SLTU, CMP) tests.
fn compare_cc(op: Opcode) -> IntCC {
    match op {
        Opcode::SLT | Opcode::SLTI => IntCC::SignedLessThan,
        Opcode::SLTU => IntCC::UnsignedLessThan,
        _ => IntCC::Equal,
    }
}

/// The state of one function being emitted: the builder, the SSA variables that hold the
/// guest registers and the remaining fuel, and the values every block may use.
pub(crate) struct Fx<'a> {
    pub b: FunctionBuilder<'a>,
    pub regs: [Variable; 8],
    pub fuel: Variable,
    /// The host pointer type.
    pub ptr: Type,
    /// The `Ctx` pointer (function parameter).
    pub ctx: Value,
    /// Guest memory base.
    pub mem: Value,
    /// Where stores need no other check (see `codemap::StoreWindow`).
    pub window: StoreWindow,
    /// Exit after a store hit translated code: params `(resume pc, addr, len)`, all i32.
    pub code_write_exit: Block,
    /// Fuel the block being emitted gives back when control leaves its fuel tree after
    /// its last instruction (`need(root) - prefix`, see `scan::fold_fuel_checks`).
    pub leave_refund: u64,
    /// Per register: a comparison (condition and operands) whose 0/1 result is not yet
    /// written to the register's variable. It is written when the register is read, on
    /// the edges where it is live, and on every way out of compiled code — each time by a
    /// fresh compare there, so that the branch's own compare has no other use and fuses
    /// with the jump instead of being kept as a value on the hot path.
    pub pending: [Option<Pending>; 8],
    /// Per block of the region: the comparisons still pending when control enters it. Only
    /// a folded block (entered from its one predecessor, never from the switch) can have
    /// any; the predecessor is emitted first and its values dominate the block.
    pub carried: Vec<[Option<Pending>; 8]>,
    /// Set while emitting the fast copy of a counted loop (see `counted`): every address
    /// was checked before the loop, so accesses go straight to memory.
    pub unchecked: bool,
    /// Set, with `unchecked`, when the loop being emitted stores nothing: guest memory
    /// cannot change while it runs, so its loads are marked read-only and Cranelift may
    /// schedule each one next to its use (instead of all loads of an unrolled group
    /// first, which runs out of registers).
    pub pure_loads: bool,
    /// While emitting the ordinary body of counted loop `.0`: the block that body starts
    /// at, where its own back edge goes (other edges into the loop go to its entry checks).
    pub loop_plain: Option<(usize, Block)>,
}

impl Fx<'_> {
    /// An i32 constant.
    pub fn c32(&mut self, v: i32) -> Value {
        self.b.ins().iconst(types::I32, i64::from(v as u32))
    }

    /// The value of register `r` (materialising a pending comparison).
    pub fn reg(&mut self, r: u8) -> Value {
        let r = usize::from(r);
        if let Some(p) = self.pending[r].take() {
            let v = self.pending_value(p);
            self.b.def_var(self.regs[r], v);
        }
        self.b.use_var(self.regs[r])
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

    pub fn set_reg(&mut self, r: u8, v: Value) {
        self.pending[usize::from(r)] = None;
        self.b.def_var(self.regs[usize::from(r)], v);
    }

    /// If register `r` holds a pending comparison: that comparison as a condition (an
    /// `i8` flag, non-zero when the register would be 1), computed in the current block.
    pub fn flag(&mut self, r: u8) -> Option<Value> {
        let p = self.pending[usize::from(r)]?;
        Some(self.b.ins().icmp(p.cc, p.x, p.y))
    }

    /// Hand the pending comparisons of the registers in `mask` to folded block `j`, whose
    /// only way in is the edge being emitted.
    pub fn carry_into(&mut self, j: usize, mask: Regs) {
        for r in 0..8 {
            self.carried[j][r] = self.pending[r].filter(|_| mask >> r & 1 != 0);
        }
    }

    /// Write the pending comparisons of the registers in `mask` to their variables, in the
    /// current block only (an edge or an exit); the main path keeps them pending.
    pub fn materialize(&mut self, mask: Regs) {
        for r in 0..8 {
            if let (true, Some(p)) = (mask >> r & 1 != 0, self.pending[r]) {
                let v = self.pending_value(p);
                self.b.def_var(self.regs[r], v);
            }
        }
    }

    /// `fuel -= n` (modular: see `edges::take`).
    pub fn take(&mut self, n: u64) {
        let f = self.b.use_var(self.fuel);
        let f = self.b.ins().iadd_imm_s(f, (n as i64).wrapping_neg());
        self.b.def_var(self.fuel, f);
    }

    /// `fuel += n` (giving back what a block paid for but will not run).
    pub fn refund(&mut self, n: u64) {
        if n > 0 {
            let f = self.b.use_var(self.fuel);
            let f = self.b.ins().iadd_imm_s(f, n as i64);
            self.b.def_var(self.fuel, f);
        }
    }

    /// The immediate of `p`: a constant, or read from guest memory when it is live.
    fn imm(&mut self, p: &PlannedInsn) -> Value {
        match p.live_bytes() {
            Some((off, len)) => {
                let at = (p.pc + off) as i32;
                if len == 1 {
                    self.b.ins().uload8(types::I32, guest_flags(), self.mem, at)
                } else {
                    self.b.ins().load(types::I32, guest_flags(), self.mem, at)
                }
            }
            None => self.c32(p.insn.imm),
        }
    }

    /// Emit one instruction that does not end its block. `after` is the number of
    /// instructions of the block that follow it (given back, with `leave_refund`, if a
    /// store leaves early).
    pub fn straight(&mut self, p: &PlannedInsn, after: u64) {
        use Opcode::*;
        let insn = p.insn;
        if !insn.regs_valid() {
            return; // a counted no-op
        }
        let [a, b, c] = insn.regs;
        match insn.op {
            NOP => {}
            IMM8 | IMM32 => {
                let v = self.imm(p);
                self.set_reg(a, v);
            }
            MOV => {
                let v = self.reg(b);
                self.set_reg(a, v);
            }
            SLT | SLTU | CMP => {
                let (x, y) = (self.reg(b), self.reg(c));
                self.pending[usize::from(a)] = Some(Pending {
                    cc: compare_cc(insn.op),
                    x,
                    y,
                });
            }
            SLTI => {
                let x = self.reg(b);
                let y = self.imm(p);
                self.pending[usize::from(a)] = Some(Pending {
                    cc: compare_cc(insn.op),
                    x,
                    y,
                });
            }
            ADD | SUB | MUL | DIV | MOD | AND | OR | XOR | SHL | SHR | SAR => {
                let (x, y) = (self.reg(b), self.reg(c));
                let v = self.alu(insn.op, x, y);
                self.set_reg(a, v);
            }
            ADDI | ANDI | ORI | XORI | SHLI | SHRI | SARI => {
                let x = self.reg(b);
                let y = self.imm(p);
                let v = self.alu(insn.op, x, y);
                self.set_reg(a, v);
            }
            LOAD => {
                let v = if p.live {
                    let addr = self.imm(p);
                    self.load_word(addr)
                } else {
                    self.load_word_static(insn.imm)
                };
                self.set_reg(a, v);
            }
            STORE => {
                let v = self.reg(a);
                if p.live {
                    let addr = self.imm(p);
                    self.store(addr, v, 4, p.next(), after);
                } else {
                    self.store_static(insn.imm, v, p.next(), after);
                }
            }
            LDW | LDB => {
                let base = self.reg(b);
                let off = self.imm(p);
                let addr = self.b.ins().iadd(base, off);
                let v = if insn.op == LDW {
                    self.load_word(addr)
                } else {
                    self.load_byte(addr)
                };
                self.set_reg(a, v);
            }
            STW | STB => {
                let base = self.reg(a);
                let v = self.reg(b);
                let off = self.imm(p);
                let addr = self.b.ins().iadd(base, off);
                let len = if insn.op == STW { 4 } else { 1 };
                self.store(addr, v, len, p.next(), after);
            }
            // Control transfers end blocks and are emitted by `region`; HALT and SYSCALL are
            // never planned.
            HALT | SYSCALL | JMP | JZ | JNZ | JR | CALL | RET => {}
        }
    }

    /// `pxvm::exec::alu` in IR, for the non-comparison operations.
    fn alu(&mut self, op: Opcode, x: Value, y: Value) -> Value {
        use Opcode::*;
        if matches!(op, DIV | MOD) {
            return self.div_mod(op == DIV, x, y);
        }
        let ins = self.b.ins();
        match op {
            ADD | ADDI => ins.iadd(x, y),
            SUB => ins.isub(x, y),
            MUL => ins.imul(x, y),
            AND | ANDI => ins.band(x, y),
            OR | ORI => ins.bor(x, y),
            XOR | XORI => ins.bxor(x, y),
            SHL | SHLI | SHR | SHRI | SAR | SARI => {
                let n = ins.band_imm_u(y, 31);
                let ins = self.b.ins();
                match op {
                    SHL | SHLI => ins.ishl(x, n),
                    SHR | SHRI => ins.ushr(x, n),
                    _ => ins.sshr(x, n),
                }
            }
            // Comparisons become `Pending` (see `straight`); nothing else is arithmetic.
            _ => x,
        }
    }

    /// DIV / MOD without traps: a zero divisor gives 0; a divisor of -1 gives `-x` for DIV
    /// (wrapping, so `i32::MIN / -1 == i32::MIN`) and 0 for MOD.
    fn div_mod(&mut self, div: bool, x: Value, y: Value) -> Value {
        let zero = self.c32(0);
        let one = self.c32(1);
        let minus_one = self.c32(-1);
        let is_zero = self.b.ins().icmp(IntCC::Equal, y, zero);
        let is_m1 = self.b.ins().icmp(IntCC::Equal, y, minus_one);
        let special = self.b.ins().bor(is_zero, is_m1);
        let safe = self.b.ins().select(special, one, y);
        if div {
            let q = self.b.ins().sdiv(x, safe);
            let neg = self.b.ins().ineg(x);
            let q = self.b.ins().select(is_m1, neg, q);
            self.b.ins().select(is_zero, zero, q)
        } else {
            let r = self.b.ins().srem(x, safe);
            self.b.ins().select(special, zero, r)
        }
    }

    /// The i32 at a dynamic guest address, 0 out of bounds.
    pub fn load_word(&mut self, addr: Value) -> Value {
        self.load_checked(addr, WORD_MAX, false, true)
    }

    /// The return address a RET pops: as `load_word`, but with the out-of-bounds 0 passed
    /// straight on the branch edge rather than from a cold block (measured: better for
    /// call-heavy code, where the popped value feeds the return-site compares at once).
    pub fn load_return_address(&mut self, addr: Value) -> Value {
        self.load_checked(addr, WORD_MAX, false, false)
    }

    fn load_word_static(&mut self, addr: i32) -> Value {
        if pxvm::machine::word_index(addr).is_some() {
            self.b.ins().load(types::I32, guest_flags(), self.mem, addr)
        } else {
            self.c32(0)
        }
    }

    /// The byte at a dynamic guest address, zero-extended, 0 out of bounds.
    fn load_byte(&mut self, addr: Value) -> Value {
        self.load_checked(addr, BYTE_MAX, true, true)
    }

    /// Load from `addr` if `addr <= max` (unsigned, so negative addresses fail), else 0.
    /// A branch, not a select: in-bounds accesses are the predictable common case, and the
    /// address is only added to the memory base once it is known to be inside. With
    /// `cold_outside` the 0 comes from a cold block of its own, which keeps the in-bounds
    /// path straight-line (measured: matmul's inner loop runs ~7% faster).
    ///
    /// The check is made on the zero-extended host index, which the access then uses:
    /// comparing the 32-bit sum instead would give it two uses in two blocks, and
    /// Cranelift would compute it twice.
    fn load_checked(&mut self, addr: Value, max: i64, byte: bool, cold_outside: bool) -> Value {
        let idx = self.b.ins().uextend(self.ptr, addr);
        if self.unchecked {
            return self.load_at(idx, byte);
        }
        let ok = self
            .b
            .ins()
            .icmp_imm_u(IntCC::UnsignedLessThanOrEqual, idx, max);
        let inside = self.b.create_block();
        let done = self.b.create_block();
        let v = self.b.append_block_param(done, types::I32);
        if cold_outside {
            let outside = self.b.create_block();
            self.b.set_cold_block(outside);
            self.b.ins().brif(ok, inside, &[], outside, &[]);
            self.b.seal_block(outside);
            self.b.switch_to_block(outside);
            let zero = self.c32(0);
            self.b.ins().jump(done, &[zero.into()]);
        } else {
            let zero = self.c32(0);
            self.b.ins().brif(ok, inside, &[], done, &[zero.into()]);
        }
        self.b.seal_block(inside);
        self.b.switch_to_block(inside);
        let loaded = self.load_at(idx, byte);
        self.b.ins().jump(done, &[loaded.into()]);
        self.b.seal_block(done);
        self.b.switch_to_block(done);
        v
    }

    /// The word or byte at guest memory index `idx` (a host-width value known to be inside
    /// memory).
    fn load_at(&mut self, idx: Value, byte: bool) -> Value {
        let p = self.b.ins().iadd(self.mem, idx);
        let flags = if self.pure_loads {
            guest_flags().with_readonly().with_can_move()
        } else {
            guest_flags()
        };
        if byte {
            self.b.ins().uload8(types::I32, flags, p, 0)
        } else {
            self.b.ins().load(types::I32, flags, p, 0)
        }
    }

    /// Store the low `len` (4 or 1) bytes of `v` at a dynamic guest address; ignored out of
    /// bounds. If the bytes are covered by a translation, leave for the dispatcher after
    /// the store, resuming at `resume`, giving back the fuel of the `after` instructions
    /// that will not run (plus `leave_refund`).
    ///
    /// The common case is one compare: a store inside the region's store window is in
    /// bounds and hits no translation, so it just stores. Anything else takes a cold path
    /// with the full bounds check and the code-map load.
    pub fn store(&mut self, addr: Value, v: Value, len: u32, resume: u32, after: u64) {
        if self.unchecked {
            let idx = self.b.ins().uextend(self.ptr, addr);
            self.store_bytes(idx, v, len);
            return;
        }
        let slow = self.b.create_block();
        let done = self.b.create_block();
        self.b.set_cold_block(slow);
        let limit = self.window.limit(len);
        if limit == 0 {
            self.b.ins().jump(slow, &[]);
        } else {
            let lo = i64::from(self.window.lo);
            let from_lo = self.b.ins().iadd_imm_s(addr, -lo);
            let inside =
                self.b
                    .ins()
                    .icmp_imm_u(IntCC::UnsignedLessThan, from_lo, i64::from(limit));
            let fast = self.b.create_block();
            self.b.ins().brif(inside, fast, &[], slow, &[]);
            self.b.seal_block(fast);
            self.b.switch_to_block(fast);
            let idx = self.b.ins().uextend(self.ptr, addr);
            self.store_bytes(idx, v, len);
            self.b.ins().jump(done, &[]);
        }
        self.b.seal_block(slow);
        self.b.switch_to_block(slow);
        self.store_outside_window(addr, v, len, (resume, after), done);
        self.b.seal_block(done);
        self.b.switch_to_block(done);
    }

    /// The cold side of `store`: bounds check, store, then the code-map load, leaving for
    /// the dispatcher (at `resume`, giving back `after`) if the bytes are translated;
    /// otherwise on to `done`.
    fn store_outside_window(
        &mut self,
        addr: Value,
        v: Value,
        len: u32,
        (resume, after): (u32, u64),
        done: Block,
    ) {
        let max = if len == 4 { WORD_MAX } else { BYTE_MAX };
        let idx = self.b.ins().uextend(self.ptr, addr);
        let ok = self
            .b
            .ins()
            .icmp_imm_u(IntCC::UnsignedLessThanOrEqual, idx, max);
        let in_bounds = self.b.create_block();
        self.b.set_cold_block(in_bounds);
        self.b.ins().brif(ok, in_bounds, &[], done, &[]);
        self.b.seal_block(in_bounds);
        self.b.switch_to_block(in_bounds);
        self.store_bytes(idx, v, len);
        let codemap = (self.b.ins()).load(self.ptr, ctx_flags(), self.ctx, off::CODEMAP);
        let cm = self.b.ins().iadd(codemap, idx);
        let hit = if len == 4 {
            self.b.ins().load(types::I32, codemap_flags(), cm, 0)
        } else {
            self.b.ins().uload8(types::I32, codemap_flags(), cm, 0)
        };
        let leave = self.b.create_block();
        self.b.set_cold_block(leave);
        self.b.ins().brif(hit, leave, &[], done, &[]);
        self.b.seal_block(leave);
        self.b.switch_to_block(leave);
        self.materialize(ALL);
        self.refund(self.leave_refund + after);
        let resume = self.c32(resume as i32);
        let len = self.c32(len as i32);
        let exit = self.code_write_exit;
        self.b
            .ins()
            .jump(exit, &[resume.into(), addr.into(), len.into()]);
    }

    /// Store the low `len` (4 or 1) bytes of `v` at guest memory index `idx` (a host-width
    /// value known to be inside memory).
    fn store_bytes(&mut self, idx: Value, v: Value, len: u32) {
        let p = self.b.ins().iadd(self.mem, idx);
        if len == 4 {
            self.b.ins().store(guest_flags(), v, p, 0);
        } else {
            self.b.ins().istore8(guest_flags(), v, p, 0);
        }
    }

    /// Store at a guest address known when compiling.
    fn store_static(&mut self, addr: i32, v: Value, resume: u32, after: u64) {
        if pxvm::machine::word_index(addr).is_none() {
            return; // ignored, as the interpreter ignores it
        }
        let a = self.c32(addr);
        self.store(a, v, 4, resume, after);
    }
}
