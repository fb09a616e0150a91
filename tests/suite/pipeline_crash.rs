//! Crash safety of the pipeline service: a real `pxos watch` takes a stream of kernels
//! dropped into `build/` while this test kills it with SIGKILL at pseudo-random instants
//! (fixed seed) and starts it again. In the end every file must have become exactly one
//! candidate — none lost, none taken twice — and the store must verify clean.

use super::store_util::{asm, open};
use pxos::store::Store;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

fn drop_file(dir: &Path, name: &str, bytes: &[u8]) {
    let tmp = dir.join("build").join(format!(".{name}.tmp"));
    fs::write(&tmp, bytes).unwrap();
    fs::rename(&tmp, dir.join("build").join(name)).unwrap();
}

#[test]
fn killed_at_random_instants_the_service_loses_and_repeats_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let slow =
        "IMM32 R1, 300\nloop: ADDI R1, R1, -1\nJNZ R1, loop\nIMM32 R1, 42\nSYSCALL 10\nHALT\n";
    open(dir.path())
        .register("v1.0", &asm(slow), None, "register")
        .unwrap();
    fs::create_dir_all(dir.path().join("build")).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(20261201);
    let mut dropped = Vec::new();
    let pxos = env!("CARGO_BIN_EXE_pxos");
    for round in 0..12 {
        let mut child = Command::new(pxos)
            .args(["watch", "--fs"])
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        for k in 0..3 {
            let i = round * 3 + k;
            let name = format!("k{i:02}.asm");
            // Every third one does not assemble; the rest print 42 faster than v1.0.
            let src = if i % 3 == 2 {
                format!("IMM32 R1, {i}\nBOGUS\n")
            } else {
                format!("IMM32 R2, {i}\nIMM32 R1, 42\nSYSCALL 10\nHALT\n")
            };
            drop_file(dir.path(), &name, src.as_bytes());
            dropped.push(name);
            std::thread::sleep(Duration::from_millis(rng.random_range(0..40)));
        }
        std::thread::sleep(Duration::from_millis(rng.random_range(0..120)));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        // After every kill the store opens without damage.
        let store = Store::open(dir.path()).unwrap();
        assert!(store.warnings().is_empty(), "{:?}", store.warnings());
    }
    let done = Command::new(pxos)
        .args(["watch", "--once", "--fs"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );

    let store = Store::open(dir.path()).unwrap();
    let candidates = &store.pipeline().candidates;
    let mut per_source: BTreeMap<&str, usize> = BTreeMap::new();
    for c in candidates {
        *per_source.entry(c.source.as_str()).or_default() += 1;
    }
    for name in &dropped {
        assert_eq!(
            per_source.get(format!("build/{name}").as_str()),
            Some(&1),
            "{name}: {per_source:?}"
        );
    }
    assert_eq!(
        candidates.len(),
        dropped.len(),
        "no candidate came from nowhere"
    );
    let ids: Vec<u64> = candidates.iter().map(|c| c.id).collect();
    assert_eq!(ids, (1..=dropped.len() as u64).collect::<Vec<_>>());
    assert_eq!(fs::read_dir(dir.path().join("build")).unwrap().count(), 0);
    for c in candidates {
        let index: usize = c.source["build/k".len()..][..2].parse().unwrap();
        if index % 3 == 2 {
            let says = format!("rejected(build/k{index:02}.asm:2:1");
            assert!(
                c.state.to_string().starts_with(&says),
                "{}: {}",
                c.source,
                c.state
            );
        } else {
            assert!(
                matches!(c.state.name(), "ready" | "canary"),
                "{}: {}",
                c.source,
                c.state
            );
        }
    }
    assert_eq!(
        store
            .pipeline()
            .candidates
            .iter()
            .filter(|c| c.state.name() == "canary")
            .count(),
        1
    );
    let verify = Command::new(pxos)
        .args(["verify", "--check", "--fs"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );
}
