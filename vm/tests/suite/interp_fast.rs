//! The fast interpreter (`interp::run`), and its cycle-skipping variant
//! (`interp::run_skipping_cycles`), against the reference stepper
//! (`interp::run_reference`) through the testing kit's `agree`, on the kit's random
//! programs over the whole ISA and random budgets, loaded at 0 or at the very end of
//! memory: identical machine state, identical host calls.

use pxvm::testkit::code::{imm32, jmp, program, rrr};
use pxvm::testkit::code::{jnz, rri};
use pxvm::testkit::{Recorder, Rng, SYS_COPY, SYS_POKE, agree, soup};
use pxvm::{
    CycleSkippingInterpreter, Engine, Exit, Interpreter, Machine, Opcode, Opcode::ADD, interp,
};

/// `code` loaded at 0, or ending at the very end of memory (which exercises the fast
/// interpreter's slow fetch path); R7 (the stack pointer) at the top of memory.
fn load(code: &[u8], at_end: bool) -> Machine {
    let mut m = Machine::new(&[]).unwrap();
    let len = code.len().min(pxvm::MEM_SIZE);
    let base = if at_end { pxvm::MEM_SIZE - len } else { 0 };
    m.mem[base..base + len].copy_from_slice(&code[..len]);
    m.pc = base as u32;
    m.regs[7] = 0x10000;
    m
}

#[test]
fn fast_interpreter_equals_reference() {
    let mut rng = Rng::new(0x1A7E_F457);
    for case in 0..512 {
        let code = soup(&mut rng, 48, &[0, 1, SYS_COPY, 8, SYS_POKE, 99, 255]);
        let at_end = rng.chance(50);
        let fuel = rng.below(600);
        let machine = load(&code, at_end);
        let mut engines: [Box<dyn Engine>; 2] =
            [Box::new(Interpreter), Box::new(CycleSkippingInterpreter)];
        if let Err(d) = agree(
            &mut engines,
            || (machine.clone(), Recorder::default()),
            fuel,
        ) {
            panic!("case {case} (at_end={at_end}, fuel={fuel}): {d:?}");
        }
    }
}

#[test]
fn fast_interpreter_resumes_where_it_stopped() {
    // A loop cut into many small budgets ends exactly where one big budget does.
    let code = program(&[imm32(1, 1), rrr(ADD, 0, 0, 1), jmp(6)]);
    let mut whole = Machine::new(&code).unwrap();
    interp::run(&mut whole, &mut Recorder::default(), 1_000);
    let mut pieces = Machine::new(&code).unwrap();
    for budget in [0, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 377, 15] {
        assert_eq!(
            interp::run(&mut pieces, &mut Recorder::default(), budget),
            Exit::Fuel
        );
    }
    assert_eq!(pieces, whole);
    assert_eq!(whole.cycles, 1_000);
}

/// Random programs that mostly end in a cycle (short soups over few registers, so states
/// repeat), with budgets long enough to find it: the skipping interpreter agrees with the
/// reference on every one, whether the budget ends on a period boundary or inside one.
#[test]
fn skipping_cycles_equals_reference_on_looping_programs() {
    let mut rng = Rng::new(0x00C1_C1E5);
    for case in 0..400 {
        let code = soup(&mut rng, 12, &[0, 1, SYS_COPY, SYS_POKE]);
        let fuel = 200 + rng.below(3_000);
        let machine = load(&code, false);
        let mut engines: [Box<dyn Engine>; 1] = [Box::new(CycleSkippingInterpreter)];
        if let Err(d) = agree(
            &mut engines,
            || (machine.clone(), Recorder::default()),
            fuel,
        ) {
            panic!("case {case} (fuel={fuel}): {d:?}");
        }
    }
}

#[test]
fn a_cycle_runs_out_a_budget_no_step_by_step_run_could() {
    // L (6): R0 = R0 + R1 ; R1 = -R1 ... as R1 = 0 - R1 ; JNZ R1, L — period 3, with the
    // registers alternating between two states. 10^12 instructions would take an hour one
    // by one; the cycle is skipped, and the run ends where the step-by-step run would:
    // 10^12 - 2 = 3k + 2 (after IMM32), so two instructions into a period.
    let code = program(&[
        imm32(1, 5),
        rrr(ADD, 0, 0, 1),
        rrr(Opcode::SUB, 1, 2, 1),
        jnz(1, 6),
    ]);
    let fuel = 1_000_000_000_000u64;
    let mut m = Machine::new(&code).unwrap();
    let exit = interp::run_skipping_cycles(&mut m, &mut Recorder::default(), fuel);
    assert_eq!(exit, Exit::Fuel);
    assert_eq!(m.cycles, fuel);
    // The same phase of the cycle, reached the slow way with a budget that leaves the
    // same remainder: 1 (IMM32) + 3 x 5 + 2.
    let mut slow = Machine::new(&code).unwrap();
    interp::run_reference(
        &mut slow,
        &mut Recorder::default(),
        1 + 3 * 5 + (fuel - 1) % 3,
    );
    assert_eq!((m.pc, m.regs), (slow.pc, slow.regs));
    // A loop whose registers repeat at its jump while it counts in memory: skipping it
    // would lose the count, so its stores keep it from being skipped.
    let encode = |op, regs, imm| {
        let mut out = Vec::new();
        pxvm::Insn::new(op, regs, imm).encode_into(&mut out);
        out
    };
    let counter = program(&[
        encode(Opcode::LDW, [2, 3, 0], 0x4000),
        rri(Opcode::ADDI, 2, 2, 1),
        encode(Opcode::STW, [3, 2, 0], 0x4000),
        encode(Opcode::IMM8, [2, 0, 0], 0),
        jmp(0),
    ]);
    // A loop that stores the same word each turn changes memory only the first time, so
    // it is still a cycle: a budget of 10^12 ends at once, the word in place.
    let same = program(&[
        encode(Opcode::IMM8, [2, 0, 0], 7),
        encode(Opcode::STW, [3, 2, 0], 0x4000),
        encode(Opcode::STB, [3, 2, 0], 0x4008),
        jmp(3),
    ]);
    let mut m = Machine::new(&same).unwrap();
    let exit = interp::run_skipping_cycles(&mut m, &mut Recorder::default(), fuel);
    assert_eq!((exit, m.cycles), (Exit::Fuel, fuel));
    let mut slow = Machine::new(&same).unwrap();
    interp::run_reference(
        &mut slow,
        &mut Recorder::default(),
        1 + 3 * 4 + (fuel - 1) % 3,
    );
    assert_eq!((m.pc, m.regs), (slow.pc, slow.regs));
    assert_eq!(m.mem, slow.mem);
    assert_eq!((m.load_i32(0x4000), m.load_u8(0x4008)), (7, 7));
    let mut skipping = Machine::new(&counter).unwrap();
    let mut reference = Machine::new(&counter).unwrap();
    interp::run_skipping_cycles(&mut skipping, &mut Recorder::default(), 5_003);
    interp::run_reference(&mut reference, &mut Recorder::default(), 5_003);
    assert_eq!(skipping, reference);
    assert_eq!(reference.load_i32(0x4000), 1_001);
}

/// Random loops built from what the fast interpreter fuses — arithmetic, a comparison, a
/// JZ or JNZ, often back to the arithmetic (a loop of one dispatch) — with stores that
/// patch the loop's own instructions, jumps into the middle of an instruction, and code
/// ending at the very end of memory: both fast interpreters agree with the reference at
/// budgets that end anywhere, inside a fused dispatch or a turn of a loop included.
#[test]
fn fused_dispatches_equal_reference_at_every_budget() {
    use Opcode::{ADD, CMP, DIV, MUL, SLT, SLTU, STB, SUB, XOR};
    let mut rng = Rng::new(0xF05E_D15C);
    for case in 0..300 {
        let mut pick = |options: &[i32]| options[rng.below(options.len() as u64) as usize];
        let (r0, r1, r2) = (
            pick(&[-5, 0, 3, 17, 40]),
            pick(&[1, -1, 2, 0]),
            pick(&[0, 1, 2]),
        );
        let patch = pick(&[0, 0, 0, 1]) == 1;
        let (value, offset) = (pick(&[CMP as i32, SLT as i32, 3, 9]), pick(&[1, 4, 9]));
        let arith = [SUB, XOR, MUL, DIV, ADD][pick(&[0, 1, 2, 3, 4]) as usize];
        let cmp = [CMP, SLT, SLTU][pick(&[0, 1, 2]) as usize];
        let dest = pick(&[3, 3, 3, 3, 3, 8]) as u8;
        let target = pick(&[0, 0, 0, 0, 1, 2, 3]);
        let jz = pick(&[0, 1]) == 1;
        let at_end = pick(&[0, 0, 0, 1]) == 1;
        // The program with its loop at `base` (a jump over zeros to it first).
        let build = |base: i32| {
            let mut c = pxvm::testkit::Code::new();
            if base > 0 {
                c.jmp(base);
                c.put(&vec![0; base as usize - 5]);
            }
            c.imm(0, r0);
            c.imm(1, r1);
            c.imm(2, r2);
            c.imm(4, 0x10);
            let top = c.here();
            let start = top + if patch { 13 } else { 0 };
            if patch {
                c.imm(5, value);
                c.ins(STB, [4, 5, 0], start + offset - 0x10);
            }
            c.rrr(arith, 0, 0, 1);
            c.rrr(cmp, dest, 0, 2);
            let to = [start, start + 1, top, 0x1_0000][target as usize];
            if jz {
                c.jz(3, to)
            } else {
                c.jnz(3, to)
            };
            c.rrr(cmp, 3, 0, 1);
            c.jnz(3, top);
            c.halt();
            c.finish()
        };
        let code = if at_end {
            build((pxvm::MEM_SIZE - build(0).len()) as i32)
        } else {
            build(0)
        };
        let machine = Machine::new(&code).unwrap();
        let mut engines: [Box<dyn Engine>; 2] =
            [Box::new(Interpreter), Box::new(CycleSkippingInterpreter)];
        for fuel in (0..40).chain([97, 1_000 + rng.below(100), 100_000]) {
            if let Err(d) = agree(
                &mut engines,
                || (machine.clone(), Recorder::default()),
                fuel,
            ) {
                panic!("case {case} (at_end={at_end}, fuel={fuel}): {d:?}");
            }
        }
    }
}
