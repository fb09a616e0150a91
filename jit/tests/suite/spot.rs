//! Stores into a region's spot (`StoreWindow::spot`): the bytes its absolute STOREs hit as
//! compiled, stored to with no check while no translation depends on them. Checked at the
//! edges against the reference: a loop patching its own live immediate (the kernel
//! `self_patch_loop`'s shape), a spot that later code comes to depend on (the region
//! storing there must go, and its next translation must check), and a STORE whose live
//! address is patched away from its spot onto translated code.

use super::*;
use pxvm::Opcode::*;
use pxvm::testkit::Run;
use pxvm_jit::JitEngine;

/// Agree at `fuel` and at every `step`-th budget up to the end of the run.
fn sweep(c: &Code, step: usize) -> Run<Recorder> {
    let o = agree(&c.bytes, 1_000_000);
    assert_eq!(o.exit, pxvm::Exit::Halt);
    for fuel in (0..=o.machine.cycles + 1).step_by(step) {
        agree(&c.bytes, fuel);
    }
    o
}

/// `self_patch_loop`: STORE the counter into the next ADDI's immediate, which adds it.
fn patch_next(n: i32) -> Code {
    let mut c = Code::new();
    c.imm(6, n);
    let top = c.here();
    let store = c.ins(STORE, [6, 0, 0], 0);
    let addi = c.rri(ADDI, 0, 0, 0);
    c.rri(ADDI, 6, 6, -1);
    c.jnz(6, top);
    c.halt();
    c.patch_i32(store + 1, addi + 3);
    c
}

#[test]
fn a_loop_storing_into_its_own_live_immediate() {
    let o = sweep(&patch_next(40), 1);
    assert_eq!(o.machine.regs[0], 40 * 41 / 2);
    let long = patch_next(20_000);
    let mut engine = JitEngine::jit();
    let want = reference(&long.bytes, 1_000_000);
    let got = recorded(&mut engine, &long.bytes, 1_000_000);
    assert_same(&want, &got, "jit");
    assert!(engine.stats().invalidations < 20, "{:?}", engine.stats());
}

/// Outer loop (R7 rounds) of two inner loops: A stores its counter at X, the immediate
/// of B's `IMM32 R2` — no translation depends on X while only A is hot, so X is A's spot;
/// then B runs X's instruction, so B's translation depends on X (A must go, and the next
/// A must check its store, which now rewrites B).
fn spot_becomes_code(rounds: i32) -> Code {
    let mut c = Code::new();
    c.imm(7, rounds);
    let outer = c.here();
    c.imm(6, 30);
    let a = c.here();
    let store = c.ins(STORE, [6, 0, 0], 0);
    c.rri(ADDI, 6, 6, -1);
    c.jnz(6, a);
    c.imm(5, 30);
    let b = c.here();
    let x = c.imm(2, 0) + 2;
    c.rrr(ADD, 4, 4, 2);
    c.rri(ADDI, 5, 5, -1);
    c.jnz(5, b);
    c.rri(ADDI, 7, 7, -1);
    c.jnz(7, outer);
    c.halt();
    c.patch_i32(store + 1, x);
    c
}

#[test]
fn a_spot_that_becomes_code_is_checked_again() {
    // Every round, B adds A's last value (1) thirty times.
    let o = sweep(&spot_becomes_code(6), 3);
    assert_eq!(o.machine.regs[4], 6 * 30);
    agree(&spot_becomes_code(200).bytes, 1_000_000);
}

/// A loop like `patch_next` whose STORE is redirected (its own live address patched, at
/// R6 = 10) from the ADDI's immediate to the immediate of an `IMM32 R2` later in the loop,
/// which the translation depends on (until it, too, is patched often enough).
fn store_moves_onto_code(n: i32) -> Code {
    let mut c = Code::new();
    let set = c.imm(1, 0); // R1: the new address, patched in below
    c.imm(6, n);
    let top = c.here();
    let store = c.ins(STORE, [6, 0, 0], 0);
    let addi = c.rri(ADDI, 0, 0, 0);
    c.rri(ADDI, 6, 6, -1);
    c.rri(ADDI, 3, 6, -10);
    let skip = c.jnz(3, 0);
    c.ins(STORE, [1, 0, 0], store + 1); // STORE's address is at offset 1
    let after = c.imm(2, 0);
    c.rrr(ADD, 4, 4, 2);
    c.jnz(6, top);
    c.halt();
    c.patch_i32(set + 2, after + 2);
    c.patch_i32(store + 1, addi + 3);
    c.patch_i32(skip + 2, after);
    c
}

#[test]
fn a_store_whose_live_address_leaves_its_spot() {
    let o = sweep(&store_moves_onto_code(40), 2);
    // The redirect runs once R6 is 10; from the next iteration on the STORE writes R6
    // (10, 9, ..., 1) into `IMM32 R2` before it runs, so R4 = 10 + 9 + ... + 1.
    assert_eq!(o.machine.regs[4], 55);
    agree(&store_moves_onto_code(3_000).bytes, 1_000_000);
}
