//! Engine speed: a long countdown loop on the interpreter, the JIT, the tiered engine and
//! as native Rust; the 16-cycle seed kernel (where compiling cannot pay off); and a loop
//! that patches its own code every round against the same loop without patching.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use pxvm::{Engine, Exit, Interpreter, Machine, NullHost};
use pxvm_jit::JitEngine;
use std::hint::black_box;

#[path = "programs.rs"]
mod programs;

/// The countdown in Rust, written as the guest program is: R1 and R3 are registers (not
/// constants), R2 is the comparison. The empty `asm!` keeps R0 in a register and opaque to
/// the optimizer, so the loop is neither folded away nor vectorised.
#[inline(never)]
fn native_countdown(iters: i32) -> i32 {
    let (mut r0, r1, r3) = (iters, black_box(1i32), black_box(0i32));
    let mut rounds = 0;
    loop {
        let r2 = i32::from(r0 == r3);
        if r2 != 0 {
            return rounds;
        }
        r0 = r0.wrapping_sub(r1);
        rounds += 1;
        // SAFETY: an empty assembly block that only claims to read and write `r0` in a
        // register; it touches no memory, stack or flags.
        unsafe {
            std::arch::asm!("/* {0:e} */", inout(reg) r0, options(nomem, nostack, preserves_flags))
        };
    }
}

/// Builds a fresh engine.
type Make = fn() -> Box<dyn Engine>;

fn engines() -> Vec<(&'static str, Make)> {
    vec![
        ("interp", || Box::new(Interpreter)),
        ("jit", || Box::new(JitEngine::jit())),
        ("tiered", || Box::new(JitEngine::tiered())),
    ]
}

/// Boot `code` on `m` and run it to its HALT on a fresh engine.
fn run_fresh(make: Make, m: &mut Machine, code: &[u8]) {
    m.reset(code).unwrap();
    let mut engine = make();
    let exit = engine.run(m, &mut NullHost, u64::MAX);
    assert_eq!(exit, Exit::Halt);
}

fn countdown(c: &mut Criterion) {
    let iters = 25_000_000;
    let (code, insns) = programs::countdown(iters);
    let mut group = c.benchmark_group("countdown");
    group.sample_size(10);
    group.throughput(Throughput::Elements(insns));
    let mut m = Machine::new(&code).unwrap();
    for (name, make) in engines() {
        group.bench_function(BenchmarkId::new(name, "1e8"), |b| {
            b.iter(|| run_fresh(make, &mut m, &code))
        });
    }
    group.bench_function(BenchmarkId::new("native", "1e8"), |b| {
        b.iter(|| native_countdown(black_box(iters)))
    });
    group.finish();
}

fn short_kernel(c: &mut Criterion) {
    let code = programs::kernel_v1();
    let mut group = c.benchmark_group("kernel_v1");
    group.throughput(Throughput::Elements(16));
    let mut m = Machine::new(&code).unwrap();
    for (name, make) in engines() {
        group.bench_function(name, |b| b.iter(|| run_fresh(make, &mut m, &code)));
    }
    group.finish();
}

fn self_patching(c: &mut Criterion) {
    let mut group = c.benchmark_group("self_patch");
    group.sample_size(20);
    for patch in [false, true] {
        let (code, insns) = programs::patch_loop(1_000_000, patch);
        group.throughput(Throughput::Elements(insns));
        let mut m = Machine::new(&code).unwrap();
        let name = if patch { "patched" } else { "unpatched" };
        for (engine, make) in engines().into_iter().skip(1) {
            group.bench_function(BenchmarkId::new(engine, name), |b| {
                b.iter(|| run_fresh(make, &mut m, &code))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, countdown, short_kernel, self_patching);
criterion_main!(benches);
