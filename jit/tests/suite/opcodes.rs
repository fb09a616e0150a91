//! Every opcode of the ISA table, lowered and run: each one with random operands, alone
//! and inside a counted loop (which takes the unchecked fast copy when its addresses pass
//! the entry checks), on every JIT engine and every fuel budget up to the end, compared
//! with the reference interpreter on every observable (the kit's `agree`). With the
//! exhaustive matches of the lowering this shows that each opcode's arm is right, not only
//! that it exists.

use super::{Code, agree, reference};
use pxvm::isa::{ALL_OPCODES, Flow, Layout};
use pxvm::testkit::Rng;
use pxvm::{Insn, Opcode};

/// Any 32-bit value.
fn any(rng: &mut Rng) -> i32 {
    rng.below(1 << 32) as u32 as i32
}

/// A register value: mostly an address in the data area, sometimes small or anything.
fn value(rng: &mut Rng) -> i32 {
    match rng.below(5) {
        0 => rng.below(16) as i32 - 8,
        1 => any(rng),
        2 => 65_530 + rng.below(8) as i32,
        _ => 0x4000 + rng.below(0x400) as i32,
    }
}

/// Run `code` on every engine at every budget from 0 to the end (in steps), each compared
/// with the reference.
fn check(code: &[u8]) {
    let end = reference(code, 10_000).machine.cycles + 1;
    let step = (end / 5).max(1);
    for fuel in (0..=end).step_by(step as usize).chain([end]) {
        agree(code, fuel);
    }
}

/// Set R0..R6 (R5 is the loop counter) and R7 (a stack in the data area).
fn setup(c: &mut Code, rng: &mut Rng, counter: i32) {
    for r in [0, 1, 2, 3, 4, 6] {
        let v = value(rng);
        c.imm(r, v);
    }
    c.imm(5, counter);
    c.imm(7, 0x6000);
}

/// An instruction of `op` on registers other than R5 and R7, with immediate `imm` (or a
/// random one when `None`).
fn insn(op: Opcode, rng: &mut Rng, imm: Option<i32>) -> Insn {
    let pick = |rng: &mut Rng| [0u8, 1, 2, 3, 4, 6][rng.below(6) as usize];
    let regs = [pick(rng), pick(rng), pick(rng)];
    let imm = imm.unwrap_or_else(|| match op.layout() {
        Layout::U8 | Layout::RegU8 => rng.below(256) as i32,
        _ => match rng.below(3) {
            0 => rng.below(64) as i32 - 32,
            1 => 0x4000 + rng.below(0x400) as i32,
            _ => any(rng),
        },
    });
    let imm = if op == Opcode::SYSCALL { 9 } else { imm };
    Insn::new(op, regs, imm)
}

#[test]
fn every_opcode_alone_agrees_with_the_reference() {
    let mut rng = Rng::new(0xD1B5_4A32_D192_ED03);
    for &op in ALL_OPCODES {
        for _ in 0..3 {
            let mut c = Code::new();
            setup(&mut c, &mut rng, 3);
            // Control transfers go to the epilogue (or fall through into it).
            let at = c.here();
            let target = at + op.len() as i32;
            let imm = match op.flow() {
                Flow::Jump | Flow::Branch | Flow::Call => Some(target),
                _ => None,
            };
            let i = insn(op, &mut rng, imm);
            i.encode_into(&mut c.bytes);
            c.sys(8);
            c.halt();
            check(&c.bytes);
        }
    }
}

#[test]
fn every_straight_line_opcode_in_a_counted_loop_agrees_with_the_reference() {
    let mut rng = Rng::new(0x2545_F491_4F6C_DD1D);
    for &op in ALL_OPCODES.iter().filter(|op| op.flow() == Flow::Next) {
        for round in 0..3 {
            let mut c = Code::new();
            setup(&mut c, &mut rng, 2 + round);
            let top = c.here();
            let i = insn(op, &mut rng, None);
            i.encode_into(&mut c.bytes);
            // A stepped base register, so accesses walk through memory.
            c.rri(Opcode::ADDI, i.regs[1], i.regs[1], 4);
            c.rri(Opcode::ADDI, 5, 5, -1);
            c.jnz(5, top);
            c.sys(8);
            c.halt();
            check(&c.bytes);
        }
    }
}
