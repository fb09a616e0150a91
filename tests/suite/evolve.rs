//! `pxos evolve` end to end: reproducible results whatever the thread count, checkpoints
//! that resume exactly, and clear errors for bad goals and options.

use super::cli_util::{pxos, stderr, stdout};

fn seed_kernel(dir: &std::path::Path) -> String {
    let path = dir.join("seed.asm");
    std::fs::write(&path, "IMM32 R1, 0\nSYSCALL SYS_PRINT_INT\nHALT\n").unwrap();
    path.display().to_string()
}

fn evolve(args: &[&str]) -> serde_json::Value {
    let o = pxos(args);
    assert!(o.status.success(), "{}", stderr(&o));
    serde_json::from_str(&stdout(&o)).unwrap()
}

#[test]
fn same_seed_same_result_with_one_or_two_threads() {
    let dir = tempfile::tempdir().unwrap();
    let seed = seed_kernel(dir.path());
    let base = [
        "evolve",
        &seed,
        "--goal",
        "output",
        "--target",
        "0,1,1,2,3",
        "--population",
        "30",
        "--generations",
        "25",
        "--seed",
        "5",
        "--engine",
        "interp",
        "--json",
    ];
    let one = evolve(&[&base[..], &["--jobs", "1"]].concat());
    let two = evolve(&[&base[..], &["--jobs", "2"]].concat());
    assert_eq!(one, two);
    let lineage = one["lineage"].as_array().unwrap();
    assert!(
        lineage.len() >= 2,
        "the search improved at least once: {one}"
    );
    let first = lineage[0]["error"].as_f64().unwrap();
    assert!(one["best"]["error"].as_f64().unwrap() < first);
    let reseeded: Vec<&str> = base
        .iter()
        .map(|&a| if a == "5" { "6" } else { a })
        .collect();
    let other = evolve(&reseeded);
    assert_ne!(one["best"], other["best"], "another seed, another search");
}

#[test]
fn a_checkpointed_run_resumes_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let seed = seed_kernel(dir.path());
    let ckpt = dir.path().join("evo.ckpt");
    let log = dir.path().join("evo.log");
    let ckpt = ckpt.to_str().unwrap();
    let common = [
        "--goal",
        "output",
        "--target",
        "3,2,1",
        "--population",
        "20",
        "--seed",
        "9",
        "--engine",
        "interp",
        "--json",
    ];
    let whole = evolve(
        &[
            &["evolve", seed.as_str(), "--generations", "16"],
            &common[..],
        ]
        .concat(),
    );
    evolve(
        &[
            &[
                "evolve",
                seed.as_str(),
                "--generations",
                "8",
                "--checkpoint",
                ckpt,
                "--log",
                log.to_str().unwrap(),
            ],
            &common[..],
        ]
        .concat(),
    );
    let resumed = evolve(
        &[
            &[
                "evolve",
                "--resume",
                "--checkpoint",
                ckpt,
                "--generations",
                "16",
            ],
            &common[..],
        ]
        .concat(),
    );
    assert_eq!(whole["best"], resumed["best"]);
    assert_eq!(whole["lineage"], resumed["lineage"]);
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 8);
    assert_eq!(lines[7]["generation"], 8);
    for field in [
        "best_error",
        "mean_error",
        "diversity",
        "evaluations_per_second",
        "cache_hits",
    ] {
        assert!(lines[0].get(field).is_some(), "log line lacks {field}");
    }
}

#[test]
fn bad_goals_and_options_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let seed = seed_kernel(dir.path());
    let not_png = dir.path().join("x.png");
    std::fs::write(&not_png, b"not a picture").unwrap();
    let spin = dir.path().join("spin.asm");
    std::fs::write(&spin, "L: JMP L\n").unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["evolve", &seed], "--goal"),
        (vec!["evolve", &seed, "--goal", "output"], "--target"),
        (vec!["evolve", &seed, "--goal", "draw"], "--target-png"),
        (
            vec![
                "evolve",
                &seed,
                "--goal",
                "draw",
                "--target-png",
                not_png.to_str().unwrap(),
            ],
            "not a PNG",
        ),
        (vec!["evolve", &seed, "--goal", "faster"], "--reference"),
        (
            vec![
                "evolve",
                &seed,
                "--goal",
                "faster",
                "--reference",
                spin.to_str().unwrap(),
            ],
            "did not halt",
        ),
        (
            vec![
                "evolve",
                &seed,
                "--goal",
                "output",
                "--target",
                "1",
                "--mutation",
                "warp=3",
            ],
            "unknown operator 'warp'",
        ),
        (
            vec![
                "evolve",
                &seed,
                "--goal",
                "output",
                "--target",
                "1",
                "--population",
                "1",
            ],
            "--population",
        ),
        (
            vec!["evolve", "missing.asm", "--goal", "output", "--target", "1"],
            "missing.asm",
        ),
    ];
    for (args, needle) in cases {
        let o = pxos(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(stderr(&o).contains(needle), "{args:?}: {}", stderr(&o));
    }
}

#[test]
fn lineage_is_recorded_in_the_store_and_promote_boots_the_best() {
    let dir = tempfile::tempdir().unwrap();
    let fs = dir.path().join("store");
    let fs = fs.to_str().unwrap();
    let naive =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("kernels/evolve/naive_mul.asm");
    let naive = naive.to_str().unwrap();
    let o = pxos(&["register", "v1.0", naive, "--fs", fs]);
    assert!(o.status.success(), "{}", stderr(&o));
    let report = evolve(&[
        "evolve",
        "--from-version",
        "v1.0",
        "--fs",
        fs,
        "--goal",
        "faster",
        "--reference",
        naive,
        "--population",
        "30",
        "--generations",
        "30",
        "--engine",
        "interp",
        "--promote",
        "--json",
    ]);
    // The superoptimiser finds a faster kernel that keeps the output and data memory.
    let best = &report["best"];
    assert_eq!(best["error"].as_f64(), Some(0.0));
    assert!(best["cycles"].as_u64().unwrap() < 169, "{report}");
    let db: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("store/versions.json")).unwrap())
            .unwrap();
    let history = db["history"].as_array().unwrap();
    let evolved: Vec<_> = history
        .iter()
        .filter(|e| e["version"].as_str().unwrap().starts_with("evo-s0-g"))
        .collect();
    assert_eq!(evolved.len(), report["lineage"].as_array().unwrap().len());
    assert_eq!(
        evolved[0]["parent"], "v1.0",
        "the lineage starts at the seed version"
    );
    for pair in evolved.windows(2) {
        assert_eq!(
            pair[1]["parent"], pair[0]["version"],
            "each best is the child of the last"
        );
    }
    // --promote went through the SELF_MODIFY path: a child of v1.0, booted, now good.
    let current = history
        .iter()
        .find(|e| e["version"] == db["current"])
        .unwrap();
    assert_eq!(current["parent"], "v1.0");
    assert_eq!(current["status"], "good");
    assert_eq!(current["sha256"].as_str().unwrap().len(), 64);
}
