//! The `pxos` binary end to end: assembling the seed kernels, `run --json`, and clear
//! errors (with exit status 2) for bad input.

use super::cli_util::{pxos, stderr, stdout};
use std::path::{Path, PathBuf};

fn kernel(name: &str) -> String {
    Path::new("kernels").join(name).display().to_string()
}

#[test]
fn asm_produces_the_original_sizes() {
    let dir = tempfile::tempdir().unwrap();
    for (name, size) in [("kernel_v1.asm", 73), ("kernel_v2.asm", 65)] {
        let out: PathBuf = dir.path().join(name).with_extension("bin");
        let o = pxos(&["asm", &kernel(name), "-o", out.to_str().unwrap()]);
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(
            stdout(&o).contains(&format!("({size} bytes)")),
            "{}",
            stdout(&o)
        );
        assert_eq!(std::fs::read(&out).unwrap().len(), size);
    }
}

#[test]
fn run_json_reports_every_field() {
    let o = pxos(&["run", &kernel("kernel_v1.asm"), "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert_eq!(text.lines().count(), 1, "exactly one JSON object: {text}");
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["engine"], "tiered", "the default engine");
    assert_eq!(v["exit"], "halt");
    assert_eq!(v["cycles"], 16);
    assert_eq!(v["pc"], 73);
    assert_eq!(v["regs"].as_array().unwrap().len(), 8);
    assert_eq!(v["sysout"][0], "PRINT PXVM: PXVM booting...");
    assert_eq!(v["memory_sha256"].as_str().unwrap().len(), 64);
    assert!(v["pending_kernel"].is_null());
}

#[test]
fn run_with_a_folder_takes_the_self_modify_request() {
    let dir = tempfile::tempdir().unwrap();
    let v2 = dir.path().join("build/kernel_v2.bin");
    std::fs::create_dir_all(v2.parent().unwrap()).unwrap();
    let o = pxos(&["asm", &kernel("kernel_v2.asm"), "-o", v2.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = pxos(&[
        "run",
        &kernel("kernel_v1.asm"),
        "--fs",
        dir.path().to_str().unwrap(),
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["pending_kernel"]["path"], "build/kernel_v2.bin");
    assert_eq!(v["pending_kernel"]["size"], 65);
    assert_eq!(v["regs"][0], 1);
}

#[test]
fn plain_run_prints_lines_and_a_summary() {
    let o = pxos(&["run", &kernel("kernel_v2.asm")]);
    assert!(o.status.success());
    let text = stdout(&o);
    assert!(
        text.starts_with("PRINT PXVM: Kernel init done.\n"),
        "{text}"
    );
    assert!(
        text.trim_end().ends_with("exit=halt cycles=14 pc=65"),
        "{text}"
    );
}

#[test]
fn fuel_exit_still_succeeds() {
    let o = pxos(&["run", &kernel("kernel_v1.asm"), "--fuel", "3", "--json"]);
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["exit"], "fuel");
    assert_eq!(v["cycles"], 3);
}

#[test]
fn bad_inputs_get_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.bin");
    std::fs::write(&big, vec![0u8; 65_537]).unwrap();
    let empty = dir.path().join("empty.bin");
    std::fs::write(&empty, b"").unwrap();
    let bad = dir.path().join("bad.asm");
    std::fs::write(&bad, "NOP\nIMM33 R1, 2\n").unwrap();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec!["run".into(), big.display().to_string()],
            "kernel is 65,537 bytes; at most 65,536 fit in memory",
        ),
        (vec!["run".into(), empty.display().to_string()], "empty"),
        (
            vec!["run".into(), "no/such/kernel.bin".into()],
            "no/such/kernel.bin",
        ),
        (vec!["run".into(), bad.display().to_string()], "bad.asm:2:"),
        (vec!["asm".into(), bad.display().to_string()], "bad.asm:2:"),
        (
            vec!["disasm".into(), big.display().to_string()],
            "kernel is 65,537 bytes; at most 65,536 fit in memory",
        ),
    ];
    for (args, needle) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = pxos(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(stderr(&o).contains(needle), "{args:?}: {}", stderr(&o));
        assert!(stdout(&o).is_empty(), "{args:?} printed to stdout");
    }
    let o = pxos(&["run", &kernel("kernel_v1.asm"), "--engine", "warp"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("unknown engine 'warp'"),
        "{}",
        stderr(&o)
    );
    let o = pxos(&["run", &kernel("kernel_v1.asm"), "--fuel", "-1"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn engine_both_checks_every_engine_and_leaves_the_folder_alone() {
    let dir = tempfile::tempdir().unwrap();
    let v2 = dir.path().join("build/kernel_v2.bin");
    std::fs::create_dir_all(v2.parent().unwrap()).unwrap();
    std::fs::write(&v2, [0x01, 0x00]).unwrap();
    let o = pxos(&[
        "run",
        &kernel("kernel_v1.asm"),
        "--engine",
        "both",
        "--fs",
        dir.path().to_str().unwrap(),
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["engine"], "both");
    assert_eq!(v["cycles"], 16);
    assert_eq!(v["pending_kernel"]["size"], 2);
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["build"], "the folder is read, never written");
    for name in ["self_patch.asm", "factorial.asm"] {
        let o = pxos(&["run", &kernel(name), "--engine", "both"]);
        assert!(o.status.success(), "{name}: {}", stderr(&o));
        assert!(stdout(&o).contains("[both] exit=halt"), "{}", stdout(&o));
    }
}

#[test]
fn every_engine_gives_the_same_json_report() {
    let mut reports = Vec::new();
    for engine in ["interp", "jit", "tiered"] {
        let o = pxos(&[
            "run",
            &kernel("factorial.asm"),
            "--engine",
            engine,
            "--json",
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        let mut v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
        assert_eq!(v["engine"], engine);
        v["engine"] = serde_json::Value::Null;
        reports.push(v);
    }
    assert_eq!(reports[0], reports[1]);
    assert_eq!(reports[0], reports[2]);
}

#[test]
fn fuzz_reports_its_rate_and_finds_no_divergence() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("findings");
    let o = pxos(&[
        "fuzz",
        "--seconds",
        "1",
        "--seed",
        "77",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("programs/s"), "{text}");
    assert!(text.contains(", 0 divergent; next seed "), "{text}");
    assert!(
        stderr(&o).contains("fuzzing engines interp, jit, tiered"),
        "{}",
        stderr(&o)
    );
    assert!(!out.exists(), "nothing to write without a divergence");
}

#[test]
fn disasm_refuses_an_empty_kernel_as_run_and_register_do() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.bin");
    std::fs::write(&empty, b"").unwrap();
    let path = empty.to_str().unwrap();
    let want = format!("pxos: {path}: kernel is empty\n");
    for args in [vec!["disasm", path], vec!["run", path]] {
        let o = pxos(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stdout(&o));
        assert_eq!(stderr(&o), want, "{args:?}");
        assert!(stdout(&o).is_empty(), "{args:?}: {}", stdout(&o));
    }
}
