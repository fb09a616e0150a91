//! Proof that every consumer of the ISA table in this crate covers every opcode, and
//! agrees with the reference semantics (`pxvm::exec::step`) on it: the scan (which
//! opcodes are compiled, where blocks end), liveness (what each instruction reads, writes
//! and whether compiled code may leave after it), the counted-loop analysis (every memory
//! access of a loop body is seen, or the loop is refused) and the lowering of branches.
//! The matches these rely on are exhaustive, so a new opcode does not compile until each
//! consumer has an arm for it; these tests check that each arm says the right thing.
//! (That the lowering of every opcode runs like the reference is `tests/opcodes.rs`.)

use crate::analysis::counted::analyse;
use crate::analysis::liveness::effect;
use crate::analysis::scan::{BlockMode, RegionLimits, compilable_at, compiled_flow, plan_region};
use crate::analysis::{PlannedInsn, RegSet};
use crate::lower::taken_when_zero;
use pxvm::exec::{Step, step};
use pxvm::isa::{ALL_OPCODES, Flow, Memory, Opcode};
use pxvm::machine::NUM_REGS;
use pxvm::{Insn, MEM_SIZE, Machine, NullHost};

/// A small deterministic generator (xorshift64*), so the cases are the same every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// A register value: often a valid address (so loads and stores hit memory), sometimes
    /// small, sometimes anything.
    fn value(&mut self) -> i32 {
        match self.below(4) {
            0 => self.below(MEM_SIZE as u64) as i32,
            1 => self.below(16) as i32 - 8,
            2 => 0x4000 + self.below(0x100) as i32,
            _ => self.next() as i32,
        }
    }
}

/// An instruction of `op` with random valid registers and immediate.
fn random_insn(op: Opcode, rng: &mut Rng) -> Insn {
    let regs = [0; 3].map(|_| rng.below(NUM_REGS as u64) as u8);
    let imm = match rng.below(3) {
        0 => rng.below(MEM_SIZE as u64) as i32,
        1 => rng.below(64) as i32 - 32,
        _ => rng.next() as i32,
    };
    let imm = if op.layout() == pxvm::Layout::RegU8 || op.layout() == pxvm::Layout::U8 {
        imm & 0xFF
    } else {
        imm
    };
    Insn::new(op, regs, imm)
}

/// Code placed here, away from the data the random addresses mostly hit.
const AT: u32 = 0x8000;

/// A machine with `insn` at `AT`, registers `regs` and patterned memory.
fn machine(insn: &Insn, regs: [i32; NUM_REGS]) -> Machine {
    static BLANK: std::sync::OnceLock<Machine> = std::sync::OnceLock::new();
    let mut m = BLANK
        .get_or_init(|| {
            let mut m = Machine::new(&[]).expect("an empty kernel loads");
            for (i, b) in m.mem.iter_mut().enumerate() {
                *b = (i * 7 + 3) as u8;
            }
            m
        })
        .clone();
    let code = insn.encode();
    m.mem[AT as usize..AT as usize + code.len()].copy_from_slice(&code);
    m.regs = regs;
    m.pc = AT;
    m
}

/// Run one step; the machine and what it reported.
fn run(insn: &Insn, regs: [i32; NUM_REGS]) -> (Machine, Step) {
    let mut m = machine(insn, regs);
    let s = step(&mut m, &mut NullHost);
    (m, s)
}

#[test]
fn the_scan_compiles_exactly_the_compiled_flows_and_ends_blocks_by_flow() {
    for &op in ALL_OPCODES {
        let insn = Insn::new(op, [1, 2, 3], 0x100);
        let mut m = machine(&insn, [0; NUM_REGS]);
        // A NOP, then a HALT, after it.
        let after = AT as usize + op.len();
        m.mem[after..after + 2].copy_from_slice(&[Opcode::NOP as u8, Opcode::HALT as u8]);
        let compiled = compilable_at(&m.mem[..], AT).is_some();
        let expected = op.flow() != Flow::Halt;
        assert_eq!(compiled, expected, "{op}");
        assert_eq!(compiled, compiled_flow(op.flow()), "{op}");
        if let Some(plan) = plan_region(&m.mem[..], AT, &RegionLimits::default(), |_| {
            BlockMode::Normal
        }) {
            let first = &plan.blocks[0];
            // The first block ends right after the instruction iff it transfers control.
            assert_eq!(first.insns.len() == 1, op.flow() != Flow::Next, "{op}");
        }
    }
}

#[test]
fn liveness_agrees_with_the_reference_semantics_on_every_opcode() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for &op in ALL_OPCODES.iter().filter(|op| compiled_flow(op.flow())) {
        for _ in 0..100 {
            let insn = random_insn(op, &mut rng);
            let p = PlannedInsn {
                pc: AT,
                insn,
                live: false,
            };
            let e = effect(&p);
            let regs = [0; NUM_REGS].map(|_| rng.value());
            let (after, s) = run(&insn, regs);
            // It writes no register outside `defs`.
            for r in RegSet::ALL.minus(e.defs).iter() {
                assert_eq!(after.regs[r], regs[r], "{insn:?} wrote R{r}");
            }
            // A write to memory is a place compiled code may leave.
            if let Step::Retired { wrote: Some(_) } = s {
                assert!(e.may_leave, "{insn:?} wrote memory but may not leave");
            }
            // It reads no register outside `uses`: changing one changes nothing else.
            for r in RegSet::ALL.minus(e.uses).iter() {
                let mut other = regs;
                other[r] = rng.value();
                let (after2, _) = run(&insn, other);
                for q in 0..NUM_REGS {
                    if q != r || e.defs.contains(q) {
                        assert_eq!(after2.regs[q], after.regs[q], "{insn:?} read R{r}");
                    }
                }
                assert_eq!(after2.pc, after.pc, "{insn:?} read R{r} (pc)");
                assert!(
                    after2.mem[..] == after.mem[..],
                    "{insn:?} read R{r} (memory)"
                );
            }
        }
    }
}

#[test]
fn counted_loops_see_every_memory_access_of_every_opcode() {
    use Opcode::{ADDI, JNZ};
    let mut accepted = Vec::new();
    for &op in ALL_OPCODES.iter().filter(|op| op.flow() == Flow::Next) {
        // `op` in a count-down loop on R5 whose other registers are untouched.
        let mut code = Vec::new();
        Insn::new(op, [1, 2, 3], 0x100).encode_into(&mut code);
        Insn::new(ADDI, [5, 5, 0], -1).encode_into(&mut code);
        Insn::new(JNZ, [5, 0, 0], 0).encode_into(&mut code);
        let mut mem = vec![0u8; MEM_SIZE];
        mem[..code.len()].copy_from_slice(&code);
        let limits = RegionLimits::default();
        let plan = plan_region(&mem, 0, &limits, |_| BlockMode::Normal).expect("compilable");
        let found = analyse(&plan.blocks[0]);
        let memory = op.memory();
        match (memory.data(), &found) {
            // A plain load or store: seen, with the table's base, width and direction.
            (Some(d), Some(cl)) => {
                assert_eq!(cl.accesses.len(), 1, "{op}");
                let a = cl.accesses[0];
                assert_eq!(a.base, d.base_operand.map(|i| [1, 2, 3][i]), "{op}");
                assert_eq!(
                    (a.len, a.store, a.offset),
                    (d.width, d.store, 0x100),
                    "{op}"
                );
            }
            // No plain access: nothing listed, and nothing the analysis cannot model.
            (None, Some(cl)) => {
                assert!(cl.accesses.is_empty(), "{op}");
                assert_eq!(memory, Memory::None, "{op} touches memory unseen");
            }
            // Refused: fine for any shape (e.g. an instruction that writes the counter).
            (_, None) => {}
        }
        if found.is_some() {
            accepted.push(op);
        }
    }
    // The analysis is not vacuous: loads, stores and arithmetic loops are all counted.
    for op in [Opcode::LDW, Opcode::STB, Opcode::STORE, Opcode::ADD] {
        assert!(accepted.contains(&op), "{op} loop not counted");
    }
}

#[test]
fn every_branch_has_the_sense_the_reference_gives_it() {
    for &op in ALL_OPCODES {
        let sense = taken_when_zero(op);
        assert_eq!(sense.is_some(), op.flow() == Flow::Branch, "{op}");
        if let Some(when_zero) = sense {
            for value in [0, 1, -1] {
                let insn = Insn::new(op, [2, 0, 0], 0x100);
                let (m, _) = run(&insn, [value; NUM_REGS]);
                let taken = m.pc == 0x100;
                assert_eq!(taken, (value == 0) == when_zero, "{op} with {value}");
            }
        }
    }
}
