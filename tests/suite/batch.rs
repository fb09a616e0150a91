//! `pxos batch` and `pxos merge` end to end: records, broken kernels, resumption,
//! manifests, and sharding (4 shards merged equal one unsharded run).

use super::cli_util::{pxos, stderr, stdout};
use pxos::batch::merge::without_wall_time;
use serde_json::Value;
use std::path::Path;

/// A folder of small kernels: generated programs as bytecode, the repo's .asm kernels,
/// and one broken file.
fn corpus(dir: &Path) {
    for seed in 0..40 {
        let s = pxos::gen::scenario(seed);
        std::fs::write(dir.join(format!("gen{seed:02}.bin")), &s.kernel).unwrap();
    }
    std::fs::write(dir.join("broken.asm"), "IMM32 R1,\n").unwrap();
    std::fs::write(dir.join("empty.bin"), b"").unwrap();
}

/// Generated programs may loop forever; keep their runs short in a debug build.
const FUEL: &str = "20000";

/// `pxos batch INPUT --out OUT --fuel FUEL EXTRA...`, which must succeed.
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
    assert!(o.status.success(), "{args:?}: {}", stderr(&o));
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
    assert!(o.status.success(), "{}", stderr(&o));
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
