//! Random programs over the whole ISA (mostly valid registers, jump targets mostly inside
//! the program, stores mostly into the program itself so that code gets rewritten), each
//! run at several budgets on the interpreter and on the JIT engines. One long-lived pair of
//! engines runs every program in turn, so stale translations from the previous program
//! would show; a fresh pair runs some of them too.

mod common;
use common::*;
use pxvm::isa::{Layout, ALL_OPCODES};
use pxvm::{Insn, Machine, Opcode};

/// xorshift64*: deterministic, dependency-free randomness.
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

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

fn program(rng: &mut Rng) -> Vec<u8> {
    let len = 1 + rng.below(40);
    let approx_size = (len * 5) as i32;
    let mut code = Vec::new();
    for _ in 0..len {
        if rng.chance(4) {
            code.push(rng.next() as u8);
            continue;
        }
        let op = ALL_OPCODES[rng.below(ALL_OPCODES.len() as u64) as usize];
        let op = if op == Opcode::HALT && rng.chance(70) {
            Opcode::NOP
        } else {
            op
        };
        let mut regs = [0u8; 3];
        for r in &mut regs {
            *r = if rng.chance(95) {
                rng.below(8) as u8
            } else {
                rng.next() as u8
            };
        }
        let imm = match op.layout() {
            Layout::U8 | Layout::RegU8 => rng.below(256) as i32,
            _ => match rng.below(10) {
                0 => rng.next() as i32,
                1 => 65_530 + rng.below(10) as i32,
                2..=3 => 0x3000 + rng.below(64) as i32,
                _ => rng.below(approx_size as u64 + 8) as i32 - 4,
            },
        };
        let imm = if op == Opcode::SYSCALL {
            [7, 8, 9][rng.below(3) as usize]
        } else {
            imm
        };
        Insn::new(op, regs, imm).encode_into(&mut code);
    }
    code
}

#[test]
fn random_programs_agree_at_random_budgets() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut shared = engines();
    for case in 0..400 {
        let code = program(&mut rng);
        let fuels = [rng.below(8), rng.below(100), rng.below(3000)];
        for fuel in fuels {
            let want = run_interp(&code, fuel);
            for (name, engine) in &mut shared {
                let got = run_engine(engine, &code, fuel);
                assert_same(
                    &want,
                    &got,
                    &format!("case {case} shared {name} fuel={fuel}"),
                );
            }
            if case % 8 == 0 {
                for (name, mut engine) in engines() {
                    let got = run_engine(&mut engine, &code, fuel);
                    assert_same(
                        &want,
                        &got,
                        &format!("case {case} fresh {name} fuel={fuel}"),
                    );
                }
            }
        }
    }
}

#[test]
fn random_programs_resumed_across_runs_agree() {
    let mut rng = Rng(0xDEAD_BEEF_1234_5678);
    let mut shared = engines();
    for case in 0..150 {
        let code = program(&mut rng);
        let mut want_m = Machine::new(&code).unwrap();
        let mut want_h = RecHost::default();
        let mut got: Vec<_> = shared
            .iter()
            .map(|_| (Machine::new(&code).unwrap(), RecHost::default()))
            .collect();
        for _ in 0..4 {
            let fuel = rng.below(50);
            let want_exit = pxvm::interp::run(&mut want_m, &mut want_h, fuel);
            for ((name, engine), (m, h)) in shared.iter_mut().zip(&mut got) {
                let exit = pxvm::Engine::run(engine, m, h, fuel);
                assert_eq!(exit, want_exit, "case {case} {name}");
                assert_eq!(*m, want_m, "case {case} {name}");
                assert_eq!(h.lines, want_h.lines, "case {case} {name}");
            }
            if want_exit != pxvm::Exit::Fuel {
                break;
            }
        }
    }
}
