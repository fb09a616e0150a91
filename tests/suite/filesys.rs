//! The file syscalls (FS_OPEN, FS_CLOSE, FS_READ, FS_WRITE): handles, modes, positions
//! and buffers, as the reference page describes them.

use pxos::check::difftest::{Scenario, check};
use pxvm::Opcode::STORE;
use pxvm::testkit::code::*;

const OPEN: u8 = 20;
const CLOSE: u8 = 21;
const WRITE: u8 = 22;
const READ: u8 = 23;

/// Where `call` saves results: slot k is the i32 at `RESULTS + 4 * k`.
const RESULTS: i32 = 0x8000;

/// Call `num` with R1..R3 set, then save R0 in result slot `slot`.
pub(super) fn call(num: u8, r1: i32, r2: i32, r3: i32, slot: i32) -> Vec<u8> {
    program(&[
        imm32(1, r1),
        imm32(2, r2),
        imm32(3, r3),
        sys(num),
        ins(STORE, [0, 0, 0], RESULTS + 4 * slot),
    ])
}

/// The first `n` result slots.
pub(super) fn results(memory: &[u8], n: usize) -> Vec<i32> {
    (0..n)
        .map(|k| {
            let at = RESULTS as usize + 4 * k;
            i32::from_le_bytes(memory[at..at + 4].try_into().unwrap())
        })
        .collect()
}

#[test]
fn open_modes_and_handle_numbering() {
    let code = program(&[
        call(OPEN, 5, 0, 0, 0),  // read, missing: 0 (takes no handle)
        call(OPEN, 5, 1, 0, 1),  // write, missing: 0
        call(OPEN, 5, 7, 0, 2),  // other mode: succeeds unchecked -> handle 1
        call(OPEN, 5, 2, 0, 3),  // create -> handle 2
        call(CLOSE, 2, 0, 0, 4), // close 2 -> 1
        call(CLOSE, 2, 0, 0, 5), // again -> 0
        call(OPEN, 5, 0, 0, 6),  // now exists -> handle 3 (2 is not reused)
        call(OPEN, 5, -1, 0, 7), // negative mode: unchecked -> handle 4
        halt(),
    ]);
    let o = check(&Scenario::new(code.clone(), 1000));
    assert_eq!(results(&o.memory, 8), [0, 0, 1, 2, 1, 0, 3, 4]);
    assert_eq!(o.files.get("file_5").map(Vec::len), Some(0));
}

#[test]
fn write_then_read_back_through_positions() {
    let code = program(&[
        imm32(1, 0x6463_6261), // "abcd"
        ins(STORE, [1, 0, 0], 0x2000),
        call(OPEN, 9, 2, 0, 0),            // handle 1
        call(WRITE, 1, 0x2000, 4, 1),      // 4
        call(WRITE, 1, 0x2000, 0, 2),      // length 0: 0
        call(OPEN, 9, 0, 0, 3),            // handle 2, position 0
        call(READ, 2, 0x3000, 3, 4),       // "abc" -> 3
        call(READ, 2, 0x3000 + 3, 100, 5), // "d" -> 1
        call(READ, 2, 0x3000, 100, 6),     // at end -> 0
        call(WRITE, 1, 0x2000, 2, 7),      // handle 1 continues at 4: "abcdab"
        halt(),
    ]);
    let o = check(&Scenario::new(code.clone(), 1000));
    assert_eq!(results(&o.memory, 8), [1, 4, 0, 2, 3, 1, 0, 2]);
    assert_eq!(o.files["file_9"], b"abcdab");
    assert_eq!(&o.memory[0x3000..0x3004], b"abcd");
}

#[test]
fn buffers_outside_memory_return_zero_and_keep_the_position() {
    let code = program(&[
        call(OPEN, 1, 0, 0, 0),      // handle 1
        call(READ, 1, 65534, 4, 1),  // 4 bytes do not fit at 65534 -> 0
        call(READ, 1, -1, 4, 2),     // negative address -> 0
        call(READ, 1, 0x4000, 4, 3), // position was not advanced: "wxyz" -> 4
        call(WRITE, 1, 65535, 2, 4), // does not fit -> 0
        call(WRITE, 1, 0, -1, 5),    // negative length -> 0
        call(READ, 1, 0, -3, 6),     // negative length -> 0
        halt(),
    ]);
    let o = check(&Scenario::new(code, 1000).with_file("file_1", b"wxyz".to_vec()));
    assert_eq!(results(&o.memory, 7), [1, 0, 0, 4, 0, 0, 0]);
    assert_eq!(&o.memory[0x4000..0x4004], b"wxyz");
    assert_eq!(o.files["file_1"], b"wxyz");
}

#[test]
fn short_read_near_the_end_of_memory_counts_bytes_actually_read() {
    // Only 2 bytes remain in the file, and 2 bytes fit at 65534: the read succeeds.
    let code = program(&[call(OPEN, 1, 0, 0, 0), call(READ, 1, 65534, 100, 1), halt()]);
    let o = check(&Scenario::new(code, 1000).with_file("file_1", b"hi".to_vec()));
    assert_eq!(results(&o.memory, 2), [1, 2]);
    assert_eq!(&o.memory[65534..], b"hi");
}

#[test]
fn writes_to_a_missing_file_fail_and_bad_handles_fail() {
    let code = program(&[
        call(OPEN, 4, 3, 0, 0),   // mode 3: handle 1, file missing
        call(WRITE, 1, 0, 4, 1),  // -> 0
        call(READ, 1, 0, 4, 2),   // -> 0
        call(READ, 99, 0, 4, 3),  // no such handle -> 0
        call(CLOSE, 99, 0, 0, 4), // -> 0
        halt(),
    ]);
    let o = check(&Scenario::new(code.clone(), 1000));
    assert_eq!(results(&o.memory, 5), [1, 0, 0, 0, 0]);
    assert!(!o.files.contains_key("file_4"));
}

#[test]
fn reading_into_code_rewrites_it() {
    // FS_READ overwrites the NOPs after the syscall with IMM8 R0, 42.
    let head = program(&[call(OPEN, 1, 0, 0, 0), imm32(1, 1), imm32(3, 3)]);
    let read_at = head.len() + 6 + 2; // after IMM32 R2 and the SYSCALL
    let code = program(&[
        head,
        imm32(2, read_at as i32),
        sys(READ),
        vec![0x01, 0x01, 0x01],
        halt(),
    ]);
    let o = check(&Scenario::new(code, 1000).with_file("file_1", vec![0x10, 0x00, 42]));
    assert_eq!(o.report.regs[0], 42);
}

#[test]
fn build_file_ids_name_build_paths() {
    let code = program(&[call(OPEN, 303, 2, 0, 0), call(OPEN, 300, 2, 0, 1), halt()]);
    let o = check(&Scenario::new(code.clone(), 1000));
    assert!(o.files.contains_key("build/assembler.bin"));
    assert!(o.files.contains_key("build/kernel_v2.asm"));
}

#[test]
fn the_open_mode_is_not_enforced_afterwards() {
    // A handle opened for reading writes, and one opened for writing reads, through one
    // position per handle.
    let code = program(&[
        imm32(1, 0x4443_4241), // "ABCD"
        ins(STORE, [1, 0, 0], 0x2000),
        call(OPEN, 6, 0, 0, 0),       // read mode -> handle 1
        call(WRITE, 1, 0x2000, 2, 1), // writes "AB" at 0 -> 2
        call(OPEN, 6, 1, 0, 2),       // write mode -> handle 2
        call(READ, 2, 0x3000, 10, 3), // reads "ABcdef"... -> 6
        halt(),
    ]);
    let o = check(&Scenario::new(code, 1000).with_file("file_6", b"abcdef".to_vec()));
    assert_eq!(results(&o.memory, 4), [1, 2, 2, 6]);
    assert_eq!(o.files["file_6"], b"ABcdef");
    assert_eq!(&o.memory[0x3000..0x3006], b"ABcdef");
}
