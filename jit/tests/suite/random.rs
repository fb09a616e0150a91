//! Random programs over the whole ISA (the kit's [`soup`]: mostly valid registers, jump
//! targets and based stores mostly inside the program so that code gets rewritten), each
//! run at several budgets on the reference and on the JIT engines. One long-lived pair of
//! engines runs every program in turn, so stale translations from the previous program
//! would show; a fresh pair runs some of them too.

use super::*;
use pxvm::Machine;
use pxvm::testkit::{Rng, soup};

/// A program from the kit's generator: up to 40 items over the whole ISA, syscalls 7 (a
/// copy inside guest memory, which can rewrite code), 8 and 9.
fn program(rng: &mut Rng) -> Vec<u8> {
    soup(rng, 40, &[7, 8, 9])
}

#[test]
fn random_programs_agree_at_random_budgets() {
    let mut rng = Rng::new(0x9E37_79B9_7F4A_7C15);
    let mut shared = engines();
    for case in 0..400 {
        let code = program(&mut rng);
        let fuels = [rng.below(8), rng.below(100), rng.below(3000)];
        for fuel in fuels {
            let want = reference(&code, fuel);
            for engine in &mut shared {
                let name = engine.name();
                let got = recorded(engine.as_mut(), &code, fuel);
                assert_same(
                    &want,
                    &got,
                    &format!("case {case} shared {name} fuel={fuel}"),
                );
            }
            if case % 8 == 0 {
                for mut engine in engines() {
                    let name = engine.name();
                    let got = recorded(engine.as_mut(), &code, fuel);
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
    let mut rng = Rng::new(0xDEAD_BEEF_1234_5678);
    let mut shared = engines();
    for case in 0..150 {
        let code = program(&mut rng);
        let mut want_m = Machine::new(&code).unwrap();
        let mut want_h = Recorder::default();
        let mut got: Vec<_> = shared
            .iter()
            .map(|_| (Machine::new(&code).unwrap(), Recorder::default()))
            .collect();
        for _ in 0..4 {
            let fuel = rng.below(50);
            let want_exit = pxvm::interp::run_reference(&mut want_m, &mut want_h, fuel);
            for (engine, (m, h)) in shared.iter_mut().zip(&mut got) {
                let name = engine.name();
                let exit = engine.run(m, h, fuel);
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
