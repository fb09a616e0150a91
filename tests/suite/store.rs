//! The version store as a library: registering, looking up, switching, rolling back,
//! backing up and evolving versions; the seed's versions.json format; refused input that
//! leaves the store byte-for-byte as it was; and damage (lost or corrupt versions.json,
//! missing parents, damaged kernels, leftover temporary files) found and repaired.

use super::store_util::*;
use pxos::store::{EventKind, Status, Store, StoreError};
use pxos::util::sha256_hex;
use std::fs;

const K1: &[u8] = &[0x01, 0x00]; // NOP, HALT
const K2: &[u8] = &[0x01, 0x01, 0x00];
const K3: &[u8] = &[0x01, 0x01, 0x01, 0x00];

fn three_generations(dir: &std::path::Path) -> Store {
    let mut s = open(dir);
    s.register("v1.0", K1, None, "register").unwrap();
    s.register("v2.0", K2, Some(1), "register").unwrap();
    s.register("v3.0", K3, Some(2), "register").unwrap();
    s
}

#[test]
fn register_writes_the_seed_layout() {
    let dir = tempfile::tempdir().unwrap();
    let s = three_generations(dir.path());
    let root = dir.path();
    assert_eq!(fs::read(root.join("kernels/kernel_v1.0.bin")).unwrap(), K1);
    assert_eq!(fs::read(root.join("kernels/kernel_v3.0.bin")).unwrap(), K3);
    assert_eq!(
        fs::read(root.join("kernels/kernel_current.bin")).unwrap(),
        K3
    );
    assert!(root.join("build").is_dir());

    let v: serde_json::Value =
        serde_json::from_slice(&fs::read(root.join("versions.json")).unwrap()).unwrap();
    assert_eq!(v["current"], "v3.0");
    assert_eq!(v["latest_id"], 3);
    let h = &v["history"][1];
    assert_eq!(h["id"], 2);
    assert_eq!(h["version"], "v2.0");
    assert_eq!(h["file"], "kernel_v2.0.bin");
    assert_eq!(h["parent"], "v1.0");
    assert_eq!(h["size"], 3);
    assert_eq!(h["sha256"], sha256_hex(K2));
    assert_eq!(h["status"], "probation");
    let date = h["date"].as_str().unwrap();
    assert!(
        date.len() == 20 && date.ends_with('Z') && &date[10..11] == "T",
        "{date}"
    );
    assert!(v["history"][0]["parent"].is_null());

    assert_eq!(s.get("v2.0").unwrap().id, 2);
    assert_eq!(s.get_by_id(1).unwrap().version, "v1.0");
    assert_eq!(s.current().unwrap().version, "v3.0");
    assert_eq!(s.list().len(), 3);
    assert_eq!(s.read_kernel(s.get("v2.0").unwrap()).unwrap(), K2);
    assert!(matches!(
        s.get("v9"),
        Err(StoreError::UnknownVersion { .. })
    ));
    assert!(s.warnings().is_empty());
}

#[test]
fn a_seed_format_database_loads_and_gains_checksums() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fs::create_dir_all(root.join("kernels")).unwrap();
    fs::write(
        root.join("kernels/kernel_v1.0.bin"),
        kernel("kernel_v1.asm"),
    )
    .unwrap();
    fs::write(
        root.join("kernels/kernel_v2.0.bin"),
        kernel("kernel_v2.asm"),
    )
    .unwrap();
    let seed = r#"{
      "current": "v2.0",
      "latest_id": 2,
      "history": [
        {"id": 1, "version": "v1.0", "file": "kernel_v1.0.bin", "parent": null,
         "date": "2025-11-14T23:10:32Z", "size": 73},
        {"id": 2, "version": "v2.0", "file": "kernel_v2.0.bin", "parent": "v1.0",
         "date": "2025-11-14T23:15:45Z", "size": 65}
      ]
    }"#;
    fs::write(root.join("versions.json"), seed).unwrap();
    let mut s = open(root);
    assert!(s.warnings().is_empty(), "{:?}", s.warnings());
    let cur = s.current().unwrap().clone();
    assert_eq!((cur.id, cur.status), (2, Status::Good));
    assert_eq!(s.db().parent_of(&cur).unwrap().version, "v1.0");
    let report = s.verify(true).unwrap();
    assert!(report.consistent(), "{report:?}");
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.message.contains("SHA-256"))
    );
    let text = fs::read_to_string(root.join("versions.json")).unwrap();
    assert!(
        text.contains(&sha256_hex(&kernel("kernel_v2.asm"))),
        "{text}"
    );
    assert!(
        text.contains("\"date\": \"2025-11-14T23:10:32Z\""),
        "dates kept: {text}"
    );
}

#[test]
fn a_duplicate_name_gets_a_fresh_id_and_its_own_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = open(dir.path());
    s.register("v1.0", K1, None, "register").unwrap();
    let second = s.register("v1.0", K2, None, "register").unwrap();
    assert_eq!(second.id, 2);
    assert_eq!(second.file, "kernel_v1.0@2.bin");
    let k = dir.path().join("kernels");
    assert_eq!(
        fs::read(k.join("kernel_v1.0.bin")).unwrap(),
        K1,
        "first kept"
    );
    assert_eq!(fs::read(k.join("kernel_v1.0@2.bin")).unwrap(), K2);
    assert_eq!(
        s.get("v1.0").unwrap().id,
        2,
        "a name means its newest version"
    );
    // Names differing only in case get distinct files too.
    let upper = s.register("V1.0", K3, None, "register").unwrap();
    assert_eq!(upper.file, "kernel_V1.0@3.bin");
    drop(s);
    let s = Store::open(dir.path()).unwrap();
    assert!(s.warnings().is_empty(), "{:?}", s.warnings());
    assert_eq!(s.current().unwrap().id, 3);
}

#[test]
fn refused_input_leaves_the_store_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = three_generations(dir.path());
    let before = snapshot(dir.path());
    let long = "x".repeat(101);
    for name in [
        "",
        "a/b",
        "../evil",
        "a\\b",
        "..",
        "x..y",
        "line\nbreak",
        "bell\u{7}",
        "current",
        "Current",
        "v1_backup",
        "a@1",
        long.as_str(),
    ] {
        let err = s.register(name, K1, None, "register").unwrap_err();
        assert!(
            matches!(err, StoreError::InvalidName { .. }),
            "{name:?}: {err}"
        );
        assert!(err.to_string().contains("invalid version name"), "{err}");
        assert_eq!(snapshot(dir.path()), before, "{name:?} changed the store");
    }
    let cases: Vec<(&[u8], &str)> = vec![
        (&[], "empty"),
        (
            &[1; 65_537],
            "kernel is 65,537 bytes; at most 65,536 fit in memory",
        ),
    ];
    for (bytes, needle) in cases {
        let err = s.register("v9.0", bytes, None, "register").unwrap_err();
        assert!(err.to_string().contains(needle), "{err}");
        assert_eq!(snapshot(dir.path()), before);
    }
    assert!(matches!(
        s.register("v9.0", K1, Some(77), "register"),
        Err(StoreError::UnknownId { id: 77, .. })
    ));
    assert!(matches!(
        s.switch(77, false, EventKind::Switch, "t"),
        Err(StoreError::UnknownId { .. })
    ));
    assert!(matches!(
        s.rollback(3),
        Err(StoreError::RollbackTooFar {
            steps: 3,
            available: 2,
            ..
        })
    ));
    assert!(s.evolve(&[], "t").is_err());
    assert_eq!(snapshot(dir.path()), before);
    // The largest kernel is accepted.
    s.register("big", &[1; 65_536], None, "register").unwrap();
}

#[test]
fn a_read_only_store_refuses_changes() {
    let dir = tempfile::tempdir().unwrap();
    drop(three_generations(dir.path()));
    let before = snapshot(dir.path());
    let mut s = Store::open(dir.path()).unwrap();
    assert!(matches!(
        s.register("v4.0", K1, None, "t"),
        Err(StoreError::ReadOnly { .. })
    ));
    assert!(matches!(s.rollback(1), Err(StoreError::ReadOnly { .. })));
    assert!(matches!(s.verify(true), Err(StoreError::ReadOnly { .. })));
    assert!(s.verify(false).unwrap().consistent());
    assert_eq!(snapshot(dir.path()), before);
    let missing = dir.path().join("nowhere");
    assert!(matches!(
        Store::open(&missing),
        Err(StoreError::NotAStore { .. })
    ));
    assert!(!missing.exists());
}

#[test]
fn switch_and_multi_generation_rollback_are_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = three_generations(dir.path());
    let v1 = s.rollback(2).unwrap();
    assert_eq!(v1.version, "v1.0");
    assert_eq!(s.current().unwrap().id, 1);
    assert_eq!(
        fs::read(dir.path().join("kernels/kernel_current.bin")).unwrap(),
        K1
    );
    let ev = s.db().events.last().unwrap();
    assert_eq!(ev.kind, EventKind::ManualRollback);
    assert_eq!((ev.from_id, ev.to_id), (Some(3), Some(1)));

    s.switch(3, false, EventKind::Switch, "test").unwrap();
    assert_eq!(s.current().unwrap().id, 3);
    // Bad versions are skipped by rollback and refused by switch unless forced.
    s.assess(2, false, "test failure").unwrap();
    assert_eq!(s.get_by_id(2).unwrap().status, Status::Bad);
    s.switch(3, false, EventKind::Switch, "back").unwrap();
    assert_eq!(s.rollback(1).unwrap().id, 1, "v2.0 is bad and skipped");
    let err = s.switch(2, false, EventKind::Switch, "t").unwrap_err();
    assert!(err.to_string().contains("marked bad"), "{err}");
    s.switch(2, true, EventKind::Switch, "forced").unwrap();
    assert_eq!(s.get_by_id(2).unwrap().status, Status::Probation);
}

#[test]
fn backups_use_the_seed_name() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = three_generations(dir.path());
    let path = s.backup(2).unwrap();
    assert_eq!(path, dir.path().join("kernels/kernel_v2.0_backup.bin"));
    assert_eq!(fs::read(path).unwrap(), K2);
}

#[test]
fn evolution_names_children_and_backs_up_the_parent() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = open(dir.path());
    s.register("v1.0", K1, None, "register").unwrap();
    let v2 = s.evolve(K2, "test").unwrap();
    assert_eq!((v2.version.as_str(), v2.parent_id), ("v2.0", Some(1)));
    assert_eq!(
        s.get_by_id(1).unwrap().status,
        Status::Good,
        "the parent booted cleanly"
    );
    assert_eq!(v2.status, Status::Probation);
    let k = dir.path().join("kernels");
    assert_eq!(fs::read(k.join("kernel_v1.0_backup.bin")).unwrap(), K1);
    assert_eq!(fs::read(k.join("kernel_current.bin")).unwrap(), K2);
    // Evolving v1.0 again makes a sibling: v2.0 is taken.
    s.switch(1, false, EventKind::Switch, "t").unwrap();
    assert_eq!(s.evolve(K3, "test").unwrap().version, "v2.1");
    s.register("exp", K1, None, "register").unwrap();
    assert_eq!(s.evolve(K2, "test").unwrap().version, "exp-2");
    assert_eq!(s.evolve(K3, "test").unwrap().version, "exp-3");
}

#[test]
fn a_lost_or_garbled_database_is_rebuilt_from_the_kernels() {
    for damage in ["delete", "garble", "truncate", "wrong type"] {
        let dir = tempfile::tempdir().unwrap();
        let mut s = three_generations(dir.path());
        s.switch(2, false, EventKind::Switch, "t").unwrap();
        drop(s);
        let db = dir.path().join("versions.json");
        match damage {
            "delete" => fs::remove_file(&db).unwrap(),
            "garble" => fs::write(&db, b"{\"current\": \xff\xfe not json").unwrap(),
            "truncate" => {
                let text = fs::read(&db).unwrap();
                fs::write(&db, &text[..text.len() / 2]).unwrap();
            }
            _ => fs::write(&db, b"[1, 2, 3]").unwrap(),
        }
        let mut s = open(dir.path());
        let warnings = s.warnings();
        assert!(
            warnings.iter().any(|w| w.contains("rebuilt it from")),
            "{damage}: {warnings:?}"
        );
        let mut names: Vec<String> = s.list().iter().map(|e| e.version.clone()).collect();
        names.sort();
        assert_eq!(names, ["v1.0", "v2.0", "v3.0"], "{damage}");
        assert_eq!(
            s.current().unwrap().version,
            "v2.0",
            "{damage}: from kernel_current.bin"
        );
        assert!(s.list().iter().all(|e| e.status == Status::Probation));
        let report = s.verify(true).unwrap();
        assert!(
            report.consistent() && report.repaired_any(),
            "{damage}: {report:?}"
        );
        drop(s);
        let s = Store::open(dir.path()).unwrap();
        assert!(s.warnings().is_empty(), "{damage}: {:?}", s.warnings());
        assert_eq!(s.db().events[0].kind, EventKind::Rebuilt);
    }
}

#[test]
fn a_missing_parent_is_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    drop(three_generations(dir.path()));
    let path = dir.path().join("versions.json");
    let mut v: serde_json::Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    v["history"].as_array_mut().unwrap().remove(0);
    fs::write(&path, serde_json::to_vec(&v).unwrap()).unwrap();
    let mut s = open(dir.path());
    let w = s.warnings();
    assert_eq!(w.len(), 1, "{w:?}");
    assert_eq!(
        w[0], "version v2.0 (id 2) names parent v1.0 (id 1), which is not in the history",
        "no Rust internals in messages"
    );
    assert_eq!(s.list().len(), 2);
    let report = s.verify(true).unwrap();
    assert!(
        report.consistent(),
        "a missing parent is only a warning: {report:?}"
    );
    // The store still works.
    s.register("v4.0", K1, Some(3), "register").unwrap();
}

#[test]
fn hostile_file_names_are_restored_and_nothing_outside_is_touched() {
    let outer = tempfile::tempdir().unwrap();
    let victim = outer.path().join("victim.bin");
    fs::write(&victim, b"keep me").unwrap();
    let dir = outer.path().join("store");
    drop(three_generations(&dir));
    let path = dir.join("versions.json");
    let text = fs::read_to_string(&path)
        .unwrap()
        .replace("kernel_v1.0.bin", "../../victim.bin");
    fs::write(&path, text).unwrap();
    let mut s = open(&dir);
    assert!(
        s.warnings()
            .iter()
            .any(|w| w.contains("set to \"kernel_v1.0.bin\"")),
        "{:?}",
        s.warnings()
    );
    // The entry keeps its own file: reading it reads the store's file, never the victim.
    let v1 = s.get("v1.0").unwrap().clone();
    assert_eq!(v1.file, "kernel_v1.0.bin");
    assert_eq!(s.read_kernel(&v1).unwrap(), K1);
    s.verify(true).unwrap();
    s.register("v1.1", K2, None, "register").unwrap();
    assert_eq!(fs::read(&victim).unwrap(), b"keep me");
}

#[test]
fn a_damaged_kernel_is_restored_from_its_backup_or_marked_missing() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = open(dir.path());
    s.register("v1.0", K1, None, "register").unwrap();
    s.evolve(K2, "test").unwrap(); // backs v1.0 up
    let k = dir.path().join("kernels");
    fs::write(k.join("kernel_v1.0.bin"), b"\xffgarbage").unwrap();
    fs::remove_file(k.join("kernel_v2.0.bin")).unwrap();
    // kernel_current.bin would be a valid source for v2.0: damage it too.
    fs::write(k.join("kernel_current.bin"), b"junk").unwrap();
    assert!(matches!(
        s.read_kernel(&s.get("v1.0").unwrap().clone()),
        Err(StoreError::KernelDamaged { .. })
    ));
    let report = s.verify(true).unwrap();
    assert!(report.consistent(), "{report:?}");
    let text: Vec<&str> = report.findings.iter().map(|f| f.message.as_str()).collect();
    assert!(text.iter().any(|m| m.contains("restored from")), "{text:?}");
    assert!(
        text.iter().any(|m| m.contains("marked missing")),
        "{text:?}"
    );
    assert_eq!(fs::read(k.join("kernel_v1.0.bin")).unwrap(), K1);
    assert_eq!(s.get("v2.0").unwrap().status, Status::Missing);
    assert_eq!(
        s.current().unwrap().version,
        "v1.0",
        "current left the lost kernel"
    );
    assert_eq!(fs::read(k.join("kernel_current.bin")).unwrap(), K1);
    // A lost kernel that comes back is put on probation again.
    fs::write(k.join("kernel_v2.0.bin"), K2).unwrap();
    s.verify(true).unwrap();
    assert_eq!(s.get("v2.0").unwrap().status, Status::Probation);
}

#[test]
fn verify_sweeps_temporaries_and_reports_strays() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = three_generations(dir.path());
    let k = dir.path().join("kernels");
    fs::write(k.join(".kernel_v4.0.bin.tmp.99.0"), b"half").unwrap();
    fs::write(dir.path().join(".versions.json.tmp.99.1"), b"{").unwrap();
    fs::write(k.join("kernel_v9.0.bin"), K1).unwrap();
    fs::write(k.join("kernel_current.bin"), K1).unwrap();
    let check = s.verify(false).unwrap();
    assert!(
        check.consistent(),
        "leftovers are not inconsistencies: {check:?}"
    );
    assert!(!check.repaired_any());
    let report = s.verify(true).unwrap();
    let text: Vec<&str> = report.findings.iter().map(|f| f.message.as_str()).collect();
    assert_eq!(report.findings.len(), 4, "{text:?}");
    assert!(
        text.iter()
            .any(|m| m.contains("kernel_v9.0.bin belongs to no version")),
        "{text:?}"
    );
    assert!(!k.join(".kernel_v4.0.bin.tmp.99.0").exists());
    assert!(!dir.path().join(".versions.json.tmp.99.1").exists());
    assert_eq!(fs::read(k.join("kernel_current.bin")).unwrap(), K3);
    assert!(
        k.join("kernel_v9.0.bin").exists(),
        "strays are reported, not deleted"
    );
}
