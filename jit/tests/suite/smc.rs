//! Self-modifying code: stores, CALL pushes and syscalls that rewrite translated code must
//! invalidate it before it runs again — the running block included — and a loop that keeps
//! patching its own immediates must end up running compiled code without invalidating.

use super::*;
use pxvm::Opcode::*;
use pxvm::{Engine, Exit, Machine};
use pxvm_jit::JitEngine;

/// `IMM32 R1, x` at `at`, then a loop that adds 7 to the immediate of that very
/// instruction (in the same block) `rounds` times, summing R1 into R4.
fn self_patching_loop(rounds: i32) -> Code {
    let mut c = Code::new();
    c.imm(2, rounds);
    let top = c.here();
    let patch = c.imm(1, 0); // immediate at patch + 2
    c.rrr(ADD, 4, 4, 1);
    c.rri(ADDI, 1, 1, 7);
    c.ins(STORE, [1, 0, 0], patch + 2);
    c.rri(ADDI, 2, 2, -1);
    c.jnz(2, top);
    c.sys(8);
    c.halt();
    c
}

#[test]
fn patching_the_running_block_takes_effect_at_once() {
    let c = self_patching_loop(50);
    let o = agree(&c.bytes, 10_000);
    assert_eq!(o.exit, Exit::Halt);
    // R4 = 0 + 7 + 14 + ... + 7 * 49
    assert_eq!(o.machine.regs[4], 7 * 49 * 50 / 2);
}

#[test]
fn self_patching_loop_at_every_fuel() {
    let c = self_patching_loop(6);
    for fuel in 0..80 {
        agree(&c.bytes, fuel);
    }
}

#[test]
fn a_patched_loop_settles_into_live_immediates() {
    let c = self_patching_loop(10_000);
    let mut engine = JitEngine::jit();
    let want = reference(&c.bytes, 1_000_000);
    let got = recorded(&mut engine, &c.bytes, 1_000_000);
    assert_same(&want, &got, "jit");
    let stats = engine.stats();
    assert!(
        stats.invalidations <= 8,
        "the loop kept invalidating: {stats:?}"
    );
    assert!(stats.compiles <= 12, "{stats:?}");
}

#[test]
fn patching_the_next_instruction() {
    // The STORE turns the following NOPs into IMM8 R0, 42, inside one block.
    let mut c = Code::new();
    c.imm(1, i32::from_le_bytes([0x10, 0x00, 42, 0x00]));
    let store = c.here();
    c.ins(STORE, [1, 0, 0], store + 6);
    c.bytes.extend_from_slice(&[0x01, 0x01, 0x01, 0x01]);
    c.sys(8);
    c.halt();
    let o = agree(&c.bytes, 100);
    assert_eq!(o.machine.regs[0], 42);
    for fuel in 0..8 {
        agree(&c.bytes, fuel);
    }
}

#[test]
fn patching_opcodes_every_iteration_falls_back_to_the_interpreter() {
    // Each round flips the instruction at `flip` between ADDI R5,R5,1 and ADDI R6,R6,1
    // (the register byte changes), so the block keeps being invalidated.
    let mut c = Code::new();
    c.imm(2, 300);
    let top = c.here();
    let flip = c.rri(ADDI, 5, 5, 1);
    c.ins(LDB, [3, 0, 0], flip + 1); // R3 = register byte (R0 = 0 as base)
    c.imm(7, 11);
    c.rrr(XOR, 3, 3, 7); // 5 <-> 6 ... 5^11=14? keep it simple: toggle between 5 and 14
    c.ins(STB, [0, 3, 0], flip + 1);
    c.rri(ADDI, 2, 2, -1);
    c.jnz(2, top);
    c.halt();
    let mut engine = JitEngine::jit();
    let want = reference(&c.bytes, 100_000);
    let got = recorded(&mut engine, &c.bytes, 100_000);
    assert_same(&want, &got, "jit");
    assert!(engine.stats().invalidations < 100, "{:?}", engine.stats());
    for fuel in [0, 1, 5, 17, 33, 100, 1000] {
        agree(&c.bytes, fuel);
    }
}

#[test]
fn a_syscall_that_copies_into_code_invalidates_it() {
    // A loop runs once with IMM32 R5, 1, then syscall 7 copies `IMM32 R5, 99` over it.
    let mut c = Code::new();
    c.imm(6, 2);
    let top = c.here();
    let target = c.imm(5, 1);
    c.rrr(ADD, 4, 4, 5);
    c.imm(1, 0); // source address, filled below
    let src_fix = c.here() - 4;
    c.imm(2, target);
    c.imm(3, 6);
    c.sys(7);
    c.rri(ADDI, 6, 6, -1);
    c.jnz(6, top);
    c.sys(8);
    c.halt();
    let src = c.here();
    c.imm(5, 99);
    c.patch_i32(src_fix, src);
    let o = agree(&c.bytes, 1000);
    assert_eq!(o.machine.regs[4], 1 + 99);
}

#[test]
fn call_pushes_over_code_invalidate_it() {
    // The stack pointer points into the code: CALL's push overwrites the callee's first
    // bytes with the return address.
    let mut c = Code::new();
    c.imm(7, 0); // filled below: stack top = callee + 4
    let sp_fix = c.here() - 4;
    c.imm(2, 3);
    let top = c.here();
    let call = c.ins(CALL, [0; 3], 0);
    c.rri(ADDI, 2, 2, -1);
    c.jnz(2, top);
    c.sys(8);
    c.halt();
    let callee = c.here();
    c.bytes.extend_from_slice(&[0x01; 8]); // NOPs, the first 4 get overwritten
    c.ins(RET, [0; 3], 0);
    c.patch_i32(sp_fix, callee + 4 + 4);
    c.patch_i32(call + 1, callee);
    for fuel in [3, 10, 25, 60, 500] {
        agree(&c.bytes, fuel);
    }
}

#[test]
fn memory_changed_between_runs_is_noticed() {
    let mut c = Code::new();
    let top = c.here();
    c.rri(ADDI, 1, 1, 1);
    c.jmp(top);
    let mut engine = JitEngine::jit();
    let mut host = Recorder::default();
    let mut m = Machine::new(&c.bytes).unwrap();
    assert_eq!(engine.run(&mut m, &mut host, 1000), Exit::Fuel);
    assert_eq!(m.regs[1], 500);
    // Rewrite the ADDI's immediate from outside a run: +1 becomes +3.
    m.mem[3..7].copy_from_slice(&3i32.to_le_bytes());
    let mut reference = m.clone();
    assert_eq!(engine.run(&mut m, &mut host, 1000), Exit::Fuel);
    pxvm::interp::run_reference(&mut reference, &mut Recorder::default(), 1000);
    assert_eq!(m, reference);
    assert_eq!(m.regs[1], 500 + 3 * 500);
}

/// A region compiled while some page held no code may store there without looking at
/// the code map (its store window). When code on that page is compiled later, the older
/// region must not keep storing blindly: here it patches the immediate of a subroutine
/// that only became code after it was compiled, once per round, and the subroutine must
/// see every new value.
#[test]
fn code_compiled_into_a_store_window_is_seen_by_older_regions() {
    const SUB: i32 = 0x2000;
    let mut c = Code::new();
    c.imm(1, SUB);
    let again_fix = c.imm(7, 0); // R7 = AGAIN, patched below
    c.imm(5, 4);
    let again = c.here();
    let to_done = c.jz(5, 0);
    c.rri(ADDI, 5, 5, -1);
    c.rri(ADDI, 4, 6, 10);
    c.rri(STW, 1, 4, 2); // rewrite the immediate of `IMM32 R0, _` at SUB
    c.ins(JR, [1, 0, 0], 0);
    // Never reached (SUB is inside memory), but it makes AGAIN a join, so a block with
    // an entry of its own that the subroutine's `JR R7` comes back to.
    c.jmp(again);
    let done = c.sys(8);
    c.halt();
    c.patch_i32(again_fix + 2, again);
    c.patch_i32(to_done + 2, done);
    c.bytes.resize(SUB as usize, 0);
    c.imm(0, 1);
    c.rrr(ADD, 6, 6, 0);
    c.ins(JR, [7, 0, 0], 0);
    let o = agree(&c.bytes, 10_000);
    assert_eq!(o.exit, Exit::Halt);
    // R6: 10, then 10 + 20, then 30 + 40, then 70 + 80.
    assert_eq!(o.machine.regs[6], 150);
    let mut jit = JitEngine::jit();
    recorded(&mut jit, &c.bytes, 10_000);
    assert!(jit.stats().invalidations >= 1, "{:?}", jit.stats());
}
