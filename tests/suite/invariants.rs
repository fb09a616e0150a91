//! Invariants of every run on random programs (the testing kit's [`soup`] over the whole
//! ISA): fuel is exact, the pc stays in range, a run split in two equals the run in one
//! piece, and every engine agrees (through `check`).

use pxos::check::difftest::{Scenario, check};
use pxos::runtime::host::PxHost;
use pxvm::testkit::{Rng, soup};
use pxvm::{Exit, Machine, interp};

/// The syscalls with no lasting side effects (no files written, no kernel requested).
const SYSCALLS: &[u8] = &[1, 2, 3, 4, 10, 20, 21, 22, 23, 99, 201];

#[test]
fn fuel_and_pc_invariants() {
    let mut rng = Rng::new(0x1F_0E1);
    for case in 0..256 {
        let code = soup(&mut rng, 40, SYSCALLS);
        let fuel = rng.below(400);
        let o = check(&Scenario::new(code, fuel));
        let r = &o.report;
        let what = format!("case {case}, fuel {fuel}: {r:?}");
        assert!(r.cycles <= fuel, "{what}");
        assert!(r.pc <= 65_536, "{what}");
        match r.exit {
            pxvm::Exit::Fuel => assert_eq!(r.cycles, fuel, "{what}"),
            pxvm::Exit::Error => assert_eq!(r.pc, 65_536, "{what}"),
            pxvm::Exit::Halt => assert!(r.pc >= 1, "{what}"),
        }
    }
}

#[test]
fn a_run_split_in_two_equals_one_run() {
    let mut rng = Rng::new(0x5B_117);
    for case in 0..256 {
        let code = soup(&mut rng, 40, SYSCALLS);
        let (first, second) = (rng.below(200), rng.below(200));
        let mut whole = Machine::new(&code).unwrap();
        let mut whole_host = PxHost::default();
        let whole_exit = interp::run(&mut whole, &mut whole_host, first + second);

        let mut split = Machine::new(&code).unwrap();
        let mut split_host = PxHost::default();
        let mut exit = interp::run(&mut split, &mut split_host, first);
        if exit == Exit::Fuel {
            exit = interp::run(&mut split, &mut split_host, second);
        }
        let what = format!("case {case}: {first} + {second}");
        assert_eq!(exit, whole_exit, "{what}");
        assert_eq!(split, whole, "{what}");
        assert_eq!(split_host.sysout, whole_host.sysout, "{what}");
    }
}
