//! The drawing, number and self-modification syscalls: exact output lines and results.

use pxos::check::difftest::{Scenario, check};
use pxvm::testkit::code::*;

fn call_with(regs: &[(u8, i32)], num: u8) -> Vec<u8> {
    let mut parts: Vec<Vec<u8>> = regs.iter().map(|&(r, v)| imm32(r, v)).collect();
    parts.push(sys(num));
    program(&parts)
}

fn lines(code: Vec<u8>) -> Vec<String> {
    check(&Scenario::new(program(&[code, halt()]), 1000))
        .report
        .sysout
}

#[test]
fn print_known_and_unknown_messages() {
    let out = lines(program(&[
        call_with(&[(1, 1)], 1),
        call_with(&[(1, 6)], 1),
        call_with(&[(1, 7)], 1),
        call_with(&[(1, -1)], 1),
    ]));
    assert_eq!(
        out,
        [
            "PRINT PXVM: PXVM booting...",
            "PRINT PXVM: Process terminated.",
            "PRINT [vm warn] unknown message_id 7",
            "PRINT [vm warn] unknown message_id -1",
        ]
    );
}

#[test]
fn rect_with_known_and_unknown_colors() {
    let out = lines(program(&[
        call_with(&[(1, 50), (2, 50), (3, 100), (4, 100), (5, 1)], 2),
        call_with(&[(1, -3), (2, 0), (3, 1), (4, 2), (5, 9)], 2),
    ]));
    assert_eq!(
        out,
        [
            "RECT 50 50 100 100 40 40 100 255",
            "# WARNING: unknown color_id 9",
            "RECT -3 0 1 2 255 0 255 255",
        ]
    );
}

#[test]
fn text_defaults_to_white_and_names_unknown_messages() {
    let out = lines(program(&[
        call_with(&[(1, 10), (2, 20), (3, 5), (4, 2)], 3),
        call_with(&[(1, 1), (2, 2), (3, 0), (4, 99)], 3),
    ]));
    assert_eq!(
        out,
        [
            "TEXT 10 20 200 200 255 255 PXVM ready.",
            "TEXT 1 2 255 255 255 255 [unknown msg 99]",
        ]
    );
}

#[test]
fn layer_use_names_layers_and_ignores_unknown_ones() {
    let out = lines(program(&[
        call_with(&[(1, 1)], 4),
        call_with(&[(1, 4)], 4),
        call_with(&[(1, 5)], 4),
        call_with(&[(1, 3)], 4),
    ]));
    assert_eq!(out, ["SELECT background", "SELECT overlay", "SELECT vm"]);
}

#[test]
fn unknown_syscalls_warn_and_zero_r0() {
    let code = program(&[imm32(0, 77), sys(200), halt()]);
    let o = check(&Scenario::new(code.clone(), 100));
    assert_eq!(o.report.sysout, ["# WARNING: unknown syscall 200"]);
    assert_eq!(o.report.regs[0], 0);
    for n in 200..=255u8 {
        let o = check(&Scenario::new(program(&[sys(n), halt()]), 10));
        assert_eq!(o.report.sysout, [format!("# WARNING: unknown syscall {n}")]);
    }
}

#[test]
fn print_int_appends_decimal_lines() {
    let out = lines(program(&[
        call_with(&[(1, 55)], 10),
        call_with(&[(1, i32::MIN)], 10),
    ]));
    assert_eq!(out, ["55", "-2147483648"]);
}

#[test]
fn self_modify_success_leaves_a_pending_kernel() {
    let new_kernel = vec![0x01, 0x00];
    let code = program(&[imm32(1, 301), sys(99), halt()]);
    let o = check(&Scenario::new(code, 100).with_file("build/kernel_v2.bin", new_kernel.clone()));
    assert_eq!(o.report.regs[0], 1);
    assert_eq!(
        o.report.sysout,
        [
            "# SELF_MODIFY: New kernel loaded (2 bytes)",
            "# SELF_MODIFY: Requesting kernel replacement from build/kernel_v2.bin"
        ]
    );
    let pending = o.report.pending_kernel.expect("pending");
    assert_eq!(pending.path, "build/kernel_v2.bin");
    assert_eq!(pending.size, 2);
    assert_eq!(pending.sha256, pxos::util::sha256_hex(&new_kernel));
    assert_eq!(
        o.report.exit,
        pxvm::Exit::Halt,
        "the kernel keeps running until it halts"
    );
}

#[test]
fn self_modify_failures() {
    // Missing file, then an empty file: R0 = 0, an error line, nothing pending.
    let code = program(&[imm32(0, 5), imm32(1, 7), sys(99), halt()]);
    let o = check(&Scenario::new(code.clone(), 100));
    assert_eq!(o.report.regs[0], 0);
    assert_eq!(o.report.sysout, ["# SELF_MODIFY ERROR: Cannot load file_7"]);
    assert_eq!(o.report.pending_kernel, None);
    let o = check(&Scenario::new(code, 100).with_file("file_7", vec![]));
    assert_eq!(o.report.sysout, ["# SELF_MODIFY ERROR: Cannot load file_7"]);
    assert_eq!(o.report.pending_kernel, None);
}

#[test]
fn self_modify_refuses_what_is_not_a_kernel_and_never_truncates() {
    let code = program(&[imm32(1, 301), sys(99), halt()]);
    let with = |bytes: Vec<u8>| {
        check(&Scenario::new(code.clone(), 100).with_file("build/kernel_v2.bin", bytes))
    };
    // Exactly 64 KiB is a kernel; one byte more is refused, not cut to size.
    let o = with(vec![1; 65_536]);
    assert_eq!(o.report.pending_kernel.unwrap().size, 65_536);
    for (bytes, says) in [
        (
            vec![1; 70_000],
            "kernel is 70,000 bytes; at most 65,536 fit in memory",
        ),
        (b"IMM32 R1, 1\nHALT\n".to_vec(), "assembly source text"),
        (vec![0x01, 0xEE, 0x00], "undefined opcode 0xEE at address 1"),
    ] {
        let o = with(bytes);
        assert_eq!(o.report.regs[0], 0, "{says}");
        assert_eq!(o.report.pending_kernel, None, "{says}");
        let line = &o.report.sysout[0];
        assert!(
            line.starts_with("# SELF_MODIFY ERROR: Rejected build/kernel_v2.bin: ")
                && line.contains(says),
            "{line}"
        );
    }
}

#[test]
fn every_message_color_and_layer_of_the_tables() {
    let mut parts = Vec::new();
    for id in 1..=6 {
        parts.push(call_with(&[(1, id)], 1));
    }
    for color in 1..=5 {
        parts.push(call_with(&[(1, 0), (2, 0), (3, 1), (4, 1), (5, color)], 2));
    }
    for layer in 1..=4 {
        parts.push(call_with(&[(1, layer)], 4));
    }
    let out = lines(program(&parts));
    assert_eq!(
        out,
        [
            "PRINT PXVM: PXVM booting...",
            "PRINT PXVM: PXVM ready.",
            "PRINT PXVM: Task complete.",
            "PRINT PXVM: Kernel init done.",
            "PRINT PXVM: Process started.",
            "PRINT PXVM: Process terminated.",
            "RECT 0 0 1 1 40 40 100 255",
            "RECT 0 0 1 1 20 20 60 255",
            "RECT 0 0 1 1 0 0 40 255",
            "RECT 0 0 1 1 255 255 255 255",
            "RECT 0 0 1 1 200 200 255 255",
            "SELECT background",
            "SELECT ui",
            "SELECT vm",
            "SELECT overlay",
        ]
    );
}

/// A loop of `n` iterations whose SYSCALLs compiled engines make from compiled code: each
/// iteration adds R5 (the immediate of its first instruction) to R4, then reads one byte
/// of `file_5` (R7 is its handle) over that immediate's low byte — guest memory holding
/// the running loop's code — so the next iteration runs what the file said.
fn read_over_own_code(n: i32) -> Vec<u8> {
    let mut c = pxvm::testkit::Code::new();
    c.imm(1, 5);
    c.imm(2, 0);
    c.sys(20); // FS_OPEN file_5 for reading
    c.ins(pxvm::Opcode::MOV, [7, 0, 0], 0);
    c.imm(6, n);
    c.imm(3, 1);
    let top = c.here();
    let target = c.imm(5, 0);
    c.rrr(pxvm::Opcode::ADD, 4, 4, 5);
    c.ins(pxvm::Opcode::MOV, [1, 7, 0], 0);
    c.imm(2, target + 2);
    c.sys(23); // FS_READ one byte
    c.rri(pxvm::Opcode::ADDI, 6, 6, -1);
    c.jnz(6, top);
    c.halt();
    c.bytes
}

#[test]
fn fs_read_over_a_hot_loop_runs_the_new_code() {
    let file: Vec<u8> = (1..=50).collect();
    let scenario =
        |fuel| Scenario::new(read_over_own_code(120), fuel).with_file("file_5", file.clone());
    let o = check(&scenario(100_000));
    assert_eq!(o.report.exit, pxvm::Exit::Halt);
    // Iteration 1 adds 0, iterations 2..=51 add 1..=50, the other 69 add 50.
    assert_eq!(o.report.regs[4], 1275 + 69 * 50);
    for fuel in (0..=o.report.cycles + 1).step_by(5) {
        check(&scenario(fuel));
    }
}

#[test]
fn self_modify_from_a_hot_loop_keeps_running() {
    // 400 iterations; at R6 == 200 the loop asks for build/kernel_v2.bin, then goes on.
    let kernel = super::store_util::asm(
        "
        IMM32 R6, 400
        IMM32 R7, 200
    LOOP:
        ADDI R4, R4, 1
        CMP R3, R6, R7
        JZ R3, SKIP
        IMM32 R1, 301
        SYSCALL SYS_SELF_MODIFY
        MOV R5, R0
    SKIP:
        ADDI R6, R6, -1
        JNZ R6, LOOP
        HALT",
    );
    let scenario = |fuel| {
        Scenario::new(kernel.clone(), fuel).with_file("build/kernel_v2.bin", vec![0x01, 0x00])
    };
    let o = check(&scenario(100_000));
    assert_eq!(o.report.exit, pxvm::Exit::Halt);
    assert_eq!((o.report.regs[4], o.report.regs[5]), (400, 1));
    assert_eq!(o.report.sysout.len(), 2);
    assert!(o.report.pending_kernel.is_some());
    // Budgets ending around the request, the 1,007th instruction.
    let at = 2 + 200 * 5 + 5;
    for fuel in at - 12..at + 12 {
        check(&scenario(fuel));
    }
}

#[test]
fn the_output_limit_reached_inside_a_compiled_loop() {
    // PRINT_INT 1000 times with a limit of 100 lines: 100 lines, one warning, the rest
    // dropped — on every engine, through the one harness.
    let code = program(&[
        imm32(6, 1000),
        ins(pxvm::Opcode::MOV, [1, 6, 0], 0),
        sys(10),
        rri(pxvm::Opcode::ADDI, 6, 6, -1),
        jnz(6, 6),
        halt(),
    ]);
    let mut engines: Vec<_> = pxos::runtime::engines::EngineKind::ALL
        .iter()
        .map(|k| k.build())
        .collect();
    let start = || {
        let m = pxvm::Machine::new(&code).unwrap();
        (
            m,
            pxos::runtime::host::PxHost::default().with_max_output_lines(100),
        )
    };
    let run =
        pxvm::testkit::agree(&mut engines, start, 100_000).unwrap_or_else(|d| panic!("{d:?}"));
    assert_eq!(run.exit, pxvm::Exit::Halt);
    assert_eq!(run.host.sysout.len(), 101);
    assert_eq!(run.host.sysout[99], "901");
    assert!(run.host.sysout[100].contains("output limit of 100 lines"));
    assert_eq!(run.host.dropped_lines(), 900);
}
