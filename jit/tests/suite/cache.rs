//! The code cache across runs and under pressure: indirect jumps and RETs into the middle
//! of compiled blocks, flushes forced by tiny limits, machine resets, and one engine
//! running two different machines in turn.

use super::*;
use pxvm::Opcode::*;
use pxvm::{Exit, Machine};
use pxvm_jit::{CacheLimits, JitConfig, JitEngine, RegionLimits};

#[test]
fn indirect_jumps_and_returns_land_in_the_middle_of_blocks() {
    // A straight run of ADDIs is one block; JR and RET then jump to every instruction
    // boundary inside it in turn.
    let mut c = Code::new();
    c.imm(7, 0x9000);
    c.imm(6, 0); // index of the landing point
    let top = c.here();
    c.rri(SHLI, 5, 6, 3); // 8 bytes per slot in the landing table
    c.rri(ADDI, 5, 5, 0); // table base, patched
    let table_fix = c.here() - 4;
    c.rri(LDW, 4, 5, 0); // landing address
    c.rri(ANDI, 3, 6, 1);
    let via_ret = c.jnz(3, 0);
    c.ins(JR, [4, 0, 0], 0);
    let ret_path = c.here();
    c.rri(ADDI, 7, 7, -4);
    c.rri(STW, 7, 4, 0);
    c.ins(RET, [0; 3], 0);
    c.patch_i32(via_ret + 2, ret_path);
    // The block with many entry points.
    let mut landings = Vec::new();
    for k in 0..8 {
        landings.push(c.rri(ADDI, 1, 1, 1 << k));
    }
    c.rri(ADDI, 6, 6, 1);
    c.rri(SLTI, 3, 6, 8);
    c.jnz(3, top);
    c.sys(8);
    c.halt();
    let table = c.here();
    for &l in &landings {
        c.bytes.extend_from_slice(&l.to_le_bytes());
        c.bytes.extend_from_slice(&[0; 4]);
    }
    c.patch_i32(table_fix, table);
    let o = agree(&c.bytes, 100_000);
    assert_eq!(o.exit, Exit::Halt);
    // Landing at k runs the ADDIs k..8: bit j is added j + 1 times.
    assert_eq!(o.machine.regs[1], (0..8).map(|j| (j + 1) << j).sum::<i32>());
    for fuel in (0..200).step_by(3) {
        agree(&c.bytes, fuel);
    }
}

/// A program made of `n` distinct blocks in a chain, looping `rounds` times.
fn many_blocks(n: usize, rounds: i32) -> Code {
    let mut c = Code::new();
    c.imm(2, rounds);
    let top = c.here();
    for k in 0..n {
        c.rri(ADDI, 1, 1, k as i32);
        c.rri(XORI, 3, 1, 0x55);
        let next = c.here() + 5;
        c.jmp(next);
    }
    c.rri(ADDI, 2, 2, -1);
    c.jnz(2, top);
    c.sys(8);
    c.halt();
    c
}

#[test]
fn a_tiny_cache_flushes_and_stays_correct() {
    let code = many_blocks(300, 3);
    let want = reference(&code.bytes, 1_000_000);
    let config = JitConfig {
        regions: RegionLimits {
            max_blocks: 4,
            max_insns: 16,
            max_block_len: 8,
        },
        cache: CacheLimits {
            max_code_bytes: 64 << 10,
            max_dead_bytes: 16 << 10,
            max_regions: 8,
        },
        ..JitConfig::eager()
    };
    let mut engine = JitEngine::with_config("jit", config);
    let got = recorded(&mut engine, &code.bytes, 1_000_000);
    assert_same(&want, &got, "tiny cache");
    let stats = engine.stats();
    assert!(stats.flushes >= 10, "{stats:?}");
    assert!(stats.live_regions <= 8, "{stats:?}");
    assert!(stats.code_bytes <= 64 << 10, "{stats:?}");
}

#[test]
fn reset_between_runs_never_runs_stale_code() {
    // Two programs with loops at the same addresses but different arithmetic.
    let prog = |op| {
        let mut c = Code::new();
        c.imm(2, 100);
        let top = c.rri(op, 1, 1, 3);
        c.rri(ADDI, 2, 2, -1);
        c.jnz(2, top);
        c.sys(8);
        c.halt();
        c
    };
    let (a, b) = (prog(ADDI), prog(XORI));
    for mut engine in engines() {
        let name = engine.name();
        let mut m = Machine::new(&a.bytes).unwrap();
        for (round, code) in [&a, &b, &a, &b, &b].into_iter().enumerate() {
            m.reset(&code.bytes).unwrap();
            let mut host = Recorder::default();
            let exit = engine.run(&mut m, &mut host, 100_000);
            let got = Run {
                engine: name,
                exit,
                machine: m.clone(),
                host,
            };
            assert_same(
                &reference(&code.bytes, 100_000),
                &got,
                &format!("{name} round {round}"),
            );
        }
    }
}

#[test]
fn one_engine_runs_two_machines_in_turn() {
    let mut a = Code::new();
    let top = a.rri(ADDI, 1, 1, 1);
    a.jmp(top);
    let mut b = Code::new();
    let top = b.rri(ADDI, 1, 1, -2);
    b.rri(STW, 0, 1, 0x100);
    b.jmp(top);
    for mut engine in engines() {
        let name = engine.name();
        let mut ma = Machine::new(&a.bytes).unwrap();
        let mut mb = Machine::new(&b.bytes).unwrap();
        let mut ra = ma.clone();
        let mut rb = mb.clone();
        let mut host = Recorder::default();
        for fuel in [10, 333, 7, 1000, 1, 0, 5000] {
            assert_eq!(engine.run(&mut ma, &mut host, fuel), Exit::Fuel);
            assert_eq!(engine.run(&mut mb, &mut host, fuel + 1), Exit::Fuel);
            pxvm::interp::run_reference(&mut ra, &mut Recorder::default(), fuel);
            pxvm::interp::run_reference(&mut rb, &mut Recorder::default(), fuel + 1);
            assert_eq!(ma, ra, "{name}: machine a");
            assert_eq!(mb, rb, "{name}: machine b");
        }
    }
}

#[test]
fn flush_on_demand_frees_everything() {
    let code = many_blocks(20, 50);
    let mut engine = JitEngine::jit();
    let first = recorded(&mut engine, &code.bytes, 1_000_000);
    assert!(engine.stats().live_regions > 0);
    engine.flush();
    assert_eq!(engine.stats().live_regions, 0);
    assert_eq!(engine.stats().code_bytes, 0);
    let again = recorded(&mut engine, &code.bytes, 1_000_000);
    assert_same(&first, &again, "after flush");
}

#[test]
fn once_hot_tiered_runs_the_region_jit_compiled() {
    // The countdown benchmark's shape: setup, then a SUB/CMP/JZ loop long enough for the
    // tiered engine to warm up and compile.
    let mut c = Code::new();
    c.imm(0, 50_000);
    c.imm(1, 1);
    c.imm(2, 0);
    let top = c.rrr(SUB, 0, 0, 1);
    c.rrr(CMP, 3, 0, 2);
    c.jz(3, top);
    c.sys(8);
    c.halt();
    let want = reference(&c.bytes, u64::MAX);
    assert_eq!(want.exit, Exit::Halt);
    let mut jit = JitEngine::jit();
    let mut tiered = JitEngine::tiered();
    for (name, engine) in [("jit", &mut jit), ("tiered", &mut tiered)] {
        let got = recorded(engine, &c.bytes, u64::MAX);
        assert_same(&want, &got, name);
    }
    // The same one region — setup and loop, compiled from the entry — not a region rooted
    // at the loop header.
    let (j, t) = (jit.stats(), tiered.stats());
    assert_eq!(j.compiles, 1);
    // 150,000 instructions: `jit`'s quick region was optimised once; tiered compiled
    // optimised code at once.
    assert_eq!((j.optimised, t.optimised), (1, 0), "{j:?} {t:?}");
    assert_eq!(
        (t.compiles, t.compiled_insns),
        (j.compiles, j.compiled_insns)
    );
}
