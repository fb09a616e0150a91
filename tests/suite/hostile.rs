//! A hostile user against `pxos evolve`, `pxos run` and `pxos plot`: two processes on the
//! same files, outputs that name inputs, FIFOs and folders as outputs, impossible options
//! and checkpoints. Each gets a `pxos: ...` error naming the option and the path, exit
//! status 2, before any work, and nothing the user did not name as an output is written.

use super::cli_util::{mkfifo, pxos, pxos_limited, stderr, stdout};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn seed_kernel(dir: &Path) -> String {
    let path = dir.join("seed.asm");
    std::fs::write(&path, "IMM32 R1, 0\nSYSCALL SYS_PRINT_INT\nHALT\n").unwrap();
    path.display().to_string()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `pxos evolve SEED --goal output --target 1,2,3` with small settings and `extra`.
fn small<'a>(seed: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "evolve",
        seed,
        "--goal",
        "output",
        "--target",
        "1,2,3",
        "--population",
        "6",
        "--engine",
        "interp",
        "--jobs",
        "1",
    ];
    args.extend_from_slice(extra);
    args
}

fn refused(o: &std::process::Output, needles: &[&str]) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(2), "stderr: {err}");
    assert!(err.starts_with("pxos: "), "{err}");
    for n in needles {
        assert!(err.contains(n), "{n:?} not in: {err}");
    }
    assert!(!err.contains("panicked"), "{err}");
}

/// Every line of `log` is a whole JSON object.
fn whole_json_lines(log: &Path) -> usize {
    let text = std::fs::read_to_string(log).unwrap();
    assert!(text.is_empty() || text.ends_with('\n'), "torn last line");
    for line in text.lines() {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
        assert!(v.get("generation").is_some(), "{line}");
    }
    text.lines().count()
}





fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}


/// Run a small experiment with a checkpoint; return the checkpoint's path and JSON.
fn checkpointed(dir: &Path, seed: &str) -> (PathBuf, serde_json::Value) {
    let ck = dir.join("ck.json");
    let o = pxos(&small(
        seed,
        &["--generations", "3", "--checkpoint", s(&ck)],
    ));
    assert!(o.status.success(), "{}", stderr(&o));
    let v = serde_json::from_slice(&std::fs::read(&ck).unwrap()).unwrap();
    (ck, v)
}

fn resume(ck: &Path) -> std::process::Output {
    pxos(&[
        "evolve",
        "--resume",
        "--checkpoint",
        s(ck),
        "--goal",
        "output",
        "--target",
        "1,2,3",
        "--jobs",
        "1",
    ])
}

#[test]
fn impossible_checkpoint_values_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let seed = seed_kernel(dir.path());
    let (ck, good) = checkpointed(dir.path(), &seed);
    type Damage = Box<dyn Fn(&mut serde_json::Value)>;
    let cases: Vec<(&str, Damage)> = vec![
        (
            "population [0].fitness.error",
            Box::new(|v| v["population"][0]["fitness"]["error"] = (-1.0).into()),
        ),
        (
            "lineage [0].fitness.error",
            Box::new(|v| v["lineage"][0]["fitness"]["error"] = (-0.5).into()),
        ),
        (
            "generation",
            Box::new(|v| v["generation"] = 50.into()), // the plan is 3
        ),
        (
            "population [1].born",
            Box::new(|v| v["population"][1]["born"] = 1_000_000_000_000u64.into()),
        ),
        (
            "population [2].fitness.size",
            Box::new(|v| v["population"][2]["fitness"]["size"] = 7777.into()),
        ),
    ];
    for (field, damage) in &cases {
        let mut v = good.clone();
        damage(&mut v);
        std::fs::write(&ck, serde_json::to_vec(&v).unwrap()).unwrap();
        let o = resume(&ck);
        refused(&o, &[s(&ck), field]);
    }
    // The checkpoint as written resumes.
    std::fs::write(&ck, serde_json::to_vec(&good).unwrap()).unwrap();
    let o = resume(&ck);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn a_draw_checkpoint_of_another_picture_measure_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let seed = seed_kernel(dir.path());
    let target = dir.path().join("target.png");
    let o = pxos(&["run", &seed, "--png", s(&target)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let ck = dir.path().join("draw.json");
    let draw = |extra: &[&str]| {
        let mut args = vec![
            "evolve",
            "--goal",
            "draw",
            "--target-png",
            s(&target),
            "--checkpoint",
            s(&ck),
            "--jobs",
            "1",
        ];
        args.extend_from_slice(extra);
        pxos(&args)
    };
    let o = draw(&[
        &seed,
        "--generations",
        "1",
        "--population",
        "4",
        "--engine",
        "interp",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(&ck).unwrap()).unwrap();
    assert_eq!(v["goal"]["measure"], 2, "{}", v["goal"]);
    // A checkpoint without the field (written before it existed) resumes.
    v["goal"].as_object_mut().unwrap().remove("measure");
    std::fs::write(&ck, serde_json::to_vec(&v).unwrap()).unwrap();
    let o = draw(&["--resume", "--generations", "2"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(&ck).unwrap()).unwrap();
    v["goal"]["measure"] = 1.into();
    std::fs::write(&ck, serde_json::to_vec(&v).unwrap()).unwrap();
    let o = draw(&["--resume", "--generations", "3"]);
    refused(
        &o,
        &[s(&ck), "made with picture measure v1", "this pxos uses v2"],
    );
}

#[test]
fn fuel_zero_is_refused_and_population_two_runs() {
    let dir = tempfile::tempdir().unwrap();
    let seed = seed_kernel(dir.path());
    // --fuel 0: no variant could run an instruction.
    let o = pxos(&small(&seed, &["--generations", "1", "--fuel", "0"]));
    refused(&o, &["--fuel"]);
    // --population 2 is in the range the help gives: it runs.
    let o = pxos(&[
        "evolve",
        &seed,
        "--goal",
        "output",
        "--target",
        "1,2,3",
        "--generations",
        "2",
        "--population",
        "2",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stderr(&o).contains("config."), "{}", stderr(&o));
}


#[test]
fn bench_help_says_samples_are_capped() {
    let o = pxos(&["bench", "--help"]);
    assert!(o.status.success());
    assert!(stdout(&o).contains("30 samples"), "{}", stdout(&o));
}
