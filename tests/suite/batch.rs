//! `pxos batch` and `pxos merge` end to end: records, broken kernels (exit status 1),
//! resumption, manifests, sharding (4 shards merged equal one unsharded run), the output
//! file's lock, and folders with links and FIFOs.

use super::cli_util::{mkfifo, pxos, pxos_limited, stderr, stdout};
use pxos::tools::batch::merge::without_wall_time;
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

#[test]
fn four_shards_merged_equal_one_unsharded_run() {
    let dir = tempfile::tempdir().unwrap();
    corpus(dir.path());
    let input = dir.path().to_str().unwrap();
    let whole = dir.path().join("whole.jsonl");
    batch_into(input, &whole, &["--jobs", "2"]);
    let mut shard_files = Vec::new();
    let mut total = 0;
    for k in 0..4 {
        let out = dir.path().join(format!("shard{k}.jsonl"));
        batch_into(input, &out, &["--shard", &format!("{k}/4"), "--jobs", "1"]);
        total += records(&std::fs::read_to_string(&out).unwrap()).len();
        shard_files.push(out.to_str().unwrap().to_string());
    }
    assert_eq!(total, 42, "the shards partition the inputs");
    let merged = dir.path().join("merged.jsonl");
    let mut args = vec!["merge"];
    args.extend(shard_files.iter().map(String::as_str));
    args.extend(["--out", merged.to_str().unwrap()]);
    let o = pxos(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let merged = records(&std::fs::read_to_string(&merged).unwrap());
    let whole = records(&std::fs::read_to_string(&whole).unwrap());
    assert_eq!(comparable(merged), comparable(whole));
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
        stderr(&o).contains("two different records"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_second_batch_on_a_locked_output_is_refused_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.jsonl");
    // A torn last line, which a batch that got the file would cut.
    std::fs::write(&out, "{\"kernel\":\"a\"}\n{\"kernel\":\"b").unwrap();
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
    assert_eq!(recs[1]["kernel"], "kernels/kernel_v2.asm");
}

#[test]
fn folders_are_walked_without_following_links_or_opening_fifos() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("k");
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
