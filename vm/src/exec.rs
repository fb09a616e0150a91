//! The reference semantics of one instruction: [`step`] decodes the instruction at pc,
//! applies its effect to the machine and host, and says what happened. The interpreter is
//! a loop around it, and other engines fall back to it one instruction at a time, so this
//! function *is* the definition of pxVM. It favours being obviously right over being fast.

use crate::host::{Host, SyscallCtx, VmEvent};
use crate::insn::{Decoded, Insn, decode};
use crate::isa::Opcode;
use crate::machine::{Machine, SP, jump_target};
use std::ops::Range;

/// The result of executing one instruction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// The instruction retired (one cycle). `wrote` is the span of guest memory it wrote,
    /// if any (stores, CALL, and syscalls that fill buffers).
    Retired { wrote: Option<Range<usize>> },
    /// HALT: not counted; pc is after the HALT byte.
    Halted,
    /// Fetching the instruction ran past the end of memory: not counted; pc is the address
    /// whose fetch failed (65,536). The event has been reported to the host.
    Faulted,
}

/// The result of a two-operand arithmetic or logic instruction (`ADD`..`SLTU`, `CMP`, and
/// the immediate forms `ADDI`..`SLTI`, which compute the same function of `src` and `imm`).
///
/// Returns `None` for opcodes that are not arithmetic.
#[inline]
pub fn alu(op: Opcode, a: i32, b: i32) -> Option<i32> {
    use Opcode::*;
    Some(match op {
        ADD | ADDI => a.wrapping_add(b),
        SUB => a.wrapping_sub(b),
        MUL => a.wrapping_mul(b),
        DIV => {
            if b == 0 {
                0
            } else {
                a.wrapping_div(b)
            }
        }
        MOD => {
            if b == 0 {
                0
            } else {
                a.wrapping_rem(b)
            }
        }
        AND | ANDI => a & b,
        OR | ORI => a | b,
        XOR | XORI => a ^ b,
        SHL | SHLI => a.wrapping_shl(b as u32 & 31),
        SHR | SHRI => ((a as u32) >> (b as u32 & 31)) as i32,
        SAR | SARI => a >> (b as u32 & 31),
        SLT | SLTI => i32::from(a < b),
        SLTU => i32::from((a as u32) < (b as u32)),
        CMP => i32::from(a == b),
        // Not arithmetic. Listed, not `_`: a new opcode must be placed on one side.
        HALT | NOP | IMM8 | IMM32 | MOV | JMP | JZ | JNZ | JR | CALL | RET | LOAD | STORE | LDW
        | STW | LDB | STB | SYSCALL => return None,
    })
}

/// Execute the instruction at `m.pc`. Retiring increments `m.cycles`.
pub fn step<H: Host + ?Sized>(m: &mut Machine, host: &mut H) -> Step {
    let pc = m.pc as usize;
    let insn = match decode(&m.mem[..], pc) {
        Ok(Decoded::Insn(insn)) => insn,
        Ok(Decoded::Unknown(opcode)) => {
            host.event(VmEvent::UnknownOpcode { pc: m.pc, opcode });
            m.pc += 1;
            m.cycles += 1;
            return Step::Retired { wrote: None };
        }
        Err(t) => {
            m.pc = t.at as u32;
            host.event(VmEvent::FetchFault { pc: m.pc });
            return Step::Faulted;
        }
    };
    let next = (pc + insn.op.len()) as u32;
    m.pc = next;
    if insn.op == Opcode::HALT {
        return Step::Halted;
    }
    m.cycles += 1;
    if !insn.regs_valid() {
        return Step::Retired { wrote: None };
    }
    let wrote = execute(m, host, &insn, next);
    Step::Retired { wrote }
}

/// Apply a decoded instruction whose registers are all valid; `m.pc` is already `next`.
fn execute<H: Host + ?Sized>(
    m: &mut Machine,
    host: &mut H,
    insn: &Insn,
    next: u32,
) -> Option<Range<usize>> {
    use Opcode::*;
    let [a, b, c] = insn.regs.map(usize::from);
    let imm = insn.imm;
    let r = m.regs; // a copy: reads see the state before this instruction
    match insn.op {
        HALT | NOP => {}
        IMM8 | IMM32 => m.regs[a] = imm,
        MOV => m.regs[a] = r[b],
        ADD | SUB | MUL | DIV | MOD | AND | OR | XOR | SHL | SHR | SAR | SLT | SLTU | CMP => {
            m.regs[a] = alu(insn.op, r[b], r[c]).expect("arithmetic opcode");
        }
        ADDI | ANDI | ORI | XORI | SHLI | SHRI | SARI | SLTI => {
            m.regs[a] = alu(insn.op, r[b], imm).expect("arithmetic opcode");
        }
        JMP => jump(m, imm),
        JZ => {
            if r[a] == 0 {
                jump(m, imm)
            }
        }
        JNZ => {
            if r[a] != 0 {
                jump(m, imm)
            }
        }
        JR => jump(m, r[a]),
        CALL => {
            if let Some(target) = jump_target(imm) {
                let sp = m.regs[SP].wrapping_sub(4);
                m.regs[SP] = sp;
                m.pc = target;
                return m.store_i32(sp, next as i32).map(|at| at..at + 4);
            }
        }
        RET => {
            let sp = m.regs[SP];
            let target = m.load_i32(sp);
            m.regs[SP] = sp.wrapping_add(4);
            jump(m, target);
        }
        LOAD => m.regs[a] = m.load_i32(imm),
        STORE => return m.store_i32(imm, r[a]).map(|at| at..at + 4),
        LDW => m.regs[a] = m.load_i32(r[b].wrapping_add(imm)),
        LDB => m.regs[a] = m.load_u8(r[b].wrapping_add(imm)),
        STW => {
            let (addr, value) = (r[a].wrapping_add(imm), r[b]);
            return m.store_i32(addr, value).map(|at| at..at + 4);
        }
        STB => {
            let (addr, value) = (r[a].wrapping_add(imm), r[b]);
            return m.store_u8(addr, value).map(|at| at..at + 1);
        }
        SYSCALL => {
            let mut ctx = SyscallCtx::new(m);
            host.syscall(imm as u8, &mut ctx);
            return ctx.written();
        }
    }
    None
}

#[inline]
fn jump(m: &mut Machine, target: i32) {
    if let Some(t) = jump_target(target) {
        m.pc = t;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn division_edges() {
        assert_eq!(alu(Opcode::DIV, 7, 0), Some(0));
        assert_eq!(alu(Opcode::MOD, 7, 0), Some(0));
        assert_eq!(alu(Opcode::DIV, i32::MIN, -1), Some(i32::MIN));
        assert_eq!(alu(Opcode::MOD, i32::MIN, -1), Some(0));
        assert_eq!(alu(Opcode::DIV, -7, 2), Some(-3));
        assert_eq!(alu(Opcode::MOD, -7, 2), Some(-1));
    }

    #[test]
    fn shifts_use_low_five_bits() {
        assert_eq!(alu(Opcode::SHL, 1, 33), Some(2));
        assert_eq!(alu(Opcode::SHR, -1, 28), Some(0xF));
        assert_eq!(alu(Opcode::SAR, -16, 34), Some(-4));
        assert_eq!(alu(Opcode::SLTU, -1, 1), Some(0));
        assert_eq!(alu(Opcode::SLT, -1, 1), Some(1));
        assert_eq!(alu(Opcode::JMP, 1, 1), None);
    }
}
