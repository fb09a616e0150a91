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

/// A child process killed when the test lets go of it, however the test ends.
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_second_evolve_on_the_same_log_or_checkpoint_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let seed = seed_kernel(dir.path());
    let log = dir.path().join("run.jsonl");
    let ckpt = dir.path().join("run.ckpt");
    let mut first = Killed(
        Command::new(env!("CARGO_BIN_EXE_pxos"))
            .args(small(
                &seed,
                &[
                    "--generations",
                    "1000000000",
                    "--log",
                    s(&log),
                    "--checkpoint",
                    s(&ckpt),
                ],
            ))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let start = Instant::now();
    while !std::fs::read_to_string(&log).is_ok_and(|t| t.lines().count() >= 2) {
        assert!(start.elapsed() < Duration::from_secs(60), "no log line");
        std::thread::sleep(Duration::from_millis(20));
    }
    // The same log (through a link), the same checkpoint (as ./name), each with a file of
    // its own for the other.
    let link = dir.path().join("link.jsonl");
    std::os::unix::fs::symlink(&log, &link).unwrap();
    let other_ckpt = dir.path().join("other.ckpt");
    let second = pxos(&small(
        &seed,
        &[
            "--generations",
            "3",
            "--log",
            s(&link),
            "--checkpoint",
            s(&other_ckpt),
        ],
    ));
    let dotted = format!("{}/./run.ckpt", dir.path().display());
    let other_log = dir.path().join("other.jsonl");
    let third = pxos(&small(
        &seed,
        &[
            "--generations",
            "3",
            "--log",
            s(&other_log),
            "--checkpoint",
            &dotted,
        ],
    ));
    let still_running = first.0.try_wait().unwrap().is_none();
    drop(first);
    assert!(still_running, "the first run ended early");
    refused(
        &second,
        &["--log", s(&link), "is in use by another pxos process"],
    );
    refused(
        &third,
        &["--checkpoint", &dotted, "is in use by another pxos process"],
    );
    assert!(
        !other_ckpt.exists() && !other_log.exists(),
        "nothing written"
    );
    assert!(whole_json_lines(&log) >= 2);
    // Once the first has gone, the files are free again, and no lock file is left
    // after a clean run.
    let again = pxos(&small(
        &seed,
        &[
            "--generations",
            "2",
            "--log",
            s(&other_log),
            "--checkpoint",
            s(&other_ckpt),
        ],
    ));
    assert!(again.status.success(), "{}", stderr(&again));
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.contains("other"))
        .collect();
    names.sort();
    assert_eq!(names, ["other.ckpt", "other.jsonl"]);
}

#[test]
fn an_output_naming_an_input_is_refused_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let seed = seed_kernel(dir.path());
    let seed_text = std::fs::read(&seed).unwrap();
    let target = dir.path().join("target.png");
    let o = pxos(&["run", &seed, "--png", s(&target)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let png = std::fs::read(&target).unwrap();
    let link = dir.path().join("seed-link.asm");
    std::os::unix::fs::symlink(&seed, &link).unwrap();
    let cwd = dir.path().to_path_buf();
    let run_in_dir = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_pxos"))
            .args(args)
            .current_dir(&cwd)
            .output()
            .unwrap()
    };
    let draw = |extra: &[&str]| {
        let mut args = vec![
            "evolve",
            "seed.asm",
            "--goal",
            "draw",
            "--target-png",
            "target.png",
            "--generations",
            "1",
            "--population",
            "4",
        ];
        args.extend_from_slice(extra);
        run_in_dir(&args)
    };
    for option in ["--plot", "--checkpoint", "--log", "--out"] {
        let o = draw(&[option, "./target.png"]);
        refused(
            &o,
            &[&format!(
                "{option} ./target.png is the same file as --target-png target.png"
            )],
        );
    }
    let o = draw(&["--out", "seed-link.asm"]);
    refused(
        &o,
        &["--out seed-link.asm is the same file as the seed kernel seed.asm"],
    );
    let o = draw(&["--checkpoint", "c.json", "--log", "./c.json"]);
    refused(
        &o,
        &["--log ./c.json is the same file as --checkpoint c.json"],
    );
    assert!(!dir.path().join("c.json").exists());
    std::fs::write(dir.path().join("lines.txt"), "1\n2\n").unwrap();
    let o = run_in_dir(&[
        "evolve",
        "seed.asm",
        "--goal",
        "output",
        "--target-file",
        "lines.txt",
        "--log",
        "lines.txt",
    ]);
    refused(
        &o,
        &["--log lines.txt is the same file as --target-file lines.txt"],
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("lines.txt")).unwrap(),
        "1\n2\n"
    );
    let o = run_in_dir(&["run", "seed.asm", "--png", "./seed.asm"]);
    refused(
        &o,
        &["--png ./seed.asm is the same file as the kernel seed.asm"],
    );
    let log = dir.path().join("l.jsonl");
    let o = pxos(&small(&seed, &["--generations", "2", "--log", s(&log)]));
    assert!(o.status.success(), "{}", stderr(&o));
    let log_text = std::fs::read(&log).unwrap();
    let o = run_in_dir(&["plot", "l.jsonl", "-o", "./l.jsonl"]);
    refused(&o, &["-o ./l.jsonl is the same file as the log l.jsonl"]);
    // Nothing the user did not name as an output was touched.
    assert_eq!(std::fs::read(&seed).unwrap(), seed_text);
    assert_eq!(std::fs::read(&target).unwrap(), png);
    assert_eq!(std::fs::read(&log).unwrap(), log_text);
}

#[test]
fn a_fifo_or_folder_output_is_refused_before_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let seed = seed_kernel(dir.path());
    let fifo = dir.path().join("fifo");
    mkfifo(&fifo);
    let folder = dir.path().join("folder");
    std::fs::create_dir(&folder).unwrap();
    // A run of a billion generations: only a refusal before the run ends in time.
    for (option, path, what) in [
        ("--out", &fifo, "FIFO"),
        ("--plot", &fifo, "FIFO"),
        ("--log", &fifo, "FIFO"),
        ("--checkpoint", &fifo, "FIFO"),
        ("--out", &folder, "folder"),
        ("--plot", &folder, "folder"),
    ] {
        let o = pxos_limited(
            2048,
            &small(&seed, &["--generations", "1000000000", option, s(path)]),
        );
        refused(&o, &[option, s(path), what]);
    }
    assert!(std::fs::read_dir(&folder).unwrap().next().is_none());
}

#[test]
fn a_fifo_output_with_a_reader_gets_the_kernel() {
    let dir = tempfile::tempdir().unwrap();
    let seed = seed_kernel(dir.path());
    let fifo = dir.path().join("fifo");
    mkfifo(&fifo);
    // The reading end, open before pxos starts (non-blocking, so that opening it does not
    // wait for a writer): what pxos writes stays in the pipe until it is read here.
    let mut reader = {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&fifo)
            .unwrap()
    };
    let o = pxos(&small(
        &seed,
        &["--generations", "3", "--out", s(&fifo), "--json"],
    ));
    assert!(o.status.success(), "{}", stderr(&o));
    let report: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let best = report["best"]["bytecode_hex"].as_str().unwrap().to_string();
    let mut got = Vec::new();
    std::io::Read::read_to_end(&mut reader, &mut got).unwrap();
    assert_eq!(hex_of(&got), best);
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn max_len_below_the_seed_kernel_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let seed = seed_kernel(dir.path());
    let out = dir.path().join("best.bin");
    let o = pxos(&small(
        &seed,
        &["--generations", "1", "--max-len", "4", "--out", s(&out)],
    ));
    // The seed kernel assembles to 8 bytes (IMM32 6, SYSCALL 2... see the listing).
    refused(&o, &["--max-len 4", "seed kernel", "bytes"]);
    assert!(!out.exists());
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
fn a_seed_kernel_given_with_resume_is_said_to_be_unused() {
    let dir = tempfile::tempdir().unwrap();
    let seed = seed_kernel(dir.path());
    // A seed kernel given with --resume (the same command line run again, as the island
    // scripts do) is not used, and pxos says so.
    let (ck, _) = checkpointed(dir.path(), &seed);
    let o = pxos(&[
        "evolve",
        &seed,
        "--resume",
        "--checkpoint",
        s(&ck),
        "--goal",
        "output",
        "--target",
        "1,2,3",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!(
            "pxos: note: the seed kernel {seed} is not used: --resume continues"
        )),
        "{}",
        stderr(&o)
    );
}

#[test]
fn bench_help_says_samples_are_capped() {
    let o = pxos(&["bench", "--help"]);
    assert!(o.status.success());
    assert!(stdout(&o).contains("30 samples"), "{}", stdout(&o));
}

#[test]
fn dev_stdout_as_an_output_writes_through_a_pipe() {
    let dir = tempfile::tempdir().unwrap();
    let seed = seed_kernel(dir.path());
    // The test reads pxos's standard output through a pipe: /dev/stdout is a link to a
    // pipe, which has no path of its own.
    let o = pxos(&["run", &seed, "--png", "/dev/stdout", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(o.stdout.starts_with(b"\x89PNG"), "{}", stderr(&o));
    let o = pxos(&small(
        &seed,
        &["--generations", "2", "--log", "/dev/stdout", "--json"],
    ));
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "two log lines and the report: {text}");
    for line in lines {
        serde_json::from_str::<serde_json::Value>(line).unwrap();
    }
}
