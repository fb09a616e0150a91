//! The store commands end to end (`pxos register`, `versions`, `versions tree`, `switch`,
//! `rollback`, `verify`, `boot`): their output, exit status 2 with `pxos: <message>` for
//! bad usage or input with the store left byte-for-byte as it was, and two processes on
//! one store serialised by the store's lock.

use super::store_util::*;
use std::fs;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

fn ok(args: &[&str]) -> String {
    let o = pxos(args);
    assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    stdout(&o)
}

fn kernel_path(name: &str) -> String {
    format!("kernels/{name}")
}

/// `pxos register NAME kernels/KERNEL [--parent PARENT] --fs FS`, which must succeed.
fn register(fs_: &str, name: &str, kernel: &str, parent: Option<&str>) -> String {
    let path = kernel_path(kernel);
    let mut args = vec!["register", name, &path];
    if let Some(p) = parent {
        args.extend(["--parent", p]);
    }
    args.extend(["--fs", fs_]);
    ok(&args)
}

#[test]
fn register_boot_and_list_the_lineage() {
    let dir = tempfile::tempdir().unwrap();
    let fs_ = dir.path().join("pxos_fs");
    let fs_ = arg(&fs_);
    let out = register(fs_, "v1.0", "self_evolve.asm", None);
    assert!(out.contains("registered v1.0 (id 1, 146 bytes)"), "{out}");

    let out = ok(&["boot", "--fs", fs_, "--max-generations", "3"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "1", "the kernel's own output comes first: {out}");
    let gens: Vec<&&str> = lines.iter().filter(|l| l.starts_with("[gen ")).collect();
    assert_eq!(gens.len(), 3, "{out}");
    assert!(
        gens[0].starts_with(
            "[gen 1] v1.0 (id 1, probation) [tiered] exit=halt cycles=30 -> evolved into v2.0 (id 2"
        ),
        "{out}"
    );
    assert!(
        lines
            .last()
            .unwrap()
            .contains("current version: v4.0 (id 4)"),
        "{out}"
    );

    let out = ok(&[
        "boot",
        "--fs",
        fs_,
        "--max-generations",
        "2",
        "--json",
        "--quiet",
    ]);
    let gens: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(gens.len(), 2, "one JSON object per generation: {out}");
    assert_eq!(gens[0]["version"], "v4.0");
    assert_eq!(gens[0]["exit"], "halt");
    assert_eq!(gens[0]["cycles"], 30);
    assert_eq!(gens[0]["action"], "evolved");
    assert_eq!(gens[0]["new_version"], "v5.0");
    assert_eq!(gens[1]["status"], "probation");

    let table = ok(&["versions", "--fs", fs_]);
    let header = table.lines().next().unwrap();
    for col in ["id", "version", "parent", "date", "size", "status"] {
        assert!(header.contains(col), "{header}");
    }
    let row3 = table.lines().find(|l| l.contains(" v3.0 ")).unwrap();
    assert!(
        row3.contains("v2.0 (id 2)") && row3.contains(" 146 ") && row3.ends_with("good"),
        "{row3}"
    );
    assert!(
        table
            .lines()
            .any(|l| l.starts_with('*') && l.contains("v6.0")),
        "{table}"
    );

    let tree = ok(&["versions", "tree", "--fs", fs_]);
    let lines: Vec<&str> = tree.lines().collect();
    // A chain stays in one column.
    assert_eq!(lines[0], "v1.0 (id 1, good)");
    assert_eq!(lines[1], "v2.0 (id 2, good)");
    assert_eq!(lines[5], "v6.0 (id 6, probation)  <- current");

    let json = ok(&["versions", "--json", "--fs", fs_]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["current"], "v6.0");
    assert_eq!(v["latest_id"], 6);
    assert_eq!(v["history"].as_array().unwrap().len(), 6);
}

#[test]
fn switch_rollback_and_verify_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let fs_ = arg(dir.path());
    register(fs_, "v1.0", "kernel_v1.asm", None);
    register(fs_, "v2.0", "kernel_v2.asm", Some("v1.0"));
    register(fs_, "v3.0", "sum_loop.asm", Some("v2.0"));
    let out = ok(&["rollback", "--steps", "2", "--fs", fs_]);
    assert!(out.contains("from v3.0 (id 3) to v1.0 (id 1"), "{out}");
    let out = ok(&["switch", "v2.0", "--fs", fs_]);
    assert!(out.contains("current version: v2.0 (id 2"), "{out}");
    ok(&["switch", "--id", "3", "--fs", fs_]);
    let table = ok(&["versions", "--fs", fs_]);
    assert!(
        table.contains("manual_rollback: v3.0 (id 3) -> v1.0 (id 1)"),
        "{table}"
    );
    assert!(
        table.contains("switch: v1.0 (id 1) -> v2.0 (id 2)"),
        "{table}"
    );

    let out = ok(&["verify", "--fs", fs_]);
    assert!(
        out.trim_end()
            .ends_with("3 version(s), 0 finding(s); consistent"),
        "{out}"
    );
    fs::remove_file(dir.path().join("versions.json")).unwrap();
    fs::write(dir.path().join("kernels/.kernel_x.bin.tmp.1.1"), b"x").unwrap();
    let o = pxos(&["verify", "--check", "--fs", fs_]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(stdout(&o).contains("NOT consistent"), "{}", stdout(&o));
    assert!(
        !dir.path().join("versions.json").exists(),
        "--check writes nothing"
    );
    let out = ok(&["verify", "--fs", fs_]);
    assert!(
        out.contains("versions.json is missing; rebuilt it"),
        "{out}"
    );
    assert!(
        out.contains("[repaired]") && out.contains("consistent after repairs"),
        "{out}"
    );
    let out = ok(&["verify", "--fs", fs_, "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["versions"], 3);
    assert_eq!(v["findings"].as_array().unwrap().len(), 0, "{out}");
}

#[test]
fn a_rollback_shows_in_the_listing() {
    let dir = tempfile::tempdir().unwrap();
    let fs_ = arg(dir.path());
    register(fs_, "v1.0", "kernel_v1.asm", None);
    fs::write(dir.path().join("build/kernel_v2.bin"), asm("L: JMP L")).unwrap();
    let out = ok(&["boot", "--fs", fs_, "--fuel", "1000"]);
    assert!(
        out.contains("-> FAILED on probation: marked bad, rolled back to v1.0 (id 1)"),
        "{out}"
    );
    assert!(
        out.contains("stopped because a version on probation failed"),
        "{out}"
    );
    let table = ok(&["versions", "--fs", fs_]);
    let row = table.lines().find(|l| l.contains(" v2.0 ")).unwrap();
    assert!(row.ends_with("bad"), "{table}");
    assert!(
        table.contains(
            "rollback: v2.0 (id 2) -> v1.0 (id 1): boot with tiered ended with exit=fuel"
        ),
        "{table}"
    );
    let tree = ok(&["versions", "tree", "--fs", fs_]);
    assert_eq!(tree, "v1.0 (id 1, good)  <- current\nv2.0 (id 2, bad)\n");
}

#[test]
fn verify_keeps_the_last_good_copy_of_the_current_kernel() {
    // Issue #13, item 1, as reported: S made by register + boot --max-generations 3, then
    // v4.0's kernel zeroed (same size).
    let dir = tempfile::tempdir().unwrap();
    let fs_ = arg(dir.path());
    register(fs_, "v1.0", "self_evolve.asm", None);
    ok(&["boot", "--fs", fs_, "--max-generations", "3", "--quiet"]);
    let k = dir.path().join("kernels");
    let v4 = fs::read(k.join("kernel_v4.0.bin")).unwrap();
    fs::write(k.join("kernel_v4.0.bin"), vec![0u8; v4.len()]).unwrap();
    let out = ok(&["verify", "--fs", fs_]);
    assert!(
        out.contains("restored from") && out.contains("kernel_current.bin"),
        "{out}"
    );
    assert!(!out.contains("marked missing"), "{out}");
    assert!(out.contains("consistent after repairs"), "{out}");
    assert_eq!(fs::read(k.join("kernel_v4.0.bin")).unwrap(), v4);
    assert_eq!(fs::read(k.join("kernel_current.bin")).unwrap(), v4);
    let table = ok(&["versions", "--fs", fs_]);
    assert!(table.contains("current: v4.0 (id 4)"), "{table}");
}

/// Run `args`; expect exit status 2, `pxos: ` and `needle` on stderr, nothing on stdout.
fn refused(args: &[&str], needle: &str) {
    let o = pxos(args);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains(needle), "{args:?}: {err}");
    assert!(stdout(&o).is_empty(), "{args:?} printed {}", stdout(&o));
}

#[test]
fn bad_usage_and_input_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let fs_ = arg(&store);
    register(fs_, "v1.0", "kernel_v1.asm", None);
    ok(&["boot", "--fs", fs_, "--max-generations", "1"]);
    let before = snapshot(&store);
    let files = tempfile::tempdir().unwrap();
    let empty = files.path().join("empty.bin");
    fs::write(&empty, b"").unwrap();
    let big = files.path().join("big.bin");
    fs::write(&big, vec![1u8; 65_537]).unwrap();
    let broken = files.path().join("broken.asm");
    fs::write(&broken, "IMM33 R1, 2\n").unwrap();
    // What the pipeline and SELF_MODIFY refuse is no version either.
    let text = files.path().join("text.bin");
    fs::write(&text, "HALT\n").unwrap();
    let undefined = files.path().join("undefined.bin");
    fs::write(&undefined, [0xFF, 0xFF]).unwrap();
    let v1 = kernel_path("kernel_v1.asm");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["register", "../x", &v1], "path separator"),
        (vec!["register", "a\\b", &v1], "path separator"),
        (vec!["register", "..", &v1], "`..`"),
        (vec!["register", "", &v1], "empty"),
        (vec!["register", "tab\there", &v1], "control character"),
        (vec!["register", "current", &v1], "kernel_current.bin"),
        (vec!["register", "v1.0_backup", &v1], "_backup"),
        (vec!["register", "v9", arg(&empty)], "empty"),
        (
            vec!["register", "v9", arg(&big)],
            "kernel is 65,537 bytes; at most 65,536 fit in memory",
        ),
        (vec!["register", "v9", arg(&broken)], "broken.asm:1:"),
        (vec!["register", "v9", arg(&text)], "assembly source text"),
        (
            vec!["register", "v9", arg(&undefined)],
            "undefined opcode 0xFF at address 0",
        ),
        (vec!["register", "v9", "no/such.bin"], "no/such.bin"),
        (
            vec!["register", "v9", &v1, "--parent", "v7"],
            "no version named \"v7\"",
        ),
        (vec!["switch", "v7"], "no version named \"v7\""),
        (vec!["switch", "--id", "42"], "no version with id 42"),
        (vec!["switch", "../v1.0"], "path separator"),
        (vec!["rollback", "--steps", "5"], "only 0 bootable ancestor"),
        (vec!["rollback", "--steps", "0"], "--steps"),
        (vec!["boot", "--max-generations", "0"], "--max-generations"),
        (vec!["boot", "--fuel", "0"], "--fuel"),
        (vec!["boot", "--engine", "warp"], "unknown engine"),
        (vec!["versions", "bush"], "bush"),
    ];
    for (mut args, needle) in cases {
        args.extend(["--fs", fs_]);
        refused(&args, needle);
        assert_eq!(snapshot(&store), before, "{args:?} changed the store");
    }

    // A folder that is not a store stays untouched (and one that does not exist is not
    // created).
    let nowhere = dir.path().join("nowhere");
    for args in [
        vec!["versions"],
        vec!["boot"],
        vec!["switch", "v1.0"],
        vec!["rollback"],
        vec!["verify"],
        vec!["register", "v1.0", "--parent", "v0", v1.as_str()],
        vec!["register", "bad/name", v1.as_str()],
    ] {
        let mut args = args.clone();
        args.extend(["--fs", arg(&nowhere)]);
        let o = pxos(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(stderr(&o).starts_with("pxos: "), "{args:?}: {}", stderr(&o));
        assert!(!nowhere.exists(), "{args:?} created the folder");
    }
    refused(&["boot", "--fs", arg(dir.path())], "is not a version store");
}

#[test]
fn a_second_process_waits_for_the_lock() {
    let dir = tempfile::tempdir().unwrap();
    let fs_ = arg(dir.path());
    register(fs_, "v1.0", "kernel_v2.asm", None);
    let held = pxos::store::StoreLock::try_acquire(dir.path())
        .unwrap()
        .expect("lock is free");
    let before = snapshot(dir.path());
    let mut child = Command::new(env!("CARGO_BIN_EXE_pxos"))
        .args([
            "register",
            "v2.0",
            "kernels/kernel_v1.asm",
            "--parent",
            "v1.0",
            "--fs",
            fs_,
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    err.read_line(&mut line).unwrap();
    assert!(
        line.starts_with("pxos: waiting for another pxos process to release the store lock")
            && line.contains("pxos.lock"),
        "{line}"
    );
    // It cannot have finished: we hold the lock.
    assert!(child.try_wait().unwrap().is_none());
    assert_eq!(snapshot(dir.path()), before);
    drop(held);
    let status = child.wait().unwrap();
    assert!(status.success());
    let s = pxos::store::Store::open(dir.path()).unwrap();
    assert_eq!(s.current().unwrap().version, "v2.0");
    assert_eq!(s.current().unwrap().parent_id, Some(1));
}

/// `verify --check` waits for a process changing the store (it would otherwise report the
/// change's temporaries and half-done steps as damage), and two checks do not wait for
/// each other.
#[test]
fn a_check_waits_for_a_writer_but_not_for_another_check() {
    let dir = tempfile::tempdir().unwrap();
    let fs_ = arg(dir.path());
    register(fs_, "v1.0", "kernel_v2.asm", None);
    let check = || {
        Command::new(env!("CARGO_BIN_EXE_pxos"))
            .args(["verify", "--check", "--fs", fs_])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let held = pxos::store::StoreLock::try_acquire(dir.path())
        .unwrap()
        .expect("lock is free");
    let mut child = check();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    err.read_line(&mut line).unwrap();
    assert!(
        line.starts_with("pxos: waiting for another pxos process to release the store lock"),
        "{line}"
    );
    assert!(
        child.try_wait().unwrap().is_none(),
        "checked under a writer"
    );
    drop(held);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("consistent"));
    // A shared hold (another check) does not make a check wait.
    let reading = pxos::store::Store::open_unchanging(dir.path(), &mut |_| {
        panic!("a check waited for nothing")
    })
    .unwrap();
    let out = check().wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    drop(reading);
}

#[test]
fn two_concurrent_boots_serialise_into_one_lineage() {
    let dir = tempfile::tempdir().unwrap();
    let fs_ = arg(dir.path());
    register(fs_, "v1.0", "self_evolve.asm", None);
    let spawn = || {
        Command::new(env!("CARGO_BIN_EXE_pxos"))
            .args(["boot", "--quiet", "--max-generations", "15", "--fs", fs_])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let (mut a, mut b) = (spawn(), spawn());
    assert!(a.wait().unwrap().success());
    assert!(b.wait().unwrap().success());
    let s = pxos::store::Store::open(dir.path()).unwrap();
    assert!(s.warnings().is_empty(), "{:?}", s.warnings());
    assert_eq!(s.list().len(), 31, "1 + 15 + 15 versions");
    for (i, e) in s.list().iter().enumerate() {
        assert_eq!(e.version, format!("v{}.0", i + 1));
        assert_eq!(e.parent_id, (i > 0).then_some(i as u64));
    }
    let counter = |p: &Path| i32::from_le_bytes(fs::read(p).unwrap()[142..146].try_into().unwrap());
    assert_eq!(counter(&dir.path().join("kernels/kernel_current.bin")), 30);
    let mut store = open(dir.path());
    assert!(store.verify(false).unwrap().consistent());
}
