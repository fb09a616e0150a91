//! Loops whose fuel is checked once per group of iterations (unrolled copies, see the
//! JIT's `lower::amortise`): every budget ends exactly where the interpreter's does —
//! before a group, inside one, at its last instruction, after many groups — with the same
//! exit, pc, cycles, registers, memory and output; stores into the loop's own code, memory
//! faults and syscalls inside such loops stay exact too. Accesses whose base register the
//! loop steps (checked once per group, by the first and last copy's address) stay exact
//! when an address of a group leaves memory from either side or hits the loop's code.

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

/// The sieve's inner loop (`CROSS`): `SLT` + `JZ` out, then a byte store at a base
/// register stepped by another register, `JMP` back. Crosses out multiples of `step` from
/// `2 * step` below `end`, in flags at 0x1000.
fn cross_out(step: i32, end: i32) -> Code {
    let mut c = Code::new();
    c.imm(1, step);
    c.rrr(ADD, 2, 1, 1);
    c.imm(5, end);
    let top = c.rrr(SLT, 4, 2, 5);
    let out = c.jz(4, 0);
    c.imm(3, 7);
    c.rri(STB, 2, 3, 0x1000);
    c.rrr(ADD, 2, 2, 1);
    c.jmp(top);
    let done = c.rri(LDB, 6, 2, 0x1000 - 1);
    c.sys(8);
    c.halt();
    c.patch_i32(out + 2, done);
    c
}

#[test]
fn a_register_stepped_store_at_every_budget() {
    let c = cross_out(3, 100);
    sweep(&c, 300);
    // Past the end of memory in the middle of a group (0x1000 + 0xF000 is the end): the
    // stores there are dropped on every engine.
    let c = cross_out(0x1000, 0x10000 + 0x5000);
    let o = agree(&c.bytes, 100_000);
    assert_eq!(o.exit, Exit::Halt);
    sweep(&c, o.machine.cycles + 10);
    around(&cross_out(7, 30_000), 10_000);
}

/// A loop loading bytes at a base register stepped by `step` from `from`, `n` times,
/// summing them: walks out of memory (or into it) in the middle of a group.
fn load_walk(from: i32, step: i32, n: i32) -> Code {
    let mut c = Code::new();
    c.imm(1, from);
    c.imm(2, n);
    c.imm(3, 0);
    c.imm(7, 0x5A);
    c.ins(STORE, [7, 0, 0], 0xFFFC);
    c.ins(STORE, [7, 0, 0], 0x0400);
    let top = c.rri(LDB, 4, 1, 3);
    c.rrr(ADD, 3, 3, 4);
    c.rri(ADDI, 1, 1, step);
    c.rri(ADDI, 2, 2, -1);
    c.rrr(CMP, 4, 2, 0);
    c.jz(4, top);
    c.sys(8);
    c.halt();
    c
}

#[test]
fn a_stepped_load_leaving_memory_from_either_side_at_every_budget() {
    // Up through the end of memory, and on past it.
    let c = load_walk(0xFFF0, 1, 40);
    let o = agree(&c.bytes, 100_000);
    assert_eq!((o.exit, o.machine.regs[3] != 0), (Exit::Halt, true));
    sweep(&c, o.machine.cycles + 10);
    // Up from below memory (negative addresses) into it.
    let c = load_walk(-20, 1, 40);
    sweep(&c, 400);
    // Down out of memory below 0, by big steps.
    let c = load_walk(0x2400, -0x400, 30);
    sweep(&c, 300);
}

/// A loop storing bytes at a base register stepped down by a register, by 0x1000 from
/// `target + 0x8000`: one store, in the middle of the run, lands on the immediate of the
/// loop's own `ADDI`, then the stores go below memory.
fn store_walk_into_code() -> Code {
    let mut c = Code::new();
    c.imm(2, 0); // the patched ADDI's immediate, set below
    c.imm(1, -0x1000);
    c.imm(6, 16);
    let top = c.rri(STB, 2, 6, 0);
    let patched = c.rri(ADDI, 5, 5, 1);
    c.rrr(ADD, 2, 2, 1);
    c.rri(ADDI, 6, 6, -1);
    c.jnz(6, top);
    c.sys(8);
    c.halt();
    // The first IMM32 (opcode, register, then the immediate at offset 2).
    c.patch_i32(2, patched + 3 + 0x8000);
    c
}

#[test]
fn a_stepped_store_hitting_the_loops_own_code() {
    let c = store_walk_into_code();
    let o = agree(&c.bytes, 100_000);
    assert_eq!(o.exit, Exit::Halt);
    sweep(&c, o.machine.cycles + 10);
    for mut engine in engines() {
        let want = reference(&c.bytes, 100_000);
        let got = run_in_chunks(engine.as_mut(), &c.bytes, 7);
        assert_same(&want, &got, got.engine);
    }
}

/// Many small budgets on one engine (so runs end inside groups again and again on warm,
/// optimised code) equal one big run.
#[test]
fn many_small_budgets_on_one_engine_equal_one_big_one() {
    for code in [
        register_step_countdown(3_000),
        fib_shape(2_000),
        branchy(800),
        cross_out(3, 20_000),
        load_walk(0xFF00, 1, 600),
    ] {
        let want = reference(&code.bytes, 100_000);
        assert_eq!(want.exit, Exit::Halt);
        for mut engine in engines() {
            let got = run_in_chunks(engine.as_mut(), &code.bytes, 61);
            assert_same(&want, &got, got.engine);
        }
    }
}
