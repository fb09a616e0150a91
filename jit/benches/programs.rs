//! Guest programs shared by the benches (included with `#[path]`, not a crate module).

#![allow(dead_code)] // each bench uses some of them

use pxvm::{Insn, Opcode, Opcode::*};

fn emit(code: &mut Vec<u8>, op: Opcode, regs: [u8; 3], imm: i32) -> i32 {
    let at = code.len() as i32;
    Insn::new(op, regs, imm).encode_into(code);
    at
}

/// The SUB/CMP/JZ/JMP countdown: `iters` rounds of 4 instructions, then HALT.
///
/// ```text
/// top: CMP R2, R0, R3     ; R2 = (R0 == 0)
///      JZ  R2, body       ; not yet zero: go on
///      HALT
/// body: SUB R0, R0, R1
///      JMP top
/// ```
pub fn countdown(iters: i32) -> (Vec<u8>, u64) {
    let mut c = Vec::new();
    emit(&mut c, IMM32, [0, 0, 0], iters);
    emit(&mut c, IMM32, [1, 0, 0], 1);
    let top = emit(&mut c, CMP, [2, 0, 3], 0);
    let jz = emit(&mut c, JZ, [2, 0, 0], 0);
    emit(&mut c, HALT, [0; 3], 0);
    let body = emit(&mut c, SUB, [0, 0, 1], 0);
    emit(&mut c, JMP, [0; 3], top);
    c[jz as usize + 2..jz as usize + 6].copy_from_slice(&body.to_le_bytes());
    (c, 2 + 4 * iters as u64 + 2)
}

/// A loop that sums an immediate it rewrites every round (`patch == true`), or the same
/// loop storing the value to a data word instead. Returns the code and the instruction
/// count.
pub fn patch_loop(iters: i32, patch: bool) -> (Vec<u8>, u64) {
    let mut c = Vec::new();
    emit(&mut c, IMM32, [2, 0, 0], iters);
    let top = emit(&mut c, IMM32, [1, 0, 0], 0);
    emit(&mut c, ADD, [4, 4, 1], 0);
    emit(&mut c, ADDI, [1, 1, 0], 7);
    let target = if patch { top + 2 } else { 0x8000 };
    emit(&mut c, STORE, [1, 0, 0], target);
    emit(&mut c, ADDI, [2, 2, 0], -1);
    emit(&mut c, JNZ, [2, 0, 0], top);
    emit(&mut c, HALT, [0; 3], 0);
    (c, 1 + 6 * iters as u64)
}

/// `blocks` distinct basic blocks in a chain (ADDI, XORI, JMP to the next), then HALT.
pub fn block_chain(blocks: usize) -> Vec<u8> {
    let mut c = Vec::new();
    for k in 0..blocks {
        emit(&mut c, ADDI, [1, 1, 0], k as i32);
        emit(&mut c, XORI, [3, 1, 0], 0x55);
        let next = c.len() as i32 + 5;
        emit(&mut c, JMP, [0; 3], next);
    }
    emit(&mut c, HALT, [0; 3], 0);
    c
}

/// The seed's kernel v1.0 (16 cycles).
pub fn kernel_v1() -> Vec<u8> {
    let source = include_str!("../../kernels/kernel_v1.asm");
    pxvm::asm::assemble(source, "kernel_v1.asm").expect("kernel_v1.asm assembles")
}
