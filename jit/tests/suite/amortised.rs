//! Loops whose fuel is checked once per group of iterations (unrolled copies, see the
//! JIT's `lower::amortise`): every budget ends exactly where the interpreter's does —
//! before a group, inside one, at its last instruction, after many groups — with the same
//! exit, pc, cycles, registers, memory and output; stores into the loop's own code, memory
//! faults and syscalls inside such loops stay exact too.

use super::*;
use pxvm::Exit;
use pxvm::Opcode::*;

/// Every budget from 0 to `upto`, which must be past the end of the run.
fn sweep(c: &Code, upto: u64) {
    let end = reference(&c.bytes, 10_000_000);
    assert!(
        end.machine.cycles < upto,
        "the sweep must reach the end ({} cycles)",
        end.machine.cycles
    );
    for fuel in 0..upto {
        agree(&c.bytes, fuel);
    }
}

/// Every budget within 40 of `mid` (after many groups), and ending the run at `mid`.
fn around(c: &Code, mid: u64) {
    for fuel in mid - 40..mid + 40 {
        agree(&c.bytes, fuel);
    }
}

/// The countdown with its step in a register and a CMP + JZ exit:
/// `SUB R1, R1, R2; CMP R4, R1, R3; JZ R4, LOOP`.
fn register_step_countdown(n: i32) -> Code {
    let mut c = Code::new();
    c.imm(1, n);
    c.imm(2, 1);
    c.imm(3, 0);
    let top = c.rrr(SUB, 1, 1, 2);
    c.rrr(CMP, 4, 1, 3);
    c.jz(4, top);
    c.sys(8);
    c.halt();
    c
}

#[test]
fn register_step_countdown_at_every_budget() {
    let c = register_step_countdown(60);
    sweep(&c, 200);
    let o = agree(&c.bytes, 1_000);
    assert_eq!((o.exit, o.machine.regs[1]), (Exit::Halt, 0));
    // Many groups, then a budget ending at every instruction of a few more.
    around(&register_step_countdown(5_000), 10_000);
}

/// fib_iter's shape: a header that tests and leaves (`SLT` + `JZ`, its flag read after
/// the loop), a body folded into it that jumps back. The block after the loop is folded
/// into the header too, so the copies leave into the ordinary code there.
fn fib_shape(n: i32) -> Code {
    let mut c = Code::new();
    c.imm(0, 0);
    c.imm(2, 1);
    c.imm(1, n);
    c.imm(5, 0);
    let top = c.rrr(SLT, 4, 5, 1);
    let exit = c.jz(4, 0);
    c.rrr(ADD, 3, 0, 2);
    c.rrr(MOV, 0, 2, 0);
    c.rrr(MOV, 2, 3, 0);
    c.rri(ADDI, 1, 1, -1);
    c.jmp(top);
    let done = c.rrr(ADD, 6, 4, 4); // reads the loop's flag
    c.sys(8);
    c.halt();
    c.patch_i32(exit + 2, done);
    c
}

#[test]
fn a_multi_block_loop_at_every_budget() {
    let c = fib_shape(40);
    sweep(&c, 300);
    let o = agree(&c.bytes, 10_000);
    assert_eq!(o.exit, Exit::Halt);
    assert_eq!(o.machine.regs[2], 165_580_141, "fib(41)");
    around(&fib_shape(3_000), 9_000);
}

/// An if/else inside the loop and a join after it: two roots per iteration, paths of
/// different lengths, a store and a load every iteration.
fn branchy(n: i32) -> Code {
    let mut c = Code::new();
    c.imm(1, n);
    c.imm(0, 0);
    let top = c.rri(ANDI, 3, 1, 1);
    let to_even = c.jz(3, 0);
    c.rri(ADDI, 5, 5, 3); // odd
    c.rri(XORI, 6, 6, 0x55);
    let to_join = c.jmp(0);
    let even = c.rrr(ADD, 5, 5, 1); // even, falls through to the join
    let join = c.rri(SHLI, 2, 1, 2);
    c.rri(STW, 2, 5, 0x3000);
    c.rri(LDW, 7, 2, 0x3000);
    c.rri(ADDI, 1, 1, -1);
    c.rrr(CMP, 4, 1, 0);
    c.jz(4, top);
    c.sys(8);
    c.halt();
    c.patch_i32(to_even + 2, even);
    c.patch_i32(to_join + 1, join);
    c
}

#[test]
fn a_loop_with_two_paths_and_a_join_at_every_budget() {
    let c = branchy(25);
    sweep(&c, 400);
    around(&branchy(1_000), 5_001);
}

/// A loop walking a word pointer up through the end of memory (a word straddling the
/// end, then words past it): stores there are ignored and loads read 0 on every engine,
/// whichever copy of the loop makes them.
fn walk_off_the_end() -> Code {
    let mut c = Code::new();
    c.imm(1, 0xF0FE);
    c.imm(5, 0xF0FE + 0x100 * 20);
    c.imm(3, 0);
    let top = c.rri(STW, 1, 1, 0);
    c.rri(LDW, 2, 1, 0);
    c.rrr(ADD, 3, 3, 2);
    c.rri(ADDI, 1, 1, 0x100);
    c.rrr(CMP, 4, 1, 5);
    c.jz(4, top);
    c.sys(8);
    c.halt();
    c
}

#[test]
fn a_loop_walking_off_the_end_of_memory_at_every_budget() {
    let c = walk_off_the_end();
    let o = agree(&c.bytes, 100_000);
    assert_eq!(o.exit, Exit::Halt);
    assert_eq!(o.machine.cycles, 3 + 20 * 6 + 1);
    sweep(&c, o.machine.cycles + 10);
}

/// A loop that, once every four iterations, stores its counter into the immediate of an
/// `ADDI` of its own body, so its code changes once per group of copies.
fn patches_itself(n: i32) -> Code {
    let mut c = Code::new();
    c.imm(1, n);
    let top = c.rri(ANDI, 3, 1, 3);
    let skip = c.jnz(3, 0);
    // STORE is 6 bytes; the ADDI after it has its immediate at offset 3.
    let store_at = c.here();
    c.ins(STORE, [1, 0, 0], store_at + 6 + 3);
    let patched = c.rri(ADDI, 5, 5, 1);
    assert_eq!(patched, store_at + 6);
    c.rri(ADDI, 1, 1, -1);
    c.jnz(1, top);
    c.sys(8);
    c.halt();
    c.patch_i32(skip + 2, patched);
    c
}

#[test]
fn a_loop_patching_its_own_code_once_per_group() {
    let c = patches_itself(30);
    sweep(&c, 250);
    let o = agree(&c.bytes, 1_000_000);
    assert_eq!(o.exit, Exit::Halt);
    let c = patches_itself(4_000);
    let o = agree(&c.bytes, 1_000_000);
    assert_eq!(o.exit, Exit::Halt);
    around(&c, o.machine.cycles / 2);
}

/// A loop with a SYSCALL in its body: never amortised, still exact.
fn syscall_in_the_loop(n: i32) -> Code {
    let mut c = Code::new();
    c.imm(1, n);
    c.imm(2, 1);
    c.imm(3, 0);
    let top = c.rrr(SUB, 1, 1, 2);
    c.sys(3);
    c.rrr(CMP, 4, 1, 3);
    c.jz(4, top);
    c.halt();
    c
}

#[test]
fn a_loop_with_a_syscall_at_every_budget() {
    sweep(&syscall_in_the_loop(40), 200);
}

/// Many small budgets on one engine (so runs end inside groups again and again on warm,
/// optimised code) equal one big run.
#[test]
fn many_small_budgets_on_one_engine_equal_one_big_one() {
    for code in [
        register_step_countdown(3_000),
        fib_shape(2_000),
        branchy(800),
    ] {
        let want = reference(&code.bytes, 100_000);
        assert_eq!(want.exit, Exit::Halt);
        for mut engine in engines() {
            let got = run_in_chunks(engine.as_mut(), &code.bytes, 61);
            assert_same(&want, &got, got.engine);
        }
    }
}
