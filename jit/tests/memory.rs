//! Executable memory is returned: dropping an engine (or flushing its cache) unmaps the
//! code it compiled. Alone in its test binary, because it counts the process's mappings.

#![cfg(target_os = "linux")]

mod common;
use common::*;
use pxvm::Opcode::*;
use pxvm_jit::{JitConfig, JitEngine};

fn engine() -> JitEngine {
    let mut config = JitConfig::eager();
    config.regions.max_blocks = 1;
    JitEngine::with_config("jit", config)
}

/// The process's virtual memory size in KiB (`VmSize` in /proc/self/status).
fn vm_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmSize:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// A program of `n` blocks, each ending before a SYSCALL; with one block per region, the
/// engine compiles `n` regions, each finalized on its own pages.
fn many_regions(n: usize) -> Code {
    let mut c = Code::new();
    for k in 0..n {
        c.rri(ADDI, 1, 1, k as i32);
        c.sys(9);
    }
    c.halt();
    c
}

#[test]
fn dropping_engines_and_flushing_unmap_their_code() {
    let code = many_regions(40);
    // Warm up everything that is allocated once per process (the ISA, stdio, ...).
    run_engine(&mut engine(), &code.bytes, 10_000);
    let before = vm_kib();
    for _ in 0..20 {
        let mut engine = engine();
        run_engine(&mut engine, &code.bytes, 10_000);
        assert!(engine.stats().compiles >= 20, "{:?}", engine.stats());
        engine.flush();
        run_engine(&mut engine, &code.bytes, 10_000);
    }
    let after = vm_kib();
    // 20 engines x 2 rounds x 40 regions, each at least one 4 KiB page: 3.2 MiB if leaked.
    assert!(
        after <= before + 1024,
        "virtual memory grew from {before} KiB to {after} KiB: compiled code is leaking"
    );
}
