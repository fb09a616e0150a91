//! Compile cost: how long translating guest code takes, per basic block, both for regions
//! of many blocks (the normal case) and for regions limited to a single block, with the
//! quick settings every region starts with on `jit` (`region`, `single_block`) and with the
//! optimising settings hot regions are compiled with again (`*_optimised`).

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use pxvm::{Engine, Exit, Machine, NullHost};
use pxvm_jit::{JitConfig, JitEngine, RegionLimits};

#[path = "programs.rs"]
mod programs;

fn compile_per_block(c: &mut Criterion) {
    let blocks = 192;
    let code = programs::block_chain(blocks);
    let mut group = c.benchmark_group("compile");
    group.sample_size(20);
    group.throughput(Throughput::Elements(blocks as u64));
    let many = RegionLimits::default().max_blocks;
    for (name, max_blocks, optimised) in [
        ("region", many, false),
        ("single_block", 1, false),
        ("region_optimised", many, true),
        ("single_block_optimised", 1, true),
    ] {
        let mut config = JitConfig::eager();
        config.regions.max_blocks = max_blocks;
        if optimised {
            config.optimise_after = None;
        }
        let mut engine = JitEngine::with_config("jit", config);
        let mut m = Machine::new(&code).unwrap();
        group.bench_function(BenchmarkId::new(name, blocks), |b| {
            b.iter(|| {
                engine.flush();
                m.reset(&code).unwrap();
                assert_eq!(engine.run(&mut m, &mut NullHost, u64::MAX), Exit::Halt);
            })
        });
    }
    group.finish();
}

criterion_group!(benches, compile_per_block);
criterion_main!(benches);
