//! Criterion benches for the whole pipeline, grouped by phase:
//! `assemble/<kernel>`, `compile/<kernel>` (the `jit` engine translating everything a short
//! kernel runs), `execute/<engine>/<kernel>` for every engine — one engine per kernel, so
//! the JIT engines run code compiled during the warm-up — and the native reference
//! (`native`, step by step, and `native-optimised` where LLVM changes the algorithm).
//! Problem sizes are smaller than `pxos bench` uses, to keep criterion's runs short; every
//! run's output is checked against the native reference.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use pxos::runtime::engines::EngineKind;
use pxos::runtime::host::PxHost;
use pxos::runtime::run::run_kernel;
use pxos::tools::bench::{BenchKernel, SUITE};
use std::hint::black_box;

/// A size per kernel that runs ~1–10 M guest instructions.
fn size(name: &str) -> Option<i32> {
    Some(match name {
        "countdown" => 1_000_000,
        "fib_iter" => 500_000,
        "fib_rec" => 20,
        "sieve" => 2,
        "matmul" => 5,
        "memcpy" => 40,
        "syscall_loop" => 100_000,
        "self_patch_loop" => 500_000,
        _ => return None,
    })
}

fn assemble(c: &mut Criterion) {
    let mut group = c.benchmark_group("assemble");
    for k in SUITE {
        group.throughput(Throughput::Bytes(k.source.len() as u64));
        group.bench_function(k.name, |b| {
            b.iter(|| pxvm::asm::assemble(black_box(k.source), "bench.asm").unwrap())
        });
    }
    group.finish();
}

fn compile(c: &mut Criterion) {
    // The engine that translates everything before running it.
    let Some(&jit) = EngineKind::ALL.iter().find(|k| k.name() == "jit") else {
        return;
    };
    let mut group = c.benchmark_group("compile");
    for name in ["kernel_v1", "fib_rec", "sieve", "matmul"] {
        let k = BenchKernel::find(name).unwrap();
        // Size 1 (or none): the run is dominated by translating every block it reaches.
        let bytes = k.bytecode(k.param.map(|_| 1)).unwrap();
        group.bench_function(name, |b| {
            b.iter(|| {
                let mut engine = jit.build();
                run_kernel(&bytes, engine.as_mut(), PxHost::default(), 10_000_000).unwrap()
            })
        });
    }
    group.finish();
}

fn execute(c: &mut Criterion) {
    for k in SUITE {
        let param = size(k.name).or(k.param);
        let bytes = k.bytecode(param).unwrap();
        let expected = k.expected_output(param);
        let mut group = c.benchmark_group(format!("execute/{}", k.name));
        group.sample_size(20);
        let cycles = {
            let mut engine = EngineKind::Interp.build();
            run_kernel(&bytes, engine.as_mut(), PxHost::default(), u64::MAX)
                .unwrap()
                .machine
                .cycles
        };
        group.throughput(Throughput::Elements(cycles));
        for &kind in EngineKind::ALL {
            // One engine for all iterations: the JIT engines compile during criterion's
            // warm-up and then execute the cached code (`compile/` measures compiling).
            let mut engine = kind.build();
            group.bench_with_input(
                BenchmarkId::from_parameter(kind.name()),
                &bytes,
                |b, bytes| {
                    b.iter(|| {
                        let o = run_kernel(bytes, engine.as_mut(), PxHost::default(), u64::MAX)
                            .unwrap();
                        if let Some(e) = &expected {
                            assert_eq!(&o.host.sysout, e, "{} on {}", k.name, kind.name());
                        }
                        o
                    })
                },
            );
        }
        if let (Some(native), Some(n)) = (k.native, param) {
            group.bench_function("native", |b| b.iter(|| native(black_box(n))));
        }
        if let (Some(optimised), Some(n)) = (k.native_optimised, param) {
            group.bench_function("native-optimised", |b| b.iter(|| optimised(black_box(n))));
        }
        group.finish();
    }
}

criterion_group!(benches, assemble, compile, execute);
criterion_main!(benches);
