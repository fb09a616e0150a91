//! The Phase 3 pipeline's latency: from a kernel file appearing in `build/` (renamed in, as
//! documented) to its candidate being `ready` — notification, claim, assembly, vetting,
//! the probation boot on every engine, the plain-boot A/B run, each step committed with
//! fsync — measured against a real `pxos watch` process. `service_steps` measures the same
//! steps in-process, without the notification. Before measuring, the idle service's CPU
//! use over two seconds is printed (it should be zero ticks).

use criterion::{Criterion, criterion_group, criterion_main};
use pxos::lifecycle::pipeline::{self as service, Outcome};
use pxos::store::Store;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const SLOW: &str =
    "IMM32 R1, 50\nloop: ADDI R1, R1, -1\nJNZ R1, loop\nIMM32 R1, 42\nSYSCALL 10\nHALT\n";

fn store() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open_mut(dir.path(), true, &mut |_| {}).unwrap();
    let k = pxvm::asm::assemble(SLOW, "slow.asm").unwrap();
    s.register("v1.0", &k, None, "register").unwrap();
    std::fs::create_dir_all(dir.path().join("build")).unwrap();
    dir
}

/// A distinct kernel (same output, fewer cycles) dropped into `build/` as `k<n>.asm`.
fn drop_kernel(dir: &Path, n: u64) {
    let src = format!("IMM32 R2, {n}\nIMM32 R1, 42\nSYSCALL 10\nHALT\n");
    let tmp = dir.join("build").join(format!(".k{n}.tmp"));
    std::fs::write(&tmp, src).unwrap();
    std::fs::rename(&tmp, dir.join("build").join(format!("k{n}.asm"))).unwrap();
}

fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let f: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    f.get(11).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
        + f.get(12).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
}

/// A running `pxos watch` on a new store, and its output lines.
fn start_watch() -> (
    tempfile::TempDir,
    std::process::Child,
    impl Iterator<Item = String>,
) {
    let dir = store();
    let mut child = Command::new(env!("CARGO_BIN_EXE_pxos"))
        .args(["watch", "--fs"])
        .arg(dir.path())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map_while(Result::ok);
    lines.next(); // "watching ..."
    (dir, child, lines)
}

fn watch_latency(c: &mut Criterion) {
    let (_dir, mut child, _lines) = start_watch();
    let before = cpu_ticks(child.id());
    std::thread::sleep(Duration::from_secs(2));
    println!(
        "idle pxos watch: {} CPU ticks (10 ms each) in 2 s",
        cpu_ticks(child.id()) - before
    );
    let _ = child.kill();
    let _ = child.wait();
    // Each sample: a new store and service (not timed), one file dropped (timed until ready).
    c.bench_function("pipeline/file_in_build_to_ready", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let (dir, mut child, mut lines) = start_watch();
                let start = Instant::now();
                drop_kernel(dir.path(), 1);
                let ready = lines.any(|l| l.contains("candidate 1: ready"));
                total += start.elapsed();
                assert!(ready);
                let _ = child.kill();
                let _ = child.wait();
            }
            total
        })
    });
}

fn service_steps(c: &mut Criterion) {
    c.bench_function("pipeline/steps_to_ready_in_process", |b| {
        b.iter_batched(
            || {
                let dir = store();
                drop_kernel(dir.path(), 1);
                dir
            },
            |dir| {
                while let Outcome::Did(_) = service::step(dir.path(), 0).unwrap() {
                    let s = Store::open(dir.path()).unwrap();
                    if s.pipeline()
                        .get(1)
                        .is_some_and(|c| c.state.name() == "ready")
                    {
                        break;
                    }
                }
                dir
            },
            criterion::BatchSize::PerIteration,
        )
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(Duration::from_secs(5));
    targets = watch_latency, service_steps
}
criterion_main!(benches);
