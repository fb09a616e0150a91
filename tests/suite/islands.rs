//! `pxos evolve --islands`: the ring of islands in one process equals the same islands run
//! as separate processes exchanging migrants through a folder (real processes, started
//! together), and a missing island is reported instead of waited for. A ring or an island
//! process stopped and resumed from its checkpoint ends as the one never stopped; a
//! resume with other options, or from a damaged checkpoint, is refused.

use super::cli_util::{command, pxos, repo_file, stderr, stdout};
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn common(seed: &str) -> Vec<String> {
    [
        "evolve",
        seed,
        "--goal",
        "output",
        "--target",
        "1,2,3,5",
        "--population",
        "20",
        "--generations",
        "8",
        "--seed",
        "21",
        "--engine",
        "interp",
        "--islands",
        "3",
        "--migrate-every",
        "2",
        "--migrants",
        "3",
        "--json",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn seed_kernel(dir: &std::path::Path) -> String {
    let path = dir.join("seed.asm");
    std::fs::write(&path, "IMM32 R1, 0\nSYSCALL SYS_PRINT_INT\nHALT\n").unwrap();
    path.display().to_string()
}

#[test]
fn three_processes_equal_the_in_process_ring() {
    let dir = tempfile::tempdir().unwrap();
    let seed = seed_kernel(dir.path());
    let args = common(&seed);
    let args_ref: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut with_log = args_ref.clone();
    let log = dir.path().join("ring.jsonl");
    let log_arg = log.display().to_string();
    with_log.extend(["--log", &log_arg]);
    let o = pxos(&with_log);
    assert!(o.status.success(), "{}", stderr(&o));
    let ring: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let per_island = ring["per_island"].as_array().unwrap();
    assert_eq!(per_island.len(), 3);
    for i in 0..3 {
        let lines =
            std::fs::read_to_string(dir.path().join(format!("ring.island{i}.jsonl"))).unwrap();
        assert_eq!(lines.lines().count(), 8, "island {i}'s log");
    }

    let exchange = dir.path().join("exchange");
    std::fs::create_dir(&exchange).unwrap();
    let exchange_arg = exchange.display().to_string();
    let children: Vec<_> = (0..3)
        .map(|i| {
            let index = i.to_string();
            let mut a = args_ref.clone();
            a.extend(["--island", &index, "--exchange", &exchange_arg]);
            Command::new(env!("CARGO_BIN_EXE_pxos"))
                .args(&a)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for (i, child) in children.into_iter().enumerate() {
        let o = child.wait_with_output().unwrap();
        assert!(o.status.success(), "island {i}: {}", stderr(&o));
        let alone: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
        assert_eq!(alone["per_island"][0]["island"], i);
        assert_eq!(
            alone["per_island"][0], per_island[i],
            "island {i} run alone differs from the ring"
        );
    }
}

#[test]
fn a_missing_island_is_reported_after_the_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let seed = seed_kernel(dir.path());
    let args = common(&seed);
    let mut a: Vec<&str> = args.iter().map(String::as_str).collect();
    let exchange = dir.path().display().to_string();
    a.extend([
        "--island",
        "1",
        "--exchange",
        &exchange,
        "--exchange-timeout",
        "1",
    ]);
    let o = pxos(&a);
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    let err = stderr(&o);
    assert!(
        err.contains("island 0's migrants for generation 2 did not arrive within 1 s"),
        "{err}"
    );
}

#[test]
fn bad_island_options_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let seed = seed_kernel(dir.path());
    let args = common(&seed);
    let base: Vec<&str> = args.iter().map(String::as_str).collect();
    let exchange = dir.path().display().to_string();
    for (extra, says) in [
        (
            vec!["--island", "3", "--exchange", exchange.as_str()],
            "--island 3 is not one of the 3 islands",
        ),
        (vec![], "--migrants 20 must be smaller than --population 20"),
        (vec!["--island", "0"], "--exchange"),
    ] {
        let mut a = base.clone();
        if extra.is_empty() {
            let at = a.iter().position(|x| *x == "--migrants").unwrap();
            a[at + 1] = "20";
        }
        a.extend(extra.iter().copied());
        let o = pxos(&a);
        assert_eq!(o.status.code(), Some(2), "{extra:?}");
        assert!(stderr(&o).contains(says), "{extra:?}: {}", stderr(&o));
    }
}

#[cfg(unix)]
#[test]
fn a_fifo_or_a_link_in_the_exchange_is_refused_not_followed_or_waited_on() {
    let dir = tempfile::tempdir().unwrap();
    let seed = seed_kernel(dir.path());
    let args = common(&seed);
    let base: Vec<&str> = args.iter().map(String::as_str).collect();
    // The exchange folder itself a link: refused before any work.
    let real = dir.path().join("real");
    std::fs::create_dir(&real).unwrap();
    let link = dir.path().join("link");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let link_arg = link.display().to_string();
    let mut a = base.clone();
    a.extend(["--island", "1", "--exchange", &link_arg]);
    let o = pxos(&a);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("is a symbolic link"), "{}", stderr(&o));
    assert_eq!(std::fs::read_dir(&real).unwrap().count(), 0);
    // A FIFO where the neighbour's migrants should be: an error naming it, no hang.
    let exchange = dir.path().join("exchange");
    std::fs::create_dir(&exchange).unwrap();
    let exchange_arg = exchange.display().to_string();
    let mut a = base.clone();
    a.extend([
        "--island",
        "1",
        "--exchange",
        &exchange_arg,
        "--exchange-timeout",
        "1",
    ]);
    assert_eq!(pxos(&a).status.code(), Some(2));
    let key = std::fs::read_dir(&exchange)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let neighbour = key.join("g0000000002-island0000.json");
    super::cli_util::mkfifo(&neighbour);
    let o = pxos(&a);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("is a FIFO"), "{}", stderr(&o));
}

#[test]
fn islands_with_goal_faster_report_the_reference_cycles_and_the_speedup() {
    let naive =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("kernels/evolve/naive_mul.asm");
    let naive = naive.to_str().unwrap();
    let o = pxos(&[
        "evolve",
        naive,
        "--goal",
        "faster",
        "--reference",
        naive,
        "--population",
        "20",
        "--generations",
        "10",
        "--engine",
        "interp",
        "--islands",
        "2",
        "--migrate-every",
        "5",
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let report: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let faster = &report["faster"];
    let (from, to) = (
        faster["reference_cycles"].as_u64().unwrap(),
        report["best"]["cycles"].as_u64().unwrap(),
    );
    assert_eq!(faster["best_cycles"].as_u64(), Some(to));
    assert!(to < from, "{report}");
    assert_eq!(faster["speedup"].as_f64(), Some(from as f64 / to as f64));
}

/// The settings of docs/cluster/islands.sbatch for a small experiment whose outputs go to
/// `out`.
fn job_settings(out: &std::path::Path) -> Vec<(&'static str, String)> {
    [
        ("PXOS_PROBLEM", "absolute"),
        ("PXOS_SEED", "4"),
        ("PXOS_GENERATIONS", "9"),
        ("PXOS_POPULATION", "20"),
        ("PXOS_ISLANDS", "3"),
        ("PXOS_MIGRATE_EVERY", "3"),
        ("PXOS_MIGRANTS", "2"),
        ("PXOS_EXCHANGE_TIMEOUT", "120"),
        ("PXOS_CPUS", "1"),
    ]
    .into_iter()
    .map(|(k, v)| (k, v.to_string()))
    .chain([("PXOS_ISLANDS_DIR", out.display().to_string())])
    .collect()
}

/// A log's lines without the one field that depends on the machine, the speed: the rest —
/// best, mean, sizes, diversity, held-out error, and the counts of evaluations and reused
/// scores (scores are reused only within a generation, so a resumed run counts as a run
/// never stopped) — must be equal.
fn log_lines(path: &std::path::Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
            v.as_object_mut().unwrap().remove("evaluations_per_second");
            v
        })
        .collect()
}

/// docs/cluster/islands.sbatch run as a Kubernetes Indexed Job runs it — three pods at
/// once, each with its JOB_COMPLETION_INDEX — gives each island the log and best kernel of
/// the same experiment in one process.
#[cfg(unix)]
#[test]
fn the_islands_job_script_as_three_pods_equals_the_in_process_ring() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("islands");
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/cluster/islands.sbatch");
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_pxos"))
        .parent()
        .unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let pods: Vec<_> = (0..3)
        .map(|i| {
            Command::new("bash")
                .arg(&script)
                .envs(job_settings(&out))
                .env("JOB_COMPLETION_INDEX", i.to_string())
                .env("PATH", &path)
                .env_remove("SLURM_ARRAY_TASK_ID")
                .env_remove("SLURM_CPUS_PER_TASK")
                .current_dir(dir.path())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for (i, pod) in pods.into_iter().enumerate() {
        let o = pod.wait_with_output().unwrap();
        assert!(o.status.success(), "pod {i}: {}", stderr(&o));
    }

    let ring = dir.path().join("ring");
    std::fs::create_dir(&ring).unwrap();
    let log = ring.join("run.jsonl");
    let o = pxos(&[
        "evolve",
        "--problem",
        "absolute",
        "--seed",
        "4",
        "--generations",
        "9",
        "--population",
        "20",
        "--islands",
        "3",
        "--migrate-every",
        "3",
        "--migrants",
        "2",
        "--log",
        log.to_str().unwrap(),
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let report: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    for i in 0..3 {
        let alone: serde_json::Value = serde_json::from_slice(
            &std::fs::read(out.join(format!("report.island{i}.json"))).unwrap(),
        )
        .unwrap();
        assert_eq!(
            alone["per_island"][0], report["per_island"][i],
            "island {i}"
        );
        let best = std::fs::read(out.join(format!("best.island{i}.bin"))).unwrap();
        assert_eq!(
            alone["best"]["bytecode_hex"],
            hex::encode(best),
            "island {i}"
        );
        let logs = log_lines(&out.join(format!("run.island{i}.jsonl")));
        assert_eq!(logs.len(), 9);
        assert_eq!(
            logs,
            log_lines(&ring.join(format!("run.island{i}.jsonl"))),
            "island {i}'s log"
        );
    }
}

/// docs/CLUSTER.md shows the islands job scripts verbatim, ci/slurm.sh submits them and runs
/// the one-process check as the docs show it, and the Kubernetes example runs the same
/// script from the image the repository's Dockerfile builds.
#[test]
fn cluster_docs_show_the_islands_scripts_ci_runs_and_kubernetes_runs_the_same() {
    let docs = repo_file("docs/CLUSTER.md");
    for script in ["islands.sh", "islands.sbatch"] {
        let text = repo_file(&format!("docs/cluster/{script}"));
        assert!(
            docs.contains(&format!("`docs/cluster/{script}`"))
                && docs.contains(&format!("```sh\n{text}```\n")),
            "docs/CLUSTER.md must show docs/cluster/{script} verbatim"
        );
    }
    let ci = repo_file("ci/slurm.sh");
    assert!(
        ci.contains("docs/cluster/islands.sh\""),
        "ci/slurm.sh runs islands.sh"
    );
    let one_process = "pxos evolve --problem absolute --seed 0";
    assert_eq!(command(&ci, one_process), command(&docs, one_process));
    let sbatch = command(&repo_file("docs/cluster/islands.sbatch"), "pxos evolve");
    assert!(
        sbatch.contains("--island \"$island\" --exchange \"$out/exchange\""),
        "{sbatch}"
    );
    let islands = &docs[docs.find("## Evolution islands").unwrap()..];
    let kubernetes = &islands[islands.find("completionMode: Indexed").unwrap()..];
    assert!(kubernetes.contains("image: registry.example/pxos:latest"));
    assert!(
        kubernetes
            .contains("command: [\"bash\", \"/usr/local/share/pxos/cluster/islands.sbatch\"]")
    );
    assert!(islands.contains("accessModes: [ReadWriteMany]"));
    let dockerfile = repo_file("Dockerfile");
    assert!(dockerfile.contains("COPY docs/cluster /usr/local/share/pxos/cluster"));
    assert!(dockerfile.contains("cargo build --release --locked --bin pxos"));
}

/// `common`'s experiment planned for `generations`, with `extra` options.
fn ring_args(seed: &str, generations: &str, extra: &[&str]) -> Vec<String> {
    let mut args = common(seed);
    let at = args.iter().position(|a| a == "--generations").unwrap();
    args[at + 1] = generations.to_string();
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

fn run_ok(args: &[String]) -> (serde_json::Value, String) {
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = pxos(&a);
    assert!(o.status.success(), "{a:?}: {}", stderr(&o));
    (serde_json::from_str(&stdout(&o)).unwrap(), stderr(&o))
}

/// Start `pxos ARGS` without waiting for it.
fn spawn(args: &[String]) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_pxos"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn wait_ok(child: std::process::Child, what: &str) -> (serde_json::Value, String) {
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{what}: {}", stderr(&o));
    (serde_json::from_str(&stdout(&o)).unwrap(), stderr(&o))
}

fn arg(path: &Path) -> String {
    path.display().to_string()
}

/// The in-process ring stopped after generation 5 — its log holds generation 5, its last
/// checkpoint generation 3, as when a run is killed between the two writes — and resumed on
/// another number of threads ends as the ring never stopped: the same report, logs (the
/// lines after the checkpoint written once) and final checkpoint, byte for byte.
#[test]
fn a_ring_stopped_and_resumed_equals_the_ring_never_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let seed = seed_kernel(d);
    let whole_ck = d.join("whole.json");
    let (whole, _) = run_ok(&ring_args(
        &seed,
        "8",
        &[
            "--jobs",
            "2",
            "--log",
            &arg(&d.join("whole.jsonl")),
            "--checkpoint",
            &arg(&whole_ck),
        ],
    ));

    let (ck, ck3, log) = (d.join("ck.json"), d.join("ck3.json"), d.join("part.jsonl"));
    let first = ring_args(
        &seed,
        "5",
        &[
            "--jobs",
            "1",
            "--log",
            &arg(&log),
            "--checkpoint",
            &arg(&ck),
        ],
    );
    run_ok(&first);
    run_ok(&ring_args(
        &seed,
        "3",
        &["--jobs", "1", "--checkpoint", &arg(&ck3)],
    ));
    let saved: serde_json::Value = serde_json::from_slice(&std::fs::read(&ck3).unwrap()).unwrap();
    assert_eq!(saved["islands"], 3);
    assert_eq!(saved["states"].as_array().unwrap().len(), 3);
    assert_eq!(saved["states"][2]["generation"], 3);
    std::fs::copy(&ck3, &ck).unwrap();
    let stale = d.join(".ck.json.tmp.999999999.9");
    std::fs::write(&stale, b"{\"torn").unwrap();

    let (resumed, notes) = run_ok(
        &[
            "evolve",
            "--resume",
            "--checkpoint",
            &arg(&ck),
            "--islands",
            "3",
            "--goal",
            "output",
            "--target",
            "1,2,3,5",
            "--generations",
            "8",
            "--jobs",
            "2",
            "--log",
            &arg(&log),
            "--json",
        ]
        .map(String::from),
    );
    assert_eq!(resumed, whole);
    for i in 0..3 {
        assert!(
            notes.contains(&format!(
                "removed 2 line(s) of generations after 3 from {}",
                arg(&d.join(format!("part.island{i}.jsonl")))
            )),
            "{notes}"
        );
        let part = log_lines(&d.join(format!("part.island{i}.jsonl")));
        assert_eq!(part.len(), 8);
        assert_eq!(
            part,
            log_lines(&d.join(format!("whole.island{i}.jsonl"))),
            "island {i}"
        );
    }
    assert_eq!(
        std::fs::read(&ck).unwrap(),
        std::fs::read(&whole_ck).unwrap()
    );
    assert!(!stale.exists(), "the dead writer's temporary is removed");
}

/// Three island processes stopped at generation 4 (island 1's checkpoint lost back to
/// generation 2, so it runs generations 3 and 4 again, rewriting its migrants files and
/// rereading its neighbour's) and resumed to generation 8 end as the ring never stopped:
/// the same bests and logs, and the exchange holds each island's migrants once per
/// migration, in one run folder.
#[test]
fn island_processes_stopped_and_resumed_equal_the_ring_never_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let seed = seed_kernel(d);
    let (whole, _) = run_ok(&ring_args(
        &seed,
        "8",
        &["--log", &arg(&d.join("ring.jsonl"))],
    ));

    let exchange = d.join("exchange");
    std::fs::create_dir(&exchange).unwrap();
    let island = |i: usize, generations: &str, extra: &[&str], log: bool| {
        let index = i.to_string();
        let ck = arg(&d.join(format!("ck{i}.json")));
        let log_path = arg(&d.join(format!("run.island{i}.jsonl")));
        let ex = arg(&exchange);
        let mut a: Vec<&str> = vec!["--island", &index, "--exchange", &ex, "--checkpoint", &ck];
        if log {
            a.extend(["--log", &log_path]);
        }
        a.extend_from_slice(extra);
        ring_args(&seed, generations, &a)
    };
    let first: Vec<_> = (0..3).map(|i| spawn(&island(i, "4", &[], true))).collect();
    for (i, child) in first.into_iter().enumerate() {
        let (report, _) = wait_ok(child, &format!("island {i}"));
        assert_eq!(report["generations"], 4);
    }
    // Island 1 again to generation 2 only: its checkpoint now holds generation 2.
    run_ok(&island(1, "2", &[], false));
    let saved: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.join("ck1.json")).unwrap()).unwrap();
    assert_eq!(saved["island"], 1);
    assert_eq!(saved["states"][0]["generation"], 2);

    let second: Vec<_> = (0..3)
        .map(|i| spawn(&island(i, "8", &["--resume"], true)))
        .collect();
    for (i, child) in second.into_iter().enumerate() {
        let (alone, notes) = wait_ok(child, &format!("resumed island {i}"));
        assert_eq!(alone["per_island"][0], whole["per_island"][i], "island {i}");
        if i == 1 {
            assert!(
                notes.contains("removed 2 line(s) of generations after 2"),
                "{notes}"
            );
        }
        let log = log_lines(&d.join(format!("run.island{i}.jsonl")));
        assert_eq!(log.len(), 8);
        assert_eq!(
            log,
            log_lines(&d.join(format!("ring.island{i}.jsonl"))),
            "island {i}"
        );
    }
    let runs: Vec<_> = std::fs::read_dir(&exchange)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(runs.len(), 1, "one run folder for both plans: {runs:?}");
    let mut files: Vec<String> = std::fs::read_dir(&runs[0])
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    let expected: Vec<String> = [2, 4, 6, 8]
        .iter()
        .flat_map(|g| (0..3).map(move |i| format!("g{g:010}-island{i:04}.json")))
        .collect();
    assert_eq!(files, expected);
}

/// A resumed island experiment keeps its island count, migration, options, goal and kind
/// (a ring, or one island of a ring per process); a single population's checkpoint is not an
/// island experiment's, nor the other way round. Each refusal is one clear error.
#[test]
fn resuming_islands_with_other_options_or_from_another_kind_of_checkpoint_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let seed = seed_kernel(d);
    let (ring_ck, one_ck, plain_ck) = (
        arg(&d.join("ring.json")),
        arg(&d.join("one.json")),
        arg(&d.join("plain.json")),
    );
    let exchange = arg(d);
    let (ring_ck, one_ck, plain_ck) = (ring_ck.as_str(), one_ck.as_str(), plain_ck.as_str());
    run_ok(&ring_args(&seed, "2", &["--checkpoint", ring_ck]));
    // Island 1 alone for one generation (no migration yet, so no neighbour needed).
    run_ok(&ring_args(
        &seed,
        "1",
        &[
            "--island",
            "1",
            "--exchange",
            &exchange,
            "--checkpoint",
            one_ck,
        ],
    ));
    let o = pxos(&[
        "evolve",
        &seed,
        "--goal",
        "output",
        "--target",
        "1,2,3,5",
        "--population",
        "20",
        "--generations",
        "1",
        "--engine",
        "interp",
        "--checkpoint",
        plain_ck,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let resume = |ck: &str, target: &str, extra: &[&str]| -> Output {
        let mut a = vec![
            "evolve",
            "--resume",
            "--checkpoint",
            ck,
            "--goal",
            "output",
            "--target",
            target,
            "--json",
        ];
        a.extend_from_slice(extra);
        pxos(&a)
    };
    let cases: Vec<(&str, &str, Vec<&str>, String)> = vec![
        (ring_ck, "1,2,3,5", vec!["--islands", "4"], format!("--islands 4 differs from the experiment in {ring_ck}, which has 3 islands")),
        (ring_ck, "1,2,3,5", vec!["--islands", "3", "--migrate-every", "3"], "--migrate-every 3 differs".into()),
        (ring_ck, "1,2,3,5", vec!["--islands", "3", "--migrants", "2"], "--migrants 2 differs".into()),
        (ring_ck, "1,2,3,5", vec!["--islands", "3", "--seed", "5"], "--seed 5 differs".into()),
        (ring_ck, "1,2,3,5", vec!["--islands", "3", "--population", "30"], "--population 30 differs".into()),
        (ring_ck, "7,7", vec!["--islands", "3"], "pursues goal output".into()),
        (ring_ck, "1,2,3,5", vec!["--islands", "3", "--island", "0", "--exchange", &exchange], "holds every island of a ring run in one process; resume it without --island 0".into()),
        (ring_ck, "1,2,3,5", vec![], format!("{ring_ck} holds an island experiment (3 islands); resume it with --islands 3")),
        (one_ck, "1,2,3,5", vec!["--islands", "3", "--island", "2", "--exchange", &exchange], "--island 2 differs from the island".into()),
        (one_ck, "1,2,3,5", vec!["--islands", "3"], "holds island 1 of 3, run as its own process; resume it with --island 1 --exchange DIR".into()),
        (plain_ck, "1,2,3,5", vec!["--islands", "3"], "holds one population's experiment, not an island experiment; resume it without --islands".into()),
    ];
    for (ck, target, extra, says) in cases {
        let o = resume(ck, target, &extra);
        assert_eq!(o.status.code(), Some(2), "{extra:?}: {}", stdout(&o));
        let err = stderr(&o);
        assert!(
            err.starts_with("pxos: ") && err.contains(&says),
            "{extra:?}: {err}"
        );
    }
    // Nothing repeated but the goal and --islands: the experiment continues exactly.
    let o = resume(
        ring_ck,
        "1,2,3,5",
        &["--islands", "3", "--generations", "8"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let resumed: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let (whole, _) = run_ok(&ring_args(&seed, "8", &[]));
    assert_eq!(resumed, whole);
}

/// A damaged, truncated or hostile island checkpoint: `pxos: FILE: ...` naming the field
/// where there is one, exit status 2, never a panic or an allocation beyond its size.
#[test]
fn a_damaged_islands_checkpoint_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let seed = seed_kernel(dir.path());
    let ck = dir.path().join("ck.json");
    let ck_arg = arg(&ck);
    run_ok(&ring_args(&seed, "2", &["--checkpoint", &ck_arg]));
    let good_bytes = std::fs::read(&ck).unwrap();
    let good: serde_json::Value = serde_json::from_slice(&good_bytes).unwrap();
    type Edit = fn(&mut serde_json::Value);
    let damaged: Vec<(Edit, &str)> = vec![
        (
            |v| v["islands"] = 0.into(),
            "damaged checkpoint: islands is 0",
        ),
        (
            |v| v["islands"] = 1_000_000_000_000u64.into(),
            "damaged checkpoint: islands is 1000000000000",
        ),
        (
            |v| v["migration"]["migrants"] = 20.into(),
            "damaged checkpoint: migration.migrants is 20",
        ),
        (
            |v| v["migration"]["every"] = 0.into(),
            "damaged checkpoint: migration.every is 0",
        ),
        (
            |v| v["states"] = serde_json::json!([]),
            "damaged checkpoint: states holds 0 island state(s); 3 expected",
        ),
        (
            |v| v["states"][1]["population"][3]["genome"] = serde_json::json!([]),
            "damaged checkpoint: states [1] population [3] has a genome of 0 bytes",
        ),
        (
            |v| v["states"][2]["generation"] = 1.into(),
            "damaged checkpoint: states [2] generation is 1",
        ),
        (
            |v| v["states"][0]["config"]["seed"] = 5.into(),
            "damaged checkpoint: states [0] config is not the experiment's config",
        ),
        (
            |v| v["config"]["population"] = 0.into(),
            "damaged checkpoint: config.population is 0",
        ),
        (
            |v| v["island"] = 7.into(),
            "damaged checkpoint: island is 7",
        ),
        (
            |v| v["states"][0]["config"]["engine"] = "warp".into(),
            "not a pxos evolve checkpoint of an island experiment: config.engine: unknown engine 'warp'",
        ),
        (
            |v| v["islands"] = (-1).into(),
            "not a pxos evolve checkpoint of an island experiment",
        ),
    ];
    let mut files: Vec<(Vec<u8>, &str)> = damaged
        .into_iter()
        .map(|(edit, says)| {
            let mut bad = good.clone();
            edit(&mut bad);
            (serde_json::to_vec(&bad).unwrap(), says)
        })
        .collect();
    files.push((
        good_bytes[..good_bytes.len() / 2].to_vec(),
        "not a pxos evolve checkpoint of an island experiment: EOF",
    ));
    files.push((
        vec![0xff; 64],
        "not a pxos evolve checkpoint of an island experiment",
    ));
    files.push((
        b"[]".to_vec(),
        "not a pxos evolve checkpoint of an island experiment",
    ));
    let resume = |extra: &[&str]| {
        let mut args = vec![
            "evolve",
            "--resume",
            "--checkpoint",
            &ck_arg,
            "--islands",
            "3",
            "--goal",
            "output",
            "--target",
            "1,2,3,5",
        ];
        args.extend_from_slice(extra);
        pxos(&args)
    };
    for (bytes, says) in files {
        std::fs::write(&ck, &bytes).unwrap();
        let o = resume(&["--generations", "4"]);
        assert_eq!(o.status.code(), Some(2), "{says}: {}", stdout(&o));
        let err = stderr(&o);
        assert!(
            err.starts_with(&format!("pxos: {ck_arg}: ")) && err.contains(says),
            "{says}: {err}"
        );
        assert!(!err.contains("panicked"), "{err}");
    }
    // A FIFO in its place is refused, not read (which would block).
    #[cfg(unix)]
    {
        std::fs::remove_file(&ck).unwrap();
        super::cli_util::mkfifo(&ck);
        let o = resume(&[]);
        assert_eq!(o.status.code(), Some(2));
        assert!(stderr(&o).contains("is a FIFO"), "{}", stderr(&o));
    }
}

/// Resumed with a plan shorter than the generations its checkpoint already holds, a ring
/// runs no further and reports the generation it is at, not the plan (hostile pass: the
/// report said 40 generations of a ring checkpointed at 592).
#[test]
fn a_ring_resumed_with_a_shorter_plan_reports_the_generation_it_reached() {
    let dir = tempfile::tempdir().unwrap();
    let seed = seed_kernel(dir.path());
    let ck = arg(&dir.path().join("ring.ck"));
    let (whole, _) = run_ok(&ring_args(&seed, "6", &["--checkpoint", &ck]));
    assert_eq!(whole["generations"], 6);
    let resume = |plan: &str| {
        let a = [
            "evolve",
            "--resume",
            "--checkpoint",
            &ck,
            "--islands",
            "3",
            "--goal",
            "output",
            "--target",
            "1,2,3,5",
            "--generations",
            plan,
            "--json",
        ];
        run_ok(&a.map(String::from))
    };
    let (short, _) = resume("3");
    assert_eq!(short["generations"], 6, "{short}");
    assert_eq!(short["best"], whole["best"]);
}
