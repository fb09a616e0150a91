//! The original pxVM's demonstration kernels, v1.0 and v2.0, assembled from source: their
//! sizes (73 and 65 bytes, as the original reported) and exact encodings.

use pxvm::asm::assemble;
use pxvm::disasm::disassemble;

/// v1.0: PRINT 1, PRINT 4, RECT (50,50,100,100, color 1), PRINT 5, SELF_MODIFY 301,
/// PRINT 6, HALT — every value loaded with IMM32 into R1..R5 before its SYSCALL.
const KERNEL_V1: &str = "\
; pxOS kernel v1.0
start:
    IMM32 R1, 1             ; 'PXVM booting...'
    SYSCALL SYS_PRINT
    IMM32 R1, 4             ; 'Kernel init done.'
    SYSCALL SYS_PRINT
    IMM32 R1, 50            ; x
    IMM32 R2, 50            ; y
    IMM32 R3, 100           ; w
    IMM32 R4, 100           ; h
    IMM32 R5, 1             ; color: window frame
    SYSCALL SYS_RECT
    IMM32 R1, 5             ; 'Process started.'
    SYSCALL SYS_PRINT
    IMM32 R1, 301           ; build/kernel_v2.bin
    SYSCALL 99              ; SELF_MODIFY
    IMM32 R1, 6             ; 'Process terminated.'
    SYSCALL SYS_PRINT
    HALT
";

/// v2.0: PRINT 4, RECT (200,50,150,150, color 5), PRINT 5, PRINT 2, PRINT 6, HALT.
const KERNEL_V2: &str = "\
; pxOS kernel v2.0 (evolved)
    IMM32 R1, 4
    SYSCALL SYS_PRINT
    IMM32 R1, 200
    IMM32 R2, 50
    IMM32 R3, 150
    IMM32 R4, 150
    IMM32 R5, 5             ; color: light blue
    SYSCALL SYS_RECT
    IMM32 R1, 5
    SYSCALL SYS_PRINT
    IMM32 R1, 2
    SYSCALL SYS_PRINT
    IMM32 R1, 6
    SYSCALL SYS_PRINT
    HALT
";

#[test]
fn v1_is_73_bytes_with_the_original_encodings() {
    let b = assemble(KERNEL_V1, "kernel_v1.asm").unwrap();
    assert_eq!(b.len(), 73);
    assert_eq!(&b[0..6], &[0x11, 0x01, 0x01, 0x00, 0x00, 0x00]); // IMM32 R1, 1
    assert_eq!(&b[6..8], &[0xF0, 0x01]); // SYSCALL 1
    assert_eq!(&b[16..22], &[0x11, 0x01, 50, 0, 0, 0]); // IMM32 R1, 50
    assert_eq!(&b[40..46], &[0x11, 0x05, 0x01, 0x00, 0x00, 0x00]); // IMM32 R5, 1
    assert_eq!(&b[46..48], &[0xF0, 0x02]); // SYSCALL 2
    assert_eq!(&b[56..62], &[0x11, 0x01, 0x2D, 0x01, 0x00, 0x00]); // IMM32 R1, 301
    assert_eq!(&b[62..64], &[0xF0, 0x63]); // SYSCALL 99
    assert_eq!(b[72], 0x00); // HALT
}

#[test]
fn v2_is_65_bytes_with_the_original_encodings() {
    let b = assemble(KERNEL_V2, "kernel_v2.asm").unwrap();
    assert_eq!(b.len(), 65);
    assert_eq!(&b[0..8], &[0x11, 0x01, 0x04, 0, 0, 0, 0xF0, 0x01]);
    assert_eq!(&b[8..14], &[0x11, 0x01, 200, 0, 0, 0]);
    assert_eq!(&b[38..40], &[0xF0, 0x02]);
    assert_eq!(b[64], 0x00);
    // Every instruction is one IMM32 or one SYSCALL, apart from the final HALT.
    let listing = disassemble(&b);
    assert_eq!(listing.matches("IMM32 R").count(), 9, "{listing}");
    assert_eq!(listing.matches("SYSCALL ").count(), 5, "{listing}");
    assert_eq!(assemble(&listing, "listing").unwrap(), b);
}

#[test]
fn store_puts_the_address_before_the_register() {
    let b = assemble("STORE 0x100, R2", "t.asm").unwrap();
    assert_eq!(b, vec![0x51, 0x00, 0x01, 0x00, 0x00, 0x02]);
    let b = assemble("LOAD R3, 0x100", "t.asm").unwrap();
    assert_eq!(b, vec![0x50, 0x03, 0x00, 0x01, 0x00, 0x00]);
}

#[test]
fn the_original_instruction_set_encodes_as_the_reference_table() {
    let src = "\
HALT
NOP
IMM8 R1, 255
IMM32 R2, -1
MOV R3, R4
ADD R0, R1, R2
SUB R5, R6, R7
JMP 0x1234
JZ R1, 0
CMP R2, R3, R4
LOAD R1, 16
STORE 16, R1
SYSCALL 1
";
    let b = assemble(src, "t.asm").unwrap();
    let expect: Vec<u8> = [
        &[0x00][..],
        &[0x01],
        &[0x10, 1, 255],
        &[0x11, 2, 0xFF, 0xFF, 0xFF, 0xFF],
        &[0x20, 3, 4],
        &[0x30, 0, 1, 2],
        &[0x31, 5, 6, 7],
        &[0x40, 0x34, 0x12, 0, 0],
        &[0x41, 1, 0, 0, 0, 0],
        &[0x42, 2, 3, 4],
        &[0x50, 1, 16, 0, 0, 0],
        &[0x51, 16, 0, 0, 0, 1],
        &[0xF0, 1],
    ]
    .concat();
    assert_eq!(b, expect);
}
