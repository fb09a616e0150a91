//! Executable memory is returned: dropping an engine (or flushing its cache) unmaps the
//! code it compiled. It counts the process's mappings, which other tests' threads would
//! disturb, so it runs alone: in a child process of the test binary.

use super::*;
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

/// Set in the child process that runs the test alone.
const ALONE: &str = "PXVM_JIT_TEST_ALONE";

#[test]
fn dropping_engines_and_flushing_unmap_their_code() {
    if std::env::var_os(ALONE).is_none() {
        // This test's name without the crate: `suite::memory::dropping_…`.
        let module = module_path!().split_once("::").map_or("", |(_, m)| m);
        let name = format!("{module}::dropping_engines_and_flushing_unmap_their_code");
        let status = std::process::Command::new(std::env::current_exe().unwrap())
            .args([name.as_str(), "--exact", "--test-threads=1"])
            .env(ALONE, "1")
            .status()
            .unwrap();
        assert!(status.success(), "the test failed alone: {status}");
        return;
    }
    let code = many_regions(40);
    // Warm up everything that is allocated once per process (the ISA, stdio, ...).
    recorded(&mut engine(), &code.bytes, 10_000);
    let before = vm_kib();
    for _ in 0..20 {
        let mut engine = engine();
        recorded(&mut engine, &code.bytes, 10_000);
        assert!(engine.stats().compiles >= 20, "{:?}", engine.stats());
        engine.flush();
        recorded(&mut engine, &code.bytes, 10_000);
    }
    let after = vm_kib();
    // 20 engines x 2 rounds x 40 regions, each at least one 4 KiB page: 3.2 MiB if leaked.
    assert!(
        after <= before + 1024,
        "virtual memory grew from {before} KiB to {after} KiB: compiled code is leaking"
    );
}
