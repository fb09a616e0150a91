//! The boot cycle (`pxos::lifecycle::boot`): the host takes SELF_MODIFY requests, installs each new
//! kernel as a child version and reboots it; boot assessment marks a new version that
//! fails as bad and rolls back to the previous good one, recording it; a version that
//! failed is never booted again automatically. Every cycle runs on every engine through
//! `boot_everywhere`, which fails on any disagreement.

use super::store_util::*;
use pxos::lifecycle::boot::{Action, Stop};
use pxos::runtime::engines::EngineKind;
use pxos::store::{EventKind, Status, Store};
use pxvm::Exit;
use std::fs;

/// A kernel that never halts (it runs out of fuel).
fn spinner() -> Vec<u8> {
    asm("LOOP: JMP LOOP")
}

/// A kernel that runs off the end of memory (exit `error`): four NOPs at 65532, then a
/// jump there.
fn crasher() -> Vec<u8> {
    asm("IMM32 R1, 0x01010101\nSTORE 65532, R1\nJMP 65532")
}

/// The seed's kernel v1.0 with `next` waiting in build/kernel_v2.bin.
fn seed_store(next: Vec<u8>) -> impl Fn(&mut Store) {
    move |s: &mut Store| {
        s.register("v1.0", &kernel("kernel_v1.asm"), None, "register")
            .unwrap();
        fs::create_dir_all(s.root().join("build")).unwrap();
        fs::write(s.root().join("build/kernel_v2.bin"), &next).unwrap();
    }
}

#[test]
fn the_seed_demo_evolves_v1_into_v2() {
    let b = boot_everywhere(&seed_store(kernel("kernel_v2.asm")), 1000, 10);
    assert_eq!(b.generations.len(), 2);
    let (g1, g2) = (&b.generations[0], &b.generations[1]);
    assert_eq!(
        (g1.version.as_str(), g1.cycles, g1.exit),
        ("v1.0", 16, Exit::Halt)
    );
    assert!(
        matches!(&g1.action, Action::Evolved { new_version, new_id: 2, .. } if new_version == "v2.0")
    );
    assert_eq!(
        (g2.version.as_str(), g2.cycles, g2.exit),
        ("v2.0", 14, Exit::Halt)
    );
    assert_eq!(g2.sysout[3], "PRINT PXVM: PXVM ready.");
    assert_eq!(g2.action, Action::Halted);
    assert_eq!(b.summary.stop, Stop::Halted);
    let s = b.store();
    assert_eq!(s.current().unwrap().version, "v2.0");
    assert!(s.list().iter().all(|e| e.status == Status::Good));
    let k = b.path().join("kernels");
    assert_eq!(
        fs::read(k.join("kernel_v1.0_backup.bin")).unwrap(),
        kernel("kernel_v1.asm")
    );
    assert_eq!(
        fs::read(k.join("kernel_current.bin")).unwrap(),
        kernel("kernel_v2.asm")
    );
}

#[test]
fn self_evolve_makes_a_hundred_generations_each_the_parent_of_the_next() {
    let setup = |s: &mut Store| {
        s.register("v1.0", &kernel("self_evolve.asm"), None, "register")
            .unwrap();
    };
    // Every engine agrees on the first generations (each boot with a fresh engine, so no
    // JIT translation of one generation's code survives into the next) ...
    let short = boot_everywhere(&setup, 1000, 10);
    // ... and the interpreter goes on to a hundred (the disk's fsyncs set the pace).
    let b = boot_on(&[EngineKind::Interp], &setup, 1000, 100);
    assert_eq!(short.generations[..], b.generations[..10]);
    assert_eq!(b.summary.generations, 100);
    assert_eq!(b.summary.stop, Stop::Limit);
    for (i, g) in b.generations.iter().enumerate() {
        let n = i as u64 + 1;
        assert_eq!(g.version, format!("v{n}.0"));
        assert_eq!(
            g.sysout[0],
            n.to_string(),
            "generation counter in the image"
        );
        let x = 20 + (16 * n) % 720;
        assert!(
            g.sysout[1].starts_with(&format!("RECT {x} 100 40 40 ")),
            "{:?}",
            g.sysout
        );
        assert!(matches!(&g.action, Action::Evolved { new_id, .. } if *new_id == n + 1));
    }
    let s = b.store();
    // 100 boots made 100 new versions: v2.0 .. v101.0, each the child of the one before.
    assert_eq!(s.list().len(), 101);
    for e in &s.list()[1..] {
        let parent = s.db().parent_of(e).unwrap();
        assert_eq!(parent.id + 1, e.id);
        assert_eq!(e.version, format!("v{}.0", e.id));
        assert_eq!(e.parent.as_deref(), Some(parent.version.as_str()));
    }
    let last = s.current().unwrap();
    assert_eq!(
        (last.version.as_str(), last.status),
        ("v101.0", Status::Probation)
    );
    assert!(s.list()[..100].iter().all(|e| e.status == Status::Good));
    // v101.0's image carries counter 100: it prints 101 when it boots.
    let bytes = s.read_kernel(last).unwrap();
    assert_eq!(i32::from_le_bytes(bytes[142..146].try_into().unwrap()), 100);
}

#[test]
fn a_new_version_that_fails_is_marked_bad_and_rolled_back() {
    for (what, bad, exit) in [
        ("fuel", spinner(), Exit::Fuel),
        ("error", crasher(), Exit::Error),
    ] {
        let b = boot_everywhere(&seed_store(bad), 500, 10);
        assert_eq!(b.generations.len(), 2, "{what}");
        let g2 = &b.generations[1];
        assert_eq!(
            (g2.version.as_str(), g2.status, g2.exit),
            ("v2.0", Status::Probation, exit)
        );
        assert_eq!(
            g2.action,
            Action::RolledBack {
                to_version: Some("v1.0".into()),
                to_id: Some(1),
                discarded_request: false
            },
            "{what}"
        );
        assert_eq!(b.summary.stop, Stop::RolledBack);
        let s = b.store();
        assert_eq!(s.current().unwrap().version, "v1.0");
        assert_eq!(s.get("v2.0").unwrap().status, Status::Bad);
        let ev = s.db().events.last().unwrap();
        assert_eq!(ev.kind, EventKind::Rollback);
        assert_eq!((ev.from_id, ev.to_id), (Some(2), Some(1)));
        assert!(ev.reason.contains(&format!("exit={exit}")), "{}", ev.reason);
        // kernel_current.bin is v1.0 again.
        let current = fs::read(b.path().join("kernels/kernel_current.bin")).unwrap();
        assert_eq!(current, kernel("kernel_v1.asm"));
    }
}

#[test]
fn a_version_that_failed_is_never_booted_again_automatically() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = open(dir.path());
    seed_store(spinner())(&mut s);
    let opts = pxos::lifecycle::boot::BootOptions {
        engine: pxos::runtime::engines::EngineKind::Interp,
        fuel: 500,
        max_generations: 10,
    };
    let mut booted = Vec::new();
    for _ in 0..3 {
        pxos::lifecycle::boot::boot(&mut s, &opts, &mut |g| booted.push(g.id)).unwrap();
    }
    // v1.0 evolves each time into a new sibling (v2.0, v2.1, v2.2) that fails once.
    assert_eq!(booted, [1, 2, 1, 3, 1, 4]);
    let bad: Vec<&str> = s
        .list()
        .iter()
        .filter(|e| e.status == Status::Bad)
        .map(|e| e.version.as_str())
        .collect();
    assert_eq!(bad, ["v2.0", "v2.1", "v2.2"]);
    assert_eq!(
        s.db()
            .events
            .iter()
            .filter(|e| e.kind == EventKind::Rollback)
            .count(),
        3
    );

    // A first kernel that fails has nothing to roll back to: no version is current, and
    // booting again is refused.
    let dir = tempfile::tempdir().unwrap();
    let mut s = open(dir.path());
    s.register("v1.0", &spinner(), None, "register").unwrap();
    let mut actions = Vec::new();
    pxos::lifecycle::boot::boot(&mut s, &opts, &mut |g| actions.push(g.action.clone())).unwrap();
    assert_eq!(
        actions,
        [Action::RolledBack {
            to_version: None,
            to_id: None,
            discarded_request: false
        }]
    );
    assert!(s.current().is_none());
    assert!(!dir.path().join("kernels/kernel_current.bin").exists());
    let err = pxos::lifecycle::boot::boot(&mut s, &opts, &mut |_| panic!("booted")).unwrap_err();
    assert!(err.to_string().contains("no current version"), "{err}");
}

#[test]
fn a_good_version_that_fails_stays_current_and_the_failure_is_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = open(dir.path());
    s.register("v1.0", &kernel("kernel_v2.asm"), None, "register")
        .unwrap();
    let mut opts = pxos::lifecycle::boot::BootOptions {
        engine: pxos::runtime::engines::EngineKind::Interp,
        fuel: 1000,
        max_generations: 5,
    };
    let sum = pxos::lifecycle::boot::boot(&mut s, &opts, &mut |_| {}).unwrap();
    assert_eq!((sum.generations, sum.stop), (1, Stop::Halted));
    assert_eq!(s.current().unwrap().status, Status::Good);
    opts.fuel = 3;
    let sum = pxos::lifecycle::boot::boot(&mut s, &opts, &mut |g| {
        assert_eq!(
            g.action,
            Action::Failed {
                discarded_request: false
            }
        );
    })
    .unwrap();
    assert_eq!(sum.stop, Stop::Failed);
    let cur = s.current().unwrap();
    assert_eq!((cur.version.as_str(), cur.status), ("v1.0", Status::Good));
    assert_eq!(s.db().events.last().unwrap().kind, EventKind::BootFailed);
}

#[test]
fn a_request_from_a_kernel_that_does_not_halt_is_discarded() {
    // v1.0 asks for a replacement and then spins: the request is not taken.
    let greedy = asm("IMM32 R1, 301\nSYSCALL SYS_SELF_MODIFY\nLOOP: JMP LOOP");
    let setup = |s: &mut Store| {
        s.register("v1.0", &greedy, None, "register").unwrap();
        fs::create_dir_all(s.root().join("build")).unwrap();
        fs::write(
            s.root().join("build/kernel_v2.bin"),
            kernel("kernel_v2.asm"),
        )
        .unwrap();
    };
    let b = boot_everywhere(&setup, 200, 5);
    assert_eq!(
        b.generations[0].action,
        Action::RolledBack {
            to_version: None,
            to_id: None,
            discarded_request: true
        }
    );
    assert_eq!(b.store().list().len(), 1, "nothing was registered");
}
