//! The pxVM instruction set, written once: every opcode's byte, mnemonic, operand layout,
//! encoded length, control flow ([`Flow`]), memory access ([`Memory`]) and one-line
//! effect. The decoder, encoder, assembler, disassembler,
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

/// Where control goes after an instruction. Every consumer that follows control flow
/// (block splitting, the JIT's scan, `vet`'s reachability) matches on this, so a new
/// opcode cannot be forgotten by any of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Flow {
    /// The next instruction.
    Next,
    /// The immediate target if it is in memory, else the next instruction (`JMP`).
    Jump,
    /// The immediate target or the next instruction, by a register (`JZ`, `JNZ`).
    Branch,
    /// A register's value if it is in memory, else the next instruction (`JR`).
    Indirect,
    /// The immediate target, pushing the return address (`CALL`); out of range: the next.
    Call,
    /// The address popped from the stack if in memory, else the next instruction (`RET`).
    Return,
    /// The machine stops (`HALT`).
    Halt,
    /// The host runs a service, then the next instruction (`SYSCALL`).
    Syscall,
}

/// What guest memory an instruction itself reads or writes. Every consumer that reasons
/// about memory (the JIT's store checks and counted loops) matches on this, so a new
/// load or store cannot run unchecked because an analysis forgot it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Memory {
    /// No guest memory.
    None,
    /// Reads the i32 at the immediate address (`LOAD`).
    LoadAbs,
    /// Writes an i32 at the immediate address (`STORE`).
    StoreAbs,
    /// Reads the i32 at register operand 1 + the immediate (`LDW`).
    LoadWord,
    /// Writes an i32 at register operand 0 + the immediate (`STW`).
    StoreWord,
    /// Reads the byte at register operand 1 + the immediate (`LDB`).
    LoadByte,
    /// Writes a byte at register operand 0 + the immediate (`STB`).
    StoreByte,
    /// Writes the return address at R7 - 4 (`CALL`).
    Push,
    /// Reads the return address at R7 (`RET`).
    Pop,
    /// Whatever the host's service reads or writes (`SYSCALL`: buffers of FS_READ, …).
    Host,
}

/// A load or store at an address computed from the instruction alone: [`Memory::data`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DataAccess {
    /// The register operand (0-based) holding the base address, or none for an absolute
    /// address (the immediate alone).
    pub base_operand: Option<usize>,
    /// The register operand (0-based) a load writes or a store reads.
    pub value_operand: usize,
    /// Bytes accessed.
    pub width: u32,
    pub store: bool,
}

impl Memory {
    /// The access of a plain load or store; `None` for no access and for accesses that are
    /// not plain loads and stores (the stack of CALL/RET, the host's).
    pub const fn data(self) -> Option<DataAccess> {
        let (base_operand, value_operand, width, store) = match self {
            Memory::LoadAbs => (None, 0, 4, false),
            Memory::StoreAbs => (None, 0, 4, true),
            Memory::LoadWord => (Some(1), 0, 4, false),
            Memory::StoreWord => (Some(0), 1, 4, true),
            Memory::LoadByte => (Some(1), 0, 1, false),
            Memory::StoreByte => (Some(0), 1, 1, true),
            Memory::None | Memory::Push | Memory::Pop | Memory::Host => return None,
        };
        Some(DataAccess {
            base_operand,
            value_operand,
            width,
            store,
        })
    }
}

/// The longest encoded instruction, in bytes.
pub const MAX_INSN_LEN: usize = 7;

macro_rules! isa_table {
    ($( $byte:literal $name:ident $layout:ident $flow:ident $memory:ident $operands:literal $effect:literal; )*) => {
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
                // A table indexed by the opcode byte: one load, where a `match` compiles
                // to an indirect jump (this is on the path of every decode and encode).
                const LAYOUTS: [Layout; 256] = {
                    let mut table = [Layout::None; 256];
                    $(table[$byte] = Layout::$layout;)*
                    table
                };
                LAYOUTS[self as usize]
            }

            /// Where control goes after it.
            #[inline]
            pub const fn flow(self) -> Flow {
                match self { $(Opcode::$name => Flow::$flow,)* }
            }

            /// What guest memory it reads or writes itself.
            #[inline]
            pub const fn memory(self) -> Memory {
                match self { $(Opcode::$name => Memory::$memory,)* }
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
                const OPCODES: [Option<Opcode>; 256] = {
                    let mut table = [None; 256];
                    $(table[$byte] = Some(Opcode::$name);)*
                    table
                };
                OPCODES[byte as usize]
            }
        }
    };
}

isa_table! {
    0x00 HALT  None      Halt     None      ""                "stop; pc is left after the HALT byte; not counted as a cycle";
    0x01 NOP   None      Next     None      ""                "nothing";
    0x10 IMM8  RegU8     Next     None      "dst, u8"         "dst = u8 (0..255)";
    0x11 IMM32 RegImm    Next     None      "dst, i32"        "dst = i32";
    0x20 MOV   RegReg    Next     None      "dst, src"        "dst = src";
    0x30 ADD   RegRegReg Next     None      "dst, a, b"       "dst = a + b (wrapping)";
    0x31 SUB   RegRegReg Next     None      "dst, a, b"       "dst = a - b (wrapping)";
    0x32 MUL   RegRegReg Next     None      "dst, a, b"       "dst = a * b (wrapping)";
    0x33 DIV   RegRegReg Next     None      "dst, a, b"       "dst = a / b truncated; b == 0 gives 0; i32::MIN / -1 gives i32::MIN";
    0x34 MOD   RegRegReg Next     None      "dst, a, b"       "dst = a % b truncated (sign of a); b == 0 gives 0; i32::MIN % -1 gives 0";
    0x35 AND   RegRegReg Next     None      "dst, a, b"       "dst = a & b";
    0x36 OR    RegRegReg Next     None      "dst, a, b"       "dst = a | b";
    0x37 XOR   RegRegReg Next     None      "dst, a, b"       "dst = a ^ b";
    0x38 SHL   RegRegReg Next     None      "dst, a, b"       "dst = a << (b & 31)";
    0x39 SHR   RegRegReg Next     None      "dst, a, b"       "dst = a >> (b & 31), logical";
    0x3A SAR   RegRegReg Next     None      "dst, a, b"       "dst = a >> (b & 31), arithmetic";
    0x3B SLT   RegRegReg Next     None      "dst, a, b"       "dst = 1 if a < b (signed) else 0";
    0x3C SLTU  RegRegReg Next     None      "dst, a, b"       "dst = 1 if a < b (unsigned) else 0";
    0x40 JMP   Imm       Jump     None      "addr"            "pc = addr if 0 <= addr < 65536, else fall through";
    0x41 JZ    RegImm    Branch   None      "reg, addr"       "if reg == 0 and addr in range: pc = addr";
    0x42 CMP   RegRegReg Next     None      "dst, a, b"       "dst = 1 if a == b else 0";
    0x43 JNZ   RegImm    Branch   None      "reg, addr"       "if reg != 0 and addr in range: pc = addr";
    0x44 JR    Reg       Indirect None      "reg"             "pc = reg if in range, else fall through";
    0x45 CALL  Imm       Call     Push      "addr"            "if addr in range: R7 -= 4, i32 at [R7] = return address, pc = addr; else no-op";
    0x46 RET   None      Return   Pop       ""                "addr = i32 at [R7]; R7 += 4; pc = addr if in range, else fall through";
    0x50 LOAD  RegImm    Next     LoadAbs   "dst, addr"       "dst = i32 at [addr]; 0 if addr < 0 or addr + 3 > 65535";
    0x51 STORE ImmReg    Next     StoreAbs  "addr, src"       "i32 at [addr] = src; ignored if out of bounds";
    0x52 LDW   RegRegImm Next     LoadWord  "dst, base, off"  "dst = i32 at [base + off] (wrapping add); 0 if out of bounds";
    0x53 STW   RegRegImm Next     StoreWord "base, src, off"  "i32 at [base + off] = src; ignored if out of bounds";
    0x54 LDB   RegRegImm Next     LoadByte  "dst, base, off"  "dst = byte at [base + off], zero-extended; 0 if out of bounds";
    0x55 STB   RegRegImm Next     StoreByte "base, src, off"  "byte at [base + off] = low byte of src; ignored if out of bounds";
    0x60 ADDI  RegRegImm Next     None      "dst, src, imm"   "dst = src + imm (wrapping)";
    0x61 ANDI  RegRegImm Next     None      "dst, src, imm"   "dst = src & imm";
    0x62 ORI   RegRegImm Next     None      "dst, src, imm"   "dst = src | imm";
    0x63 XORI  RegRegImm Next     None      "dst, src, imm"   "dst = src ^ imm";
    0x64 SHLI  RegRegImm Next     None      "dst, src, imm"   "dst = src << (imm & 31)";
    0x65 SHRI  RegRegImm Next     None      "dst, src, imm"   "dst = src >> (imm & 31), logical";
    0x66 SARI  RegRegImm Next     None      "dst, src, imm"   "dst = src >> (imm & 31), arithmetic";
    0x67 SLTI  RegRegImm Next     None      "dst, src, imm"   "dst = 1 if src < imm (signed) else 0";
    0xF0 SYSCALL U8        Syscall  Host      "n"              "call host service n (see the syscall table)";
}

impl Opcode {
    /// Encoded length in bytes, opcode included.
    #[allow(clippy::len_without_is_empty)] // an instruction is never empty
    #[inline]
    pub const fn len(self) -> usize {
        // A table indexed by the opcode byte, as `layout`'s: one load, not two.
        const LENS: [u8; 256] = {
            let mut table = [0; 256];
            let mut byte = 0;
            while byte < 256 {
                if let Some(op) = Opcode::from_byte(byte as u8) {
                    table[byte] = op.layout().len() as u8;
                }
                byte += 1;
            }
            table
        };
        LENS[self as usize] as usize
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
        !matches!(self.flow(), Flow::Next)
    }

    /// Whether this instruction itself writes guest memory (a store or CALL's push; the
    /// host's writes during a SYSCALL are the host's).
    pub const fn writes_memory(self) -> bool {
        matches!(
            self.memory(),
            Memory::StoreAbs | Memory::StoreWord | Memory::StoreByte | Memory::Push
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
    fn block_ends_and_stores_follow_from_flow_and_memory() {
        let ends: Vec<_> = ALL_OPCODES
            .iter()
            .filter(|o| o.ends_block())
            .map(|o| o.mnemonic())
            .collect();
        assert_eq!(
            ends,
            ["HALT", "JMP", "JZ", "JNZ", "JR", "CALL", "RET", "SYSCALL"]
        );
        let stores: Vec<_> = ALL_OPCODES
            .iter()
            .filter(|o| o.writes_memory())
            .map(|o| o.mnemonic())
            .collect();
        assert_eq!(stores, ["CALL", "STORE", "STW", "STB"]);
        // Every plain load or store names a base operand its layout has.
        for &op in ALL_OPCODES {
            if let Some(d) = op.memory().data() {
                assert!(op.layout().has_imm(), "{op}");
                assert!(
                    d.base_operand.is_none_or(|i| i < op.layout().reg_count()),
                    "{op}"
                );
                assert!(d.value_operand < op.layout().reg_count(), "{op}");
                assert_ne!(d.base_operand, Some(d.value_operand), "{op}");
            }
        }
    }

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
