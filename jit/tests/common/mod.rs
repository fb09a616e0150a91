//! Shared helpers for the JIT's integration tests: a tiny code builder, a recording host,
//! and `agree`, which runs one program on the interpreter and on a JIT engine and asserts
//! that every observable matches.

#![allow(dead_code)]

use pxvm::{interp, Engine, Exit, Host, Insn, Machine, Opcode, SyscallCtx, VmEvent};

/// A host that records every syscall and event as a line. Syscall 7 copies R3 bytes from
/// R1 to R2 inside guest memory (a syscall that can rewrite code); syscall 8 logs the
/// registers; every other syscall sets R0 = its number.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RecHost {
    pub lines: Vec<String>,
}

impl Host for RecHost {
    fn syscall(&mut self, num: u8, ctx: &mut SyscallCtx<'_>) {
        match num {
            7 => {
                let (src, dst, len) = (ctx.regs[1], ctx.regs[2], ctx.regs[3]);
                let data = ctx.mem_range(src, len).map(<[u8]>::to_vec);
                let ok = data.is_some_and(|d| ctx.write_mem(dst, &d));
                ctx.regs[0] = i32::from(ok);
                self.lines.push(format!("copy {src} {dst} {len} {ok}"));
            }
            8 => self.lines.push(format!("regs {:?}", ctx.regs)),
            n => {
                ctx.regs[0] = i32::from(n);
                self.lines.push(format!("sys {n}"));
            }
        }
    }

    fn event(&mut self, event: VmEvent) {
        self.lines.push(event.to_string());
    }
}

/// Builds guest code with known addresses.
#[derive(Debug, Default, Clone)]
pub struct Code {
    pub bytes: Vec<u8>,
}

impl Code {
    pub fn new() -> Code {
        Code::default()
    }

    pub fn here(&self) -> i32 {
        self.bytes.len() as i32
    }

    pub fn ins(&mut self, op: Opcode, regs: [u8; 3], imm: i32) -> i32 {
        let at = self.here();
        Insn::new(op, regs, imm).encode_into(&mut self.bytes);
        at
    }

    pub fn imm(&mut self, r: u8, v: i32) -> i32 {
        self.ins(Opcode::IMM32, [r, 0, 0], v)
    }

    pub fn rrr(&mut self, op: Opcode, d: u8, a: u8, b: u8) -> i32 {
        self.ins(op, [d, a, b], 0)
    }

    pub fn rri(&mut self, op: Opcode, d: u8, a: u8, imm: i32) -> i32 {
        self.ins(op, [d, a, 0], imm)
    }

    pub fn jmp(&mut self, to: i32) -> i32 {
        self.ins(Opcode::JMP, [0; 3], to)
    }

    pub fn jnz(&mut self, r: u8, to: i32) -> i32 {
        self.ins(Opcode::JNZ, [r, 0, 0], to)
    }

    pub fn jz(&mut self, r: u8, to: i32) -> i32 {
        self.ins(Opcode::JZ, [r, 0, 0], to)
    }

    pub fn sys(&mut self, n: u8) -> i32 {
        self.ins(Opcode::SYSCALL, [0; 3], i32::from(n))
    }

    pub fn halt(&mut self) -> i32 {
        self.ins(Opcode::HALT, [0; 3], 0)
    }

    /// Overwrite the i32 at `at` (used to fill in forward jump targets).
    pub fn patch_i32(&mut self, at: i32, v: i32) {
        let at = at as usize;
        self.bytes[at..at + 4].copy_from_slice(&v.to_le_bytes());
    }
}

/// Everything observable about a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub exit: Exit,
    pub machine: Machine,
    pub lines: Vec<String>,
}

pub fn run_interp(code: &[u8], fuel: u64) -> Outcome {
    let mut machine = Machine::new(code).unwrap();
    let mut host = RecHost::default();
    let exit = interp::run(&mut machine, &mut host, fuel);
    Outcome {
        exit,
        machine,
        lines: host.lines,
    }
}

pub fn run_engine(engine: &mut dyn Engine, code: &[u8], fuel: u64) -> Outcome {
    let mut machine = Machine::new(code).unwrap();
    let mut host = RecHost::default();
    let exit = engine.run(&mut machine, &mut host, fuel);
    Outcome {
        exit,
        machine,
        lines: host.lines,
    }
}

/// Assert that two outcomes are identical, with a readable message.
pub fn assert_same(want: &Outcome, got: &Outcome, what: &str) {
    assert_eq!(got.exit, want.exit, "{what}: exit");
    assert_eq!(got.machine.pc, want.machine.pc, "{what}: pc");
    assert_eq!(got.machine.cycles, want.machine.cycles, "{what}: cycles");
    assert_eq!(got.machine.regs, want.machine.regs, "{what}: regs");
    if let Some(i) = (0..pxvm::MEM_SIZE).find(|&i| got.machine.mem[i] != want.machine.mem[i]) {
        panic!(
            "{what}: memory differs first at {i:#06x}: want {:#04x} got {:#04x}",
            want.machine.mem[i], got.machine.mem[i]
        );
    }
    assert_eq!(got.lines, want.lines, "{what}: host lines");
}

/// Run `code` with `fuel` on the interpreter and on a fresh `jit` and `tiered` engine
/// (the tiered one configured to compile at once); assert they agree; return the
/// interpreter's outcome.
pub fn agree(code: &[u8], fuel: u64) -> Outcome {
    let want = run_interp(code, fuel);
    for (name, mut engine) in engines() {
        let got = run_engine(&mut engine, code, fuel);
        assert_same(&want, &got, &format!("{name} fuel={fuel}"));
    }
    want
}

/// The engines under test: `jit`, and a tiered engine with no warm-up and a threshold of
/// 2 so that short tests exercise its tier switch.
pub fn engines() -> Vec<(&'static str, pxvm_jit::JitEngine)> {
    let mut hot = pxvm_jit::JitConfig::tiered();
    hot.policy = pxvm_jit::Policy::Tiered {
        warmup: 0,
        threshold: 2,
    };
    vec![
        ("jit", pxvm_jit::JitEngine::jit()),
        ("tiered", pxvm_jit::JitEngine::with_config("tiered", hot)),
    ]
}
