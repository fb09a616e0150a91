//! Criterion bench of evolution throughput: scoring a population of 100 distinct
//! 100-instruction kernels at fuel 1,000 (the yardstick: at least 1,000,000
//! evaluations per second on 2 cores), on each engine. Each iteration builds a fresh
//! evaluator (every genome runs); the threads' benches —
//! machine, engine, host — are pooled and reused from one iteration to the next, as they
//! are from one generation to the next in an experiment.

/// The allocator the `pxos` binary uses (see `src/main.rs`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use pxos::runtime::engines::EngineKind;
use pxos::tools::evolve::{Alphabet, Evaluator, Goal, random_kernel};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// 100 distinct kernels of 100 random instructions each (syscalls: PRINT_INT only).
fn population() -> Vec<Vec<u8>> {
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    let alphabet = Alphabet::any(vec![pxvm::syscalls::SYS_PRINT_INT], 4096);
    (0..100)
        .map(|_| random_kernel(&mut rng, 100, &alphabet))
        .collect()
}

fn evaluate(c: &mut Criterion) {
    let genomes = population();
    let goal = Goal::Output((0..10).map(|i| i.to_string()).collect());
    let mut group = c.benchmark_group("evolve/evaluate_100_kernels_of_100_instructions");
    group.throughput(Throughput::Elements(genomes.len() as u64));
    for &kind in EngineKind::ALL {
        group.bench_function(kind.name(), |b| {
            b.iter(|| {
                // The genomes are distinct and none is known: every genome runs.
                let mut evaluator = Evaluator::new(&goal, kind, 1_000);
                evaluator.score_all(&genomes, &[])
            })
        });
    }
    group.finish();
}

criterion_group!(benches, evaluate);
criterion_main!(benches);
