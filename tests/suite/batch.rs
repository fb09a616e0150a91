//! `pxos batch` and `pxos merge` end to end: records, broken kernels (exit status 1),
//! resumption, manifests, sharding (4 shards merged equal one unsharded run, whatever the
//! spelling of the input), merge's completeness check (`--expect-shards`), the output
//! file's lock, and folders with links and FIFOs. Also that docs/CLUSTER.md shows the job
//! scripts of docs/cluster/ verbatim, which ci/slurm.sh runs on a real Slurm, and that its
//! Kubernetes Job runs the same commands.

use super::cli_util::{command, mkfifo, pxos, pxos_limited, repo_file, stderr, stdout};
use pxos::tools::batch::without_wall_time;
use serde_json::Value;
use std::path::Path;

/// A folder of small kernels: generated programs as bytecode, the repo's .asm kernels,
/// and one broken file.
fn corpus(dir: &Path) {
    for seed in 0..40 {
        let s = pxvm::testkit::scenario(seed);
        std::fs::write(dir.join(format!("gen{seed:02}.bin")), &s.kernel).unwrap();
    }
    std::fs::write(dir.join("broken.asm"), "IMM32 R1,\n").unwrap();
    std::fs::write(dir.join("empty.bin"), b"").unwrap();
}

/// Generated programs may loop forever; keep their runs short in a debug build.
const FUEL: &str = "20000";

/// `pxos batch INPUT --out OUT --fuel FUEL EXTRA...` over a corpus, which must run every
/// kernel (exit status 1: the corpus has two broken kernels).
fn batch_into(input: &str, out: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "batch",
        input,
        "--out",
        out.to_str().unwrap(),
        "--fuel",
        FUEL,
    ];
    args.extend_from_slice(extra);
    let o = pxos(&args);
    assert!(
        matches!(o.status.code(), Some(0 | 1)),
        "{args:?}: {}",
        stderr(&o)
    );
    o
}

fn records(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn comparable(mut records: Vec<Value>) -> Vec<Value> {
    records.sort_by_key(|r| r["kernel"].as_str().unwrap().to_string());
    records.iter().map(without_wall_time).collect()
}

#[test]
fn batch_records_every_kernel_and_errors_do_not_stop_it() {
    let dir = tempfile::tempdir().unwrap();
    corpus(dir.path());
    let o = pxos(&["batch", dir.path().to_str().unwrap(), "--fuel", FUEL]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "records with errors: exit status 1"
    );
    assert!(
        stderr(&o).contains("pxos: 2 of 42 kernels could not be loaded or run"),
        "{}",
        stderr(&o)
    );
    let recs = records(&stdout(&o));
    assert_eq!(recs.len(), 42);
    let broken = recs
        .iter()
        .find(|r| r["kernel"].as_str().unwrap().ends_with("broken.asm"))
        .unwrap();
    assert!(
        broken["error"].as_str().unwrap().contains("broken.asm:1:"),
        "{broken}"
    );
    let empty = recs
        .iter()
        .find(|r| r["kernel"].as_str().unwrap().ends_with("empty.bin"))
        .unwrap();
    assert!(
        empty["error"].as_str().unwrap().contains("empty"),
        "{empty}"
    );
    let ok = recs.iter().filter(|r| r.get("error").is_none()).count();
    assert_eq!(ok, 40);
    for r in recs.iter().filter(|r| r.get("error").is_none()) {
        assert!(r["cycles"].as_u64().unwrap() <= 20_000);
        assert_eq!(r["memory_sha256"].as_str().unwrap().len(), 64);
        assert!(r["wall_ms"].as_f64().unwrap() >= 0.0);
    }
}

/// `pxos batch INPUT --shard K/N --out DIR/results/shard-K.jsonl` for every K, as each task
/// of docs/cluster/batch.sbatch does (the results folder does not exist yet: batch makes
/// it); returns the shard files.
fn shards_into(input: &str, dir: &Path, n: u64) -> Vec<String> {
    let mut files = Vec::new();
    let mut total = 0;
    for k in 0..n {
        let out = dir.join(format!("results/shard-{k}.jsonl"));
        batch_into(
            input,
            &out,
            &["--shard", &format!("{k}/{n}"), "--jobs", "1"],
        );
        total += records(&std::fs::read_to_string(&out).unwrap()).len();
        files.push(out.to_str().unwrap().to_string());
    }
    assert_eq!(total, 42, "the shards partition the inputs");
    files
}

/// `pxos merge FILES... --expect-shards N --out OUT`, as docs/cluster/merge.sbatch.
fn merge_shards(files: &[String], n: u64, out: &Path) -> std::process::Output {
    let n = n.to_string();
    let mut args = vec!["merge"];
    args.extend(files.iter().map(String::as_str));
    args.extend(["--expect-shards", &n, "--out", out.to_str().unwrap()]);
    pxos(&args)
}

#[test]
fn four_shards_merged_equal_one_unsharded_run() {
    let dir = tempfile::tempdir().unwrap();
    corpus(dir.path());
    let input = dir.path().to_str().unwrap();
    let whole = dir.path().join("whole.jsonl");
    batch_into(input, &whole, &["--jobs", "2"]);
    let shard_files = shards_into(input, dir.path(), 4);
    let merged = dir.path().join("results/all.jsonl");
    let o = merge_shards(&shard_files, 4, &merged);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("merge: 42 records"), "{}", stderr(&o));
    let merged = records(&std::fs::read_to_string(&merged).unwrap());
    let whole = records(&std::fs::read_to_string(&whole).unwrap());
    assert_eq!(comparable(merged), comparable(whole));
}

#[test]
fn merge_with_expect_shards_names_the_missing_shards_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    corpus(dir.path());
    let input = dir.path().to_str().unwrap();
    let files = shards_into(input, dir.path(), 4);
    let merged = dir.path().join("all.jsonl");
    let cases: [(Vec<String>, &str); 3] = [
        (
            vec![files[0].clone(), files[1].clone(), files[3].clone()],
            "pxos: incomplete: no records from shard 2 of 4",
        ),
        (
            vec![files[3].clone(), files[0].clone()],
            "pxos: incomplete: no records from shards 1, 2 of 4",
        ),
        (
            vec![],
            "pxos: incomplete: no records from shards 0, 1, 2, 3 of 4",
        ),
    ];
    for (some, message) in cases {
        // An empty shard file (a task that has not started) counts as missing too.
        let empty = dir.path().join("results/empty.jsonl");
        std::fs::write(&empty, "").unwrap();
        let mut some = some;
        some.push(empty.to_str().unwrap().to_string());
        let o = merge_shards(&some, 4, &merged);
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert!(stderr(&o).starts_with(message), "{}", stderr(&o));
        assert!(!merged.exists(), "nothing written");
    }
    // Records of several shards in one file: not the output of one --shard K/4.
    let mixed = dir.path().join("mixed.jsonl");
    let text =
        std::fs::read_to_string(&files[0]).unwrap() + &std::fs::read_to_string(&files[1]).unwrap();
    std::fs::write(&mixed, text).unwrap();
    let o = merge_shards(&[mixed.to_str().unwrap().to_string()], 4, &merged);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).starts_with("pxos: ") && stderr(&o).contains("holds records of shards"),
        "{}",
        stderr(&o)
    );
    assert!(!merged.exists(), "nothing written");
    // An unsharded batch's records: no shard at all.
    let whole = dir.path().join("whole.jsonl");
    batch_into(input, &whole, &[]);
    let o = merge_shards(&[whole.to_str().unwrap().to_string()], 4, &merged);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).starts_with(&format!("pxos: {}:1: the record of ", whole.display()))
            && stderr(&o).contains("has no \"shard\" field"),
        "{}",
        stderr(&o)
    );
    assert!(!merged.exists(), "nothing written");
    // Without --expect-shards, merge takes what it is given.
    let o = pxos(&["merge", &files[0], "--out", merged.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
}

/// `to` as a relative path from the folder `from` (both absolute, canonical).
fn relative(from: &Path, to: &Path) -> std::path::PathBuf {
    let from: Vec<_> = from.components().collect();
    let to: Vec<_> = to.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut rel = std::path::PathBuf::new();
    for _ in common..from.len() {
        rel.push("..");
    }
    for c in &to[common..] {
        rel.push(c);
    }
    rel
}

#[test]
fn the_shard_split_does_not_depend_on_how_the_input_is_spelled() {
    // The repository's root is where pxos runs: the corpus is reached from there by a
    // relative path, an absolute one, a ./ form and a symbolic link.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .canonicalize()
        .unwrap();
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let corpus_dir = dir.path().canonicalize().unwrap().join("corpus");
    std::fs::create_dir(&corpus_dir).unwrap();
    corpus(&corpus_dir);
    let link = dir.path().join("link");
    std::os::unix::fs::symlink(&corpus_dir, &link).unwrap();
    let absolute = corpus_dir.to_str().unwrap().to_string();
    let rel = relative(&root, &corpus_dir).to_str().unwrap().to_string();
    let dotted = format!("./{rel}/");
    assert!(!rel.starts_with('/'));
    let spellings = [
        absolute.as_str(),
        rel.as_str(),
        dotted.as_str(),
        link.to_str().unwrap(),
    ];
    let out = dir.path().join("out");
    let mut files = Vec::new();
    for (k, input) in spellings.iter().enumerate() {
        let file = out.join(format!("shard-{k}.jsonl"));
        batch_into(input, &file, &["--shard", &format!("{k}/4")]);
        for r in records(&std::fs::read_to_string(&file).unwrap()) {
            let kernel = r["kernel"].as_str().unwrap();
            assert!(kernel.starts_with(&absolute), "{input}: {kernel}");
        }
        files.push(file.to_str().unwrap().to_string());
    }
    let merged = out.join("all.jsonl");
    let o = merge_shards(&files, 4, &merged);
    assert!(o.status.success(), "{}", stderr(&o));
    for input in spellings {
        let whole = out.join("whole.jsonl");
        let _ = std::fs::remove_file(&whole);
        batch_into(input, &whole, &[]);
        assert_eq!(
            comparable(records(&std::fs::read_to_string(&merged).unwrap())),
            comparable(records(&std::fs::read_to_string(&whole).unwrap())),
            "shards spelled four ways, merged, equal one run spelled {input}"
        );
    }
}

#[test]
fn a_rerun_with_the_same_out_skips_what_is_done_and_mends_a_torn_line() {
    let dir = tempfile::tempdir().unwrap();
    corpus(dir.path());
    let input = dir.path().to_str().unwrap();
    let out = dir.path().join("out.jsonl");
    batch_into(input, &out, &[]);
    let full = std::fs::read_to_string(&out).unwrap();
    // Simulate a kill mid-write: keep 30 whole records and half of the next.
    let lines: Vec<&str> = full.lines().collect();
    let mut torn: String = lines[..30].iter().map(|l| format!("{l}\n")).collect();
    torn += &lines[30][..lines[30].len() / 2];
    std::fs::write(&out, torn).unwrap();
    let o = batch_into(input, &out, &[]);
    assert!(stderr(&o).contains("12 kernels run"), "{}", stderr(&o));
    assert!(stderr(&o).contains("30 already done"), "{}", stderr(&o));
    let resumed = records(&std::fs::read_to_string(&out).unwrap());
    assert_eq!(comparable(resumed), comparable(records(&full)));
}

#[test]
fn manifests_set_fuel_per_kernel() {
    let dir = tempfile::tempdir().unwrap();
    let kernels = Path::new(env!("CARGO_MANIFEST_DIR")).join("kernels");
    let manifest = dir.path().join("m.jsonl");
    std::fs::write(
        &manifest,
        format!(
            "# a comment\n{{\"kernel\": \"{}\", \"fuel\": 3}}\n{{\"kernel\": \"{}\"}}\n",
            kernels.join("kernel_v1.asm").display(),
            kernels.join("kernel_v2.asm").display()
        ),
    )
    .unwrap();
    let o = pxos(&["batch", manifest.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let recs = records(&stdout(&o));
    assert_eq!(
        (recs[0]["exit"].as_str(), recs[0]["cycles"].as_u64()),
        (Some("fuel"), Some(3))
    );
    assert_eq!(
        (recs[1]["exit"].as_str(), recs[1]["cycles"].as_u64()),
        (Some("halt"), Some(14))
    );
}

#[test]
fn bad_batch_options_and_manifests_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let o = pxos(&["batch", "kernels", "--shard", "4/4"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--shard"), "{}", stderr(&o));
    let manifest = dir.path().join("bad.jsonl");
    std::fs::write(
        &manifest,
        "{\"kernel\": \"a.bin\"}\n{\"kernal\": \"b.bin\"}\n",
    )
    .unwrap();
    let o = pxos(&["batch", manifest.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("bad.jsonl:2:"), "{}", stderr(&o));
    let a = dir.path().join("a.jsonl");
    let b = dir.path().join("b.jsonl");
    std::fs::write(&a, "{\"kernel\":\"k\",\"exit\":\"halt\",\"wall_ms\":1}\n").unwrap();
    std::fs::write(&b, "{\"kernel\":\"k\",\"exit\":\"fuel\",\"wall_ms\":1}\n").unwrap();
    let o = pxos(&["merge", a.to_str().unwrap(), b.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains(&format!(
            "two different records ({}:1 and {}:1)",
            a.display(),
            b.display()
        )),
        "{}",
        stderr(&o)
    );
    // Within one file, the two lines are named.
    let dup = dir.path().join("dup.jsonl");
    std::fs::write(
        &dup,
        "{\"kernel\":\"k\",\"exit\":\"halt\",\"wall_ms\":1}\n\n{\"kernel\":\"k\",\"exit\":\"fuel\",\"wall_ms\":1}\n",
    )
    .unwrap();
    let o = pxos(&["merge", dup.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let d = dup.display();
    assert!(
        stderr(&o).contains(&format!("({d}:1 and {d}:3)")),
        "{}",
        stderr(&o)
    );
    // A kernel with no result is not a record.
    let bare = dir.path().join("bare.jsonl");
    std::fs::write(&bare, "{\"kernel\":\"/y\"}\n").unwrap();
    let o = pxos(&["merge", bare.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).starts_with(&format!("pxos: {}:1: not a batch record", bare.display())),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_second_batch_on_a_locked_output_is_refused_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.jsonl");
    // A torn last line, which a batch that got the file would cut.
    std::fs::write(
        &out,
        "{\"kernel\":\"a\",\"error\":\"x\",\"wall_ms\":0}\n{\"kernel\":\"b",
    )
    .unwrap();
    let before = std::fs::read(&out).unwrap();
    let holder = std::fs::OpenOptions::new().append(true).open(&out).unwrap();
    holder.try_lock().unwrap();
    let o = pxos(&[
        "batch",
        "kernels/kernel_v2.asm",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).starts_with("pxos: ")
            && stderr(&o).contains("being written by another pxos batch"),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        std::fs::read(&out).unwrap(),
        before,
        "nothing written or cut"
    );
    drop(holder);
    let o = pxos(&[
        "batch",
        "kernels/kernel_v2.asm",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let recs = records(&std::fs::read_to_string(&out).unwrap());
    assert_eq!(recs.len(), 2, "the torn line is cut, one record added");
    let canonical = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("kernels/kernel_v2.asm")
        .canonicalize()
        .unwrap();
    assert_eq!(recs[1]["kernel"], canonical.to_str().unwrap());
}

#[test]
fn folders_are_walked_without_following_links_or_opening_fifos() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap().join("k");
    std::fs::create_dir_all(root.join("sub")).unwrap();
    std::fs::copy("kernels/kernel_v2.asm", root.join("a.asm")).unwrap();
    std::fs::copy("kernels/kernel_v2.asm", root.join("sub/b.asm")).unwrap();
    std::os::unix::fs::symlink("..", root.join("sub/up")).unwrap();
    std::os::unix::fs::symlink(".", root.join("self")).unwrap();
    std::os::unix::fs::symlink("/etc", root.join("etc")).unwrap();
    std::os::unix::fs::symlink("a.asm", root.join("link.asm")).unwrap();
    mkfifo(&root.join("fifo.bin"));
    let o = pxos_limited(2048, &["batch", root.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let recs = records(&stdout(&o));
    let name = |r: &Value| {
        Path::new(r["kernel"].as_str().unwrap())
            .strip_prefix(&root)
            .unwrap()
            .display()
            .to_string()
    };
    let names: Vec<String> = recs.iter().map(name).collect();
    assert_eq!(
        names,
        [
            "a.asm",
            "etc",
            "fifo.bin",
            "link.asm",
            "self",
            "sub/b.asm",
            "sub/up"
        ],
        "each entry once, links not followed"
    );
    for r in &recs {
        let skipped = r.get("skipped").and_then(Value::as_str);
        match name(r).as_str() {
            "a.asm" | "sub/b.asm" => assert_eq!(r["exit"], "halt", "{r}"),
            "fifo.bin" => assert!(skipped.unwrap().contains("FIFO"), "{r}"),
            _ => assert!(skipped.unwrap().contains("symbolic link"), "{r}"),
        }
    }
    assert!(
        stderr(&o).contains("5 skipped (not regular files"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn batch_threads_are_bounded() {
    for jobs in ["0", "100000"] {
        let o = pxos(&["batch", "kernels/kernel_v2.asm", "--jobs", jobs]);
        assert_eq!(o.status.code(), Some(2), "--jobs {jobs}");
        assert!(
            stderr(&o).starts_with("pxos: ") && stderr(&o).contains("--jobs"),
            "{}",
            stderr(&o)
        );
        assert!(stdout(&o).is_empty());
    }
}

#[test]
fn cluster_docs_show_the_job_scripts_ci_runs_and_kubernetes_runs_the_same_commands() {
    let docs = repo_file("docs/CLUSTER.md");
    for script in ["submit.sh", "batch.sbatch", "merge.sbatch"] {
        let text = repo_file(&format!("docs/cluster/{script}"));
        assert!(
            docs.contains(&format!("`docs/cluster/{script}`"))
                && docs.contains(&format!("```sh\n{text}```\n")),
            "docs/CLUSTER.md must show docs/cluster/{script} verbatim"
        );
    }
    let slurm = repo_file("docs/cluster/batch.sbatch");
    let merge = repo_file("docs/cluster/merge.sbatch");
    let ci = repo_file("ci/slurm.sh");
    assert!(
        ci.contains("docs/cluster/submit.sh\""),
        "ci/slurm.sh runs submit.sh"
    );
    let kubernetes = &docs[docs.find("## Kubernetes").unwrap()..];
    assert!(kubernetes.contains("image: registry.example/pxos:latest"));
    assert!(kubernetes.contains("docker build -t registry.example/pxos:latest ."));
    assert!(repo_file("Dockerfile").contains("cargo build --release --locked --bin pxos"));
    let batch = command(&slurm, "pxos batch")
        .replace("SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX")
        .replace("SLURM_CPUS_PER_TASK", "PXOS_CPUS");
    assert_eq!(command(kubernetes, "pxos batch"), batch);
    assert_eq!(
        command(kubernetes, "pxos merge"),
        command(&merge, "pxos merge")
    );
    // The commands the tests above run: --shard K/N --out .../shard-K.jsonl, and merge
    // --expect-shards N.
    assert!(batch.contains("--shard \"$JOB_COMPLETION_INDEX/$PXOS_SHARDS\" --out \"$PXOS_RESULTS/shard-$JOB_COMPLETION_INDEX.jsonl\""), "{batch}");
    assert!(command(&merge, "pxos merge").contains("--expect-shards \"$PXOS_SHARDS\""));
}

/// A running `pxos batch`, killed (SIGKILL) and reaped however the test ends.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn_pxos(args: &[&str]) -> Running {
    Running(
        std::process::Command::new(env!("CARGO_BIN_EXE_pxos"))
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("run pxos"),
    )
}

/// Wait (up to 60 s) until `done` holds, checking every 10 ms.
fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let start = std::time::Instant::now();
    while !done() {
        assert!(start.elapsed().as_secs() < 60, "timed out waiting: {what}");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// A kernel counting `n` down to 0 (3 instructions a step).
fn countdown(n: u64) -> String {
    format!("IMM32 R0, {n}\nL:\nADDI R0, R0, -1\nJNZ R0, L\nHALT\n")
}

/// A folder `k` of 3 quick kernels (a*) then 3 that run until their fuel (1 s and more
/// each in a debug build, interpreted, at the fuel `SLOW_FUEL`).
fn quick_then_slow(dir: &Path) -> String {
    let k = dir.join("k");
    std::fs::create_dir(&k).unwrap();
    for i in 0..3 {
        std::fs::write(k.join(format!("a{i}.asm")), countdown(10 + i)).unwrap();
    }
    for i in 0..3 {
        std::fs::write(k.join(format!("b{i}.asm")), countdown(1_000_000_000 + i)).unwrap();
    }
    k.to_str().unwrap().to_string()
}

const SLOW_FUEL: &str = "30000000";

fn lines_of(path: &Path) -> usize {
    std::fs::read_to_string(path).map_or(0, |t| t.lines().count())
}

#[test]
fn records_are_on_disk_as_kernels_finish_so_a_killed_small_batch_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let k = quick_then_slow(dir.path());
    let out = dir.path().join("out.jsonl");
    let args = |out: &Path| {
        vec![
            "batch".to_string(),
            k.clone(),
            "--out".into(),
            out.to_str().unwrap().into(),
            "--jobs".into(),
            "1".into(),
            "--engine".into(),
            "interp".into(),
            "--fuel".into(),
            SLOW_FUEL.into(),
        ]
    };
    let argv = args(&out);
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    let mut batch = spawn_pxos(&argv);
    wait_until("the 3 quick records on disk", || lines_of(&out) >= 3);
    assert!(
        batch.0.try_wait().unwrap().is_none(),
        "the batch was still running the slow kernels when its first records were on disk"
    );
    batch.0.kill().unwrap(); // SIGKILL
    batch.0.wait().unwrap();
    let kept = lines_of(&out);
    assert!((3..6).contains(&kept), "{kept} records kept");
    let o = pxos(&argv);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!("{} kernels run", 6 - kept))
            && stderr(&o).contains(&format!("{kept} already done")),
        "{}",
        stderr(&o)
    );
    let whole = dir.path().join("whole.jsonl");
    let argv = args(&whole);
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    let o = pxos(&argv);
    assert!(o.status.success(), "{}", stderr(&o));
    // The same records in the same order as one uninterrupted run.
    let strip = |p: &Path| -> Vec<Value> {
        records(&std::fs::read_to_string(p).unwrap())
            .iter()
            .map(without_wall_time)
            .collect()
    };
    assert_eq!(strip(&out), strip(&whole));
}

#[test]
fn merge_refuses_an_out_that_a_running_batch_holds_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let k = quick_then_slow(dir.path());
    let other = dir.path().join("other.jsonl");
    batch_into("kernels/kernel_v2.asm", &other, &[]);
    let out = dir.path().join("out.jsonl");
    let mut batch = spawn_pxos(&[
        "batch",
        &k,
        "--out",
        out.to_str().unwrap(),
        "--jobs",
        "1",
        "--engine",
        "interp",
        "--fuel",
        SLOW_FUEL,
    ]);
    wait_until("the batch's first records", || lines_of(&out) >= 1);
    let before = std::fs::read(&out).unwrap();
    let merge = |out: &Path| {
        pxos(&[
            "merge",
            other.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
    };
    let o = merge(&out);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).starts_with(&format!(
            "pxos: {} is being written by another pxos batch",
            out.display()
        )),
        "{}",
        stderr(&o)
    );
    assert!(
        batch.0.try_wait().unwrap().is_none(),
        "the batch ran all along"
    );
    // The batch's file is the one at `out` still, and has all it had.
    let now = std::fs::read(&out).unwrap();
    assert!(now.starts_with(&before), "the batch's records kept");
    batch.0.kill().unwrap();
    batch.0.wait().unwrap();
    // Once the batch is gone, the merge replaces the file.
    let o = merge(&out);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(records(&std::fs::read_to_string(&out).unwrap()).len(), 1);
    // A merge that fails creates no --out.
    let nowhere = dir.path().join("none.jsonl");
    let o = pxos(&[
        "merge",
        dir.path().join("missing.jsonl").to_str().unwrap(),
        "--out",
        nowhere.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(!nowhere.exists());
}

#[test]
fn merge_expect_shards_refuses_shards_of_another_count_and_unsharded_records() {
    let dir = tempfile::tempdir().unwrap();
    corpus(dir.path());
    let input = dir.path().to_str().unwrap();
    let six: Vec<String> = (0..6)
        .map(|k| {
            let out = dir.path().join(format!("six/s6-{k}.jsonl"));
            batch_into(input, &out, &["--shard", &format!("{k}/6"), "--jobs", "1"]);
            out.to_str().unwrap().to_string()
        })
        .collect();
    for r in records(&std::fs::read_to_string(&six[2]).unwrap()) {
        assert_eq!(r["shard"], "2/6", "{r}");
    }
    let merged = dir.path().join("all.jsonl");
    // Shards 0, 1, 2 of 6 are not the shards of 3 (though each of their kernels may
    // hash to one shard of 3).
    let o = merge_shards(&six[..3], 3, &merged);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).starts_with(&format!("pxos: {}:1: the record of ", six[0]))
            && stderr(&o).contains("was made by --shard 0/6, a batch of 6 shards, not 3"),
        "{}",
        stderr(&o)
    );
    assert!(!merged.exists(), "nothing written");
    // --expect-shards 1 wants the output of --shard 0/1, not of an unsharded batch.
    let whole = dir.path().join("whole.jsonl");
    batch_into(input, &whole, &[]);
    let o = merge_shards(&[whole.to_str().unwrap().to_string()], 1, &merged);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("has no \"shard\" field"),
        "{}",
        stderr(&o)
    );
    let one = dir.path().join("one.jsonl");
    batch_into(input, &one, &["--shard", "0/1"]);
    let o = merge_shards(&[one.to_str().unwrap().to_string()], 1, &merged);
    assert!(o.status.success(), "{}", stderr(&o));
    // All six merge, and equal the unsharded run (no shard field in the merged records).
    let o = merge_shards(&six, 6, &merged);
    assert!(o.status.success(), "{}", stderr(&o));
    let merged = records(&std::fs::read_to_string(&merged).unwrap());
    assert!(merged.iter().all(|r| r.get("shard").is_none()));
    assert_eq!(
        comparable(merged),
        comparable(records(&std::fs::read_to_string(&whole).unwrap()))
    );
}

#[test]
fn resume_refuses_a_line_that_is_not_a_record_and_records_of_other_options() {
    let dir = tempfile::tempdir().unwrap();
    corpus(dir.path());
    let input = dir.path().to_str().unwrap();
    let out = dir.path().join("out.jsonl");
    batch_into(input, &out, &[]);
    let good = std::fs::read(&out).unwrap();
    let refused = |extra: &[&str], what: &str| {
        let before = std::fs::read(&out).unwrap();
        let mut args = vec!["batch", input, "--out", out.to_str().unwrap()];
        if !extra.contains(&"--fuel") {
            args.extend(["--fuel", FUEL]);
        }
        args.extend_from_slice(extra);
        let o = pxos(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(
            stderr(&o).starts_with("pxos: ") && stderr(&o).contains(what),
            "{args:?}: {}",
            stderr(&o)
        );
        assert_eq!(
            std::fs::read(&out).unwrap(),
            before,
            "nothing written or cut"
        );
    };
    // A line that is not a record, then a torn line (which is never reached).
    let mut bad = good.clone();
    bad.extend_from_slice(b"garbage\n{\"kernel\":\"/x\"}\n{\"ker");
    std::fs::write(&out, &bad).unwrap();
    refused(&[], &format!("{}:43: not a batch record", out.display()));
    let mut bare = good.clone();
    bare.extend_from_slice(b"{\"kernel\":\"/x\"}\n");
    std::fs::write(&out, &bare).unwrap();
    refused(&[], &format!("{}:43: not a batch record", out.display()));
    // Records made with another fuel, engine or shard.
    std::fs::write(&out, &good).unwrap();
    let mut args = vec!["--fuel", "30000"];
    refused(&args, &format!("{}:1: the record of ", out.display()));
    refused(
        &args,
        "was made with fuel 20000, but this batch runs with fuel 30000",
    );
    args = vec!["--engine", "interp"];
    refused(
        &args,
        "was made with --engine tiered, but this batch runs with --engine interp",
    );
    refused(
        &["--shard", "0/1"],
        "was made with no --shard, but this batch runs with --shard 0/1",
    );
    // The same options resume: all done.
    let o = batch_into(input, &out, &[]);
    assert!(stderr(&o).contains("42 already done"), "{}", stderr(&o));
    assert_eq!(std::fs::read(&out).unwrap(), good);
}
