//! The pxVM instruction set, written once: every opcode's byte, mnemonic, operand layout,
//! encoded length and one-line effect. The decoder, encoder, assembler, disassembler,
//! interpreter, JIT and `docs/ISA.md` all derive from the table in this module, so adding
//! an instruction means adding one row here and its semantics in `exec`.

use std::fmt;

/// How an instruction's operand bytes follow its opcode byte.
///
/// Register operands are one byte each (values >= 8 are encodable and make the
/// instruction a no-op); immediates and addresses are little-endian `i32`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Layout {
    /// No operands (`HALT`, `NOP`, `RET`).
    None,
    /// One unsigned byte (`SYSCALL n`).
    U8,
    /// One register (`JR r`).
    Reg,
    /// A register and an unsigned byte (`IMM8 r, u8`).
    RegU8,
    /// Two registers (`MOV dst, src`).
    RegReg,
    /// Three registers (`ADD dst, a, b`).
    RegRegReg,
    /// One i32 (`JMP addr`, `CALL addr`).
    Imm,
    /// A register then an i32 (`IMM32 r, v`, `JZ r, addr`, `LOAD dst, addr`).
    RegImm,
    /// An i32 then a register (`STORE addr, src`).
    ImmReg,
    /// Two registers then an i32 (`ADDI dst, src, imm`, `LDW dst, base, off`).
    RegRegImm,
}

impl Layout {
    /// Encoded length of an instruction with this layout, opcode byte included.
    #[allow(clippy::len_without_is_empty)] // an instruction is never empty
    #[inline]
    pub const fn len(self) -> usize {
        match self {
            Layout::None => 1,
            Layout::U8 | Layout::Reg => 2,
            Layout::RegU8 | Layout::RegReg => 3,
            Layout::RegRegReg => 4,
            Layout::Imm => 5,
            Layout::RegImm | Layout::ImmReg => 6,
            Layout::RegRegImm => 7,
        }
    }

    /// Number of register operands.
    #[inline]
    pub const fn reg_count(self) -> usize {
        match self {
            Layout::None | Layout::U8 | Layout::Imm => 0,
            Layout::Reg | Layout::RegU8 | Layout::RegImm | Layout::ImmReg => 1,
            Layout::RegReg | Layout::RegRegImm => 2,
            Layout::RegRegReg => 3,
        }
    }

    /// Whether the layout carries an i32 immediate.
    pub const fn has_imm(self) -> bool {
        matches!(
            self,
            Layout::Imm | Layout::RegImm | Layout::ImmReg | Layout::RegRegImm
        )
    }
}

/// The longest encoded instruction, in bytes.
pub const MAX_INSN_LEN: usize = 7;

macro_rules! isa_table {
    ($( $byte:literal $name:ident $layout:ident $operands:literal $effect:literal; )*) => {
        /// A known pxVM opcode. Bytes not listed here are unknown opcodes: executing one
        /// appends a warning line and continues at the next byte.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u8)]
        pub enum Opcode {
            $(
                #[doc = concat!("`", $effect, "`")]
                $name = $byte,
            )*
        }

        /// Opcode bytes as constants, for matching raw bytes in fast decoders.
        pub mod byte {
            $(
                #[doc = concat!("The opcode byte of `", stringify!($name), "`.")]
                pub const $name: u8 = $byte;
            )*
        }

        /// Every known opcode, in byte order.
        pub const ALL_OPCODES: &[Opcode] = &[$(Opcode::$name),*];

        impl Opcode {
            /// The assembler mnemonic, upper case.
            pub const fn mnemonic(self) -> &'static str {
                match self { $(Opcode::$name => stringify!($name),)* }
            }

            /// The operand layout.
            #[inline]
            pub const fn layout(self) -> Layout {
                match self { $(Opcode::$name => Layout::$layout,)* }
            }

            /// The operands as written in assembly, for documentation.
            pub const fn operand_syntax(self) -> &'static str {
                match self { $(Opcode::$name => $operands,)* }
            }

            /// One line saying what the instruction does.
            pub const fn effect(self) -> &'static str {
                match self { $(Opcode::$name => $effect,)* }
            }

            /// The opcode for a byte, or `None` for an unknown opcode.
            #[inline]
            pub const fn from_byte(byte: u8) -> Option<Opcode> {
                match byte { $($byte => Some(Opcode::$name),)* _ => None }
            }
        }
    };
}

isa_table! {
    0x00 HALT  None      ""                "stop; pc is left after the HALT byte; not counted as a cycle";
    0x01 NOP   None      ""                "nothing";
    0x10 IMM8  RegU8     "dst, u8"         "dst = u8 (0..255)";
    0x11 IMM32 RegImm    "dst, i32"        "dst = i32";
    0x20 MOV   RegReg    "dst, src"        "dst = src";
    0x30 ADD   RegRegReg "dst, a, b"       "dst = a + b (wrapping)";
    0x31 SUB   RegRegReg "dst, a, b"       "dst = a - b (wrapping)";
    0x32 MUL   RegRegReg "dst, a, b"       "dst = a * b (wrapping)";
    0x33 DIV   RegRegReg "dst, a, b"       "dst = a / b truncated; b == 0 gives 0; i32::MIN / -1 gives i32::MIN";
    0x34 MOD   RegRegReg "dst, a, b"       "dst = a % b truncated (sign of a); b == 0 gives 0; i32::MIN % -1 gives 0";
    0x35 AND   RegRegReg "dst, a, b"       "dst = a & b";
    0x36 OR    RegRegReg "dst, a, b"       "dst = a | b";
    0x37 XOR   RegRegReg "dst, a, b"       "dst = a ^ b";
    0x38 SHL   RegRegReg "dst, a, b"       "dst = a << (b & 31)";
    0x39 SHR   RegRegReg "dst, a, b"       "dst = a >> (b & 31), logical";
    0x3A SAR   RegRegReg "dst, a, b"       "dst = a >> (b & 31), arithmetic";
    0x3B SLT   RegRegReg "dst, a, b"       "dst = 1 if a < b (signed) else 0";
    0x3C SLTU  RegRegReg "dst, a, b"       "dst = 1 if a < b (unsigned) else 0";
    0x40 JMP   Imm       "addr"            "pc = addr if 0 <= addr < 65536, else fall through";
    0x41 JZ    RegImm    "reg, addr"       "if reg == 0 and addr in range: pc = addr";
    0x42 CMP   RegRegReg "dst, a, b"       "dst = 1 if a == b else 0";
    0x43 JNZ   RegImm    "reg, addr"       "if reg != 0 and addr in range: pc = addr";
    0x44 JR    Reg       "reg"             "pc = reg if in range, else fall through";
    0x45 CALL  Imm       "addr"            "if addr in range: R7 -= 4, i32 at [R7] = return address, pc = addr; else no-op";
    0x46 RET   None      ""                "addr = i32 at [R7]; R7 += 4; pc = addr if in range, else fall through";
    0x50 LOAD  RegImm    "dst, addr"       "dst = i32 at [addr]; 0 if addr < 0 or addr + 3 > 65535";
    0x51 STORE ImmReg    "addr, src"       "i32 at [addr] = src; ignored if out of bounds";
    0x52 LDW   RegRegImm "dst, base, off"  "dst = i32 at [base + off] (wrapping add); 0 if out of bounds";
    0x53 STW   RegRegImm "base, src, off"  "i32 at [base + off] = src; ignored if out of bounds";
    0x54 LDB   RegRegImm "dst, base, off"  "dst = byte at [base + off], zero-extended; 0 if out of bounds";
    0x55 STB   RegRegImm "base, src, off"  "byte at [base + off] = low byte of src; ignored if out of bounds";
    0x60 ADDI  RegRegImm "dst, src, imm"   "dst = src + imm (wrapping)";
    0x61 ANDI  RegRegImm "dst, src, imm"   "dst = src & imm";
    0x62 ORI   RegRegImm "dst, src, imm"   "dst = src | imm";
    0x63 XORI  RegRegImm "dst, src, imm"   "dst = src ^ imm";
    0x64 SHLI  RegRegImm "dst, src, imm"   "dst = src << (imm & 31)";
    0x65 SHRI  RegRegImm "dst, src, imm"   "dst = src >> (imm & 31), logical";
    0x66 SARI  RegRegImm "dst, src, imm"   "dst = src >> (imm & 31), arithmetic";
    0x67 SLTI  RegRegImm "dst, src, imm"   "dst = 1 if src < imm (signed) else 0";
    0xF0 SYSCALL U8      "n"               "call host service n (see the syscall table)";
}

impl Opcode {
    /// Encoded length in bytes, opcode included.
    #[allow(clippy::len_without_is_empty)] // an instruction is never empty
    #[inline]
    pub const fn len(self) -> usize {
        self.layout().len()
    }

    /// Look up a mnemonic, case-insensitively.
    pub fn from_mnemonic(text: &str) -> Option<Opcode> {
        ALL_OPCODES
            .iter()
            .copied()
            .find(|op| op.mnemonic().eq_ignore_ascii_case(text))
    }

    /// Whether this instruction may transfer control somewhere other than the next
    /// instruction (or stop): it ends a basic block.
    pub const fn ends_block(self) -> bool {
        matches!(
            self,
            Opcode::HALT
                | Opcode::JMP
                | Opcode::JZ
                | Opcode::JNZ
                | Opcode::JR
                | Opcode::CALL
                | Opcode::RET
                | Opcode::SYSCALL
        )
    }

    /// Whether this instruction writes guest memory.
    pub const fn writes_memory(self) -> bool {
        matches!(
            self,
            Opcode::STORE | Opcode::STW | Opcode::STB | Opcode::CALL
        )
    }
}

impl fmt::Display for Opcode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.mnemonic())
    }
}

/// The opcode table of `docs/ISA.md`, generated from this module (a test keeps the
/// document in step with the table).
pub fn markdown_table() -> String {
    let mut out =
        String::from("| opcode | mnemonic | operands | bytes | effect |\n|---|---|---|---|---|\n");
    for &op in ALL_OPCODES {
        let operands = match op.operand_syntax() {
            "" => "–",
            s => s,
        };
        out += &format!(
            "| 0x{:02X} | {} | {} | {} | {} |\n",
            op as u8,
            op.mnemonic(),
            operands,
            op.len(),
            op.effect()
        );
    }
    out
}

/// Opcode bytes reserved to stay unknown forever (tests rely on them): 0x80–0xEF, 0xF1–0xFF.
pub const fn is_reserved_opcode_byte(byte: u8) -> bool {
    matches!(byte, 0x80..=0xEF | 0xF1..=0xFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_round_trips_bytes_and_mnemonics() {
        for &op in ALL_OPCODES {
            assert_eq!(Opcode::from_byte(op as u8), Some(op));
            assert_eq!(Opcode::from_mnemonic(op.mnemonic()), Some(op));
            assert_eq!(
                Opcode::from_mnemonic(&op.mnemonic().to_lowercase()),
                Some(op)
            );
        }
    }

    #[test]
    fn reserved_bytes_are_unknown() {
        for byte in 0..=255u8 {
            if is_reserved_opcode_byte(byte) {
                assert_eq!(Opcode::from_byte(byte), None, "byte {byte:#04x}");
            }
        }
    }

    #[test]
    fn original_encodings_are_fixed() {
        let expect = [
            (0x00, "HALT", 1),
            (0x01, "NOP", 1),
            (0x10, "IMM8", 3),
            (0x11, "IMM32", 6),
            (0x20, "MOV", 3),
            (0x30, "ADD", 4),
            (0x31, "SUB", 4),
            (0x40, "JMP", 5),
            (0x41, "JZ", 6),
            (0x42, "CMP", 4),
            (0x50, "LOAD", 6),
            (0x51, "STORE", 6),
            (0xF0, "SYSCALL", 2),
        ];
        for (byte, name, len) in expect {
            let op = Opcode::from_byte(byte).expect("known");
            assert_eq!(op.mnemonic(), name);
            assert_eq!(op.len(), len, "{name}");
        }
    }
}
