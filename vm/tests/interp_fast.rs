//! The fast interpreter (`interp::run`) against the reference stepper
//! (`interp::run_reference`) on random programs and budgets: identical machine state,
//! identical host calls.

use proptest::prelude::*;
use pxvm::isa::ALL_OPCODES;
use pxvm::{interp, Exit, Host, Insn, Machine, SyscallCtx, VmEvent};

/// Records every host interaction; syscalls write a little memory so that syscall-made
/// code changes are exercised too.
#[derive(Debug, Default, PartialEq)]
struct Recorder {
    log: Vec<String>,
}

impl Host for Recorder {
    fn syscall(&mut self, num: u8, ctx: &mut SyscallCtx<'_>) {
        self.log.push(format!("sys {num} {:?}", ctx.regs));
        if num == 23 {
            let (addr, byte) = (ctx.regs[2], ctx.regs[3] as u8);
            ctx.regs[0] = i32::from(ctx.write_mem(addr, &[byte, 0x01, 0x01]));
        } else {
            ctx.regs[0] = i32::from(num);
        }
    }

    fn event(&mut self, event: VmEvent) {
        self.log.push(event.to_string());
    }
}

fn item() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        8 => (
            proptest::sample::select(ALL_OPCODES),
            prop::array::uniform3(prop_oneof![9 => 0u8..8, 1 => any::<u8>()]),
            prop_oneof![4 => -8i32..120, 1 => any::<i32>(), 1 => 65_520i32..65_540],
        )
            .prop_map(|(op, regs, imm)| Insn::new(op, regs, imm).encode()),
        1 => any::<u8>().prop_map(|b| vec![b]),
    ]
}

fn program() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(item(), 1..48).prop_map(|items| items.concat())
}

fn both(
    code: &[u8],
    at_end: bool,
    fuel: u64,
) -> ((Exit, Machine, Recorder), (Exit, Machine, Recorder)) {
    let load = || {
        let mut m = Machine::new(&[]).unwrap();
        // Programs placed at the very end of memory exercise the slow fetch path.
        let base = if at_end {
            pxvm::MEM_SIZE - code.len().min(pxvm::MEM_SIZE)
        } else {
            0
        };
        m.mem[base..base + code.len().min(pxvm::MEM_SIZE)]
            .copy_from_slice(&code[..code.len().min(pxvm::MEM_SIZE)]);
        m.pc = base as u32;
        m.regs[7] = 0x10000;
        m
    };
    let (mut fast, mut reference) = (load(), load());
    let (mut hf, mut hr) = (Recorder::default(), Recorder::default());
    let ef = interp::run(&mut fast, &mut hf, fuel);
    let er = interp::run_reference(&mut reference, &mut hr, fuel);
    ((ef, fast, hf), (er, reference, hr))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn fast_interpreter_equals_reference(code in program(), at_end in any::<bool>(), fuel in 0u64..600) {
        let ((ef, mf, hf), (er, mr, hr)) = both(&code, at_end, fuel);
        prop_assert_eq!(ef, er);
        prop_assert_eq!(&mf.regs, &mr.regs);
        prop_assert_eq!(mf.pc, mr.pc);
        prop_assert_eq!(mf.cycles, mr.cycles);
        prop_assert!(mf.mem[..] == mr.mem[..], "memory differs");
        prop_assert_eq!(hf, hr);
    }
}

#[test]
fn fast_interpreter_resumes_where_it_stopped() {
    // A loop cut into many small budgets ends exactly where one big budget does.
    let code = [
        Insn::new(pxvm::Opcode::IMM32, [1, 0, 0], 1).encode(),
        Insn::new(pxvm::Opcode::ADD, [0, 0, 1], 0).encode(),
        Insn::new(pxvm::Opcode::JMP, [0; 3], 6).encode(),
    ]
    .concat();
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
