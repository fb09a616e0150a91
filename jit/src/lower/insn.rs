//! The semantics of each straight-line pxVM instruction in Cranelift IR, mirroring
//! `pxvm::exec::step` line by line: wrapping arithmetic, DIV/MOD by zero giving 0 (and
//! `i32::MIN / -1` giving `i32::MIN`), shift counts masked to 5 bits, and comparison
//! results kept pending (see `Current::pending`) until something needs them as a value.
//! Loads and stores are lowered from the ISA's memory column (the checks themselves are
//! `memory`'s); control transfers at the end of a block are `edges`'.
//!
//! Invariant: every opcode has an arm of its own (no catch-all), so a new instruction is
//! a compile error here until its semantics are written.

use super::Lowerer;
use super::memory::guest_flags;
use crate::analysis::PlannedInsn;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{InstBuilder, Value, types};
use pxvm::isa::{DataAccess, Memory, Opcode};

/// The two-operand arithmetic of `pxvm::exec::alu` (comparisons aside: they stay pending).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Alu {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    And,
    Or,
    Xor,
    Shl,
    Shr,
    Sar,
}

/// The second operand of an arithmetic instruction.
#[derive(Clone, Copy, Debug)]
enum Operand {
    Reg(u8),
    Imm,
}

impl Lowerer<'_> {
    /// The immediate of `p`: a constant, or read from guest memory when it is live.
    pub(super) fn imm(&mut self, p: &PlannedInsn) -> Value {
        match p.live_bytes() {
            Some((off, len)) => {
                let at = (p.pc + off) as i32;
                if len == 1 {
                    (self.b.ins()).uload8(types::I32, guest_flags(), self.env.mem, at)
                } else {
                    (self.b.ins()).load(types::I32, guest_flags(), self.env.mem, at)
                }
            }
            None => self.c32(p.insn.imm),
        }
    }

    /// Emit one instruction that does not end its block. `after` is the number of
    /// instructions of the block that follow it (given back, with the block's
    /// `leave_refund`, if a store leaves early).
    pub(super) fn straight(&mut self, p: &PlannedInsn, after: u64) {
        if !p.insn.regs_valid() {
            return; // a counted no-op
        }
        let memory = p.insn.op.memory();
        match memory {
            Memory::None => self.register_op(p),
            Memory::LoadAbs
            | Memory::StoreAbs
            | Memory::LoadWord
            | Memory::StoreWord
            | Memory::LoadByte
            | Memory::StoreByte => {
                if let Some(access) = memory.data() {
                    self.data_access(p, access, after);
                }
            }
            // The stack (CALL, RET) belongs to terminators (`edges`); so does SYSCALL, the
            // host's accesses (`syscall`), which always ends its block.
            Memory::Push | Memory::Pop | Memory::Host => {}
        }
    }

    /// A plain load or store, as the ISA's memory column describes it.
    fn data_access(&mut self, p: &PlannedInsn, d: DataAccess, after: u64) {
        let insn = p.insn;
        let value_reg = insn.regs[d.value_operand];
        match (d.base_operand, d.store) {
            // LOAD: the address is the immediate alone, known when compiling unless live.
            (None, false) => {
                let v = if p.live {
                    let addr = self.imm(p);
                    self.load_word(addr)
                } else {
                    self.load_word_static(insn.imm)
                };
                self.set_reg(value_reg, v);
            }
            // STORE: into the spot with no check (a live address, if it is still the
            // compiled one); otherwise checked.
            (None, true) => {
                let v = self.reg(value_reg);
                let spot = pxvm::machine::word_index(insn.imm)
                    .filter(|&a| self.env.window.spot_holds(a as u32, d.width));
                match (spot, p.live) {
                    (Some(a), false) => self.store_spot(a, v, d.width),
                    (Some(a), true) => {
                        let addr = self.imm(p);
                        self.store_spot_if(addr, a, v, d.width, (p.next(), after));
                    }
                    (None, true) => {
                        let addr = self.imm(p);
                        self.store(addr, v, d.width, p.next(), after);
                    }
                    (None, false) => self.store_static(insn.imm, v, p.next(), after),
                }
            }
            // LDW, LDB in a fast copy, from an anchored base register
            (Some(base), false) if let Some(at) = self.anchored(insn.regs[base], insn.imm) => {
                let v = self.load_anchored(at, d.width == 1);
                self.set_reg(value_reg, v);
            }
            // STW, STB in a fast copy, to an anchored base register
            (Some(base), true) if let Some(at) = self.anchored(insn.regs[base], insn.imm) => {
                let v = self.reg(value_reg);
                self.store_anchored(at, v, d.width);
            }
            // LDW, LDB
            (Some(base), false) => {
                let base = self.reg(insn.regs[base]);
                let off = self.imm(p);
                let addr = self.b.ins().iadd(base, off);
                let v = if d.width == 4 {
                    self.load_word(addr)
                } else {
                    self.load_byte(addr)
                };
                self.set_reg(value_reg, v);
            }
            // STW, STB
            (Some(base), true) => {
                let base = self.reg(insn.regs[base]);
                let v = self.reg(value_reg);
                let off = self.imm(p);
                let addr = self.b.ins().iadd(base, off);
                self.store(addr, v, d.width, p.next(), after);
            }
        }
    }

    /// An instruction that touches no memory and does not end its block.
    fn register_op(&mut self, p: &PlannedInsn) {
        use Opcode::*;
        let [a, b, c] = p.insn.regs;
        let r = Operand::Reg(c);
        match p.insn.op {
            NOP => {}
            IMM8 | IMM32 => {
                let v = self.imm(p);
                self.set_reg(a, v);
            }
            MOV => {
                let v = self.reg(b);
                self.set_reg(a, v);
            }
            SLT => self.compare(p, IntCC::SignedLessThan, r),
            SLTU => self.compare(p, IntCC::UnsignedLessThan, r),
            CMP => self.compare(p, IntCC::Equal, r),
            SLTI => self.compare(p, IntCC::SignedLessThan, Operand::Imm),
            ADD => self.arith(p, Alu::Add, r),
            SUB => self.arith(p, Alu::Sub, r),
            MUL => self.arith(p, Alu::Mul, r),
            DIV => self.arith(p, Alu::Div, r),
            MOD => self.arith(p, Alu::Mod, r),
            AND => self.arith(p, Alu::And, r),
            OR => self.arith(p, Alu::Or, r),
            XOR => self.arith(p, Alu::Xor, r),
            SHL => self.arith(p, Alu::Shl, r),
            SHR => self.arith(p, Alu::Shr, r),
            SAR => self.arith(p, Alu::Sar, r),
            ADDI => self.arith(p, Alu::Add, Operand::Imm),
            ANDI => self.arith(p, Alu::And, Operand::Imm),
            ORI => self.arith(p, Alu::Or, Operand::Imm),
            XORI => self.arith(p, Alu::Xor, Operand::Imm),
            SHLI => self.arith(p, Alu::Shl, Operand::Imm),
            SHRI => self.arith(p, Alu::Shr, Operand::Imm),
            SARI => self.arith(p, Alu::Sar, Operand::Imm),
            // Memory accesses are lowered from the ISA's memory column (`data_access`);
            // control transfers and SYSCALL end blocks and are emitted by `edges` (and
            // `syscall`); HALT is never planned.
            LOAD | STORE | LDW | STW | LDB | STB | HALT | SYSCALL | JMP | JZ | JNZ | JR | CALL
            | RET => {}
        }
    }

    /// The second operand's value.
    fn operand(&mut self, p: &PlannedInsn, y: Operand) -> Value {
        match y {
            Operand::Reg(r) => self.reg(r),
            Operand::Imm => self.imm(p),
        }
    }

    /// `dst := src <cc> y`, kept pending.
    fn compare(&mut self, p: &PlannedInsn, cc: IntCC, y: Operand) {
        let [a, b, _] = p.insn.regs;
        let x = self.reg(b);
        let y = self.operand(p, y);
        self.set_pending(a, cc, x, y);
    }

    /// `dst := src <op> y`.
    fn arith(&mut self, p: &PlannedInsn, op: Alu, y: Operand) {
        let [a, b, _] = p.insn.regs;
        let x = self.reg(b);
        let y = self.operand(p, y);
        let v = self.alu(op, x, y);
        self.set_reg(a, v);
    }

    /// `pxvm::exec::alu` in IR, for the non-comparison operations.
    fn alu(&mut self, op: Alu, x: Value, y: Value) -> Value {
        match op {
            Alu::Add => self.b.ins().iadd(x, y),
            Alu::Sub => self.b.ins().isub(x, y),
            Alu::Mul => self.b.ins().imul(x, y),
            Alu::Div => self.div_mod(true, x, y),
            Alu::Mod => self.div_mod(false, x, y),
            Alu::And => self.b.ins().band(x, y),
            Alu::Or => self.b.ins().bor(x, y),
            Alu::Xor => self.b.ins().bxor(x, y),
            Alu::Shl => {
                let n = self.b.ins().band_imm_u(y, 31);
                self.b.ins().ishl(x, n)
            }
            Alu::Shr => {
                let n = self.b.ins().band_imm_u(y, 31);
                self.b.ins().ushr(x, n)
            }
            Alu::Sar => {
                let n = self.b.ins().band_imm_u(y, 31);
                self.b.ins().sshr(x, n)
            }
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
}
