//! Exact fuel: for loops of several shapes and for recursion (CALL/RET with the stack in
//! guest memory), every budget from 0 up to past the end gives the interpreter's exit, pc,
//! cycles, registers, memory and output — including budgets that end in the middle of a
//! block or inside a call or return, and runs split into many small budgets on one engine.

use super::*;
use pxvm::Opcode::*;
use pxvm::{Exit, Machine};
use pxvm_jit::JitEngine;

/// CMP / JNZ / SUB / JMP countdown.
fn countdown(n: i32) -> Code {
    let mut c = Code::new();
    c.imm(0, n);
    c.imm(1, 1);
    let top = c.rrr(CMP, 2, 0, 3);
    let exit = c.jnz(2, 0);
    c.rrr(SUB, 0, 0, 1);
    c.jmp(top);
    let end = c.sys(8);
    c.halt();
    c.patch_i32(exit + 2, end);
    c
}

/// Nested loops writing a table with STW and reading it back with LDW.
fn nested_with_memory() -> Code {
    let mut c = Code::new();
    c.imm(1, 4); // outer
    let outer = c.imm(2, 3); // inner
    let inner = c.rrr(MUL, 3, 1, 2);
    c.rri(SHLI, 4, 2, 2);
    c.rri(ADDI, 4, 4, 0x2000);
    c.rri(STW, 4, 3, 0);
    c.rri(LDW, 5, 4, 0);
    c.rrr(ADD, 6, 6, 5);
    c.rri(ADDI, 2, 2, -1);
    c.jnz(2, inner);
    c.rri(ADDI, 1, 1, -1);
    c.jnz(1, outer);
    c.sys(8);
    c.halt();
    c
}

/// A loop that CALLs a function which RETs, with a SYSCALL inside the loop.
fn call_loop() -> Code {
    let mut c = Code::new();
    c.imm(7, 0x8000);
    c.imm(2, 5);
    let top = c.here();
    let call = c.ins(CALL, [0; 3], 0);
    c.sys(3);
    c.rri(ADDI, 2, 2, -1);
    c.jnz(2, top);
    c.halt();
    let f = c.rri(ADDI, 3, 3, 10);
    c.rrr(DIV, 4, 3, 2);
    c.ins(RET, [0; 3], 0);
    c.patch_i32(call + 1, f);
    c
}

/// fib_rec's shape (`kernels/bench/fib_rec.asm`): R0 = fib(`n`) by recursion, each frame
/// on the guest stack below `sp` (R7): CALL pushes the return address, RET pops it.
fn recursive_fib(n: i32, sp: i32) -> Code {
    let mut c = Code::new();
    let (fib, rec) = (c.label(), c.label());
    c.imm(7, sp);
    c.imm(1, n);
    c.to(CALL, [0; 3], fib, 0);
    c.halt();
    c.bind(fib);
    c.rri(SLTI, 2, 1, 2);
    c.to(JZ, [2, 0, 0], rec, 0);
    c.ins(MOV, [0, 1, 0], 0);
    c.ins(RET, [0; 3], 0);
    c.bind(rec);
    c.rri(ADDI, 7, 7, -8);
    c.rri(STW, 7, 1, 0);
    c.rri(ADDI, 1, 1, -1);
    c.to(CALL, [0; 3], fib, 0);
    c.rri(STW, 7, 0, 4);
    c.rri(ADDI, 1, 1, -1);
    c.to(CALL, [0; 3], fib, 0);
    c.rri(LDW, 2, 7, 4);
    c.rrr(ADD, 0, 0, 2);
    c.rri(LDW, 1, 7, 0);
    c.rri(ADDI, 7, 7, 8);
    c.ins(RET, [0; 3], 0);
    c
}

fn sweep(c: &Code, upto: u64) {
    let end = reference(&c.bytes, 1_000_000);
    assert_eq!(end.exit, Exit::Halt, "the program must halt");
    assert!(end.machine.cycles < upto, "sweep must reach the end");
    for fuel in 0..upto {
        agree(&c.bytes, fuel);
    }
}

#[test]
fn countdown_at_every_budget() {
    sweep(&countdown(12), 60);
}

#[test]
fn nested_loops_with_memory_at_every_budget() {
    sweep(&nested_with_memory(), 130);
}

#[test]
fn calls_and_syscalls_at_every_budget() {
    sweep(&call_loop(), 40);
}

#[test]
fn many_small_budgets_on_one_engine_equal_one_big_one() {
    for code in [countdown(200), nested_with_memory(), call_loop()] {
        let want = reference(&code.bytes, 10_000);
        for mut engine in engines() {
            let name = engine.name();
            let mut m = Machine::new(&code.bytes).unwrap();
            let mut host = Recorder::default();
            let mut exit = Exit::Fuel;
            let mut spent = 0;
            let mut chunk = 0;
            while exit == Exit::Fuel && spent < 10_000 {
                chunk = chunk % 7 + 1;
                let fuel = chunk.min(10_000 - spent);
                let before = m.cycles;
                exit = engine.run(&mut m, &mut host, fuel);
                spent += fuel;
                if exit == Exit::Fuel {
                    assert_eq!(m.cycles - before, fuel, "{name}: a fuel exit uses all fuel");
                }
            }
            let got = Run {
                engine: name,
                exit,
                machine: m,
                host,
            };
            assert_same(&want, &got, name);
        }
    }
}

#[test]
fn the_jit_really_compiles_and_tiered_does_not_for_short_runs() {
    let code = countdown(1000);
    let mut jit = JitEngine::jit();
    recorded(&mut jit, &code.bytes, 1_000_000);
    assert!(jit.stats().compiles >= 1);
    assert!(jit.stats().entries <= 3, "{:?}", jit.stats());

    let mut tiered = JitEngine::tiered();
    let o = recorded(&mut tiered, &countdown(5).bytes, 1_000_000);
    assert_eq!(o.exit, Exit::Halt);
    assert_eq!(tiered.stats().compiles, 0);
    recorded(&mut tiered, &countdown(100_000).bytes, 10_000_000);
    assert!(tiered.stats().compiles >= 1, "a long loop gets compiled");
}

/// A loop whose second block is paid for by the first (folded) but is also the target of
/// a JR, so it is entered both ways: fuel must be exact on every path.
fn folded_block_with_a_second_entry() -> Code {
    let mut c = Code::new();
    c.imm(5, 0); // address of B, patched
    let b_fix = c.here() - 4;
    c.imm(2, 9);
    let a = c.rri(ADDI, 2, 2, -1);
    let to_end = c.jz(2, 0);
    let b = c.rri(ADDI, 1, 1, 1);
    c.rri(ANDI, 3, 2, 1);
    let to_jr = c.jnz(3, 0);
    c.jmp(a);
    let jr = c.rri(ADDI, 2, 2, -1);
    let jr_to_end = c.jz(2, 0);
    c.ins(JR, [5, 0, 0], 0);
    let end = c.sys(8);
    c.halt();
    c.patch_i32(b_fix, b);
    c.patch_i32(to_end + 2, end);
    c.patch_i32(jr_to_end + 2, end);
    c.patch_i32(to_jr + 2, jr);
    c
}

#[test]
fn folded_blocks_entered_from_outside_at_every_budget() {
    let code = folded_block_with_a_second_entry();
    sweep(&code, 80);
    // A folded block has no entry of its own in its region (its predecessor's pending
    // comparisons flow into it), so the JR into it compiles a second region rooted there,
    // once: running again compiles nothing more.
    let mut jit = JitEngine::jit();
    let o = recorded(&mut jit, &code.bytes, 1000);
    assert_eq!(o.exit, Exit::Halt);
    assert_eq!(jit.stats().compiles, 2, "{:?}", jit.stats());
    recorded(&mut jit, &code.bytes, 1000);
    assert_eq!(jit.stats().compiles, 2, "{:?}", jit.stats());
}

/// Calls whose return sites lie inside the region (RET takes the return-site fast path),
/// including a callee that rewrites its return address to the other call's return site
/// and one that returns to a pc that is no return site at all.
fn calls_returning_into_the_region() -> Code {
    let mut c = Code::new();
    c.imm(7, 0x8000);
    c.imm(2, 4);
    let top = c.here();
    let call_g = c.ins(CALL, [0; 3], 0);
    c.rri(ADDI, 1, 1, 1); // return site of `call_g`: skipped, g returns to `site2`
    let call_f = c.ins(CALL, [0; 3], 0);
    let site2 = c.rri(ADDI, 1, 1, 2);
    let call_h = c.ins(CALL, [0; 3], 0);
    c.rri(ADDI, 2, 2, -1);
    c.jnz(2, top);
    let after = c.rri(ADDI, 5, 5, 3); // where h returns when odd: no return site
    c.rri(ADDI, 2, 2, -1);
    c.rri(SLTI, 4, 2, 1);
    c.jz(4, top);
    c.halt();
    let f = c.rri(ADDI, 3, 3, 10);
    c.ins(RET, [0; 3], 0);
    let g = c.imm(6, site2);
    c.rri(STW, 7, 6, 0);
    c.rrr(SLT, 4, 3, 6); // a pending comparison live across the RET
    c.ins(RET, [0; 3], 0);
    let h = c.imm(6, after);
    c.rri(ANDI, 0, 2, 1);
    c.jz(0, f); // even counts: a plain return through f
    c.rri(STW, 7, 6, 0);
    c.ins(RET, [0; 3], 0);
    c.patch_i32(call_g + 1, g);
    c.patch_i32(call_f + 1, f);
    c.patch_i32(call_h + 1, h);
    c
}

#[test]
fn returns_into_the_region_at_every_budget() {
    let code = calls_returning_into_the_region();
    sweep(&code, 160);
}

/// Recursion: budgets ending inside a call, inside a return, between the two calls of a
/// frame, at every depth.
#[test]
fn recursion_at_every_budget() {
    let code = recursive_fib(6, 0x10000);
    assert_eq!(reference(&code.bytes, 1_000).machine.regs[0], 8, "fib(6)");
    sweep(&code, 250);
}

/// Deeper recursion run in many small budgets on one engine: every fuel exit lands inside
/// some call or return, and the run resumes there.
#[test]
fn recursion_in_small_budgets() {
    let code = recursive_fib(14, 0x10000);
    let end = reference(&code.bytes, 1_000_000);
    assert_eq!(end.machine.regs[0], 377, "fib(14)");
    for mut engine in engines() {
        let run = run_in_chunks(engine.as_mut(), &code.bytes, 13);
        assert_eq!(run.machine.regs, end.machine.regs, "{}", engine.name());
        assert_eq!(run.machine.cycles, end.machine.cycles, "{}", engine.name());
    }
}

/// A stack that runs into the code and off the bottom of memory: frames pushed over the
/// translated code (self-modifying code), then a push or frame store below address 0
/// (a fault); and one whose first push does not fit below the top of memory.
#[test]
fn recursion_off_the_bottom_and_the_top_of_memory() {
    for sp in [0x400, 0x70, 0x5c, 9, 6, 2, 0x10002, 0x10001] {
        let code = recursive_fib(25, sp);
        for fuel in [5, 40, 300, 3_000, 100_000] {
            agree(&code.bytes, fuel);
        }
    }
}
