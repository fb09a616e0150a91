//! Large stores (issue #13, item 15): a store of 50,000 versions — one long chain, as
//! `boot --max-generations 50000` builds, with a failed sibling every 1,000 generations —
//! is written directly (versions.json and kernel files; booting 50,000 times would take
//! too long) and then listed, verified and drawn by the `pxos` binary. With the linear
//! algorithms this takes seconds in a debug build (it took minutes when every lookup was
//! a scan of the history). The tree keeps the chain in one column: no line is long.

use super::store_util::{arg, pxos, stderr, stdout};
use pxos::store::{Db, Entry, Status};
use pxos::util::sha256_hex;
use std::fs;
use std::path::Path;

const VERSIONS: u64 = 50_000;
const KERNEL: &[u8] = &[0x01, 0x00];

fn entry(id: u64, parent: Option<u64>, status: Status) -> Entry {
    Entry {
        id,
        version: format!("v{id}.0"),
        file: format!("kernel_v{id}.0.bin"),
        parent: parent.map(|p| format!("v{p}.0")),
        date: "2026-01-01T00:00:00Z".to_string(),
        size: KERNEL.len() as u64,
        parent_id: parent,
        sha256: Some(sha256_hex(KERNEL)),
        status,
        origin: Some("self_modify build/kernel_v2.bin".to_string()),
    }
}

/// Ids 1..=VERSIONS; every 1,000th version is a failed sibling (a leaf) of the next one.
fn write_store(root: &Path) {
    let kernels = root.join("kernels");
    fs::create_dir_all(&kernels).unwrap();
    fs::create_dir_all(root.join("build")).unwrap();
    let mut db = Db::default();
    let mut chain_tail: Option<u64> = None;
    for id in 1..=VERSIONS {
        let failed = id % 1000 == 0 && id < VERSIONS;
        let status = if failed { Status::Bad } else { Status::Good };
        db.history.push(entry(id, chain_tail, status));
        if !failed {
            chain_tail = Some(id);
        }
        fs::write(kernels.join(format!("kernel_v{id}.0.bin")), KERNEL).unwrap();
    }
    db.latest_id = VERSIONS;
    db.current = Some(format!("v{VERSIONS}.0"));
    db.current_id = Some(VERSIONS);
    db.last_good = Some(VERSIONS);
    fs::write(root.join("versions.json"), db.to_json()).unwrap();
    fs::write(kernels.join("kernel_current.bin"), KERNEL).unwrap();
}

fn ok(args: &[&str]) -> String {
    let o = pxos(args);
    assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    assert!(stderr(&o).is_empty(), "{args:?}: {}", stderr(&o));
    stdout(&o)
}

#[test]
fn fifty_thousand_versions_list_verify_and_draw() {
    let dir = tempfile::tempdir().unwrap();
    write_store(dir.path());
    let fs_ = arg(dir.path());

    let table = ok(&["versions", "--fs", fs_]);
    assert_eq!(
        table.lines().count(),
        1 + VERSIONS as usize + 1,
        "header, rows, current"
    );
    let last = table.lines().find(|l| l.starts_with('*')).unwrap();
    assert!(
        last.contains("v50000.0") && last.contains("v49999.0 (id 49999)"),
        "{last}"
    );

    let out = ok(&["verify", "--check", "--fs", fs_]);
    assert!(
        out.ends_with("50000 version(s), 0 finding(s); consistent\n"),
        "{out}"
    );

    let tree = ok(&["versions", "tree", "--fs", fs_]);
    let lines: Vec<&str> = tree.lines().collect();
    assert_eq!(lines.len(), VERSIONS as usize);
    let widest = lines.iter().map(|l| l.chars().count()).max().unwrap();
    assert!(
        widest < 60,
        "the chain stays in one column: {widest} columns"
    );
    assert_eq!(lines[0], "v1.0 (id 1, good)");
    assert_eq!(
        lines[999], "├─ v1000.0 (id 1000, bad)",
        "a failed sibling branches"
    );
    assert_eq!(
        lines[1000], "v1001.0 (id 1001, good)",
        "the chain continues"
    );
    assert_eq!(
        lines.last().unwrap(),
        &"v50000.0 (id 50000, good)  <- current"
    );

    // The lineage walk over the same store.
    let store = pxos::store::Store::open(dir.path()).unwrap();
    assert!(store.warnings().is_empty());
    assert_eq!(store.db().ancestors(VERSIONS).len(), VERSIONS as usize - 50);
}
