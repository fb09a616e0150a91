//! The version syscalls under `pxos boot`: 30 VERSION_GET (R0 = the running version's id),
//! 31 VERSION_LIST (ids as i32s at R1, at most R2, R0 = how many written) and 32
//! VERSION_SWITCH (R1 = id; R0 = 1 and the switch happens after a clean halt, or R0 = 0),
//! and how a switch ranks against SELF_MODIFY. Each runs on every engine.

use super::store_util::*;
use pxos::lifecycle::boot::Action;
use pxos::store::{EventKind, Status, Store};
use std::fs;

const HALTER: &[u8] = &[0x00];

/// Register three halting versions (ids 1-3) and then `kernel` as id 4, current.
fn store_with(kernel: Vec<u8>) -> impl Fn(&mut Store) {
    move |s: &mut Store| {
        for name in ["a", "b", "c"] {
            s.register(name, HALTER, None, "register").unwrap();
        }
        s.register("probe", &kernel, None, "register").unwrap();
    }
}

#[test]
fn version_get_returns_the_running_version() {
    let b = boot_everywhere(
        &store_with(asm(
            "SYSCALL SYS_VERSION_GET\nMOV R1, R0\nSYSCALL SYS_PRINT_INT\nHALT",
        )),
        100,
        1,
    );
    assert_eq!(b.generations[0].sysout, ["4"]);
    assert_eq!(b.generations[0].action, Action::Halted);
}

/// A kernel that lists versions into a buffer at 0x4000 (filled with -1 first) with
/// `max` and prints R0 and then the first five i32 slots.
fn lister(buffer: i32, max: i32) -> Vec<u8> {
    asm(&format!(
        "
        IMM32 R1, -1
        STORE 0x4000, R1
        STORE 0x4004, R1
        STORE 0x4008, R1
        STORE 0x400C, R1
        STORE 0x4010, R1
        IMM32 R1, {buffer}
        IMM32 R2, {max}
        SYSCALL SYS_VERSION_LIST
        MOV R1, R0
        SYSCALL SYS_PRINT_INT
        IMM32 R5, 0x4000
        IMM32 R6, 5
    LOOP:
        LDW R1, R5, 0
        SYSCALL SYS_PRINT_INT
        ADDI R5, R5, 4
        ADDI R6, R6, -1
        JNZ R6, LOOP
        HALT"
    ))
}

#[test]
fn version_list_writes_ids_oldest_first_up_to_the_limit() {
    let cases: [(i32, i32, [&str; 6]); 4] = [
        (0x4000, 10, ["4", "1", "2", "3", "4", "-1"]),
        (0x4000, 2, ["2", "1", "2", "-1", "-1", "-1"]),
        (0x4000, -5, ["0", "-1", "-1", "-1", "-1", "-1"]),
        // A buffer that does not fit in memory: nothing written, R0 = 0.
        (65_530, 10, ["0", "-1", "-1", "-1", "-1", "-1"]),
    ];
    for (buffer, max, expected) in cases {
        let b = boot_everywhere(&store_with(lister(buffer, max)), 1000, 1);
        assert_eq!(
            b.generations[0].sysout, expected,
            "buffer {buffer}, max {max}"
        );
    }
}

#[test]
fn version_switch_takes_effect_after_a_clean_halt() {
    // Switch to 99 (unknown) -> 0, to 2 -> 1; print both results; halt.
    let kernel = asm(
        "IMM32 R1, 99\nSYSCALL SYS_VERSION_SWITCH\nMOV R1, R0\nSYSCALL SYS_PRINT_INT\n\
         IMM32 R1, 2\nSYSCALL SYS_VERSION_SWITCH\nMOV R1, R0\nSYSCALL SYS_PRINT_INT\n\
         SYSCALL SYS_VERSION_GET\nMOV R1, R0\nSYSCALL SYS_PRINT_INT\nHALT",
    );
    let b = boot_everywhere(&store_with(kernel), 1000, 5);
    let g = &b.generations;
    assert_eq!(
        g[0].sysout,
        ["0", "1", "4"],
        "VERSION_GET still names the running version"
    );
    assert_eq!(
        g[0].action,
        Action::Switched {
            to_version: "b".into(),
            to_id: 2
        }
    );
    assert_eq!(
        (g[1].id, &g[1].action),
        (2, &Action::Halted),
        "the next boot is version 2"
    );
    let s = b.store();
    assert_eq!(s.current().unwrap().id, 2);
    assert_eq!(s.get("probe").unwrap().status, Status::Good);
    let ev = s.db().events.last().unwrap();
    assert_eq!(
        (ev.kind, ev.from_id, ev.to_id),
        (EventKind::GuestSwitch, Some(4), Some(2))
    );
}

#[test]
fn version_switch_refuses_bad_versions() {
    let setup = |s: &mut Store| {
        s.register("a", HALTER, None, "register").unwrap();
        s.assess(1, false, "made bad for the test").unwrap();
        let k =
            asm("IMM32 R1, 1\nSYSCALL SYS_VERSION_SWITCH\nMOV R1, R0\nSYSCALL SYS_PRINT_INT\nHALT");
        s.register("probe", &k, None, "register").unwrap();
    };
    let b = boot_everywhere(&setup, 1000, 5);
    assert_eq!(b.generations.len(), 1);
    assert_eq!(b.generations[0].sysout, ["0"]);
    assert_eq!(b.generations[0].action, Action::Halted);
}

#[test]
fn self_modify_takes_precedence_over_a_switch_in_the_same_run() {
    let kernel = asm(
        "IMM32 R1, 1\nSYSCALL SYS_VERSION_SWITCH\nIMM32 R1, 301\nSYSCALL SYS_SELF_MODIFY\nHALT",
    );
    let setup = move |s: &mut Store| {
        store_with(kernel.clone())(s);
        fs::write(s.root().join("build/kernel_v2.bin"), HALTER).unwrap();
    };
    let b = boot_everywhere(&setup, 1000, 5);
    let g = &b.generations;
    assert_eq!(
        g[0].action,
        Action::Evolved {
            new_version: "probe-2".into(),
            new_id: 5,
            ignored_switch: Some(1)
        }
    );
    assert!(
        g[0].summary()
            .contains("ignored (SELF_MODIFY takes precedence)")
    );
    assert_eq!((g[1].id, &g[1].action), (5, &Action::Halted));
    assert!(b.store().db().events.is_empty(), "no switch was recorded");
}

#[test]
fn a_switch_from_a_kernel_that_fails_is_discarded() {
    let kernel = asm("IMM32 R1, 1\nSYSCALL SYS_VERSION_SWITCH\nLOOP: JMP LOOP");
    let b = boot_everywhere(&store_with(kernel), 100, 5);
    assert!(matches!(
        b.generations[0].action,
        Action::RolledBack {
            discarded_request: true,
            ..
        }
    ));
}

#[test]
fn without_a_store_the_version_syscalls_are_unknown() {
    let o = pxos::check::difftest::check(&pxos::check::difftest::Scenario::new(
        asm("SYSCALL SYS_VERSION_GET\nHALT"),
        10,
    ));
    assert_eq!(o.report.sysout, ["# WARNING: unknown syscall 30"]);
}

#[test]
fn a_switch_requested_from_a_hot_loop() {
    // 1000 iterations; the 500th asks for version 2 and prints the answer. Compiled
    // engines make the call from inside the compiled loop and go on.
    let kernel = asm("
        IMM32 R6, 1000
        IMM32 R7, 500
    LOOP:
        ADDI R4, R4, 1
        CMP R3, R6, R7
        JZ R3, SKIP
        IMM32 R1, 2
        SYSCALL SYS_VERSION_SWITCH
        MOV R1, R0
        SYSCALL SYS_PRINT_INT
    SKIP:
        ADDI R6, R6, -1
        JNZ R6, LOOP
        HALT");
    let b = boot_everywhere(&store_with(kernel), 100_000, 2);
    let g = &b.generations;
    assert_eq!(g[0].sysout, ["1"]);
    assert_eq!(
        g[0].action,
        Action::Switched {
            to_version: "b".into(),
            to_id: 2
        }
    );
}
