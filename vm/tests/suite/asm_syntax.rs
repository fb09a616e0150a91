//! Assembler syntax that must work: every directive with exact bytes, labels before and
//! after use, constants, expressions, case rules, comments, CRLF and tabs.

use pxvm::asm::{SymbolKind, assemble, assemble_with_symbols};

fn asm(src: &str) -> Vec<u8> {
    match assemble(src, "t.asm") {
        Ok(b) => b,
        Err(e) => panic!("assembly failed:\n{e}"),
    }
}

#[test]
fn byte_directive_accepts_unsigned_and_signed_bytes() {
    assert_eq!(
        asm(".byte 0, 255, -1, -128, 0x7f, 'A', 0b11"),
        vec![0, 255, 255, 128, 127, 65, 3]
    );
}

#[test]
fn word_directive_is_little_endian_i32() {
    assert_eq!(
        asm(".word 1, -1, 0x12345678, 0xFFFFFFFF, -0x80000000"),
        vec![
            1, 0, 0, 0, 255, 255, 255, 255, 0x78, 0x56, 0x34, 0x12, 255, 255, 255, 255, 0, 0, 0,
            0x80
        ]
    );
}

#[test]
fn string_and_asciz_resolve_escapes() {
    assert_eq!(asm(r#".string "Hi;\n""#), b"Hi;\n".to_vec());
    assert_eq!(asm(r#".asciz "a\tb""#), b"a\tb\0".to_vec());
    assert_eq!(
        asm(r#".string "\r\0\\\"\x41\xff""#),
        vec![b'\r', 0, b'\\', b'"', b'A', 0xFF]
    );
    assert_eq!(asm(r#".string """#), Vec::<u8>::new());
    assert_eq!(asm(r#".asciz "é""#), vec![0xC3, 0xA9, 0]);
}

#[test]
fn zero_align_and_org_pad_with_zeros() {
    assert_eq!(asm("NOP\n.zero 3\nNOP"), vec![1, 0, 0, 0, 1]);
    assert_eq!(asm(".zero 0\nNOP"), vec![1]);
    assert_eq!(asm("NOP\n.align 4\nNOP"), vec![1, 0, 0, 0, 1]);
    assert_eq!(asm(".word 7\n.align 4\nNOP"), vec![7, 0, 0, 0, 1]);
    assert_eq!(asm("NOP\n.align 1\nNOP"), vec![1, 1]);
    assert_eq!(asm("NOP\n.org 4\nNOP"), vec![1, 0, 0, 0, 1]);
    assert_eq!(asm("NOP\n.org 1\nNOP"), vec![1, 1]);
    let b = asm(".org 0x10000");
    assert_eq!(b.len(), 65_536);
    assert!(b.iter().all(|&x| x == 0));
}

#[test]
fn directives_and_mnemonics_are_case_insensitive() {
    assert_eq!(
        asm(".BYTE 1\n.Word 2\n.ZERO 1\nimm32 r1, 3\nHaLt"),
        vec![1, 2, 0, 0, 0, 0, 0x11, 1, 3, 0, 0, 0, 0]
    );
}

#[test]
fn labels_are_case_sensitive() {
    let b = asm("loop: NOP\nLOOP: NOP\nJMP loop\nJMP LOOP");
    assert_eq!(&b[2..], &[0x40, 0, 0, 0, 0, 0x40, 1, 0, 0, 0]);
}

#[test]
fn labels_forward_and_backward() {
    let src = "\
start:  IMM32 R1, 3
loop:   JZ R1, done          ; forward
        SUB R1, R1, R2
        JMP loop             ; backward
done:   CALL start
        HALT
";
    let p = assemble_with_symbols(src, "t.asm").unwrap();
    assert_eq!(p.symbols["start"].value, 0);
    assert_eq!(p.symbols["loop"].value, 6);
    assert_eq!(p.symbols["done"].value, 21);
    assert_eq!(p.symbols["done"].kind, SymbolKind::Label);
    assert_eq!(p.symbols["done"].line, 5);
    let b = p.bytes;
    assert_eq!(&b[6..12], &[0x41, 1, 21, 0, 0, 0]);
    assert_eq!(&b[16..21], &[0x40, 6, 0, 0, 0]);
    assert_eq!(&b[21..26], &[0x45, 0, 0, 0, 0]);
    assert_eq!(b.len(), 27);
}

#[test]
fn label_alone_then_statement_on_next_line_and_several_labels_on_one_line() {
    let p = assemble_with_symbols("a:\nb: c: NOP\nd:", "t.asm").unwrap();
    assert_eq!(p.bytes, vec![1]);
    assert_eq!(p.symbols["a"].value, 0);
    assert_eq!(p.symbols["b"].value, 0);
    assert_eq!(p.symbols["c"].value, 0);
    assert_eq!(p.symbols["d"].value, 1);
}

#[test]
fn names_may_contain_dots_and_underscores() {
    let b = asm("_x.1: NOP\n.local_2: JMP _x.1\nJMP .local_2");
    assert_eq!(&b[6..], &[0x40, 1, 0, 0, 0]);
}

#[test]
fn expressions_with_labels_and_constants() {
    let src = "\
        IMM32 R1, DATA + 4
        IMM32 R2, END - DATA
        IMM32 R3, -DATA + 1 - -2
DATA:   .word 1, 2
END:
        .equ SIZE, END - DATA
        LEN = SIZE + 'a' - 'a'
        .byte SIZE, LEN
";
    let p = assemble_with_symbols(src, "t.asm").unwrap();
    let b = &p.bytes;
    assert_eq!(&b[0..6], &[0x11, 1, 22, 0, 0, 0]);
    assert_eq!(&b[6..12], &[0x11, 2, 8, 0, 0, 0]);
    assert_eq!(&b[12..18], &[0x11, 3, 0xF1, 0xFF, 0xFF, 0xFF]); // -18 + 1 + 2 = -15
    assert_eq!(&b[26..28], &[8, 8]);
    assert_eq!(p.symbols["SIZE"].kind, SymbolKind::Constant);
    assert_eq!(p.symbols["LEN"].value, 8);
}

#[test]
fn predefined_syscall_constants() {
    assert_eq!(
        asm("SYSCALL SYS_PRINT\nSYSCALL SYS_SELF_MODIFY\nSYSCALL SYS_FS_READ"),
        vec![0xF0, 1, 0xF0, 99, 0xF0, 23]
    );
    for &(name, n) in pxvm::syscalls::NAMED {
        assert_eq!(asm(&format!("SYSCALL {name}")), vec![0xF0, n], "{name}");
    }
}

#[test]
fn constants_size_layout_directives() {
    let b = asm("N = 3\nA = 4\n.zero N\n.align A\n.org A + A\nNOP");
    assert_eq!(b, vec![0, 0, 0, 0, 0, 0, 0, 0, 1]);
}

#[test]
fn i32_immediates_accept_the_unsigned_spelling() {
    assert_eq!(
        asm("IMM32 R0, 0xFFFFFFFF\nIMM32 R0, 0x80000000\nIMM32 R0, -2147483648"),
        [
            &[0x11, 0, 255, 255, 255, 255][..],
            &[0x11, 0, 0, 0, 0, 0x80],
            &[0x11, 0, 0, 0, 0, 0x80]
        ]
        .concat()
    );
}

#[test]
fn high_registers_encode() {
    assert_eq!(asm("MOV R8, R255\nJR r200"), vec![0x20, 8, 255, 0x44, 200]);
    assert_eq!(asm("MOV R007, R0"), vec![0x20, 7, 0]);
}

#[test]
fn every_layout_takes_its_operands_in_table_order() {
    let b = asm("LDW R1, R2, -4\nSTB R3, R4, 0x10\nIMM8 R6, 'z'\nJR R5\nRET");
    assert_eq!(
        b,
        vec![
            0x52, 1, 2, 0xFC, 0xFF, 0xFF, 0xFF, 0x55, 3, 4, 0x10, 0, 0, 0, 0x10, 6, b'z', 0x44, 5,
            0x46
        ]
    );
}

#[test]
fn comments_everywhere_and_blank_lines() {
    let src =
        "; header\n\n   ; indented comment\nL: ; after a label\n  NOP;tight\n.byte 1 ; data\n;";
    assert_eq!(asm(src), vec![1, 1]);
}

#[test]
fn crlf_line_endings_and_tabs() {
    let src = "start:\tIMM32\tR1,\t7\r\n\tJMP\tstart\r\n\t.string \"x\"\r\n";
    assert_eq!(asm(src), vec![0x11, 1, 7, 0, 0, 0, 0x40, 0, 0, 0, 0, b'x']);
    // Columns count a tab as one character.
    let e = assemble("\tNOP\r\n\tBOGUS\r\n", "t.asm").unwrap_err();
    assert_eq!(
        e.errors[0].to_string(),
        "t.asm:2:2: unknown mnemonic 'BOGUS' (a label needs a ':' after it)"
    );
}

#[test]
fn whitespace_around_punctuation_is_optional() {
    assert_eq!(
        asm("X=2\nADD R1,R2,R3\nIMM32 R1,X+1"),
        vec![0x30, 1, 2, 3, 0x11, 1, 3, 0, 0, 0]
    );
}

#[test]
fn empty_source_is_an_empty_program() {
    assert_eq!(asm(""), Vec::<u8>::new());
    assert_eq!(asm("; nothing\n\n"), Vec::<u8>::new());
}

#[test]
fn a_full_memory_program_fits() {
    let b = asm(".zero 65535\nHALT");
    assert_eq!(b.len(), 65_536);
    let p = assemble_with_symbols(".zero 65536\nEND:", "t.asm").unwrap();
    assert_eq!(p.symbols["END"].value, 65_536);
}
