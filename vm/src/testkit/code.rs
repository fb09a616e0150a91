//! The one bytecode builder, for tests and for the program generator. Owns two ways of
//! writing guest code byte by byte, without the assembler: one-instruction encoders
//! ([`ins`], [`imm32`], [`rrr`], …) that return bytes, joined with [`program`]; and
//! [`Code`], which lays instructions out at known addresses and resolves [`Label`]s,
//! patching forward uses when the label is bound. It encodes with [`Insn::encode_into`]
//! and knows nothing about engines or hosts.

use crate::{Insn, Layout, Opcode};

/// One instruction, encoded.
pub fn ins(op: Opcode, regs: [u8; 3], imm: i32) -> Vec<u8> {
    Insn::new(op, regs, imm).encode()
}

/// `IMM32 r, v`.
pub fn imm32(r: u8, v: i32) -> Vec<u8> {
    ins(Opcode::IMM32, [r, 0, 0], v)
}

/// `IMM8 r, v`.
pub fn imm8(r: u8, v: u8) -> Vec<u8> {
    ins(Opcode::IMM8, [r, 0, 0], i32::from(v))
}

/// A three-register instruction: `op d, a, b`.
pub fn rrr(op: Opcode, d: u8, a: u8, b: u8) -> Vec<u8> {
    ins(op, [d, a, b], 0)
}

/// A two-register instruction with an immediate: `op d, a, imm`.
pub fn rri(op: Opcode, d: u8, a: u8, imm: i32) -> Vec<u8> {
    ins(op, [d, a, 0], imm)
}

/// `JMP addr`.
pub fn jmp(addr: i32) -> Vec<u8> {
    ins(Opcode::JMP, [0; 3], addr)
}

/// `JZ r, addr`.
pub fn jz(r: u8, addr: i32) -> Vec<u8> {
    ins(Opcode::JZ, [r, 0, 0], addr)
}

/// `JNZ r, addr`.
pub fn jnz(r: u8, addr: i32) -> Vec<u8> {
    ins(Opcode::JNZ, [r, 0, 0], addr)
}

/// `SYSCALL n`.
pub fn sys(n: u8) -> Vec<u8> {
    ins(Opcode::SYSCALL, [0; 3], i32::from(n))
}

/// `HALT`.
pub fn halt() -> Vec<u8> {
    ins(Opcode::HALT, [0; 3], 0)
}

/// The pieces, one after another.
pub fn program(parts: &[Vec<u8>]) -> Vec<u8> {
    parts.concat()
}

/// A place in a [`Code`] that instructions can name before it is known.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Label(usize);

/// An address field waiting for its label: where the i32 goes and what to add.
#[derive(Clone, Copy, Debug)]
struct Fixup {
    field: usize,
    label: Label,
    addend: i32,
}

/// Guest code built instruction by instruction. Every emitting method returns the address
/// of what it emitted; [`Code::to`] emits an instruction whose i32 operand is a label's
/// address, filled in as soon as the label is [`bound`](Code::bind).
#[derive(Debug, Default, Clone)]
pub struct Code {
    /// The code so far (complete once every label used is bound).
    pub bytes: Vec<u8>,
    labels: Vec<Option<i32>>,
    fixups: Vec<Fixup>,
}

impl Code {
    /// Empty code starting at address 0.
    pub fn new() -> Code {
        Code::default()
    }

    /// The address of the next byte.
    pub fn here(&self) -> i32 {
        self.bytes.len() as i32
    }

    /// Append raw bytes (data, garbage, a truncated instruction); their address.
    pub fn put(&mut self, bytes: &[u8]) -> i32 {
        let at = self.here();
        self.bytes.extend_from_slice(bytes);
        at
    }

    /// Append one instruction; its address.
    pub fn ins(&mut self, op: Opcode, regs: [u8; 3], imm: i32) -> i32 {
        let at = self.here();
        Insn::new(op, regs, imm).encode_into(&mut self.bytes);
        at
    }

    /// `IMM32 r, v`.
    pub fn imm(&mut self, r: u8, v: i32) -> i32 {
        self.ins(Opcode::IMM32, [r, 0, 0], v)
    }

    /// `op d, a, b`.
    pub fn rrr(&mut self, op: Opcode, d: u8, a: u8, b: u8) -> i32 {
        self.ins(op, [d, a, b], 0)
    }

    /// `op d, a, imm`.
    pub fn rri(&mut self, op: Opcode, d: u8, a: u8, imm: i32) -> i32 {
        self.ins(op, [d, a, 0], imm)
    }

    /// `JMP to`.
    pub fn jmp(&mut self, to: i32) -> i32 {
        self.ins(Opcode::JMP, [0; 3], to)
    }

    /// `JNZ r, to`.
    pub fn jnz(&mut self, r: u8, to: i32) -> i32 {
        self.ins(Opcode::JNZ, [r, 0, 0], to)
    }

    /// `JZ r, to`.
    pub fn jz(&mut self, r: u8, to: i32) -> i32 {
        self.ins(Opcode::JZ, [r, 0, 0], to)
    }

    /// `SYSCALL n`.
    pub fn sys(&mut self, n: u8) -> i32 {
        self.ins(Opcode::SYSCALL, [0; 3], i32::from(n))
    }

    /// `HALT`.
    pub fn halt(&mut self) -> i32 {
        self.ins(Opcode::HALT, [0; 3], 0)
    }

    /// Overwrite the i32 at `at`.
    pub fn patch_i32(&mut self, at: i32, v: i32) {
        let at = at as usize;
        self.bytes[at..at + 4].copy_from_slice(&v.to_le_bytes());
    }

    /// A new label, not yet bound.
    pub fn label(&mut self) -> Label {
        self.labels.push(None);
        Label(self.labels.len() - 1)
    }

    /// Bind `label` to the current address and fill in every use of it so far.
    ///
    /// # Panics
    /// If the label is already bound.
    pub fn bind(&mut self, label: Label) {
        assert!(self.labels[label.0].is_none(), "{label:?} bound twice");
        let at = self.here();
        self.labels[label.0] = Some(at);
        let (ready, waiting) = std::mem::take(&mut self.fixups)
            .into_iter()
            .partition(|f| f.label == label);
        self.fixups = waiting;
        for Fixup { field, addend, .. } in ready {
            self.patch_i32(field as i32, at + addend);
        }
    }

    /// Append `op regs, label + addend`: an instruction whose i32 operand is an address.
    /// Its address.
    ///
    /// # Panics
    /// If `op` has no i32 operand.
    pub fn to(&mut self, op: Opcode, regs: [u8; 3], label: Label, addend: i32) -> i32 {
        let at = self.ins(op, regs, 0);
        let field = at as usize
            + match op.layout() {
                Layout::Imm | Layout::ImmReg => 1,
                Layout::RegImm => 2,
                Layout::RegRegImm => 3,
                other => panic!("{op:?} ({other:?}) has no i32 operand"),
            };
        match self.labels[label.0] {
            Some(target) => self.patch_i32(field as i32, target + addend),
            None => self.fixups.push(Fixup {
                field,
                label,
                addend,
            }),
        }
        at
    }

    /// The finished code.
    ///
    /// # Panics
    /// If an instruction names a label that was never bound.
    pub fn finish(self) -> Vec<u8> {
        assert!(
            self.fixups.is_empty(),
            "labels used but never bound: {:?}",
            self.fixups
        );
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Opcode::*;

    #[test]
    fn labels_patch_forward_and_backward_uses() {
        let mut c = Code::new();
        let (top, out) = (c.label(), c.label());
        c.bind(top);
        let jz_at = c.to(JZ, [1, 0, 0], out, 0);
        let st_at = c.to(STORE, [2, 0, 0], out, 3);
        c.to(JMP, [0; 3], top, 0);
        c.bind(out);
        let end = c.halt();
        let code = c.finish();
        assert_eq!(code[..6], jz(1, end)[..]);
        assert_eq!(
            code[st_at as usize..st_at as usize + 6],
            ins(STORE, [2, 0, 0], end + 3)[..]
        );
        assert_eq!(jz_at, 0);
        assert_eq!(code[12..17], jmp(0)[..]);
    }
}
