//! Round trips between the disassembler and the assembler, and robustness on any input:
//! `assemble(disassemble(x)) == x` for every byte string that fits in memory, encoded
//! instruction sequences survive the trip, and no text makes the assembler panic.

use proptest::prelude::*;
use pxvm::asm::{MAX_ERRORS, assemble};
use pxvm::disasm::{disassemble, instructions};
use pxvm::isa::{ALL_OPCODES, Layout};
use pxvm::testkit::Rng;
use pxvm::testkit::code::{ins, jmp};
use pxvm::{Decoded, Insn, MEM_SIZE};

/// Disassemble, reassemble, and demand the same bytes.
fn round_trip(bytes: &[u8]) {
    let listing = disassemble(bytes);
    match assemble(&listing, "listing.asm") {
        Ok(back) => assert!(back == bytes, "round trip changed the bytes:\n{listing}"),
        Err(e) => panic!("listing does not assemble: {e}\n{listing}"),
    }
}

/// A valid instruction: any opcode, any register bytes, any immediate its layout holds.
fn insn() -> impl Strategy<Value = Insn> {
    (
        prop::sample::select(ALL_OPCODES),
        any::<[u8; 3]>(),
        any::<i32>(),
    )
        .prop_map(|(op, regs, imm)| {
            let layout = op.layout();
            let mut r = [0u8; 3];
            r[..layout.reg_count()].copy_from_slice(&regs[..layout.reg_count()]);
            let imm = match layout {
                Layout::U8 | Layout::RegU8 => imm & 0xFF,
                _ if layout.has_imm() => imm,
                _ => 0,
            };
            Insn::new(op, r, imm)
        })
}

/// Instructions whose immediates are small, so branches often hit instruction starts.
fn near_insn() -> impl Strategy<Value = Insn> {
    (insn(), 0i32..200).prop_map(|(mut i, near)| {
        if i.op.layout().has_imm() {
            i.imm = near;
        }
        i
    })
}

/// A pseudo-random buffer (the kit's seeded stream), for full-memory inputs without
/// proptest shrinking.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut rng = Rng::new(seed);
    (0..len).map(|_| rng.below(256) as u8).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn encoded_instructions_round_trip(insns in prop::collection::vec(insn(), 0..64)) {
        let bytes: Vec<u8> = insns.iter().flat_map(|i| i.encode()).collect();
        round_trip(&bytes);
        // The listing decodes back to the same instruction sequence.
        let decoded: Vec<Decoded> = instructions(&bytes).into_iter().map(|(_, d)| d).collect();
        let expect: Vec<Decoded> = insns.iter().map(|&i| Decoded::Insn(i)).collect();
        prop_assert_eq!(decoded, expect);
    }

    #[test]
    fn branchy_programs_round_trip_with_labels(
        insns in prop::collection::vec(near_insn(), 1..64),
        junk in prop::collection::vec(any::<u8>(), 0..4),
        zeros in 0usize..40,
    ) {
        let mut bytes: Vec<u8> = insns.iter().flat_map(|i| i.encode()).collect();
        bytes.extend(&junk);
        bytes.resize(bytes.len() + zeros, 0);
        round_trip(&bytes);
    }

    #[test]
    fn arbitrary_bytes_round_trip(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        round_trip(&bytes);
    }

    #[test]
    fn arbitrary_text_never_panics(text in any::<String>()) {
        check_no_panic(&text);
    }

    #[test]
    fn assembly_like_text_never_panics(
        lines in prop::collection::vec(asm_like_line(), 0..24)
    ) {
        let text = lines.join("\n");
        check_no_panic(&text);
        // Whatever assembles disassembles to a listing that assembles to the same bytes.
        if let Ok(bytes) = assemble(&text, "f.asm") {
            round_trip(&bytes);
        }
    }

    #[test]
    fn long_lines_never_panic(unit in "\\PC{1,8}", n in 1usize..3000) {
        check_no_panic(&unit.repeat(n));
    }
}

/// Tokens that reach the parser and emitter, not just the lexer.
fn asm_like_line() -> impl Strategy<Value = String> {
    let token = prop::sample::select(vec![
        "IMM32",
        "imm8",
        "JMP",
        "JZ",
        "STORE",
        "LDW",
        "SYSCALL",
        "HALT",
        "ADD",
        ".byte",
        ".word",
        ".string",
        ".asciz",
        ".zero",
        ".align",
        ".org",
        ".equ",
        "R1",
        "r7",
        "R8",
        "R255",
        "R256",
        "L",
        "L:",
        "X",
        "=",
        ",",
        "+",
        "-",
        "0",
        "1",
        "255",
        "256",
        "-1",
        "0xFFFFFFFF",
        "0x80000000",
        "65536",
        "65535",
        "'a'",
        "'\\n'",
        "\"s\\x41\"",
        "\"",
        "'",
        ";",
        "SYS_PRINT",
        "\t",
        "\r",
        "0b",
        "99999999999",
    ]);
    prop::collection::vec(token, 0..8).prop_map(|t| t.join(" "))
}

fn check_no_panic(text: &str) {
    let lines = text.split('\n').count();
    match assemble(text, "f.asm") {
        Ok(bytes) => assert!(bytes.len() <= MEM_SIZE),
        Err(e) => {
            assert!(!e.errors.is_empty());
            assert!(e.errors.len() <= MAX_ERRORS + 1);
            for err in &e.errors {
                assert!((1..=lines).contains(&err.line), "{err}");
                assert!(err.col >= 1, "{err}");
                assert!(!err.message.is_empty());
            }
        }
    }
}

proptest! {
    // Each case is up to a full memory image; a few cases keep the suite fast.
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_up_to_memory_size_round_trip(
        bytes in prop::collection::vec(any::<u8>(), 0..=MEM_SIZE)
    ) {
        round_trip(&bytes);
    }
}

#[test]
fn full_memory_images_round_trip() {
    for seed in [1, 0x9E37_79B9_7F4A_7C15] {
        round_trip(&noise(MEM_SIZE, seed));
    }
    round_trip(&vec![0u8; MEM_SIZE]);
    round_trip(&vec![0xFFu8; MEM_SIZE]);
    // Every instruction a branch to its own start: a label on every line.
    let mut bytes = Vec::new();
    while bytes.len() + 5 <= MEM_SIZE {
        let at = bytes.len() as i32;
        bytes.extend(jmp(at));
    }
    bytes.resize(MEM_SIZE, 0x11); // a truncated IMM32 at the very end
    round_trip(&bytes);
}

#[test]
fn every_single_byte_and_every_truncation_round_trips() {
    for b in 0..=255u8 {
        round_trip(&[b]);
        round_trip(&[b, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]);
    }
    for &op in ALL_OPCODES {
        let full = ins(op, [1, 2, 3], 0x1234_5678);
        for cut in 0..=full.len() {
            round_trip(&full[..cut]);
        }
    }
}

#[test]
fn listings_of_programs_with_zero_runs_use_zero_directives() {
    let mut bytes = jmp(100);
    bytes.resize(4096, 0);
    let listing = disassemble(&bytes);
    assert!(listing.contains("JMP L_0064"), "{listing}");
    assert!(listing.contains(".zero 95"), "{listing}");
    assert!(listing.contains("L_0064:\n    .zero 3996"), "{listing}");
    assert!(listing.lines().count() < 10, "{listing}");
    round_trip(&bytes);
}
