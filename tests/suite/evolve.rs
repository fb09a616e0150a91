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

/// `pxos evolve SEED --goal output --target 3,2,1 ...` with small settings, plus `extra`.
fn small(seed: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "evolve",
        seed,
        "--goal",
        "output",
        "--target",
        "3,2,1",
        "--population",
        "12",
        "--seed",
        "9",
        "--engine",
        "interp",
        "--json",
    ];
    args.extend_from_slice(extra);
    pxos(&args)
}

#[test]
fn every_output_is_checked_before_the_experiment_starts() {
    let dir = tempfile::tempdir().unwrap();
    let seed = seed_kernel(dir.path());
    let log = dir.path().join("evo.log");
    for (option, bad) in [
        ("--out", "/nonexistent/b.bin"),
        ("--out", dir.path().to_str().unwrap()),
        ("--checkpoint", "/nonexistent/ck.json"),
    ] {
        let o = small(
            &seed,
            &[
                "--generations",
                "5",
                option,
                bad,
                "--log",
                log.to_str().unwrap(),
            ],
        );
        assert_eq!(o.status.code(), Some(2), "{option} {bad}");
        assert!(
            stderr(&o).starts_with(&format!("pxos: {option}: cannot write {bad}")),
            "{}",
            stderr(&o)
        );
        assert!(stdout(&o).is_empty());
        assert!(!log.exists(), "no generation ran");
    }
}

/// CRC-32 (IEEE) for PNG chunks.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let mut body = kind.to_vec();
    body.extend_from_slice(data);
    out.extend_from_slice(&body);
    out.extend_from_slice(&crc32(&body).to_be_bytes());
}

#[test]
fn a_png_claiming_huge_dimensions_is_refused_before_decoding() {
    let dir = tempfile::tempdir().unwrap();
    let seed = seed_kernel(dir.path());
    // A valid PNG header for 200000 x 200000 RGBA pixels (160 GB decoded), no pixels.
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&200_000u32.to_be_bytes());
    ihdr.extend_from_slice(&200_000u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
    chunk(&mut png, b"IHDR", &ihdr);
    chunk(
        &mut png,
        b"IDAT",
        &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    );
    chunk(&mut png, b"IEND", &[]);
    let target = dir.path().join("huge.png");
    std::fs::write(&target, &png).unwrap();
    let o = super::cli_util::pxos_limited(
        2048,
        &[
            "evolve",
            &seed,
            "--goal",
            "draw",
            "--target-png",
            target.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("200000x200000") && stderr(&o).contains("800x600"),
        "{}",
        stderr(&o)
    );
}

/// A checkpoint of a small experiment after `generations`.
fn checkpoint(dir: &std::path::Path, seed: &str, generations: &str) -> std::path::PathBuf {
    let ck = dir.join(format!("ck{generations}.json"));
    let o = small(
        seed,
        &[
            "--generations",
            generations,
            "--checkpoint",
            ck.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    ck
}

#[test]
fn a_damaged_checkpoint_is_refused_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let seed = seed_kernel(dir.path());
    let ck = checkpoint(dir.path(), &seed, "2");
    let good: serde_json::Value = serde_json::from_slice(&std::fs::read(&ck).unwrap()).unwrap();
    type Edit = fn(&mut serde_json::Value);
    let cases: Vec<(Edit, &str)> = vec![
        (
            |v| v["population"] = serde_json::json!([]),
            "population holds 0",
        ),
        (
            |v| v["config"]["population"] = serde_json::json!(1_000_000_000_000u64),
            "config.population",
        ),
        (
            |v| v["config"]["population"] = serde_json::json!(0),
            "config.population",
        ),
        (
            |v| v["config"]["max_len"] = serde_json::json!(0),
            "config.max_len",
        ),
        (
            |v| v["config"]["rates"]["crossover_percent"] = serde_json::json!(200),
            "config.rates.crossover_percent",
        ),
        (
            |v| v["generation"] = serde_json::json!(u64::MAX),
            "generation",
        ),
        (
            |v| v["config"]["tournament"] = serde_json::json!(1_000_000_000_000u64),
            "config.tournament",
        ),
        (
            |v| v["population"][3]["genome"] = serde_json::json!([]),
            "population [3]",
        ),
    ];
    for (edit, field) in cases {
        let mut bad = good.clone();
        edit(&mut bad);
        std::fs::write(&ck, serde_json::to_vec(&bad).unwrap()).unwrap();
        let o = pxos(&[
            "evolve",
            "--resume",
            "--checkpoint",
            ck.to_str().unwrap(),
            "--goal",
            "output",
            "--target",
            "3,2,1",
            "--generations",
            "4",
        ]);
        assert_eq!(o.status.code(), Some(2), "{field}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(
            err.starts_with("pxos: ") && err.contains("damaged checkpoint") && err.contains(field),
            "{field}: {err}"
        );
    }
    // A field of the wrong type or value is refused as it is read, still naming the field.
    let mut bad = good.clone();
    bad["config"]["engine"] = serde_json::json!("warp");
    std::fs::write(&ck, serde_json::to_vec(&bad).unwrap()).unwrap();
    let o = pxos(&[
        "evolve",
        "--resume",
        "--checkpoint",
        ck.to_str().unwrap(),
        "--goal",
        "output",
        "--target",
        "3,2,1",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("is not a pxos evolve checkpoint: config.engine: unknown engine 'warp'"),
        "{err}"
    );
}

#[test]
fn resume_refuses_another_goal_or_options_and_needs_no_options_repeated() {
    let dir = tempfile::tempdir().unwrap();
    let seed = seed_kernel(dir.path());
    let ck = checkpoint(dir.path(), &seed, "4");
    let ck = ck.to_str().unwrap();
    let reference = dir.path().join("ref.asm");
    std::fs::write(&reference, "IMM32 R1, 3\nSYSCALL SYS_PRINT_INT\nHALT\n").unwrap();
    let resume = |extra: &[&str]| {
        let mut args = vec!["evolve", "--resume", "--checkpoint", ck, "--json"];
        args.extend_from_slice(extra);
        pxos(&args)
    };
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["--goal", "output", "--target", "7,7,7"],
            "pursues goal output",
        ),
        (
            vec![
                "--goal",
                "faster",
                "--reference",
                reference.to_str().unwrap(),
            ],
            "pursues goal output",
        ),
        (
            vec!["--goal", "output", "--target", "3,2,1", "--population", "7"],
            "--population 7 differs",
        ),
        (
            vec!["--goal", "output", "--target", "3,2,1", "--fuel", "5"],
            "--fuel 5 differs",
        ),
        (
            vec!["--goal", "output", "--target", "3,2,1", "--seed", "1"],
            "--seed 1 differs",
        ),
    ];
    for (extra, needle) in cases {
        let o = resume(&extra);
        assert_eq!(o.status.code(), Some(2), "{extra:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(needle), "{extra:?}: {}", stderr(&o));
    }
    // The same goal without repeating the options continues the experiment exactly.
    let resumed = resume(&[
        "--goal",
        "output",
        "--target",
        "3,2,1",
        "--generations",
        "8",
    ]);
    assert!(resumed.status.success(), "{}", stderr(&resumed));
    let resumed: serde_json::Value = serde_json::from_str(&stdout(&resumed)).unwrap();
    let whole = small(&seed, &["--generations", "8"]);
    let whole: serde_json::Value = serde_json::from_str(&stdout(&whole)).unwrap();
    assert_eq!(resumed["best"], whole["best"]);
    assert_eq!(resumed["lineage"], whole["lineage"]);
    assert_eq!(resumed["generations"], 8);
}

#[test]
fn an_interrupted_run_resumes_without_repeating_log_lines_or_leaving_temporaries() {
    let dir = tempfile::tempdir().unwrap();
    let seed = seed_kernel(dir.path());
    let ck = dir.path().join("ck.json");
    let log = dir.path().join("evo.log");
    // Generation 9 logged, but the run was killed before its checkpoint was written: the
    // log has 9 lines, the checkpoint holds generation 8.
    let o = small(
        &seed,
        &[
            "--generations",
            "9",
            "--log",
            log.to_str().unwrap(),
            "--checkpoint",
            ck.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    std::fs::copy(checkpoint(dir.path(), &seed, "8"), &ck).unwrap();
    // ... and a checkpoint write of a process that no longer exists was cut short; one of
    // a live process (this test) is in progress.
    let stale = dir.path().join(".ck.json.tmp.999999999.9");
    let live = dir
        .path()
        .join(format!(".ck.json.tmp.{}.0", std::process::id()));
    std::fs::write(&stale, b"{\"torn").unwrap();
    std::fs::write(&live, b"{\"in progress").unwrap();
    let o = pxos(&[
        "evolve",
        "--resume",
        "--checkpoint",
        ck.to_str().unwrap(),
        "--log",
        log.to_str().unwrap(),
        "--goal",
        "output",
        "--target",
        "3,2,1",
        "--generations",
        "12",
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let generations: Vec<u64> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["generation"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(generations, (1..=12).collect::<Vec<_>>());
    assert!(!stale.exists(), "the dead writer's temporary is removed");
    assert!(live.exists(), "a live writer's temporary is kept");
}

#[test]
fn populations_and_threads_are_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let seed = seed_kernel(dir.path());
    for (option, value) in [("--population", "100000000"), ("--jobs", "100000")] {
        let o = super::cli_util::pxos_limited(
            2048,
            &[
                "evolve", &seed, "--goal", "output", "--target", "1", option, value,
            ],
        );
        assert_eq!(o.status.code(), Some(2), "{option}");
        assert!(
            stderr(&o).starts_with("pxos: ") && stderr(&o).contains(option),
            "{}",
            stderr(&o)
        );
    }
}

#[test]
fn faster_reports_the_reference_cycles_and_the_speedup() {
    let naive =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("kernels/evolve/naive_mul.asm");
    let naive = naive.to_str().unwrap();
    // The reference's cycles, as `pxos run` counts them.
    let o = pxos(&["run", naive, "--json", "--engine", "interp"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let run: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let reference_cycles = run["cycles"].as_u64().unwrap();
    let args = [
        "evolve",
        naive,
        "--goal",
        "faster",
        "--reference",
        naive,
        "--population",
        "30",
        "--generations",
        "20",
        "--engine",
        "interp",
    ];
    let report = evolve(&[&args[..], &["--json"]].concat());
    let faster = &report["faster"];
    assert_eq!(faster["reference_cycles"].as_u64(), Some(reference_cycles));
    let best_cycles = report["best"]["cycles"].as_u64().unwrap();
    assert_eq!(faster["best_cycles"].as_u64(), Some(best_cycles));
    assert!(best_cycles < reference_cycles, "{report}");
    let speedup = faster["speedup"].as_f64().unwrap();
    assert_eq!(speedup, reference_cycles as f64 / best_cycles as f64);
    // The human report says the same.
    let o = pxos(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let line = format!(
        "reference: {reference_cycles} cycles; best: {best_cycles} cycles, {speedup:.2}x faster ({reference_cycles}/{best_cycles})"
    );
    assert!(stdout(&o).contains(&line), "{line} in:\n{}", stdout(&o));
    // Another goal has no reference: `faster` is null.
    let dir = tempfile::tempdir().unwrap();
    let seed = seed_kernel(dir.path());
    let other = evolve(&[
        "evolve",
        &seed,
        "--goal",
        "output",
        "--target",
        "1",
        "--population",
        "4",
        "--generations",
        "1",
        "--json",
    ]);
    assert!(other["faster"].is_null(), "{other}");
}
