//! Hostile guests: code that writes fresh code and jumps to it every round (so every
//! round would need a new translation), and code that rewrites its own opcodes forever.
//! The engines must stay exact, bound the compile work of a run, and keep their cache
//! bounded.

use super::*;
use pxvm::Opcode::*;
use pxvm_jit::JitEngine;

/// Each round writes a stub of seven NOPs and `JR R6` (9 bytes, 8 instructions) at a
/// new address and jumps there; the stub jumps back.
fn sprayer(rounds: i32) -> Code {
    let mut c = Code::new();
    c.imm(2, rounds);
    c.imm(4, 0x1000); // where the next stub goes
    c.imm(5, i32::from_le_bytes([0x01, 0x01, 0x01, 0x01]));
    c.imm(3, i32::from_le_bytes([0x01, 0x01, 0x01, 0x44]));
    c.imm(7, 0x06);
    let top = c.rri(STW, 4, 5, 0);
    c.rri(STW, 4, 3, 4);
    c.rri(STB, 4, 7, 8);
    c.imm(6, 0); // return address, patched below
    let back_fix = c.here() - 4;
    c.ins(JR, [4, 0, 0], 0);
    let back = c.rri(ADDI, 4, 4, 9);
    c.rri(ADDI, 1, 1, 1);
    c.rri(ADDI, 2, 2, -1);
    c.jnz(2, top);
    c.sys(8);
    c.halt();
    c.patch_i32(back_fix, back);
    c
}

#[test]
fn code_sprayed_every_round_stays_exact_and_bounded() {
    // 6,500 rounds would need 52,000 compiled instructions, more than the allowance.
    let code = sprayer(6_500);
    let want = reference(&code.bytes, 10_000_000);
    assert_eq!(want.machine.regs[1], 6_500);
    let mut jit = JitEngine::jit();
    let got = recorded(&mut jit, &code.bytes, 10_000_000);
    assert_same(&want, &got, "jit");
    let stats = jit.stats();
    let retired = want.machine.cycles;
    assert!(
        stats.compiled_insns <= 16_384 + retired / 512 + 100,
        "compile work must be bounded by the work done: {stats:?}, {retired} retired"
    );
    for fuel in [0, 1, 10, 100, 1000, 5000] {
        agree(&code.bytes, fuel);
    }
}

#[test]
fn opcodes_rewritten_forever_end_up_interpreted() {
    // The loop toggles the opcode byte at `flip` between ADD (0x30) and SUB (0x31).
    let mut c = Code::new();
    c.imm(2, 5000);
    c.imm(3, 1);
    let top = c.here();
    let flip = c.rrr(ADD, 1, 1, 3);
    c.ins(LDB, [5, 0, 0], flip);
    c.rri(XORI, 5, 5, 1);
    c.ins(STB, [0, 5, 0], flip);
    c.rri(ADDI, 2, 2, -1);
    c.jnz(2, top);
    c.sys(8);
    c.halt();
    let want = reference(&c.bytes, 1_000_000);
    let mut jit = JitEngine::jit();
    let got = recorded(&mut jit, &c.bytes, 1_000_000);
    assert_same(&want, &got, "jit");
    let stats = jit.stats();
    assert!(stats.compiles < 60, "{stats:?}");
}
