//! Test helpers: tiny constructors for bytecode, and `check`, the one helper through which
//! every execution test runs (it runs the scenario on every engine and fails the test on
//! any divergence).

use pxos::check::difftest::{run_everywhere, Observed, Scenario};
use pxvm::{Insn, Opcode};

/// Run `scenario` on every engine; panic with the divergence report if they disagree.
pub fn check(scenario: &Scenario) -> Observed {
    match run_everywhere(scenario) {
        Ok(observed) => observed,
        Err(err) => panic!("engines disagree on {scenario:?}:\n{err}"),
    }
}

/// Run `code` with `fuel` on every engine.
pub fn run(code: &[u8], fuel: u64) -> Observed {
    check(&Scenario::new(code.to_vec(), fuel))
}

/// Concatenate encoded pieces.
pub fn prog(parts: &[Vec<u8>]) -> Vec<u8> {
    parts.concat()
}

pub fn ins(op: Opcode, regs: [u8; 3], imm: i32) -> Vec<u8> {
    Insn::new(op, regs, imm).encode()
}

pub fn imm32(r: u8, v: i32) -> Vec<u8> {
    ins(Opcode::IMM32, [r, 0, 0], v)
}

pub fn imm8(r: u8, v: u8) -> Vec<u8> {
    ins(Opcode::IMM8, [r, 0, 0], i32::from(v))
}

pub fn rrr(op: Opcode, d: u8, a: u8, b: u8) -> Vec<u8> {
    ins(op, [d, a, b], 0)
}

pub fn rri(op: Opcode, d: u8, a: u8, imm: i32) -> Vec<u8> {
    ins(op, [d, a, 0], imm)
}

pub fn jmp(addr: i32) -> Vec<u8> {
    ins(Opcode::JMP, [0; 3], addr)
}

pub fn jz(r: u8, addr: i32) -> Vec<u8> {
    ins(Opcode::JZ, [r, 0, 0], addr)
}

pub fn sys(n: u8) -> Vec<u8> {
    ins(Opcode::SYSCALL, [0; 3], i32::from(n))
}

pub fn halt() -> Vec<u8> {
    vec![0x00]
}
