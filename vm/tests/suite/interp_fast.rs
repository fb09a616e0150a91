//! The fast interpreter (`interp::run`) against the reference stepper
//! (`interp::run_reference`) through the testing kit's `agree`, on the kit's random
//! programs over the whole ISA and random budgets, loaded at 0 or at the very end of
//! memory: identical machine state, identical host calls.

use pxvm::testkit::code::{imm32, jmp, program, rrr};
use pxvm::testkit::{Recorder, Rng, SYS_COPY, SYS_POKE, agree, soup};
use pxvm::{Engine, Exit, Interpreter, Machine, Opcode::ADD, interp};

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
        let mut engines: [Box<dyn Engine>; 1] = [Box::new(Interpreter)];
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
