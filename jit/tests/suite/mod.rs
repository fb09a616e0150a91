//! The JIT's test modules, and what they share: the engines under test and [`agree`],
//! the testing kit's differential check over them. Everything else — the builder, the
//! recording host, the generator, the comparison — is `pxvm::testkit`'s, re-exported here.

mod amortised;
mod cache;
mod counted;
mod direct;
mod fuel;
mod hostile;
mod layers;
#[cfg(target_os = "linux")]
mod memory;
mod opcodes;
mod random;
mod smc;
mod smoke;
mod spot;
mod syscalls;

pub use pxvm::testkit::{Code, Recorder, Run, assert_same, recorded, reference};
use pxvm::{Engine, Exit, Machine};

/// The engines under test: `jit`; a `jit` that optimises a quick region after 5 guest
/// instructions, so that short tests cut quick regions' fuel and switch tiers mid-run; and
/// a tiered engine with no warm-up and a threshold of 2 so that short tests exercise its
/// tier switch.
pub fn engines() -> Vec<Box<dyn Engine>> {
    let mut eager = pxvm_jit::JitConfig::eager();
    eager.optimise_after = Some(5);
    let mut hot = pxvm_jit::JitConfig::tiered();
    hot.policy = pxvm_jit::Policy::Tiered {
        warmup: 0,
        threshold: 2,
    };
    vec![
        Box::new(pxvm_jit::JitEngine::jit()),
        Box::new(pxvm_jit::JitEngine::with_config(
            "jit-optimise-after-5",
            eager,
        )),
        Box::new(pxvm_jit::JitEngine::with_config("tiered", hot)),
    ]
}

/// Run `code` with `fuel` on the reference and on fresh [`engines`]; assert they agree on
/// every observable; return the reference's run.
#[track_caller]
pub fn agree(code: &[u8], fuel: u64) -> Run<Recorder> {
    pxvm::testkit::check(&mut engines(), code, fuel)
}

/// Run `code` on `engine` to its end in budgets of 1, 2, ..., `period`, 1, 2, ...
/// instructions, asserting that every fuel exit used its whole budget; the whole run.
#[track_caller]
pub fn run_in_chunks(engine: &mut dyn Engine, code: &[u8], period: u64) -> Run<Recorder> {
    let name = engine.name();
    let mut machine = Machine::new(code).unwrap();
    let mut host = Recorder::default();
    let (mut exit, mut chunk) = (Exit::Fuel, 0);
    while exit == Exit::Fuel {
        chunk = chunk % period + 1;
        let before = machine.cycles;
        exit = engine.run(&mut machine, &mut host, chunk);
        if exit == Exit::Fuel {
            assert_eq!(
                machine.cycles - before,
                chunk,
                "{name}: a fuel exit uses all fuel"
            );
        }
    }
    Run {
        engine: name,
        exit,
        machine,
        host,
    }
}
