//! SYSCALL from compiled code: the host is called directly, compiled code goes on after
//! it, and every edge of that fast path agrees with the reference — budgets ending at or
//! just after a syscall inside a compiled loop, syscalls that write over compiled code
//! (the running block included) and then run the new code, and a host that panics.

use super::*;
use pxvm::Opcode::*;
use pxvm::testkit::{SYS_COPY, SYS_POKE};
use pxvm::{Exit, Host, Machine, SyscallCtx, VmEvent};
use pxvm_jit::JitEngine;

/// `n` iterations of: `IMM32 R1, i`, `SYSCALL 8` (R0 = 8), `ADD R5, R5, R0`, count down.
fn syscall_loop(n: i32) -> Code {
    let mut c = Code::new();
    c.imm(6, n);
    let top = c.here();
    c.rri(ADDI, 1, 6, 100);
    c.sys(8);
    c.rrr(ADD, 5, 5, 0);
    c.rri(ADDI, 6, 6, -1);
    c.jnz(6, top);
    c.sys(9);
    c.halt();
    c
}

#[test]
fn a_syscall_loop_stays_in_compiled_code() {
    let c = syscall_loop(10_000);
    let mut engine = JitEngine::jit();
    let want = reference(&c.bytes, 1_000_000);
    let got = recorded(&mut engine, &c.bytes, 1_000_000);
    assert_same(&want, &got, "jit");
    assert_eq!(got.exit, Exit::Halt);
    assert_eq!(got.machine.regs[5], 8 * 10_000);
    // One entry per iteration would be 10,000; the loop never leaves compiled code (the
    // few entries are the start, the optimised recompile and the final SYSCALL 9).
    let stats = engine.stats();
    assert!(stats.entries < 10, "{stats:?}");
}

#[test]
fn budgets_ending_at_and_after_a_syscall_in_a_compiled_loop() {
    let c = syscall_loop(12);
    let end = reference(&c.bytes, 1_000_000);
    assert_eq!(end.exit, Exit::Halt);
    for fuel in 0..=end.machine.cycles + 1 {
        agree(&c.bytes, fuel);
    }
}

#[test]
fn one_engine_stopping_around_every_syscall_equals_one_long_run() {
    // Budgets of 1..=11 instructions, so that runs end at, just before and just after the
    // SYSCALL of an already compiled loop, on one engine whose cache stays warm.
    let c = syscall_loop(300);
    let want = reference(&c.bytes, 100_000);
    for mut engine in engines() {
        let got = run_in_chunks(engine.as_mut(), &c.bytes, 11);
        assert_same(&want, &got, got.engine);
    }
}

/// A loop that pokes `[R3, NOP, NOP]` over the three NOPs right after its SYSCALL: NOP
/// while R6 > 3, then HALT — the instruction after the call, in the running block's
/// fall-through, must be the new one at once.
fn poke_next(n: i32) -> Code {
    let mut c = Code::new();
    c.imm(6, n);
    c.imm(7, 3);
    let top = c.here();
    c.rrr(CMP, 3, 6, 7);
    c.rri(XORI, 3, 3, 1); // 0 (HALT) when R6 == 3, else 1 (NOP)
    let addr = c.imm(2, 0);
    c.sys(SYS_POKE);
    let after = c.put(&[0x01, 0x01, 0x01]);
    c.rri(ADDI, 4, 4, 1);
    c.rri(ADDI, 6, 6, -1);
    c.jnz(6, top);
    c.sys(8);
    c.halt();
    c.patch_i32(addr + 2, after);
    c
}

#[test]
fn a_syscall_that_writes_the_next_instruction_runs_the_new_code() {
    let c = poke_next(10);
    let o = agree(&c.bytes, 10_000);
    assert_eq!(o.exit, Exit::Halt);
    // R6 = 10..=4 ran to the end of the loop; at R6 = 3 the poked HALT stopped it.
    assert_eq!(o.machine.regs[4], 7);
    assert_eq!(o.machine.regs[6], 3);
    for fuel in 0..=o.machine.cycles + 1 {
        agree(&c.bytes, fuel);
    }
}

/// A hot loop whose SYSCALL copies one of two `IMM32 R5, _` (1 or 1000, by R6's parity)
/// over the loop's first instruction, so each iteration runs the code the previous one
/// wrote; R4 sums R5.
fn copy_over_itself(n: i32) -> Code {
    let mut c = Code::new();
    c.imm(6, n);
    c.imm(7, 6);
    let top = c.here();
    let target = c.imm(5, 0);
    c.rrr(ADD, 4, 4, 5);
    c.rri(ANDI, 1, 6, 1);
    c.rrr(MUL, 1, 1, 7);
    let table_fix = c.rri(ADDI, 1, 1, 0) + 3;
    c.imm(2, target);
    c.imm(3, 6);
    c.sys(SYS_COPY);
    c.rri(ADDI, 6, 6, -1);
    c.jnz(6, top);
    c.sys(8);
    c.halt();
    let table = c.here();
    c.imm(5, 1);
    c.imm(5, 1000);
    c.patch_i32(table_fix, table);
    c
}

#[test]
fn a_hot_loop_that_copies_new_code_over_itself() {
    let c = copy_over_itself(40);
    let o = agree(&c.bytes, 100_000);
    assert_eq!(o.exit, Exit::Halt);
    // R6 = 39..=1 read what R6 + 1 copied: 20 even (1) and 19 odd (1000).
    assert_eq!(o.machine.regs[4], 20 + 19 * 1000);
    for fuel in (0..=o.machine.cycles + 1).step_by(7) {
        agree(&c.bytes, fuel);
    }
    // Long enough for the patch policy to read the immediate live.
    let long = copy_over_itself(5_000);
    let mut engine = JitEngine::jit();
    let want = reference(&long.bytes, 1_000_000);
    let got = recorded(&mut engine, &long.bytes, 1_000_000);
    assert_same(&want, &got, "jit");
    assert!(engine.stats().invalidations < 50, "{:?}", engine.stats());
}

#[test]
fn a_syscall_that_writes_data_stays_in_compiled_code() {
    // Each iteration copies 16 bytes between two data buffers: no translation depends on
    // them, so compiled code goes on.
    let mut c = Code::new();
    c.imm(6, 5_000);
    c.imm(1, 0x8000);
    c.imm(2, 0x9000);
    c.imm(3, 16);
    let top = c.here();
    c.ins(STW, [1, 6, 0], 0);
    c.sys(SYS_COPY);
    c.rri(ADDI, 6, 6, -1);
    c.jnz(6, top);
    c.ins(LDW, [4, 2, 0], 0);
    c.halt();
    let mut engine = JitEngine::jit();
    let want = reference(&c.bytes, 1_000_000);
    let got = recorded(&mut engine, &c.bytes, 1_000_000);
    assert_same(&want, &got, "jit");
    assert_eq!(got.machine.regs[4], 1);
    assert!(engine.stats().entries < 10, "{:?}", engine.stats());
}

/// A host that panics at its `at`-th syscall.
struct Panics {
    at: u32,
    seen: u32,
}

impl Host for Panics {
    fn syscall(&mut self, _num: u8, ctx: &mut SyscallCtx<'_>) {
        self.seen += 1;
        assert!(
            self.seen < self.at,
            "host gives up at syscall {}",
            self.seen
        );
        ctx.regs[0] = 8;
    }

    fn event(&mut self, _event: VmEvent) {}
}

#[test]
fn a_host_panic_inside_compiled_code_reaches_the_caller() {
    let c = syscall_loop(1_000);
    for mut engine in engines() {
        let name = engine.name();
        let mut m = Machine::new(&c.bytes).unwrap();
        let mut host = Panics { at: 500, seen: 0 };
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            engine.run(&mut m, &mut host, 1_000_000)
        }));
        let payload = outcome.expect_err(name);
        let message = payload
            .downcast_ref::<String>()
            .expect("a formatted message");
        assert_eq!(message, "host gives up at syscall 500", "{name}");
        // The engine is still sound afterwards.
        let want = reference(&c.bytes, 1_000_000);
        let got = recorded(engine.as_mut(), &c.bytes, 1_000_000);
        assert_same(&want, &got, name);
    }
}
