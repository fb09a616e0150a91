//! Every edge of the original pxVM's "imperfect computing" semantics, one test each,
//! with programs built byte by byte (no assembler involved).

use pxos::check::difftest::{Scenario, check};
use pxvm::Exit;
use pxvm::Opcode::*;
use pxvm::testkit::code::*;

#[test]
fn halt_is_not_counted_and_leaves_pc_after_it() {
    let o = check(&Scenario::new(program(&[vec![0x01, 0x01], halt()]), 100));
    assert_eq!(o.report.exit, Exit::Halt);
    assert_eq!(o.report.cycles, 2);
    assert_eq!(o.report.pc, 3);
}

#[test]
fn fuel_stops_before_a_halt() {
    let code = program(&[vec![0x01, 0x01], halt()]);
    let o = check(&Scenario::new(code.clone(), 2));
    assert_eq!(o.report.exit, Exit::Fuel);
    assert_eq!(o.report.cycles, 2);
    assert_eq!(o.report.pc, 2);
    let o = check(&Scenario::new(code.clone(), 0));
    assert_eq!(
        (o.report.exit, o.report.cycles, o.report.pc),
        (Exit::Fuel, 0, 0)
    );
}

#[test]
fn fuel_stops_mid_loop_with_exact_state() {
    // R0 counts up forever: IMM32 R1,1 ; loop: ADD R0,R0,R1 ; JMP loop
    let code = program(&[imm32(1, 1), rrr(ADD, 0, 0, 1), jmp(6)]);
    let o = check(&Scenario::new(code.clone(), 1001));
    assert_eq!(o.report.exit, Exit::Fuel);
    assert_eq!(o.report.cycles, 1001);
    assert_eq!(o.report.regs[0], 500);
    assert_eq!(o.report.pc, 6);
}

#[test]
fn invalid_registers_make_the_instruction_a_counted_no_op() {
    let code = program(&[
        imm32(1, 5),
        imm32(8, 7),
        rrr(ADD, 0, 1, 9),
        rrr(ADD, 12, 1, 1),
        ins(MOV, [0, 200, 0], 0),
        jz(8, 0),
        ins(STORE, [8, 0, 0], 0x100),
        ins(LOAD, [9, 0, 0], 0),
        imm8(255, 3),
        halt(),
    ]);
    let o = check(&Scenario::new(code.clone(), 100));
    assert_eq!(o.report.exit, Exit::Halt);
    assert_eq!(o.report.cycles, 9);
    assert_eq!(o.report.regs, [0, 5, 0, 0, 0, 0, 0, 0]);
    assert!(o.memory[0x100..0x104].iter().all(|&b| b == 0));
}

#[test]
fn jumps_outside_memory_fall_through() {
    let code = program(&[
        jmp(65536),
        jmp(-1),
        imm32(1, 0),
        jz(1, 70000),
        ins(JNZ, [2, 0, 0], 0),
        imm32(3, -5),
        ins(JR, [3, 0, 0], 0),
        imm32(4, 9),
        halt(),
    ]);
    let o = check(&Scenario::new(code.clone(), 100));
    assert_eq!(o.report.exit, Exit::Halt);
    assert_eq!(o.report.regs[4], 9);
    assert_eq!(o.report.cycles, 8);
}

#[test]
fn jump_to_last_byte_then_fetch_fault() {
    // Put an IMM32 opcode at 65535: its operands run off the end of memory.
    let code = program(&[
        imm32(1, 0x11),
        ins(STORE, [1, 0, 0], 65532), // bytes 65532..65535 = 11 00 00 00 ; byte 65532 = 0x11
        imm32(2, 0x1100_0000),
        ins(STORE, [2, 0, 0], 65532), // byte 65535 = 0x11
        jmp(65535),
    ]);
    let o = check(&Scenario::new(code.clone(), 100));
    assert_eq!(o.report.exit, Exit::Error);
    assert_eq!(o.report.pc, 65536);
    assert_eq!(
        o.report.cycles, 5,
        "the faulting instruction is not counted"
    );
    assert_eq!(
        o.report.sysout,
        ["# ERROR at PC=65536: RuntimeError: PC out of bounds: 65536"]
    );
}

#[test]
fn running_off_the_end_through_nops() {
    let mut code = vec![0x01; 65536];
    code[0] = 0x40; // JMP 65530
    code[1..5].copy_from_slice(&65530i32.to_le_bytes());
    let o = check(&Scenario::new(code.clone(), 100));
    assert_eq!(o.report.exit, Exit::Error);
    assert_eq!(o.report.pc, 65536);
    assert_eq!(o.report.cycles, 7);
}

#[test]
fn loads_and_stores_respect_the_bounds() {
    let code = program(&[
        imm32(1, -1),
        ins(STORE, [1, 0, 0], 65532),
        ins(STORE, [1, 0, 0], 65533),
        ins(STORE, [1, 0, 0], -4),
        ins(LOAD, [2, 0, 0], 65532),
        ins(LOAD, [3, 0, 0], 65533),
        ins(LOAD, [4, 0, 0], -1),
        halt(),
    ]);
    let o = check(&Scenario::new(code.clone(), 100));
    assert_eq!(o.report.regs[2..5], [-1, 0, 0]);
    assert_eq!(o.memory[65532..], [0xFF; 4]);
}

#[test]
fn byte_and_based_accesses() {
    let code = program(&[
        imm32(1, 0x1000),
        imm32(2, 0x1234_56F8),
        rri(STW, 1, 2, 4),
        rri(LDB, 3, 1, 4),       // 0xF8 zero-extended
        rri(STB, 1, 2, -0x1000), // low byte at address 0
        rri(LDW, 4, 1, 4),
        rri(LDB, 5, 1, 65536),   // out of bounds -> 0
        rri(STB, 1, 2, 0x10000), // ignored
        halt(),
    ]);
    let o = check(&Scenario::new(code.clone(), 100));
    assert_eq!(o.report.regs[3], 0xF8);
    assert_eq!(o.report.regs[4], 0x1234_56F8);
    assert_eq!(o.report.regs[5], 0);
    assert_eq!(o.memory[0], 0xF8, "STB rewrote the first code byte");
}

#[test]
fn stores_rewrite_code_that_runs_later() {
    // The STORE turns the following NOPs into IMM8 R0, 42.
    let code = program(&[
        imm32(1, i32::from_le_bytes([0x10, 0x00, 42, 0x00])),
        ins(STORE, [1, 0, 0], 12),
        vec![0x01, 0x01, 0x01],
        halt(),
    ]);
    let o = check(&Scenario::new(code.clone(), 100));
    assert_eq!(o.report.regs[0], 42);
    assert_eq!(o.report.cycles, 3);
}

#[test]
fn unknown_opcodes_warn_count_and_continue() {
    let code = program(&[vec![0x80, 0xFF, 0x02], imm32(1, 1), halt()]);
    let o = check(&Scenario::new(code.clone(), 100));
    assert_eq!(
        o.report.sysout,
        [
            "# WARNING: unknown opcode 0x80",
            "# WARNING: unknown opcode 0xFF",
            "# WARNING: unknown opcode 0x02"
        ]
    );
    assert_eq!(o.report.cycles, 4);
    assert_eq!(o.report.regs[1], 1);
}

#[test]
fn add_and_sub_wrap() {
    let code = program(&[
        imm32(1, i32::MAX),
        imm32(2, 1),
        rrr(ADD, 3, 1, 2),
        imm32(4, i32::MIN),
        rrr(SUB, 5, 4, 2),
        imm8(6, 255),
        halt(),
    ]);
    let o = check(&Scenario::new(code.clone(), 100));
    assert_eq!(o.report.regs[3], i32::MIN);
    assert_eq!(o.report.regs[5], i32::MAX);
    assert_eq!(o.report.regs[6], 255);
}

#[test]
fn arithmetic_extensions() {
    let code = program(&[
        imm32(1, -7),
        imm32(2, 2),
        rrr(DIV, 3, 1, 2),
        rrr(MOD, 4, 1, 2),
        rrr(DIV, 5, 1, 0), // R0 = 0: division by zero gives 0
        rrr(SLTU, 6, 2, 1),
        rri(SARI, 7, 1, 33),
        halt(),
    ]);
    let o = check(&Scenario::new(code.clone(), 100));
    assert_eq!(o.report.regs[3..], [-3, -1, 0, 1, -4]);
}

#[test]
fn call_and_ret() {
    // 0: IMM32 R7, 0x10000 ; 6: CALL 12 ; 11: HALT ; 12: IMM32 R0, 5 ; 18: RET
    let code = program(&[
        imm32(7, 0x10000),
        ins(CALL, [0; 3], 12),
        halt(),
        imm32(0, 5),
        vec![0x46],
    ]);
    let o = check(&Scenario::new(code.clone(), 100));
    assert_eq!(o.report.exit, Exit::Halt);
    assert_eq!(o.report.regs[0], 5);
    assert_eq!(o.report.regs[7], 0x10000);
    assert_eq!(o.report.pc, 12);
    assert_eq!(o.memory[65532..], 11i32.to_le_bytes());
}

#[test]
fn call_out_of_range_is_a_no_op() {
    let code = program(&[
        imm32(7, 100),
        ins(CALL, [0; 3], -8),
        ins(CALL, [0; 3], 65536),
        halt(),
    ]);
    let o = check(&Scenario::new(code.clone(), 50));
    assert_eq!(o.report.exit, Exit::Halt);
    assert_eq!(o.report.regs[7], 100, "R7 untouched");
    assert_eq!(o.report.cycles, 3);
}

#[test]
fn ret_to_an_address_outside_memory_falls_through() {
    let code = program(&[
        imm32(1, -1),
        ins(STORE, [1, 0, 0], 100),
        imm32(7, 100),
        vec![0x46], // RET: loads -1, falls through
        halt(),
    ]);
    let o = check(&Scenario::new(code.clone(), 50));
    assert_eq!(o.report.exit, Exit::Halt);
    assert_eq!(o.report.regs[7], 104, "RET pops even when it does not jump");
}

#[test]
fn ret_with_the_stack_outside_memory_loads_zero_and_jumps_there() {
    let code = program(&[imm32(7, -2), vec![0x46], halt()]);
    let o = check(&Scenario::new(code.clone(), 4));
    assert_eq!(o.report.exit, Exit::Fuel);
    assert_eq!(
        o.report.pc, 0,
        "the out-of-bounds load read 0, a valid target"
    );
    assert_eq!(o.report.regs[7], 2);
}
