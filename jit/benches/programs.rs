//! Guest programs shared by the benches (included with `#[path]`, not a crate module).

#![allow(dead_code)] // each bench uses some of them

use pxvm::Opcode::*;
use pxvm::testkit::Code;

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
    let mut c = Code::new();
    let body = c.label();
    c.imm(0, iters);
    c.imm(1, 1);
    let top = c.rrr(CMP, 2, 0, 3);
    c.to(JZ, [2, 0, 0], body, 0);
    c.halt();
    c.bind(body);
    c.rrr(SUB, 0, 0, 1);
    c.jmp(top);
    (c.finish(), 2 + 4 * iters as u64 + 2)
}

/// A loop that sums an immediate it rewrites every round (`patch == true`), or the same
/// loop storing the value to a data word instead. Returns the code and the instruction
/// count.
pub fn patch_loop(iters: i32, patch: bool) -> (Vec<u8>, u64) {
    let mut c = Code::new();
    c.imm(2, iters);
    let top = c.imm(1, 0);
    c.rrr(ADD, 4, 4, 1);
    c.rri(ADDI, 1, 1, 7);
    let target = if patch { top + 2 } else { 0x8000 };
    c.ins(STORE, [1, 0, 0], target);
    c.rri(ADDI, 2, 2, -1);
    c.jnz(2, top);
    c.halt();
    (c.finish(), 1 + 6 * iters as u64)
}

/// `blocks` distinct basic blocks in a chain (ADDI, XORI, JMP to the next), then HALT.
pub fn block_chain(blocks: usize) -> Vec<u8> {
    let mut c = Code::new();
    for k in 0..blocks {
        c.rri(ADDI, 1, 1, k as i32);
        c.rri(XORI, 3, 1, 0x55);
        let next = c.here() + 5;
        c.jmp(next);
    }
    c.halt();
    c.finish()
}

/// The seed's kernel v1.0 (16 cycles).
pub fn kernel_v1() -> Vec<u8> {
    let source = include_str!("../../kernels/kernel_v1.asm");
    pxvm::asm::assemble(source, "kernel_v1.asm").expect("kernel_v1.asm assembles")
}
