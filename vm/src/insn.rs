//! Decoded instructions: [`Insn`] and the byte-level decoder and encoder. Decoding never
//! fails on a known opcode except by running past the end of memory; unknown opcode bytes
//! decode to [`Decoded::Unknown`], which the machine treats as a one-byte instruction.

use crate::isa::{Layout, Opcode};
use std::fmt;

/// One decoded instruction: the opcode, up to three register operand bytes (unused ones are
/// zero) and the immediate (zero when the layout has none; the `u8` operand of `IMM8` and
/// `SYSCALL` is stored here too).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Insn {
    pub op: Opcode,
    pub regs: [u8; 3],
    pub imm: i32,
}

/// What sits at an address: a known instruction, or an unknown opcode byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Decoded {
    Insn(Insn),
    Unknown(u8),
}

impl Decoded {
    /// Encoded length in bytes.
    pub fn len(&self) -> usize {
        match self {
            Decoded::Insn(insn) => insn.op.len(),
            Decoded::Unknown(_) => 1,
        }
    }

    /// Never true: every decoded item covers at least one byte.
    pub fn is_empty(&self) -> bool {
        false
    }
}

/// The longest encoding of an instruction, in bytes (`RegRegImm`: opcode, two registers,
/// a 32-bit immediate).
pub const MAX_INSN_LEN: usize = 7;

/// Where an instruction's operands go in its encoding, read as a little-endian word:
/// for each register operand and for the immediate, a bit shift and a mask of the bits
/// kept (a zero mask: the layout has no such operand).
#[derive(Clone, Copy)]
struct Placement {
    regs: [(u32, u64); 3],
    imm: (u32, u64),
}

impl Placement {
    const fn of(layout: Layout) -> Placement {
        const NONE: (u32, u64) = (0, 0);
        const BYTE: u64 = 0xFF;
        const WORD: u64 = 0xFFFF_FFFF;
        const fn at(byte: u32, mask: u64) -> (u32, u64) {
            (byte * 8, mask)
        }
        let (regs, imm) = match layout {
            Layout::None => ([NONE; 3], NONE),
            Layout::U8 => ([NONE; 3], at(1, BYTE)),
            Layout::RegU8 => ([at(1, BYTE), NONE, NONE], at(2, BYTE)),
            Layout::Reg => ([at(1, BYTE), NONE, NONE], NONE),
            Layout::RegReg => ([at(1, BYTE), at(2, BYTE), NONE], NONE),
            Layout::RegRegReg => ([at(1, BYTE), at(2, BYTE), at(3, BYTE)], NONE),
            Layout::Imm => ([NONE; 3], at(1, WORD)),
            Layout::RegImm => ([at(1, BYTE), NONE, NONE], at(2, WORD)),
            Layout::ImmReg => ([at(5, BYTE), NONE, NONE], at(1, WORD)),
            Layout::RegRegImm => ([at(1, BYTE), at(2, BYTE), NONE], at(3, WORD)),
        };
        Placement { regs, imm }
    }
}

/// [`Placement`]s by opcode byte.
const PLACEMENTS: [Placement; 256] = {
    let mut table = [Placement::of(Layout::None); 256];
    let mut byte = 0;
    while byte < 256 {
        if let Some(op) = Opcode::from_byte(byte as u8) {
            table[byte] = Placement::of(op.layout());
        }
        byte += 1;
    }
    table
};

/// Decoding ran past the end of the byte slice. `at` is the offset of the first byte that
/// could not be fetched (for guest memory that is always 65,536).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Truncated {
    pub at: usize,
}

impl Insn {
    /// An instruction with no operands.
    pub const fn bare(op: Opcode) -> Insn {
        Insn {
            op,
            regs: [0; 3],
            imm: 0,
        }
    }

    /// An instruction from its opcode, register operands (in assembly order) and immediate.
    pub const fn new(op: Opcode, regs: [u8; 3], imm: i32) -> Insn {
        Insn { op, regs, imm }
    }

    /// Whether every register operand names one of R0..R7. Instructions with a bad register
    /// retire without any effect.
    #[inline]
    pub fn regs_valid(&self) -> bool {
        let n = self.op.layout().reg_count();
        self.regs[..n].iter().all(|&r| r < 8)
    }

    /// Append the encoding to `out`.
    #[inline]
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        let (bytes, len) = self.encoded();
        out.extend_from_slice(&bytes[..len]);
    }

    /// The encoding: its bytes at the start of eight (the rest zero), and its length.
    /// Eight bytes copy as one word, so a caller with room can write all of them and
    /// advance by the length.
    ///
    /// Built without a branch on the layout (opcodes in a genome or a fuzz program are
    /// unpredictable, and a mispredicted jump table costs more than the work): the
    /// opcode's [`Placement`] says where each operand goes in the word.
    #[inline]
    pub fn encoded(&self) -> ([u8; MAX_INSN_LEN + 1], usize) {
        let p = &PLACEMENTS[self.op as usize];
        let place = |value: u64, (shift, mask): (u32, u64)| (value & mask) << shift;
        let [a, b, c] = self.regs.map(u64::from);
        let word = self.op as u64
            | place(a, p.regs[0])
            | place(b, p.regs[1])
            | place(c, p.regs[2])
            | place(u64::from(self.imm as u32), p.imm);
        (word.to_le_bytes(), self.op.len())
    }

    /// The encoding as a fresh vector.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.op.len());
        self.encode_into(&mut out);
        out
    }
}

fn imm_at(bytes: &[u8], at: usize) -> i32 {
    i32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

/// Decode the item starting at `pc` in `bytes`.
///
/// Unknown opcode bytes decode to [`Decoded::Unknown`]. A known opcode whose operands run
/// past the end of `bytes`, or a `pc` at or past the end, gives [`Truncated`] with the
/// offset of the first missing byte — as the original VM, which fetched byte by byte,
/// failed at exactly that address.
#[inline]
pub fn decode(bytes: &[u8], pc: usize) -> Result<Decoded, Truncated> {
    let Some(&byte) = bytes.get(pc) else {
        return Err(Truncated {
            at: pc.max(bytes.len()),
        });
    };
    let Some(op) = Opcode::from_byte(byte) else {
        return Ok(Decoded::Unknown(byte));
    };
    let len = op.len();
    if pc + len > bytes.len() {
        return Err(Truncated { at: bytes.len() });
    }
    let o = pc + 1;
    let (regs, imm) = match op.layout() {
        Layout::None => ([0; 3], 0),
        Layout::U8 => ([0; 3], i32::from(bytes[o])),
        Layout::Reg => ([bytes[o], 0, 0], 0),
        Layout::RegU8 => ([bytes[o], 0, 0], i32::from(bytes[o + 1])),
        Layout::RegReg => ([bytes[o], bytes[o + 1], 0], 0),
        Layout::RegRegReg => ([bytes[o], bytes[o + 1], bytes[o + 2]], 0),
        Layout::Imm => ([0; 3], imm_at(bytes, o)),
        Layout::RegImm => ([bytes[o], 0, 0], imm_at(bytes, o + 1)),
        Layout::ImmReg => ([bytes[o + 4], 0, 0], imm_at(bytes, o)),
        Layout::RegRegImm => ([bytes[o], bytes[o + 1], 0], imm_at(bytes, o + 2)),
    };
    Ok(Decoded::Insn(Insn { op, regs, imm }))
}

/// Formats a register operand: `R0`..`R255` (registers >= 8 are legal bytes with no effect).
#[derive(Debug, Clone, Copy)]
pub struct Reg(pub u8);

impl fmt::Display for Reg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "R{}", self.0)
    }
}

impl fmt::Display for Insn {
    /// Assembly syntax, e.g. `IMM32 R1, 301`. Immediates are printed in decimal.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c] = self.regs;
        let m = self.op.mnemonic();
        let imm = self.imm;
        match self.op.layout() {
            Layout::None => write!(f, "{m}"),
            Layout::U8 => write!(f, "{m} {imm}"),
            Layout::Reg => write!(f, "{m} {}", Reg(a)),
            Layout::RegU8 => write!(f, "{m} {}, {imm}", Reg(a)),
            Layout::RegReg => write!(f, "{m} {}, {}", Reg(a), Reg(b)),
            Layout::RegRegReg => write!(f, "{m} {}, {}, {}", Reg(a), Reg(b), Reg(c)),
            Layout::Imm => write!(f, "{m} {imm}"),
            Layout::RegImm => write!(f, "{m} {}, {imm}", Reg(a)),
            Layout::ImmReg => write!(f, "{m} {imm}, {}", Reg(a)),
            Layout::RegRegImm => write!(f, "{m} {}, {}, {imm}", Reg(a), Reg(b)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::isa::ALL_OPCODES;

    #[test]
    fn encode_then_decode_is_identity_for_every_opcode() {
        for &op in ALL_OPCODES {
            let layout = op.layout();
            let n = layout.reg_count();
            let mut regs = [0u8; 3];
            for (i, r) in regs.iter_mut().enumerate().take(n) {
                *r = 3 + i as u8 * 90;
            }
            let imm = match layout {
                Layout::U8 | Layout::RegU8 => 0xAB,
                _ if layout.has_imm() => -123_456_789,
                _ => 0,
            };
            let insn = Insn::new(op, regs, imm);
            let bytes = insn.encode();
            assert_eq!(bytes.len(), op.len(), "{op}");
            assert_eq!(decode(&bytes, 0), Ok(Decoded::Insn(insn)), "{op}");
            // Operands the layout lacks, and immediate bits it has no room for, are not
            // encoded.
            let mut junk = insn;
            junk.regs[n..].fill(0xEE);
            if matches!(layout, Layout::U8 | Layout::RegU8) {
                junk.imm |= 0x7F00;
            } else if !layout.has_imm() {
                junk.imm = -1;
            }
            assert_eq!(junk.encode(), bytes, "{op}");
        }
    }

    #[test]
    fn truncated_operands_report_the_first_missing_byte() {
        let bytes = [0x11, 1, 2];
        assert_eq!(decode(&bytes, 0), Err(Truncated { at: 3 }));
        assert_eq!(decode(&bytes, 3), Err(Truncated { at: 3 }));
    }

    #[test]
    fn store_encodes_address_before_register() {
        let insn = Insn::new(Opcode::STORE, [5, 0, 0], 0x0102_0304);
        assert_eq!(insn.encode(), vec![0x51, 4, 3, 2, 1, 5]);
    }
}
