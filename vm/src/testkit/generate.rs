//! The one random program generator, seeded and deterministic: a seed names the same
//! program on every machine (ChaCha8). It owns two shapes of program:
//! - [`scenario`]: structured programs for differential testing and `pxos fuzz` — loops
//!   and nested loops, calls (recursive and not), array walks with based loads and stores,
//!   self-patching code, syscalls (drawing, numbers, files, unknown ones), bad registers,
//!   unknown opcodes, wild and indirect jumps — each with guest files and a fuel budget that
//!   often ends in the middle of a block;
//! - [`soup`]: short runs of uniformly drawn instructions over the whole ISA (any opcode,
//!   registers mostly valid, immediates near the program, at the end of memory or wild)
//!   and stray bytes, for tests that must reach every opcode in every context.
//!
//! Programs are written with the kit's [`Code`] builder; nothing here runs them.

use super::code::{Code, Label};
use crate::isa::ALL_OPCODES;
use crate::syscalls::*;
use crate::{Insn, Layout, Opcode, Opcode::*};
use rand::{Rng as _, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;

/// Where generated programs keep their data arrays.
const DATA: i32 = 0x4000;

/// A kernel to run, with the guest files present at boot (for hosts that have files) and
/// the fuel budget.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scenario {
    pub kernel: Vec<u8>,
    pub files: BTreeMap<String, Vec<u8>>,
    pub fuel: u64,
}

impl Scenario {
    /// `kernel` with no files and the given fuel.
    pub fn new(kernel: Vec<u8>, fuel: u64) -> Scenario {
        Scenario {
            kernel,
            files: BTreeMap::new(),
            fuel,
        }
    }

    /// Add a guest file present at boot.
    pub fn with_file(mut self, path: &str, data: Vec<u8>) -> Scenario {
        self.files.insert(path.to_string(), data);
        self
    }
}

/// The kit's seeded randomness: a ChaCha8 stream, the same for a seed on every machine.
#[derive(Debug, Clone)]
pub struct Rng(ChaCha8Rng);

impl Rng {
    /// The stream named by `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(ChaCha8Rng::seed_from_u64(seed))
    }

    /// A number in `0..n`.
    ///
    /// # Panics
    /// If `n` is 0.
    pub fn below(&mut self, n: u64) -> u64 {
        self.0.random_range(0..n)
    }

    /// True `percent` times in a hundred.
    pub fn chance(&mut self, percent: u32) -> bool {
        self.0.random_ratio(percent.min(100), 100)
    }
}

/// The structured program for `seed` (see the module's documentation).
pub fn scenario(seed: u64) -> Scenario {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut g = Gen {
        code: Code::new(),
        functions: Vec::new(),
        rng: &mut rng,
        depth: 0,
    };
    g.program();
    let mut code = g.code.finish();
    code.truncate(crate::MEM_SIZE);
    let fuel = match rng.random_range(0..4) {
        0 => rng.random_range(0..64),
        1 => rng.random_range(0..2_000),
        _ => rng.random_range(2_000..50_000),
    };
    let mut scenario = Scenario::new(code, fuel);
    for id in [1, 2] {
        if rng.random_bool(0.7) {
            let len = rng.random_range(0..64);
            let data = (0..len).map(|_| rng.random()).collect();
            scenario = scenario.with_file(&format!("file_{id}"), data);
        }
    }
    if rng.random_bool(0.3) {
        scenario = scenario.with_file("build/kernel_v2.bin", vec![0x01, 0x00]);
    }
    scenario
}

/// A soup of 1 to `max_items` items drawn from `rng`: mostly instructions over the whole
/// ISA (HALT mostly turned into NOP so that runs go on), now and then a stray byte.
/// Registers are valid 19 times in 20; immediates are small, near the program (so jumps
/// and based stores hit it and code gets rewritten), at the end of memory, or anything.
/// `SYSCALL` draws its number from `syscalls`.
///
/// # Panics
/// If `syscalls` is empty or `max_items` is 0.
pub fn soup(rng: &mut Rng, max_items: u64, syscalls: &[u8]) -> Vec<u8> {
    let items = 1 + rng.below(max_items);
    let near = items as i32 * 5 + 8;
    let mut code = Code::new();
    for _ in 0..items {
        if rng.chance(5) {
            code.put(&[rng.0.random()]);
            continue;
        }
        let op = ALL_OPCODES[rng.below(ALL_OPCODES.len() as u64) as usize];
        let op = if op == HALT && rng.chance(70) {
            NOP
        } else {
            op
        };
        let regs = [(); 3].map(|()| {
            if rng.chance(95) {
                rng.below(8) as u8
            } else {
                rng.0.random()
            }
        });
        let imm = match op.layout() {
            _ if op == SYSCALL => i32::from(syscalls[rng.below(syscalls.len() as u64) as usize]),
            Layout::U8 | Layout::RegU8 => rng.below(256) as i32,
            _ => match rng.below(10) {
                0 => rng.0.random(),
                1 => rng.0.random_range(65_520..65_540),
                2 => 0x3000 + rng.below(64) as i32,
                _ => rng.0.random_range(-8..near),
            },
        };
        code.put(&Insn::new(op, regs, imm).encode());
    }
    code.finish()
}

struct Gen<'r> {
    code: Code,
    /// Function bodies to emit after the main program: (entry label, recursive?).
    functions: Vec<(Label, bool)>,
    rng: &'r mut ChaCha8Rng,
    depth: u32,
}

impl Gen<'_> {
    fn label(&mut self) -> Label {
        self.code.label()
    }

    fn bind(&mut self, l: Label) {
        self.code.bind(l);
    }

    fn emit(&mut self, op: Opcode, regs: [u8; 3], imm: i32) {
        self.code.ins(op, regs, imm);
    }

    /// Emit an instruction whose i32 field is `label + addend`.
    fn emit_to(&mut self, op: Opcode, regs: [u8; 3], label: Label, addend: i32) {
        self.code.to(op, regs, label, addend);
    }

    /// A register: valid nearly always, now and then a bad one (>= 8).
    fn reg(&mut self) -> u8 {
        if self.rng.random_bool(0.02) {
            self.rng.random_range(8..=255)
        } else {
            self.rng.random_range(0..7) // R7 is the stack pointer; leave it to calls
        }
    }

    fn small(&mut self) -> i32 {
        match self.rng.random_range(0..6) {
            0 => self.rng.random(),
            1 => self.rng.random_range(-4..4),
            _ => self.rng.random_range(-100..1000),
        }
    }

    fn program(&mut self) {
        if self.rng.random_bool(0.8) {
            self.emit(IMM32, [7, 0, 0], 0x10000);
        }
        self.emit(IMM32, [6, 0, 0], DATA);
        let pieces = self.rng.random_range(1..8);
        for _ in 0..pieces {
            self.piece();
        }
        self.emit(HALT, [0; 3], 0);
        let mut i = 0;
        while i < self.functions.len() {
            let (entry, recursive) = self.functions[i];
            self.function(entry, recursive);
            i += 1;
        }
        if self.rng.random_bool(0.2) {
            // Trailing data or garbage after the code.
            for _ in 0..self.rng.random_range(1..16) {
                let b = self.rng.random();
                self.code.put(&[b]);
            }
        }
    }

    fn piece(&mut self) {
        let deep = self.depth >= 2;
        match self.rng.random_range(0..12) {
            0..=2 => self.straight(),
            3 | 4 if !deep => self.counted_loop(),
            5 if !deep => self.call(),
            6 => self.array_walk(),
            7 => self.self_patch(),
            8 => self.syscall(),
            9 => self.oddity(),
            10 => self.branch(),
            _ => self.straight(),
        }
    }

    fn straight(&mut self) {
        for _ in 0..self.rng.random_range(1..8) {
            let (a, b, c) = (self.reg(), self.reg(), self.reg());
            match self.rng.random_range(0..5) {
                0 => {
                    let v = self.small();
                    self.emit(IMM32, [a, 0, 0], v);
                }
                1 => {
                    let v = self.rng.random_range(0..256);
                    self.emit(IMM8, [a, 0, 0], v);
                }
                2 => {
                    let ops = [
                        ADD, SUB, MUL, DIV, MOD, AND, OR, XOR, SHL, SHR, SAR, SLT, SLTU, CMP,
                    ];
                    let op = ops[self.rng.random_range(0..ops.len())];
                    self.emit(op, [a, b, c], 0);
                }
                3 => {
                    let ops = [ADDI, ANDI, ORI, XORI, SHLI, SHRI, SARI, SLTI];
                    let op = ops[self.rng.random_range(0..ops.len())];
                    let v = self.small();
                    self.emit(op, [a, b, 0], v);
                }
                _ => self.emit(MOV, [a, b, 0], 0),
            }
        }
    }

    fn counted_loop(&mut self) {
        self.depth += 1;
        let counter = self.rng.random_range(0..6);
        let n = self.rng.random_range(1..30);
        self.emit(IMM32, [counter, 0, 0], n);
        let top = self.label();
        self.bind(top);
        for _ in 0..self.rng.random_range(1..4) {
            self.piece();
        }
        self.emit(ADDI, [counter, counter, 0], -1);
        if self.rng.random_bool(0.5) {
            self.emit_to(JNZ, [counter, 0, 0], top, 0);
        } else {
            // The original ISA's way: CMP against zero, JZ out, JMP back. R6 (the data
            // pointer) is the scratch register and is set again on both paths.
            let out = self.label();
            self.emit(IMM32, [6, 0, 0], 0);
            self.emit(CMP, [6, counter, 6], 0);
            self.emit_to(JZ, [6, 0, 0], out, 0);
            self.emit(IMM32, [6, 0, 0], DATA);
            self.emit_to(JMP, [0; 3], top, 0);
            self.bind(out);
            self.emit(IMM32, [6, 0, 0], DATA);
        }
        self.depth -= 1;
    }

    fn call(&mut self) {
        let entry = self.label();
        let recursive = self.rng.random_bool(0.3);
        self.functions.push((entry, recursive));
        if recursive {
            let n = self.rng.random_range(0..12);
            self.emit(IMM32, [1, 0, 0], n);
        }
        self.emit_to(CALL, [0; 3], entry, 0);
    }

    fn function(&mut self, entry: Label, recursive: bool) {
        self.bind(entry);
        self.depth = 2; // no calls or loops inside functions
        if recursive {
            // f(R1): if R1 == 0 return; push R1; f(R1 - 1); pop R1; R0 += R1
            let base = self.label();
            self.emit_to(JZ, [1, 0, 0], base, 0);
            self.emit(ADDI, [7, 7, 0], -4);
            self.emit(STW, [7, 1, 0], 0);
            self.emit(ADDI, [1, 1, 0], -1);
            self.emit_to(CALL, [0; 3], entry, 0);
            self.emit(LDW, [1, 7, 0], 0);
            self.emit(ADDI, [7, 7, 0], 4);
            self.emit(ADD, [0, 0, 1], 0);
            self.bind(base);
        } else {
            self.straight();
            if self.rng.random_bool(0.3) {
                self.syscall();
            }
        }
        self.emit(RET, [0; 3], 0);
    }

    fn array_walk(&mut self) {
        let n = self.rng.random_range(1..24);
        let i = self.rng.random_range(0..6);
        let (v, w) = (self.reg(), self.reg());
        self.emit(IMM32, [i, 0, 0], n);
        let top = self.label();
        self.bind(top);
        let off = self.rng.random_range(-8..64);
        match self.rng.random_range(0..4) {
            0 => self.emit(LDW, [v, 6, 0], off),
            1 => self.emit(STW, [6, w, 0], off),
            2 => self.emit(LDB, [v, 6, 0], off),
            _ => self.emit(STB, [6, w, 0], off),
        }
        self.emit(ADD, [w, w, v], 0);
        let step = [1, 4, -4, 3][self.rng.random_range(0..4)];
        self.emit(ADDI, [6, 6, 0], step);
        self.emit(ADDI, [i, i, 0], -1);
        self.emit_to(JNZ, [i, 0, 0], top, 0);
        if self.rng.random_bool(0.5) {
            let a = self.rng.random_range(-4..70_000);
            let r = self.reg();
            self.emit(LOAD, [r, 0, 0], a);
            let at = DATA + self.rng.random_range(0..256);
            self.emit(STORE, [r, 0, 0], at);
        }
    }

    fn self_patch(&mut self) {
        // Patch an instruction ahead of us (or behind, inside a loop) with a new value,
        // new opcode, or garbage.
        let target = self.label();
        let r = self.reg();
        let value = match self.rng.random_range(0..3) {
            0 => self.small(),
            1 => i32::from_le_bytes([0x10, self.rng.random_range(0..8), self.rng.random(), 0x01]),
            _ => self.rng.random(),
        };
        self.emit(IMM32, [r, 0, 0], value);
        let addend = self.rng.random_range(0..6);
        match self.rng.random_range(0..3) {
            0 => self.emit_to(STORE, [r, 0, 0], target, addend),
            1 => {
                self.emit_to(IMM32, [5, 0, 0], target, 0);
                self.emit(STB, [5, r, 0], addend);
            }
            _ => {
                self.emit_to(IMM32, [5, 0, 0], target, 0);
                self.emit(STW, [5, r, 0], addend);
            }
        }
        if self.rng.random_bool(0.5) {
            self.straight();
        }
        self.bind(target);
        self.straight();
    }

    fn syscall(&mut self) {
        let calls = [
            SYS_PRINT,
            SYS_RECT,
            SYS_TEXT,
            SYS_LAYER_USE,
            SYS_PRINT_INT,
            SYS_PRINT_INT,
            SYS_FS_OPEN,
            SYS_FS_CLOSE,
            SYS_FS_READ,
            SYS_FS_WRITE,
            SYS_SELF_MODIFY,
            SYS_VERSION_GET,
            200,
            255,
            7,
        ];
        let n = calls[self.rng.random_range(0..calls.len())];
        // Plausible arguments: small ids, handles 1..3, buffers in the data area.
        let args: [i32; 5] = match n {
            SYS_FS_OPEN => [
                self.rng.random_range(0..4),
                self.rng.random_range(0..4),
                0,
                0,
                0,
            ],
            SYS_FS_READ | SYS_FS_WRITE => [
                self.rng.random_range(0..4),
                DATA + self.rng.random_range(-8..512),
                self.rng.random_range(-2..80),
                0,
                0,
            ],
            SYS_SELF_MODIFY => [[301, 1, 5][self.rng.random_range(0..3)], 0, 0, 0, 0],
            _ => [
                self.rng.random_range(-1..8),
                self.small(),
                self.rng.random_range(0..7),
                self.rng.random_range(0..8),
                self.rng.random_range(0..7),
            ],
        };
        for (i, &v) in args.iter().enumerate() {
            if self.rng.random_bool(0.8) {
                self.emit(IMM32, [i as u8 + 1, 0, 0], v);
            }
        }
        self.emit(SYSCALL, [0; 3], i32::from(n));
    }

    fn oddity(&mut self) {
        match self.rng.random_range(0..6) {
            5 => {
                // Run off the end of memory: NOPs in the last word, then jump there.
                let r = self.reg();
                self.emit(IMM32, [r, 0, 0], 0x0101_0101);
                self.emit(STORE, [r, 0, 0], 65_532);
                let at = self.rng.random_range(65_530..65_536);
                self.emit(JMP, [0; 3], at);
            }
            0 => {
                let b = self.rng.random_range(0x80..=0xEF);
                self.code.put(&[b]);
            }
            1 => {
                let target = self.rng.random_range(-10..self.code.here() + 80);
                self.emit(JMP, [0; 3], target);
            }
            2 => {
                let r = self.reg();
                let v = self.rng.random_range(-4..self.code.here() + 40);
                self.emit(IMM32, [r, 0, 0], v);
                self.emit(JR, [r, 0, 0], 0);
            }
            3 => {
                let wild = [65_536, -1, i32::MIN, 70_000][self.rng.random_range(0..4)];
                self.emit(JMP, [0; 3], wild);
                let r = self.reg();
                self.emit(JZ, [r, 0, 0], wild);
            }
            _ => {
                let (a, b) = (self.reg(), self.reg());
                let a = a.wrapping_add(8); // a bad register, always
                self.emit(ADD, [a, b, b], 0);
                self.emit(MOV, [b, a, 0], 0);
            }
        }
    }

    fn branch(&mut self) {
        let skip = self.label();
        let r = self.reg();
        let op = if self.rng.random_bool(0.5) { JZ } else { JNZ };
        self.emit_to(op, [r, 0, 0], skip, 0);
        self.straight();
        self.bind(skip);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_name_programs() {
        assert_eq!(scenario(7), scenario(7));
        assert_ne!(scenario(7).kernel, scenario(8).kernel);
        let soup_of = |seed| soup(&mut Rng::new(seed), 40, &[7]);
        assert_eq!(soup_of(7), soup_of(7));
        assert_ne!(soup_of(7), soup_of(8));
    }

    #[test]
    fn programs_fit_in_memory_and_are_not_trivial() {
        for seed in 0..200 {
            let s = scenario(seed);
            assert!(!s.kernel.is_empty() && s.kernel.len() <= crate::MEM_SIZE);
        }
    }

    #[test]
    fn soups_reach_every_opcode() {
        let mut rng = Rng::new(1);
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..300 {
            for (_, d) in crate::disasm::instructions(&soup(&mut rng, 40, &[7])) {
                if let crate::Decoded::Insn(i) = d {
                    seen.insert(i.op as u8);
                }
            }
        }
        assert_eq!(seen.len(), ALL_OPCODES.len());
    }
}
