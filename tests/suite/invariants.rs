//! Property tests of the interpreter's invariants on random programs: fuel is exact, the
//! pc stays in range, a run split in two equals the run in one piece, and every engine
//! agrees (through `check`).

use super::util::check;
use proptest::prelude::*;
use pxos::check::difftest::Scenario;
use pxos::runtime::host::PxHost;
use pxvm::{interp, isa::ALL_OPCODES, Exit, Insn, Machine};

/// A random instruction over the whole ISA, with registers mostly valid and jump targets
/// mostly inside a small program; or a random byte.
fn item() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        8 => (
            proptest::sample::select(ALL_OPCODES),
            prop::array::uniform3(prop_oneof![9 => 0u8..8, 1 => any::<u8>()]),
            prop_oneof![4 => -8i32..80, 1 => any::<i32>(), 1 => 65530i32..65540],
        )
            .prop_map(|(op, regs, imm)| {
                let imm = match op.layout() {
                    pxvm::Layout::U8 | pxvm::Layout::RegU8 => imm & 0xFF,
                    _ => imm,
                };
                // Keep SYSCALLs to the services with no lasting side effects.
                let imm = if op == pxvm::Opcode::SYSCALL { [1, 2, 3, 4, 10, 20, 21, 22, 23, 99, 201][(imm as usize) % 11] } else { imm };
                Insn::new(op, regs, imm).encode()
            }),
        1 => any::<u8>().prop_map(|b| vec![b]),
    ]
}

fn program() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(item(), 1..40).prop_map(|items| items.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn fuel_and_pc_invariants(code in program(), fuel in 0u64..400) {
        let o = check(&Scenario::new(code, fuel));
        let r = &o.report;
        prop_assert!(r.cycles <= fuel);
        prop_assert!(r.pc <= 65_536);
        match r.exit {
            Exit::Fuel => prop_assert_eq!(r.cycles, fuel),
            Exit::Error => prop_assert_eq!(r.pc, 65_536),
            Exit::Halt => prop_assert!(r.pc >= 1),
        }
    }

    #[test]
    fn a_run_split_in_two_equals_one_run(code in program(), first in 0u64..200, second in 0u64..200) {
        let mut whole = Machine::new(&code).unwrap();
        let mut whole_host = PxHost::default();
        let whole_exit = interp::run(&mut whole, &mut whole_host, first + second);

        let mut split = Machine::new(&code).unwrap();
        let mut split_host = PxHost::default();
        let mut exit = interp::run(&mut split, &mut split_host, first);
        if exit == Exit::Fuel {
            exit = interp::run(&mut split, &mut split_host, second);
        }
        prop_assert_eq!(exit, whole_exit);
        prop_assert_eq!(&split, &whole);
        prop_assert_eq!(&split_host.sysout, &whole_host.sysout);
    }
}
