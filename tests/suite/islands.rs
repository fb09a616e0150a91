//! `pxos evolve --islands`: the ring of islands in one process equals the same islands run
//! as separate processes exchanging migrants through a folder (real processes, started
//! together), and a missing island is reported instead of waited for.

use super::cli_util::{command, pxos, repo_file, stderr, stdout};
use std::process::{Command, Stdio};

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

/// A log's lines without the one field that depends on the machine.
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
