//! Every assembler error kind: exact `file:line:col` and message. Errors are collected
//! (not just the first), sorted by position, and never cascade from one mistake.

use pxvm::asm::assemble;

/// The errors for `src` as `file:line:col: message` strings.
fn errs(src: &str) -> Vec<String> {
    match assemble(src, "k.asm") {
        Ok(b) => panic!("expected errors, assembled {} bytes", b.len()),
        Err(e) => e.errors.iter().map(|e| e.to_string()).collect(),
    }
}

/// The single error for `src`.
fn err(src: &str) -> String {
    let e = errs(src);
    assert_eq!(e.len(), 1, "{e:#?}");
    e.into_iter().next().unwrap()
}

#[test]
fn register_expected() {
    assert_eq!(
        err("NOP\n   IMM32 5, 1"),
        "k.asm:2:10: expected a register (R0..R7), found '5'"
    );
    assert_eq!(
        err("MOV R1, START"),
        "k.asm:1:9: expected a register (R0..R7), found 'START'"
    );
    assert_eq!(
        err("MOV R1, \"x\""),
        "k.asm:1:9: expected a register (R0..R7), found a string"
    );
}

#[test]
fn register_out_of_range() {
    assert_eq!(
        err("JR R256"),
        "k.asm:1:4: register 'R256' does not exist (R0..R7; R8..R255 encode as no-ops)"
    );
}

#[test]
fn register_where_a_value_is_expected() {
    assert_eq!(
        err("JMP R1"),
        "k.asm:1:5: expected a value (addr), found register 'R1'"
    );
    assert_eq!(
        err("SYSCALL r2"),
        "k.asm:1:9: expected a value (n), found register 'r2'"
    );
    assert_eq!(
        err("IMM32 R1, R2 + 1"),
        "k.asm:1:11: register 'R2' cannot be used in an expression"
    );
    assert_eq!(
        err("IMM32 R1, \"s\""),
        "k.asm:1:11: expected a value (i32), found a string"
    );
}

#[test]
fn unknown_mnemonic() {
    assert_eq!(err("  IMM33 R1, 5"), "k.asm:1:3: unknown mnemonic 'IMM33'");
    assert_eq!(
        err("START"),
        "k.asm:1:1: unknown mnemonic 'START' (a label needs a ':' after it)"
    );
}

#[test]
fn operand_counts() {
    assert_eq!(
        err("IMM32 R1, 5, 6"),
        "k.asm:1:14: IMM32 takes 2 operands (dst, i32), found 3"
    );
    assert_eq!(
        err("  JZ R1"),
        "k.asm:1:3: JZ takes 2 operands (reg, addr), found 1"
    );
    assert_eq!(err("HALT 0"), "k.asm:1:6: HALT takes no operands, found 1");
    assert_eq!(
        err("SYSCALL"),
        "k.asm:1:1: SYSCALL takes 1 operand (n), found 0"
    );
}

#[test]
fn undefined_label() {
    assert_eq!(
        err("loop: NOP\n  JMP LOOP2"),
        "k.asm:2:7: undefined label 'LOOP2'"
    );
    // Only the first undefined name of an operand is reported.
    assert_eq!(errs("JZ R1, A + B"), vec!["k.asm:1:8: undefined label 'A'"]);
}

#[test]
fn duplicate_definitions() {
    assert_eq!(
        err("\n\nSTART: NOP\nSTART: NOP"),
        "k.asm:4:1: label 'START' already defined at line 3"
    );
    assert_eq!(
        err("X = 1\n.equ X, 2"),
        "k.asm:2:6: constant 'X' already defined at line 1"
    );
    assert_eq!(
        err("X: NOP\nX = 2"),
        "k.asm:2:1: label 'X' already defined at line 1"
    );
    assert_eq!(
        err("SYS_PRINT = 7"),
        "k.asm:1:1: 'SYS_PRINT' is a predefined constant (syscall 1) and cannot be redefined"
    );
    assert_eq!(
        err("SYS_RECT: NOP"),
        "k.asm:1:1: 'SYS_RECT' is a predefined constant (syscall 2) and cannot be redefined"
    );
    assert_eq!(
        err("r3: NOP"),
        "k.asm:1:1: 'r3' is a register name; it cannot name a label or constant"
    );
}

#[test]
fn byte_ranges() {
    assert_eq!(
        err("IMM8 R1, 300"),
        "k.asm:1:10: value 300 does not fit in a byte (0..=255)"
    );
    assert_eq!(
        err("SYSCALL -1"),
        "k.asm:1:9: value -1 does not fit in a byte (0..=255)"
    );
    assert_eq!(
        err(".byte 1, 256"),
        "k.asm:1:10: value 256 does not fit in a byte (-128..=255)"
    );
    assert_eq!(
        err(".byte -129"),
        "k.asm:1:7: value -129 does not fit in a byte (-128..=255)"
    );
}

#[test]
fn i32_range() {
    assert_eq!(
        err("IMM32 R1, 0xFFFFFFFF + 1"),
        "k.asm:1:11: value 4294967296 of '0xFFFFFFFF + 1' does not fit in 32 bits (-2147483648..=4294967295)"
    );
    assert_eq!(
        err(".word -0x80000001"),
        "k.asm:1:7: value -2147483649 of '-0x80000001' does not fit in 32 bits (-2147483648..=4294967295)"
    );
    assert_eq!(
        err("IMM32 R1, 0x100000000"),
        "k.asm:1:11: number '0x100000000' is too large (at most 0xFFFFFFFF)"
    );
}

#[test]
fn lexical_errors() {
    assert_eq!(
        err(".string \"abc"),
        "k.asm:1:9: unterminated string (missing closing '\"')"
    );
    assert_eq!(err("NOP @"), "k.asm:1:5: unexpected character '@'");
    assert_eq!(err("é: NOP"), "k.asm:1:1: unexpected character 'é'");
    assert_eq!(
        err("JMP 12ab"),
        "k.asm:1:5: invalid number '12ab': 'a' is not a decimal digit"
    );
    assert_eq!(
        err("JMP 0b102"),
        "k.asm:1:5: invalid number '0b102': '2' is not a binary digit"
    );
    assert_eq!(
        err("IMM8 R1, 'ab'"),
        "k.asm:1:10: character literal holds more than one character (use \"...\" for text)"
    );
    assert_eq!(err("IMM8 R1, ''"), "k.asm:1:10: empty character literal ''");
    assert_eq!(
        err("IMM8 R1, '"),
        "k.asm:1:10: unterminated character literal"
    );
    assert_eq!(
        err(".string \"a\\qb\""),
        "k.asm:1:11: unknown escape '\\q' (expected \\n \\t \\r \\0 \\\\ \\' \\\" or \\xNN)"
    );
    assert_eq!(
        err(".string \"\\x4\""),
        "k.asm:1:10: escape '\\x' needs two hex digits, e.g. '\\x1F'"
    );
}

#[test]
fn syntax_errors() {
    assert_eq!(
        err("IMM32 R1 5"),
        "k.asm:1:10: expected ',' or end of line, found '5'"
    );
    assert_eq!(
        err("ADD R1,, R2"),
        "k.asm:1:8: expected an operand, found ','"
    );
    assert_eq!(
        err("5: NOP"),
        "k.asm:1:1: expected a mnemonic, directive or label, found '5'"
    );
    assert_eq!(
        err("JMP 1 +"),
        "k.asm:1:8: expected a number, name or character, found end of line"
    );
    assert_eq!(
        err("X = 1 2"),
        "k.asm:1:7: expected end of line after the constant's value, found '2'"
    );
    assert_eq!(
        err(".equ 5, 1"),
        "k.asm:1:6: expected a constant name, found '5' (.equ NAME, value)"
    );
}

#[test]
fn directive_errors() {
    assert_eq!(
        err(".bytes 1"),
        "k.asm:1:1: unknown directive '.bytes' (expected .byte, .word, .string, .asciz, .zero, .align, .org or .equ)"
    );
    assert_eq!(err("  .byte"), "k.asm:1:3: .byte needs at least one value");
    assert_eq!(
        err(".byte \"x\""),
        "k.asm:1:7: .byte takes numbers, found a string (use .string or .asciz for text)"
    );
    assert_eq!(
        err(".string 5"),
        "k.asm:1:9: .string takes one string (\"text\"), found '5'"
    );
    assert_eq!(
        err(".asciz \"a\", \"b\""),
        "k.asm:1:13: .asciz takes one string (\"text\"), found 2 arguments"
    );
    assert_eq!(
        err(".zero 1, 2"),
        "k.asm:1:10: .zero takes a byte count (.zero N), found 2 values"
    );
    assert_eq!(
        err(".zero -1"),
        "k.asm:1:7: .zero count -1 is out of range (0..=65536)"
    );
    assert_eq!(
        err(".align 3"),
        "k.asm:1:8: .align 3 is not a power of two from 1 to 65536"
    );
    assert_eq!(
        err(".align 0"),
        "k.asm:1:8: .align 0 is not a power of two from 1 to 65536"
    );
    assert_eq!(
        err(".word 1, 2\n.org 4"),
        "k.asm:2:6: .org 0x0004 would move backwards: this line is at address 0x0008"
    );
    assert_eq!(
        err(".org 65537"),
        "k.asm:1:6: .org address 65537 is outside memory (0..=65536)"
    );
}

#[test]
fn layout_directives_only_use_names_defined_above() {
    assert_eq!(
        err(".org END\nEND:"),
        "k.asm:1:6: 'END' is not defined above this line; .org may only use names defined above it"
    );
    assert_eq!(
        err("SIZE = B - A\nA: NOP\nB:"),
        "k.asm:1:8: 'B' is not defined above this line; a constant's value may only use names defined above it"
    );
    assert_eq!(
        err(".zero N\nN = 2"),
        "k.asm:1:7: 'N' is not defined above this line; .zero may only use names defined above it"
    );
    assert_eq!(
        err(".equ X, X + 1"),
        "k.asm:1:9: 'X' is not defined above this line; a constant's value may only use names defined above it"
    );
}

#[test]
fn program_too_large_names_the_overflowing_line() {
    assert_eq!(
        err(".zero 65530\nNOP\nIMM32 R1, 0\nNOP\nNOP\nNOP"),
        "k.asm:3:1: kernel is 65,540 bytes; at most 65,536 fit in memory"
    );
    // Huge sources do not allocate huge outputs; the total is still reported.
    let src = ".zero 65536\n".repeat(1000);
    assert_eq!(
        err(&src),
        "k.asm:2:1: kernel is 65,536,000 bytes; at most 65,536 fit in memory"
    );
}

#[test]
fn errors_are_collected_sorted_and_do_not_cascade() {
    let src = "\
START: ADD R1,, R2       ; parse error, but START is still defined
        .equ BAD, NOPE   ; undefined: BAD is poisoned, its uses are not reported again
        JMP START
        JMP BAD
        IMM8 R1, BAD + 1
        FOO
        IMM32 R9, 1
        IMM32 R1, MISSING
";
    assert_eq!(
        errs(src),
        vec![
            "k.asm:1:15: expected an operand, found ','",
            "k.asm:2:19: undefined label 'NOPE'",
            "k.asm:6:9: unknown mnemonic 'FOO' (a label needs a ':' after it)",
            "k.asm:8:19: undefined label 'MISSING'",
        ]
    );
}

#[test]
fn several_errors_on_one_line() {
    assert_eq!(
        errs("ADD 1, R2, 3"),
        vec![
            "k.asm:1:5: expected a register (R0..R7), found '1'",
            "k.asm:1:12: expected a register (R0..R7), found '3'",
        ]
    );
}

#[test]
fn display_joins_errors_one_per_line() {
    let e = assemble("FOO\nBAR", "x.asm").unwrap_err();
    assert_eq!(
        e.to_string(),
        "x.asm:1:1: unknown mnemonic 'FOO' (a label needs a ':' after it)\n\
         x.asm:2:1: unknown mnemonic 'BAR' (a label needs a ':' after it)"
    );
    assert_eq!(e.errors[1].file, "x.asm");
    assert_eq!((e.errors[1].line, e.errors[1].col), (2, 1));
}

#[test]
fn long_names_are_shortened_in_messages() {
    let name = "X".repeat(100);
    let e = err(&format!("JMP {name}"));
    assert_eq!(
        e,
        format!("k.asm:1:5: undefined label '{}...'", "X".repeat(40))
    );
}
