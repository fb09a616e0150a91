//! Counted self-loops run their first iterations in a fast copy without per-access checks
//! (see `jit/src/counted.rs` and `fastloop.rs`), after checking every address and the fuel
//! once on entry. These programs sit on the edges of those checks — trip counts of 0, 1
//! and 2, accesses that leave memory or reach translated code in the last iterations,
//! downward steps, index bounds near `i32::MAX` — and must agree with the interpreter on
//! every observable at every fuel budget.

use super::*;
use pxvm::Exit;
use pxvm::Opcode::*;

/// `R5` counts down from `count`; each iteration loads a word at `R3 + 0x100` and a byte
/// at `R4 - 3`, adds them into `R0`, stores the sum as a word at `R6 + 8` (or as a byte),
/// then steps `R3`, `R4`, `R6` by the given amounts. Prints R0 at the end.
fn count_down(count: i32, bases: [i32; 3], steps: [i32; 3], byte_store: bool) -> Code {
    let mut c = Code::new();
    c.imm(5, count);
    c.imm(3, bases[0]);
    c.imm(4, bases[1]);
    c.imm(6, bases[2]);
    let top = c.here();
    c.rri(LDW, 1, 3, 0x100);
    c.rri(LDB, 2, 4, -3);
    c.rrr(ADD, 0, 0, 1);
    c.rrr(ADD, 0, 0, 2);
    c.rri(ADDI, 3, 3, steps[0]);
    c.rri(if byte_store { STB } else { STW }, 6, 0, 8);
    c.rri(ADDI, 4, 4, steps[1]);
    c.rri(ADDI, 6, 6, steps[2]);
    c.rri(ADDI, 5, 5, -1);
    c.jnz(5, top);
    c.ins(pxvm::Opcode::MOV, [1, 0, 0], 0);
    c.sys(10);
    c.halt();
    c
}

/// `R1` climbs from `from` by `step` while below `R2 = to`, storing R1's low byte at
/// `R1 + offset` each time (the sieve's clearing loop, generalised).
fn climb(from: i32, to: i32, step: i32, offset: i32) -> Code {
    let mut c = Code::new();
    c.imm(1, from);
    c.imm(2, to);
    let top = c.here();
    c.rri(STB, 1, 1, offset);
    c.rri(ADDI, 1, 1, step);
    c.rrr(SLT, 4, 1, 2);
    c.jnz(4, top);
    c.sys(8);
    c.halt();
    c
}

fn at_budgets(c: &Code, budgets: impl IntoIterator<Item = u64>) {
    for fuel in budgets {
        agree(&c.bytes, fuel);
    }
}

#[test]
fn trip_counts_around_the_fast_copy_threshold() {
    // The fast copy runs groups of four iterations (this body is too long for eight), then
    // single ones: every count up to a few groups lands the switch-overs on a different
    // iteration.
    for count in (1..=13).chain([17]) {
        let c = count_down(count, [0x2000, 0x3000, 0x4000], [4, 1, 4], false);
        let o = agree(&c.bytes, 1_000_000);
        assert_eq!(o.exit, Exit::Halt);
        at_budgets(&c, 0..(count as u64 * 10 + 12));
    }
}

#[test]
fn trip_counts_around_the_short_body_groups() {
    // Bodies of up to eight instructions run groups of eight iterations: every count up to
    // three groups, the budget ending at every instruction of the first ones.
    for count in 1..=25 {
        let c = copy_words(count, (0x1000, 0), (0x5000, 0));
        let o = agree(&c.bytes, 1_000_000);
        assert_eq!(o.exit, Exit::Halt);
        at_budgets(&c, 0..(count as u64 * 6 + 8).min(80));
    }
}

#[test]
fn a_count_of_zero_or_below_runs_until_the_fuel_ends() {
    for count in [0, -1, i32::MIN] {
        let c = count_down(count, [0x2000, 0x3000, 0x4000], [0, 0, 0], false);
        let o = agree(&c.bytes, 5_000);
        assert_eq!(o.exit, Exit::Fuel);
    }
}

#[test]
fn accesses_that_leave_memory_in_the_last_iterations() {
    // Loads run off the end (they read 0 there), off the start downwards, and stores
    // run off the end (ignored there): the fast copy must refuse, the body must be exact.
    let cases = [
        ([0xFE00, 0x3000, 0x4000], [4, 1, 4]),
        ([0x2000, 0x0010, 0x4000], [4, -1, 4]),
        ([0x2000, 0x3000, 0xFFD0], [4, 1, 4]),
        ([0x2000, 0x3000, 0x0020], [4, 1, -4]),
        ([-0x200, 0x3000, 0x4000], [4, 1, 4]),
    ];
    for (bases, steps) in cases {
        for byte_store in [false, true] {
            let c = count_down(40, bases, steps, byte_store);
            let o = agree(&c.bytes, 1_000_000);
            assert_eq!(o.exit, Exit::Halt);
            at_budgets(&c, (0..30).chain(395..420));
        }
    }
}

#[test]
fn accesses_one_byte_past_the_edge_on_the_last_iteration() {
    // 40 iterations; in each case exactly the last iteration's access is one byte out of
    // memory (or, for the second of each pair, exactly at the edge, still inside).
    for edge in [0, 1] {
        let cases = [
            ([65121 - edge, 0x3000, 0x4000], [4, 1, 4]), // word load ends at 65536
            ([0x2000, 65500 - edge, 0x4000], [4, 1, 4]), // byte load at 65536
            ([0x2000, 41 + edge, 0x4000], [4, -1, 4]),   // byte load at -1
            ([0x2000, 0x3000, 65369 - edge], [4, 1, 4]), // word store ends at 65536
        ];
        for (bases, steps) in cases {
            let c = count_down(40, bases, steps, false);
            let o = agree(&c.bytes, 1_000_000);
            assert_eq!(o.exit, Exit::Halt);
        }
    }
}

/// Like `climb`, but the index only counts: the store goes through a separate pointer
/// `R3`, stepped by one, so the index may run up to `i32::MAX` while the stores stay in
/// memory.
fn climb_with_pointer(from: i32, to: i32, step: i32) -> Code {
    let mut c = Code::new();
    c.imm(1, from);
    c.imm(2, to);
    c.imm(3, 0x1000);
    let top = c.here();
    c.rri(STB, 3, 1, 0);
    c.rri(ADDI, 3, 3, 1);
    c.rri(ADDI, 1, 1, step);
    c.rrr(SLT, 4, 1, 2);
    c.jnz(4, top);
    c.sys(8);
    c.halt();
    c
}

#[test]
fn an_index_that_wraps_on_its_last_step_keeps_the_loop_going() {
    // From i32::MAX - 40 by 16 below i32::MAX: the third step wraps to a negative index,
    // which is still below the bound, so the guest goes round until the fuel ends.
    let c = climb_with_pointer(i32::MAX - 40, i32::MAX, 16);
    let o = agree(&c.bytes, 5_000);
    assert_eq!(o.exit, Exit::Fuel);
    // The same without wrapping ends after three iterations.
    let c = climb_with_pointer(i32::MAX - 60, i32::MAX - 15, 16);
    let o = agree(&c.bytes, 5_000);
    assert_eq!(o.exit, Exit::Halt);
    at_budgets(&c, 0..30);
}

#[test]
fn stores_that_reach_translated_code() {
    // The store walks down over the loop's own code (from above it): the fast copy must
    // not take those iterations, and the patched code must run as patched.
    let probe = count_down(30, [0x2000, 0x3000, 0], [4, 1, -1], true);
    let top = probe.bytes.len() as i32;
    let c = count_down(30, [0x2000, 0x3000, top + 8], [4, 1, -1], true);
    let o = agree(&c.bytes, 1_000_000);
    assert!(matches!(o.exit, Exit::Halt | Exit::Fuel | Exit::Error));
    at_budgets(&c, 0..120);
}

#[test]
fn climbing_index_loops() {
    let cases = [
        (0x1000, 0x1000 + 300, 1, 0),
        (0x1000, 0x1001, 1, 0),
        (0x1000, 0x1002, 1, 0),
        (0x1000, 0x1000 + 301, 7, 0),
        (0x1000, 0x1004, 1, 0),
        (0x1000, 0x1005, 1, 0),
        (0x1000, 0x1006, 1, 0),
        (0x1000, 0x1000 + 4 * 3 + 1, 3, 0),
        (0x1000, 0x1000 + 5 * 3, 3, 0),
        (0x1000, 0x0FFF, 1, 0),       // already past the bound: one iteration
        (0xFF00, 0x10100, 3, 0),      // the stores leave memory
        (0x1000, 0x2000, 5, -0x1000), // stores into the code page at the start
        (i32::MAX - 40, i32::MAX, 16, 0), // the index would overflow past the bound
        (-100, 100, 9, 0x2000),
    ];
    for (from, to, step, offset) in cases {
        let c = climb(from, to, step, offset);
        let o = agree(&c.bytes, 200_000);
        assert!(matches!(o.exit, Exit::Halt | Exit::Fuel), "{o:?}");
        at_budgets(&c, (0..40).chain([101, 102, 103, 1_000]));
    }
}

#[test]
fn comparisons_made_in_the_loop_are_seen_after_it() {
    // R0 holds a comparison result the loop body computes each time but never reads; the
    // code after the loop prints it. Counted down (with a byte load, so the fast copy runs)
    // and climbing, at every group/single switch-over.
    for count in 2..12 {
        let mut c = Code::new();
        c.imm(1, count);
        c.imm(3, 0x2000);
        let top = c.here();
        c.rri(LDB, 2, 3, 0);
        c.rri(SLTI, 0, 1, 5);
        c.rri(ADDI, 3, 3, 1);
        c.rri(ADDI, 1, 1, -1);
        c.jnz(1, top);
        c.ins(MOV, [1, 0, 0], 0);
        c.sys(10);
        c.halt();
        let o = agree(&c.bytes, 10_000);
        assert_eq!(o.machine.regs[1], 1, "1 < 5 on the last iteration");

        let mut c = Code::new();
        c.imm(1, 0);
        c.imm(2, count);
        let top = c.here();
        c.rri(SLTI, 0, 1, 3);
        c.rri(STB, 1, 1, 0x3000);
        c.rri(ADDI, 1, 1, 1);
        c.rrr(SLT, 4, 1, 2);
        c.jnz(4, top);
        c.ins(MOV, [1, 0, 0], 0);
        c.sys(10);
        c.halt();
        let o = agree(&c.bytes, 10_000);
        assert_eq!(o.machine.regs[1], i32::from(count - 1 < 3));
    }
}

#[test]
fn load_only_loops_up_to_the_end_of_memory() {
    // Loads only (the fast copy may schedule them freely): summing words up to the very
    // last one, or one word further (that one reads 0), at every group/single switch-over.
    for count in 1..14 {
        for past in [0, 1, 2, 4] {
            let mut c = Code::new();
            c.imm(5, count);
            c.imm(3, 65532 - 4 * (count - 1) + past);
            c.imm(6, 0x7000 - 8 * count);
            let top = c.here();
            c.rri(LDW, 2, 3, 0);
            c.rri(LDB, 1, 6, 3);
            c.rrr(ADD, 0, 0, 2);
            c.rrr(ADD, 0, 0, 1);
            c.rri(ADDI, 3, 3, 4);
            c.rri(ADDI, 6, 6, 8);
            c.rri(ADDI, 5, 5, -1);
            c.jnz(5, top);
            c.halt();
            // The kernel image fills all of memory: the code at 0, data from 0x6000 on.
            let mut image = c.bytes.clone();
            image.resize(pxvm::MEM_SIZE, 0);
            for (k, b) in image[0x6000..].iter_mut().enumerate() {
                *b = (k * 7 + 3) as u8;
            }
            let o = agree(&image, 10_000);
            assert_eq!(o.exit, Exit::Halt);
        }
    }
}

/// `R5` counts down from `count`; each iteration loads a word at `R3 + load.1`, stores it
/// at `R6 + store.1`, and steps `R3` and `R6` by 4 (`R3` starts at `load.0`, `R6` at
/// `store.0`). Prints the last word loaded.
fn copy_words(count: i32, load: (i32, i32), store: (i32, i32)) -> Code {
    let mut c = Code::new();
    c.imm(5, count);
    c.imm(3, load.0);
    c.imm(6, store.0);
    let top = c.here();
    c.rri(LDW, 1, 3, load.1);
    c.rri(STW, 6, 1, store.1);
    c.rri(ADDI, 3, 3, 4);
    c.rri(ADDI, 6, 6, 4);
    c.rri(ADDI, 5, 5, -1);
    c.jnz(5, top);
    c.sys(10);
    c.halt();
    c
}

/// A base register and offset whose wrapped sum is `addr`, the base `i32::MAX - below`.
fn wrapping_base(addr: i32, below: i32) -> (i32, i32) {
    let base = i32::MAX - below;
    (base, addr.wrapping_sub(base))
}

#[test]
fn base_registers_that_wrap_while_the_addresses_stay_inside_memory() {
    // The fast copy addresses memory from each base register widened once per group;
    // that is the guest's wrapped 32-bit address only while the register does not wrap
    // (or the offset is small). Here a base crosses i32::MAX at every position within a
    // group while base + offset, wrapped, walks through memory (the loads over the code),
    // so the fast copy's entry checks pass and each access must use the wrapped address.
    for below in (0..40).step_by(4) {
        for (load, store) in [
            (wrapping_base(0, below), (0x5000, 0)),
            ((0, 0), wrapping_base(0x5000, below)),
            (wrapping_base(0, below), wrapping_base(0x5000, below + 8)),
        ] {
            let c = copy_words(20, load, store);
            let o = agree(&c.bytes, 1_000_000);
            assert_eq!(o.exit, Exit::Halt);
            at_budgets(&c, (0..130).step_by(3));
        }
    }
    // Offsets at the edge of what may use a widened base (|offset| = 2^30), and past it.
    for offset in [1 << 30, -(1 << 30), (1 << 30) + 4, -(1 << 30) - 4] {
        let load = (0i32.wrapping_sub(offset), offset);
        let store = (0x5000i32.wrapping_sub(offset), offset);
        let c = copy_words(20, load, store);
        let o = agree(&c.bytes, 1_000_000);
        assert_eq!(o.exit, Exit::Halt);
        at_budgets(&c, (0..130).step_by(3));
    }
}
