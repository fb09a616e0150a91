//! Crash safety of the version store, against the real binary: `pxos boot` evolves
//! kernels/self_evolve.asm generation after generation while this test kills it with
//! SIGKILL (`Child::kill`) at pseudo-random instants (fixed seed). After every kill the
//! store must be consistent — checked here directly from the files, independently of the
//! store's own code, and then by `Store::verify` — and every generation the process had
//! reported as done must still be there. Then the next process carries on from it.

use super::store_util::*;
use pxos::util::sha256_hex;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;
use std::fs;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

/// Check the store at `dir` from its files alone; `known` maps each id seen so far to its
/// kernel's SHA-256 (none may be lost or changed). Returns the number of versions.
fn check_consistent(dir: &Path, known: &mut BTreeMap<u64, String>) -> usize {
    let text = fs::read(dir.join("versions.json")).expect("versions.json exists");
    let db: serde_json::Value = serde_json::from_slice(&text).expect("versions.json parses");
    let history = db["history"].as_array().unwrap();
    let mut by_id = BTreeMap::new();
    let mut last_id = 0;
    for e in history {
        let id = e["id"].as_u64().unwrap();
        assert!(id > last_id, "ids increase");
        last_id = id;
        let file = dir.join("kernels").join(e["file"].as_str().unwrap());
        let bytes = fs::read(&file).unwrap_or_else(|err| panic!("{}: {err}", file.display()));
        assert_eq!(
            bytes.len() as u64,
            e["size"].as_u64().unwrap(),
            "{}",
            file.display()
        );
        let sha = sha256_hex(&bytes);
        assert_eq!(sha, e["sha256"].as_str().unwrap(), "{}", file.display());
        by_id.insert(id, (e, bytes));
    }
    assert!(db["latest_id"].as_u64().unwrap() >= last_id);
    for (id, sha) in known.iter() {
        let (e, _) = by_id
            .get(id)
            .unwrap_or_else(|| panic!("version id {id} was lost"));
        assert_eq!(
            e["sha256"].as_str().unwrap(),
            sha,
            "version id {id} changed"
        );
    }
    for (id, (e, _)) in &by_id {
        known.insert(*id, e["sha256"].as_str().unwrap().to_string());
        if let Some(parent) = e["parent_id"].as_u64() {
            let (p, _) = by_id.get(&parent).expect("the parent exists");
            assert_eq!(p["version"], e["parent"], "parent name and id agree");
        }
    }
    let current = db["current_id"].as_u64().expect("a current version");
    let (cur, cur_bytes) = &by_id[&current];
    assert_eq!(db["current"], cur["version"]);
    assert_ne!(cur["status"], "bad", "the current version is bootable");
    // kernel_current.bin is whole: the current kernel, or (killed between the commit and
    // the copy) the previous current one, i.e. its parent.
    let copy = fs::read(dir.join("kernels/kernel_current.bin")).unwrap();
    let parent = cur["parent_id"].as_u64().map(|p| &by_id[&p].1);
    assert!(
        copy == *cur_bytes || Some(&copy) == parent,
        "kernel_current.bin is neither the current kernel nor its predecessor"
    );
    history.len()
}

#[test]
fn killed_at_random_instants_the_store_stays_consistent() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(dir.path());
    store
        .register("v1.0", &kernel("self_evolve.asm"), None, "register")
        .unwrap();
    drop(store);
    let mut known = BTreeMap::new();
    check_consistent(dir.path(), &mut known);
    let mut rng = ChaCha8Rng::seed_from_u64(0x7db1_46b9);
    let mut reported = 0;
    for round in 0..16 {
        let mut child = Command::new(env!("CARGO_BIN_EXE_pxos"))
            .args([
                "boot",
                "--quiet",
                "--max-generations",
                "1000000",
                "--fuel",
                "10000",
            ])
            .args(["--fs", arg(dir.path())])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Let it report 0-3 finished generations, then kill it 0-25 ms later: anywhere
        // from start-up to the middle of a write.
        let lines = rng.random_range(0..4);
        let mut out = BufReader::new(child.stdout.take().unwrap());
        for _ in 0..lines {
            let mut line = String::new();
            out.read_line(&mut line).unwrap();
            assert!(line.starts_with("[gen "), "round {round}: {line}");
            reported += 1;
        }
        std::thread::sleep(Duration::from_micros(rng.random_range(0..25_000)));
        child.kill().unwrap();
        child.wait().unwrap();
        let versions = check_consistent(dir.path(), &mut known);
        assert!(
            versions > reported,
            "round {round}: a reported generation was lost"
        );
        let mut store = pxos::store::Store::open(dir.path()).unwrap();
        assert!(
            store.warnings().is_empty(),
            "round {round}: {:?}",
            store.warnings()
        );
        let report = store.verify(false).unwrap();
        assert!(report.consistent(), "round {round}: {report:?}");
        eprintln!(
            "round {round}: {versions} versions; left behind: {:?}",
            report
                .findings
                .iter()
                .map(|f| &f.message)
                .collect::<Vec<_>>()
        );
    }
    // One more generation overwrites a kernel file left by a registration the last kill
    // interrupted (the child gets the same name again); `pxos verify` tidies up the rest
    // (temporary files, a stale kernel_current.bin), and the store is then clean.
    let o = pxos(&[
        "boot",
        "--quiet",
        "--max-generations",
        "1",
        "--fs",
        arg(dir.path()),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = pxos(&["verify", "--fs", arg(dir.path())]);
    assert!(o.status.success(), "{}", stdout(&o));
    let o = pxos(&["verify", "--fs", arg(dir.path()), "--json"]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["findings"].as_array().unwrap().len(), 0, "{v}");
}
