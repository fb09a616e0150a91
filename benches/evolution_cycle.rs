//! Criterion bench of one full evolution cycle in-process: boot v1.0, take its
//! SELF_MODIFY request, replace the kernel, reboot v2.0 — without the disk (the kernels and
//! the request in memory) and with the version store on disk (atomic replacement with
//! fsync, the boot assessment's commits included).

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use pxos::lifecycle::boot::{BootOptions, boot};
use pxos::runtime::engines::EngineKind;
use pxos::runtime::host::PxHost;
use pxos::runtime::host::files::MemFiles;
use pxos::store::Store;
use pxvm::{Exit, Machine};

fn kernels() -> (Vec<u8>, Vec<u8>) {
    let v1 = pxvm::asm::assemble(include_str!("../kernels/kernel_v1.asm"), "v1").unwrap();
    let v2 = pxvm::asm::assemble(include_str!("../kernels/kernel_v2.asm"), "v2").unwrap();
    (v1, v2)
}

fn in_memory(c: &mut Criterion) {
    let (v1, v2) = kernels();
    let mut group = c.benchmark_group("evolution_cycle");
    for &kind in EngineKind::ALL.iter().filter(|k| k.name() != "jit") {
        group.bench_function(format!("in_memory/{}", kind.name()), |b| {
            let mut machine = Machine::new(&[]).unwrap();
            b.iter(|| {
                let mut files = MemFiles::new();
                files.insert("build/kernel_v2.bin", v2.clone());
                let mut host = PxHost::new(Box::new(files));
                machine.reset(&v1).unwrap();
                let exit = kind.build().run(&mut machine, &mut host, 10_000);
                assert_eq!((exit, machine.cycles), (Exit::Halt, 16));
                let pending = host.pending.take().expect("v1.0 asks to be replaced");
                machine.reset(&pending.bytes).unwrap();
                let mut host = PxHost::default();
                let exit = kind.build().run(&mut machine, &mut host, 10_000);
                assert_eq!((exit, machine.cycles), (Exit::Halt, 14));
            })
        });
    }
    group.finish();
}

fn on_disk(c: &mut Criterion) {
    let (v1, v2) = kernels();
    let mut group = c.benchmark_group("evolution_cycle");
    group.sample_size(30);
    let options = BootOptions {
        engine: EngineKind::Interp,
        fuel: 10_000,
        max_generations: 2,
    };
    group.bench_function("store_with_fsync", |b| {
        b.iter_batched(
            || {
                let dir = tempfile::tempdir().unwrap();
                let mut store = Store::open_mut(dir.path(), true, &mut |_| {}).unwrap();
                store.register("v1.0", &v1, None, "bench").unwrap();
                std::fs::write(dir.path().join("build/kernel_v2.bin"), &v2).unwrap();
                (dir, store)
            },
            |(dir, mut store)| {
                let summary = boot(&mut store, &options, &mut |_| {}).unwrap();
                assert_eq!(summary.current.as_deref(), Some("v2.0"));
                (dir, store)
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(benches, in_memory, on_disk);
criterion_main!(benches);
