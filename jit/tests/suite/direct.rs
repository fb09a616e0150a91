//! Direct syscalls (`pxvm::Host::direct_syscalls`): compiled code calls them with R0..R3
//! in argument registers and takes R0 back, no register going through memory. Checked at
//! every edge against the reference, which calls `Host::syscall`: budgets ending at and
//! around a direct syscall, direct and generic syscalls in one loop (the generic one
//! writing over the code that follows it), every engine stopped and resumed around them;
//! and, with a host that breaks the contract on purpose, that compiled code does take the
//! direct path.

use super::*;
use pxvm::Opcode::*;
use pxvm::testkit::{SYS_MIX, SYS_POKE};
use pxvm::{DirectSyscall, DirectTable, Exit, Host, Machine, SyscallCtx, VmEvent};
use pxvm_jit::JitEngine;
use std::ffi::c_void;

/// `n` iterations of: R1..R3 from the counter, `SYSCALL SYS_MIX` (direct; reads R0..R3,
/// sets R0), R5 += R0, R4 ^= R0 — and with `generic` a `SYSCALL 8` (through the helper,
/// R0 = 8) too — while R7 holds a constant the calls must not disturb.
fn mix_loop(n: i32, generic: bool) -> Code {
    let mut c = Code::new();
    c.imm(6, n);
    c.imm(7, 77);
    c.imm(0, 5);
    let top = c.here();
    c.rri(ADDI, 1, 6, 3);
    c.rrr(MUL, 2, 6, 7);
    c.rri(ADDI, 3, 6, -9);
    c.sys(SYS_MIX);
    c.rrr(ADD, 5, 5, 0);
    c.rrr(XOR, 4, 4, 0);
    if generic {
        c.sys(8);
    }
    c.rri(ADDI, 6, 6, -1);
    c.jnz(6, top);
    c.sys(SYS_MIX);
    c.halt();
    c
}

#[test]
fn budgets_ending_at_and_around_a_direct_syscall() {
    for generic in [false, true] {
        let c = mix_loop(12, generic);
        let end = reference(&c.bytes, 1_000_000);
        assert_eq!(end.exit, Exit::Halt);
        assert_eq!(end.machine.regs[7], 77);
        for fuel in 0..=end.machine.cycles + 1 {
            agree(&c.bytes, fuel);
        }
    }
}

#[test]
fn a_direct_syscall_loop_stays_in_compiled_code() {
    let c = mix_loop(20_000, false);
    let mut engine = JitEngine::jit();
    let want = reference(&c.bytes, 1_000_000);
    let got = recorded(&mut engine, &c.bytes, 1_000_000);
    assert_same(&want, &got, "jit");
    assert_eq!(got.exit, Exit::Halt);
    assert!(engine.stats().entries < 10, "{:?}", engine.stats());
    agree(&c.bytes, 1_000_000);
}

#[test]
fn every_engine_stopping_around_direct_syscalls_equals_one_long_run() {
    for generic in [false, true] {
        let c = mix_loop(300, generic);
        let want = reference(&c.bytes, 100_000);
        for mut engine in engines() {
            let got = run_in_chunks(engine.as_mut(), &c.bytes, 13);
            assert_same(&want, &got, got.engine);
        }
    }
}

#[test]
fn a_generic_syscall_after_a_direct_one_writes_the_next_instruction() {
    // Each iteration: SYS_MIX (direct), then SYS_POKE over the three NOPs after it — NOP
    // while R6 > 3, then HALT, which must run at once.
    let mut c = Code::new();
    c.imm(6, 10);
    c.imm(7, 3);
    let top = c.here();
    c.rrr(CMP, 3, 6, 7);
    c.rri(XORI, 3, 3, 1);
    c.sys(SYS_MIX);
    let addr = c.imm(2, 0);
    c.sys(SYS_POKE);
    let after = c.put(&[0x01, 0x01, 0x01]);
    c.rrr(ADD, 4, 4, 0);
    c.rri(ADDI, 6, 6, -1);
    c.jnz(6, top);
    c.halt();
    c.patch_i32(addr + 2, after);
    let o = agree(&c.bytes, 10_000);
    assert_eq!(o.exit, Exit::Halt);
    assert_eq!(o.machine.regs[6], 3);
    for fuel in 0..=o.machine.cycles + 1 {
        agree(&c.bytes, fuel);
    }
}

/// A host that breaks the direct-syscall contract on purpose: `SYSCALL 40` sets R0 = 2
/// through `Host::syscall` but returns 1 as a direct syscall, so the result shows which
/// path ran.
#[derive(Default)]
struct TwoFaced;

/// The direct half of [`TwoFaced`].
///
/// # Safety
///
/// None needed: it touches nothing (`DirectSyscall` allows any host pointer here).
unsafe extern "C" fn one(_: *mut c_void, _: i32, _: i32, _: i32, _: i32) -> i32 {
    1
}

impl Host for TwoFaced {
    fn syscall(&mut self, _num: u8, ctx: &mut SyscallCtx<'_>) {
        ctx.regs[0] = 2;
    }

    fn direct_syscalls(&self) -> &'static DirectTable {
        static TABLE: DirectTable = {
            let mut t: DirectTable = [None; 256];
            t[SYS_MIX as usize] = Some(one as DirectSyscall);
            t
        };
        &TABLE
    }

    fn event(&mut self, _event: VmEvent) {}
}

#[test]
fn compiled_code_takes_the_direct_path() {
    // R5 sums R0 over 10,000 SYSCALL 40s: 2 each through `Host::syscall`, 1 each direct.
    let mut c = Code::new();
    c.imm(6, 10_000);
    let top = c.here();
    c.sys(SYS_MIX);
    c.rrr(ADD, 5, 5, 0);
    c.rri(ADDI, 6, 6, -1);
    c.jnz(6, top);
    c.halt();
    for mut engine in engines() {
        let mut m = Machine::new(&c.bytes).unwrap();
        assert_eq!(engine.run(&mut m, &mut TwoFaced, 1_000_000), Exit::Halt);
        let sum = m.regs[5];
        assert!((10_000..11_000).contains(&sum), "{}: {sum}", engine.name());
    }
    let mut m = Machine::new(&c.bytes).unwrap();
    let exit = pxvm::interp::run_reference(&mut m, &mut TwoFaced, 1_000_000);
    assert_eq!(exit, Exit::Halt);
    assert_eq!(m.regs[5], 20_000);
}

/// A direct syscall outside every loop of its region passes R1..R7 through `ctx.regs`
/// (so that no value is live across its call); one in a loop keeps them in registers.
/// Both ways every register the call must not touch comes back intact, at every budget,
/// when the syscall sits between two loops that keep all eight registers busy.
#[test]
fn a_direct_syscall_between_loops_keeps_every_register() {
    let mut c = Code::new();
    for r in 1..8u8 {
        c.imm(r, 100 * i32::from(r));
    }
    c.imm(6, 9);
    let first = c.here();
    for r in 1..6u8 {
        c.rrr(ADD, r, r, r + 1);
    }
    c.rri(ADDI, 6, 6, -1);
    c.jnz(6, first);
    c.sys(SYS_MIX); // outside both loops: through memory
    c.rrr(ADD, 7, 7, 0);
    c.imm(6, 7);
    let second = c.here();
    for r in 1..6u8 {
        c.rrr(XOR, r, r, 7);
    }
    c.sys(SYS_MIX); // in the loop: live across the call
    c.rri(ADDI, 6, 6, -1);
    c.jnz(6, second);
    c.halt();
    let end = reference(&c.bytes, 1_000_000);
    assert_eq!(end.exit, Exit::Halt);
    for fuel in 0..=end.machine.cycles + 1 {
        agree(&c.bytes, fuel);
    }
    let mut engine = JitEngine::jit();
    let got = recorded(&mut engine, &c.bytes, 1_000_000);
    assert_same(&end, &got, "jit");
}
