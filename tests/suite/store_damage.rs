//! Damage that must not cost data (issue #13, items 1, 2, 3 and 18): `verify` restores a
//! damaged kernel from any file whose SHA-256 matches the record (kernel_current.bin
//! included) and marks nothing repaired that it could not write; a versions.json without
//! its history, or with one bad value, loses only what is bad, and the damaged file is
//! kept beside the store; an exhausted id counter and parent cycles are reported.

use super::store_util::*;
use pxos::store::verify::Level;
use pxos::store::{EventKind, Status, Store, StoreError};
use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};

const K1: &[u8] = &[0x01, 0x00];
const K2: &[u8] = &[0x01, 0x01, 0x00];
const K3: &[u8] = &[0x01, 0x01, 0x01, 0x00];
const K4: &[u8] = &[0x01, 0x01, 0x01, 0x01, 0x00];

/// v1.0 → v2.0 → v3.0 → v4.0 by evolution (so v1.0–v3.0 are good and backed up; v4.0,
/// current and on probation, has no backup: kernel_current.bin is its only other copy).
fn four_generations(dir: &Path) -> Store {
    let mut s = open(dir);
    s.register("v1.0", K1, None, "register").unwrap();
    for k in [K2, K3, K4] {
        s.evolve(k, "test").unwrap();
    }
    s
}

fn messages(report: &pxos::store::verify::Report) -> Vec<String> {
    report.findings.iter().map(|f| f.message.clone()).collect()
}

fn damaged_copies(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            name.starts_with("versions.json.damaged-")
        })
        .collect();
    out.sort();
    out
}

#[test]
fn verify_restores_the_current_kernel_from_kernel_current_bin() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = four_generations(dir.path());
    let k = dir.path().join("kernels");
    fs::write(k.join("kernel_v4.0.bin"), [0u8; 5]).unwrap(); // zeroed, same size
    let check = s.verify(false).unwrap();
    assert!(!check.consistent());
    let text = messages(&check).join("\n");
    assert!(
        text.contains("would restore it from") && text.contains("kernel_current.bin"),
        "{text}"
    );
    let report = s.verify(true).unwrap();
    let text = messages(&report).join("\n");
    assert!(report.consistent(), "{text}");
    assert!(
        text.contains("restored from") && text.contains("kernel_current.bin"),
        "{text}"
    );
    assert!(!text.contains("marked missing"), "{text}");
    assert_eq!(fs::read(k.join("kernel_v4.0.bin")).unwrap(), K4);
    assert_eq!(fs::read(k.join("kernel_current.bin")).unwrap(), K4);
    let cur = s.current().unwrap();
    assert_eq!(
        (cur.version.as_str(), cur.status),
        ("v4.0", Status::Probation)
    );
    drop(s);
    assert!(
        Store::open(dir.path())
            .unwrap()
            .verify(false)
            .unwrap()
            .consistent()
    );
}

#[test]
fn verify_restores_from_another_versions_identical_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = open(dir.path());
    s.register("a", K1, None, "register").unwrap();
    s.register("b", K1, None, "register").unwrap(); // the same bytes
    s.register("c", K2, None, "register").unwrap(); // current: kernel_current.bin holds K2
    let k = dir.path().join("kernels");
    fs::remove_file(k.join("kernel_a.bin")).unwrap();
    let report = s.verify(true).unwrap();
    let text = messages(&report).join("\n");
    assert!(report.consistent(), "{text}");
    assert!(
        text.contains("restored from") && text.contains("kernel_b.bin"),
        "{text}"
    );
    assert_eq!(fs::read(k.join("kernel_a.bin")).unwrap(), K1);
    assert_eq!(s.get("a").unwrap().status, Status::Probation);
}

#[test]
fn a_repair_that_cannot_be_written_is_not_marked_repaired() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = four_generations(dir.path());
    let k = dir.path().join("kernels");
    // A non-empty folder where v4.0's kernel was: the restore (a rename) must fail.
    fs::remove_file(k.join("kernel_v4.0.bin")).unwrap();
    fs::create_dir(k.join("kernel_v4.0.bin")).unwrap();
    fs::write(k.join("kernel_v4.0.bin/x"), b"x").unwrap();
    let db_before = fs::read(dir.path().join("versions.json")).unwrap();
    let report = s.verify(true).unwrap();
    assert!(!report.consistent(), "{report:?}");
    let restore = report
        .findings
        .iter()
        .find(|f| f.message.contains("kernel of v4.0"))
        .unwrap();
    assert!(!restore.repaired, "{restore:?}");
    assert!(restore.message.contains("not repaired"), "{restore:?}");
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.level == Level::Error && f.message.starts_with("the repair stopped"))
    );
    assert_eq!(
        fs::read(dir.path().join("versions.json")).unwrap(),
        db_before,
        "nothing after the failed write was written"
    );
    assert_eq!(fs::read(k.join("kernel_current.bin")).unwrap(), K4);
}

#[test]
fn a_versions_json_without_history_is_damage_not_an_empty_store() {
    let dir = tempfile::tempdir().unwrap();
    drop(four_generations(dir.path()));
    let path = dir.path().join("versions.json");
    let mut v: Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    v.as_object_mut().unwrap().remove("history");
    let damaged = serde_json::to_vec_pretty(&v).unwrap();
    fs::write(&path, &damaged).unwrap();

    let mut s = open(dir.path());
    let w = s.warnings().join("\n");
    assert!(
        w.contains("has no \"history\"") && w.contains("rebuilt it"),
        "{w}"
    );
    assert!(w.contains("versions.json.damaged-"), "{w}");
    assert_eq!(s.list().len(), 4);
    assert_eq!(
        s.current().unwrap().version,
        "v4.0",
        "from kernel_current.bin"
    );
    let report = s.verify(true).unwrap();
    assert!(report.consistent(), "{report:?}");
    let k = dir.path().join("kernels");
    assert_eq!(fs::read(k.join("kernel_current.bin")).unwrap(), K4);
    // A later registration of a name the lost history held overwrites nothing.
    let e = s.register("v4.0", K1, None, "register").unwrap();
    assert_eq!(e.file, "kernel_v4.0@5.bin");
    assert_eq!(fs::read(k.join("kernel_v4.0.bin")).unwrap(), K4);
    let kept = damaged_copies(dir.path());
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert_eq!(fs::read(&kept[0]).unwrap(), damaged, "kept byte for byte");
}

/// A store with lineage, statuses and events: v1.0 good, v2.0 bad (rolled back), v2.1
/// good, v3.0 current on probation.
fn with_history(dir: &Path) {
    let mut s = open(dir);
    s.register("v1.0", K1, None, "register").unwrap();
    s.evolve(K2, "test").unwrap();
    s.assess(2, false, "test failure").unwrap();
    s.evolve(K3, "test").unwrap();
    s.evolve(K4, "test").unwrap();
    assert_eq!(s.current().unwrap().version, "v3.0");
}

#[test]
fn one_bad_value_costs_only_its_entry_or_field() {
    // (label, the entry changed (none: top level), the key, its bad value, whether the
    // entry survives)
    let cases: [(&str, Option<usize>, &str, Value, bool); 5] = [
        ("size", Some(3), "size", Value::from(-5), false),
        ("id", Some(3), "id", Value::from("4"), false),
        ("status", Some(3), "status", Value::from("zombie"), true),
        ("origin", Some(0), "origin", Value::from(7), true),
        ("events", None, "events", Value::from("x"), true),
    ];
    for (label, at, key, bad, survives) in cases {
        let dir = tempfile::tempdir().unwrap();
        with_history(dir.path());
        let path = dir.path().join("versions.json");
        let mut v: Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
        match at {
            Some(at) => v["history"][at][key] = bad,
            None => v[key] = bad,
        }
        let damaged = serde_json::to_vec_pretty(&v).unwrap();
        fs::write(&path, &damaged).unwrap();

        let mut s = open(dir.path());
        let w = s.warnings().join("\n");
        assert!(!w.contains("rebuilt"), "{label}: {w}");
        assert!(w.contains(&format!("\"{key}\"")), "{label}: {w}");
        let expected = if survives { 4 } else { 3 };
        assert_eq!(s.list().len(), expected, "{label}: {w}");
        // Lineage, statuses and the rollback event of the others are kept.
        assert_eq!(s.get("v2.0").unwrap().status, Status::Bad, "{label}");
        assert_eq!(s.get("v1.0").unwrap().status, Status::Good, "{label}");
        assert_eq!(s.get("v2.1").unwrap().parent_id, Some(1), "{label}");
        let rollbacks = s
            .db()
            .events
            .iter()
            .filter(|e| e.kind == EventKind::Rollback);
        assert_eq!(rollbacks.count(), usize::from(key != "events"), "{label}");
        // A bad version still needs --force.
        let err = s.switch(2, false, EventKind::Switch, "t").unwrap_err();
        assert!(
            matches!(err, StoreError::NotBootable { .. }),
            "{label}: {err}"
        );
        if key == "status" {
            let e = s.get_by_id(4).unwrap();
            assert_eq!(
                e.status,
                Status::Bad,
                "{label}: unknown trust is not booted"
            );
        }
        // The next write keeps the damaged file beside the store, byte for byte.
        s.verify(true).unwrap();
        let kept = damaged_copies(dir.path());
        assert_eq!(kept.len(), 1, "{label}: {kept:?}");
        assert_eq!(fs::read(&kept[0]).unwrap(), damaged, "{label}");
        drop(s);
        let s = Store::open(dir.path()).unwrap();
        assert!(s.warnings().is_empty(), "{label}: {:?}", s.warnings());
    }
}

#[test]
fn an_unparseable_file_is_kept_when_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    drop(four_generations(dir.path()));
    let path = dir.path().join("versions.json");
    fs::write(&path, b"{\"current\": \xff not json").unwrap();
    let mut s = open(dir.path());
    s.verify(true).unwrap();
    let kept = damaged_copies(dir.path());
    assert_eq!(kept.len(), 1);
    assert_eq!(fs::read(&kept[0]).unwrap(), b"{\"current\": \xff not json");
    drop(s);
    // Damaged again: a second copy, the first left alone.
    fs::write(&path, b"[]").unwrap();
    let mut s = open(dir.path());
    s.verify(true).unwrap();
    assert_eq!(damaged_copies(dir.path()).len(), 2);
}

fn edit(dir: &Path, change: impl FnOnce(&mut Value)) {
    let path = dir.join("versions.json");
    let mut v: Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    change(&mut v);
    fs::write(&path, serde_json::to_vec_pretty(&v).unwrap()).unwrap();
}

#[test]
fn an_exhausted_id_counter_is_reported_and_lowered() {
    let dir = tempfile::tempdir().unwrap();
    drop(four_generations(dir.path()));
    edit(dir.path(), |v| v["latest_id"] = Value::from(u64::MAX));
    let mut s = open(dir.path());
    let check = s.verify(false).unwrap();
    assert!(!check.consistent(), "{check:?}");
    assert!(
        messages(&check)
            .join("\n")
            .contains("no version can be added")
    );
    let err = s.register("v9", K1, None, "register").unwrap_err();
    assert!(err.to_string().contains("pxos verify"), "{err}");
    let report = s.verify(true).unwrap();
    assert!(report.consistent(), "{report:?}");
    assert!(messages(&report).join("\n").contains("lowered to 4"));
    assert_eq!(s.register("v9", K1, None, "register").unwrap().id, 5);
}

#[test]
fn an_id_at_the_limit_cannot_be_lowered_and_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    drop(four_generations(dir.path()));
    let k = dir.path().join("kernels");
    let last = format!("kernel_v4.0@{}.bin", u64::MAX);
    fs::rename(k.join("kernel_v4.0.bin"), k.join(&last)).unwrap();
    edit(dir.path(), |v| {
        v["latest_id"] = Value::from(u64::MAX);
        v["current_id"] = Value::from(u64::MAX);
        v["history"][3]["id"] = Value::from(u64::MAX);
        v["history"][3]["file"] = Value::from(last.as_str());
    });
    let mut s = open(dir.path());
    assert!(s.warnings().is_empty(), "{:?}", s.warnings());
    let report = s.verify(true).unwrap();
    assert!(!report.consistent(), "{report:?}");
    assert!(messages(&report).join("\n").contains("is in use"));
}

#[test]
fn boot_refuses_before_running_when_no_id_is_left() {
    // The kernel creates file_5 if it runs.
    let kernel = asm("IMM32 R1, 5\nIMM32 R2, 2\nSYSCALL SYS_FS_OPEN\nHALT\n");
    let dir = tempfile::tempdir().unwrap();
    let mut s = open(dir.path());
    s.register("v1.0", &kernel, None, "register").unwrap();
    drop(s);
    edit(dir.path(), |v| v["latest_id"] = Value::from(u64::MAX));
    for &engine in pxos::runtime::engines::EngineKind::ALL {
        let mut s = open(dir.path());
        let opts = pxos::lifecycle::boot::BootOptions {
            engine,
            fuel: 1000,
            max_generations: 1,
        };
        let err = pxos::lifecycle::boot::boot(&mut s, &opts, &mut |_| panic!("a generation ran"))
            .unwrap_err();
        assert!(err.to_string().contains("run out of version ids"), "{err}");
        assert!(
            !dir.path().join("file_5").exists(),
            "{engine}: the kernel ran"
        );
    }
}

#[test]
fn parent_cycles_are_reported_and_broken_keeping_the_entries() {
    let dir = tempfile::tempdir().unwrap();
    drop(four_generations(dir.path()));
    edit(dir.path(), |v| {
        v["history"][0]["parent_id"] = Value::from(3); // 1 -> 3 -> 2 -> 1
        v["history"][0]["parent"] = Value::from("v3.0");
        v["history"][1]["parent_id"] = Value::from(2); // v2.0 is its own parent
    });
    let s = Store::open(dir.path()).unwrap();
    let w = s.warnings().join("\n");
    assert!(w.contains("v1.0 (id 1) names parent id 3"), "{w}");
    assert!(w.contains("v2.0 (id 2) names itself as its parent"), "{w}");
    assert_eq!(s.list().len(), 4, "entries kept");
    assert_eq!(s.get("v1.0").unwrap().parent_id, None);
    assert_eq!(s.get("v3.0").unwrap().parent_id, Some(2), "the rest kept");
    let mut s = open(dir.path());
    let check = s.verify(false).unwrap();
    assert!(!check.consistent(), "a cycle is not consistent: {check:?}");
    assert!(s.verify(true).unwrap().consistent());
    assert_eq!(s.rollback(1).unwrap().version, "v3.0");
}

#[test]
fn the_command_line_says_where_the_damaged_file_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    with_history(dir.path());
    edit(dir.path(), |v| {
        v["history"][3]["status"] = Value::from("zombie")
    });
    let o = pxos(&["switch", "v2.1", "--fs", arg(dir.path())]);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("pxos: warning: versions.json: history entry 3 (\"v3.0\", id 4): \"status\" is \"zombie\""),
        "{err}"
    );
    assert!(
        err.contains("the damaged versions.json was kept as"),
        "{err}"
    );
    assert_eq!(damaged_copies(dir.path()).len(), 1);
    let o = pxos(&["switch", "v2.0", "--fs", arg(dir.path())]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "a bad version still needs --force"
    );
    assert!(stderr(&o).contains("marked bad"), "{}", stderr(&o));
}

/// A version's `file` field pointing elsewhere (`../../x.bin`, another version's file) is
/// set back to the name the store gives that version, keeping the entry: the current
/// version is not dropped (which made another version current), and the kernel read is
/// the version's own file, never the named one.
#[test]
fn a_damaged_file_name_is_restored_and_current_stays() {
    for bad in [
        "../../x.bin",
        "kernel_v1.0.bin",
        "/etc/passwd",
        "kernel_v4.0_backup.bin",
    ] {
        let dir = tempfile::tempdir().unwrap();
        drop(four_generations(dir.path()));
        let path = dir.path().join("versions.json");
        let mut v: Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
        assert_eq!(v["history"][3]["version"], "v4.0");
        v["history"][3]["file"] = Value::from(bad);
        fs::write(&path, serde_json::to_vec_pretty(&v).unwrap()).unwrap();

        let mut s = open(dir.path());
        let w = s.warnings().join("\n");
        assert!(w.contains("set to \"kernel_v4.0.bin\""), "{bad}: {w}");
        assert!(!w.contains("dropped"), "{bad}: {w}");
        assert_eq!(s.list().len(), 4, "{bad}");
        let current = s.current().unwrap();
        assert_eq!((current.version.as_str(), current.id), ("v4.0", 4), "{bad}");
        assert_eq!(current.file, "kernel_v4.0.bin");
        assert_eq!(s.read_kernel(current).unwrap(), K4, "{bad}");
        let report = s.verify(true).unwrap();
        assert!(report.consistent(), "{bad}: {:?}", messages(&report));
    }
}
