//! The interpreter: the reference engine and correctness oracle.
//!
//! [`run_reference`] is the definition: a plain loop around [`exec::step`]. [`run`] is the
//! same machine made fast: it keeps registers and pc in locals, reads each instruction as
//! one 8-byte little-endian word straight from guest memory (so self-modifying code needs
//! no bookkeeping — every fetch sees the current bytes) and executes the common
//! instructions inline. Everything rare — HALT, SYSCALL, unknown opcodes, and any fetch
//! within 8 bytes of the end of memory — goes through `exec::step` itself. Tests check
//! that `run` and `run_reference` agree on random programs and every fuel budget.

use crate::engine::{Engine, Exit};
use crate::exec::{Step, alu, step};
use crate::host::Host;
use crate::isa::{Opcode, byte as op};
use crate::machine::{MEM_SIZE, Machine, SP, jump_target};

/// Run `m` against `host` for at most `fuel` retired instructions, one [`step`] at a time.
/// This is the definition of pxVM execution; [`run`] must agree with it exactly.
pub fn run_reference<H: Host + ?Sized>(m: &mut Machine, host: &mut H, fuel: u64) -> Exit {
    for _ in 0..fuel {
        match step(m, host) {
            Step::Retired { .. } => {}
            Step::Halted => return Exit::Halt,
            Step::Faulted => return Exit::Error,
        }
    }
    Exit::Fuel
}

/// Run `m` against `host` for at most `fuel` retired instructions (fast path).
pub fn run<H: Host + ?Sized>(m: &mut Machine, host: &mut H, fuel: u64) -> Exit {
    // Every retired instruction uses one unit of fuel, so the cycle count is always
    // `start + (fuel - left)`; it is only materialised when the machine is synced.
    let start = m.cycles;
    let mut left = fuel;
    let mut regs = m.regs;
    let mut pc = m.pc as usize;
    let exit = loop {
        if left == 0 {
            break Exit::Fuel;
        }
        if pc + 8 > MEM_SIZE {
            match slow_step(m, host, &mut regs, &mut pc, start + (fuel - left)) {
                Some(exit) => break exit,
                None => {
                    left -= 1;
                    continue;
                }
            }
        }
        let w = u64::from_le_bytes(m.mem[pc..pc + 8].try_into().expect("8 bytes"));
        // Operand fields, extracted only by the arms that use them: register bytes 1..3 and
        // 5, and the i32 starting at byte 1, 2 or 3 of the instruction.
        macro_rules! byte_at {
            ($n:literal) => {
                usize::from((w >> (8 * $n)) as u8)
            };
        }
        macro_rules! i32_at {
            ($n:literal) => {
                (w >> (8 * $n)) as u32 as i32
            };
        }
        let code = w as u8;
        macro_rules! rrr {
            ($opc:ident) => {{
                let (a, b, c) = (byte_at!(1), byte_at!(2), byte_at!(3));
                if a < 8 && b < 8 && c < 8 {
                    regs[a] = alu(Opcode::$opc, regs[b], regs[c]).unwrap_or(0);
                }
                pc += 4;
            }};
        }
        macro_rules! rri {
            ($opc:ident) => {{
                let (a, b) = (byte_at!(1), byte_at!(2));
                if a < 8 && b < 8 {
                    regs[a] = alu(Opcode::$opc, regs[b], i32_at!(3)).unwrap_or(0);
                }
                pc += 7;
            }};
        }
        match code {
            op::NOP => pc += 1,
            op::IMM8 => {
                let a = byte_at!(1);
                if a < 8 {
                    regs[a] = byte_at!(2) as i32;
                }
                pc += 3;
            }
            op::IMM32 => {
                let a = byte_at!(1);
                if a < 8 {
                    regs[a] = i32_at!(2);
                }
                pc += 6;
            }
            op::MOV => {
                let (a, b) = (byte_at!(1), byte_at!(2));
                if a < 8 && b < 8 {
                    regs[a] = regs[b];
                }
                pc += 3;
            }
            op::ADD => rrr!(ADD),
            op::SUB => rrr!(SUB),
            op::MUL => rrr!(MUL),
            op::DIV => rrr!(DIV),
            op::MOD => rrr!(MOD),
            op::AND => rrr!(AND),
            op::OR => rrr!(OR),
            op::XOR => rrr!(XOR),
            op::SHL => rrr!(SHL),
            op::SHR => rrr!(SHR),
            op::SAR => rrr!(SAR),
            op::SLT => rrr!(SLT),
            op::SLTU => rrr!(SLTU),
            op::CMP => rrr!(CMP),
            op::ADDI => rri!(ADDI),
            op::ANDI => rri!(ANDI),
            op::ORI => rri!(ORI),
            op::XORI => rri!(XORI),
            op::SHLI => rri!(SHLI),
            op::SHRI => rri!(SHRI),
            op::SARI => rri!(SARI),
            op::SLTI => rri!(SLTI),
            op::JMP => pc = jump_target(i32_at!(1)).map_or(pc + 5, |t| t as usize),
            op::JZ => {
                let a = byte_at!(1);
                pc = match jump_target(i32_at!(2)) {
                    Some(t) if a < 8 && regs[a] == 0 => t as usize,
                    _ => pc + 6,
                }
            }
            op::JNZ => {
                let a = byte_at!(1);
                pc = match jump_target(i32_at!(2)) {
                    Some(t) if a < 8 && regs[a] != 0 => t as usize,
                    _ => pc + 6,
                }
            }
            op::JR => {
                let a = byte_at!(1);
                pc = match a < 8 {
                    true => jump_target(regs[a]).map_or(pc + 2, |t| t as usize),
                    false => pc + 2,
                }
            }
            op::CALL => match jump_target(i32_at!(1)) {
                Some(t) => {
                    let sp = regs[SP].wrapping_sub(4);
                    regs[SP] = sp;
                    m.store_i32(sp, (pc + 5) as i32);
                    pc = t as usize;
                }
                None => pc += 5,
            },
            op::RET => {
                let sp = regs[SP];
                let target = m.load_i32(sp);
                regs[SP] = sp.wrapping_add(4);
                pc = jump_target(target).map_or(pc + 1, |t| t as usize);
            }
            op::LOAD => {
                let a = byte_at!(1);
                if a < 8 {
                    regs[a] = m.load_i32(i32_at!(2));
                }
                pc += 6;
            }
            op::STORE => {
                let src = byte_at!(5);
                if src < 8 {
                    m.store_i32(i32_at!(1), regs[src]);
                }
                pc += 6;
            }
            op::LDW => {
                let (a, b, off) = (byte_at!(1), byte_at!(2), i32_at!(3));
                if a < 8 && b < 8 {
                    regs[a] = m.load_i32(regs[b].wrapping_add(off));
                }
                pc += 7;
            }
            op::LDB => {
                let (a, b, off) = (byte_at!(1), byte_at!(2), i32_at!(3));
                if a < 8 && b < 8 {
                    regs[a] = m.load_u8(regs[b].wrapping_add(off));
                }
                pc += 7;
            }
            op::STW => {
                let (a, b, off) = (byte_at!(1), byte_at!(2), i32_at!(3));
                if a < 8 && b < 8 {
                    m.store_i32(regs[a].wrapping_add(off), regs[b]);
                }
                pc += 7;
            }
            op::STB => {
                let (a, b, off) = (byte_at!(1), byte_at!(2), i32_at!(3));
                if a < 8 && b < 8 {
                    m.store_u8(regs[a].wrapping_add(off), regs[b]);
                }
                pc += 7;
            }
            // HALT, SYSCALL and unknown opcodes: the reference step.
            _ => match slow_step(m, host, &mut regs, &mut pc, start + (fuel - left)) {
                Some(exit) => break exit,
                None => {
                    left -= 1;
                    continue;
                }
            },
        }
        left -= 1;
    };
    m.regs = regs;
    m.pc = pc as u32;
    m.cycles = start + (fuel - left);
    exit
}

/// Execute one instruction with the reference [`step`], syncing the fast loop's locals
/// with the machine around it. Returns the exit if the machine stopped.
#[cold]
#[inline(never)]
fn slow_step<H: Host + ?Sized>(
    m: &mut Machine,
    host: &mut H,
    regs: &mut [i32; 8],
    pc: &mut usize,
    cycles: u64,
) -> Option<Exit> {
    m.regs = *regs;
    m.pc = *pc as u32;
    m.cycles = cycles;
    let result = step(m, host);
    *regs = m.regs;
    *pc = m.pc as usize;
    match result {
        Step::Retired { .. } => None,
        Step::Halted => Some(Exit::Halt),
        Step::Faulted => Some(Exit::Error),
    }
}

/// The interpreter as an [`Engine`].
#[derive(Debug, Default, Clone, Copy)]
pub struct Interpreter;

impl Engine for Interpreter {
    fn name(&self) -> &'static str {
        "interp"
    }

    fn run(&mut self, m: &mut Machine, host: &mut dyn Host, fuel: u64) -> Exit {
        run(m, host, fuel)
    }
}

/// The reference stepper ([`run_reference`]) as an [`Engine`]: slow, and the definition
/// every other engine, the fast interpreter included, is compared with.
#[derive(Debug, Default, Clone, Copy)]
pub struct Reference;

impl Engine for Reference {
    fn name(&self) -> &'static str {
        "reference"
    }

    fn run(&mut self, m: &mut Machine, host: &mut dyn Host, fuel: u64) -> Exit {
        run_reference(m, host, fuel)
    }
}
