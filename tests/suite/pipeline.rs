//! The Phase 3 pipeline against the real binary, a real file system and real notifications:
//! kernels dropped into `build/` are taken, assembled, validated, A/B-tested, rolled out by
//! `pxos boot` and promoted; bad ones are rejected with their reasons; windows hold
//! candidates back (injected clock `PXOS_NOW`); background evolution finds a faster kernel
//! that reaches `current` only through A/B and the rollout.

use super::cli_util::{stderr, stdout};
use super::store_util::{asm, open};
use pxos::store::Store;
use pxos::store::candidates::{Candidate, State};
use std::fs;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The current version of the tests: counts down 50 times, then prints 42.
const SLOW: &str =
    "IMM32 R1, 50\nloop: ADDI R1, R1, -1\nJNZ R1, loop\nIMM32 R1, 42\nSYSCALL 10\nHALT\n";
/// The same output in a few cycles.
const FAST: &str = "IMM32 R1, 42\nSYSCALL 10\nHALT\n";

/// `pxos ARGS --fs DIR` with extra environment.
fn pxos_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pxos"));
    cmd.args(args)
        .arg("--fs")
        .arg(dir)
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run pxos")
}

fn pxos_ok(dir: &Path, args: &[&str]) -> String {
    let o = pxos_env(dir, args, &[]);
    assert!(
        o.status.success(),
        "pxos {args:?}: {}{}",
        stdout(&o),
        stderr(&o)
    );
    stdout(&o)
}

/// A store whose current version is [`SLOW`], with a fast rollout (50 % then 100 %, one
/// clean boot per stage).
fn store() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    open(dir.path())
        .register("v1.0", &asm(SLOW), None, "register")
        .unwrap();
    pxos_ok(dir.path(), &["policy", "set", "rollout.stages", "50,100"]);
    pxos_ok(
        dir.path(),
        &["policy", "set", "rollout.boots_per_stage", "1"],
    );
    dir
}

/// Put a file into `build/` the documented way: write it under a hidden name, then rename.
fn drop_file(dir: &Path, name: &str, bytes: &[u8]) {
    let build = dir.join("build");
    fs::create_dir_all(&build).unwrap();
    let tmp = build.join(format!(".{name}.tmp"));
    fs::write(&tmp, bytes).unwrap();
    fs::rename(&tmp, build.join(name)).unwrap();
}

fn candidates(dir: &Path) -> Vec<Candidate> {
    Store::open(dir).unwrap().pipeline().candidates.clone()
}

fn by_source(dir: &Path, source: &str) -> Candidate {
    candidates(dir)
        .into_iter()
        .find(|c| c.source == source)
        .unwrap_or_else(|| panic!("no candidate from {source}: {:?}", candidates(dir)))
}

fn current(dir: &Path) -> String {
    Store::open(dir).unwrap().current().unwrap().version.clone()
}

/// A running `pxos watch`, its output lines arriving on a channel.
struct Service {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Service {
    fn start(dir: &Path, extra: &[&str]) -> Service {
        let mut child = Command::new(env!("CARGO_BIN_EXE_pxos"))
            .arg("watch")
            .args(extra)
            .arg("--fs")
            .arg(dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, lines) = mpsc::channel();
        let out = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let mut s = Service { child, lines };
        s.wait_for("watching");
        s
    }

    /// Wait (at most a minute, so a broken service fails instead of hanging) for a line
    /// containing `text`; returns every line seen up to it.
    fn wait_for(&mut self, text: &str) -> Vec<String> {
        let mut seen = Vec::new();
        loop {
            match self.lines.recv_timeout(Duration::from_secs(60)) {
                Ok(line) => {
                    let hit = line.contains(text);
                    seen.push(line);
                    if hit {
                        return seen;
                    }
                }
                Err(e) => panic!("no line with {text:?} ({e}); saw {seen:#?}"),
            }
        }
    }

    /// SIGTERM, then the exit status.
    fn stop(mut self) -> std::process::ExitStatus {
        // SAFETY: kill(2) with a pid we spawned and still own (not yet waited for).
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        self.wait_for("stopping");
        self.child.wait().unwrap()
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn an_asm_dropped_into_build_is_assembled_tested_rolled_out_and_promoted() {
    let dir = store();
    let mut service = Service::start(dir.path(), &[]);
    drop_file(dir.path(), "fast.asm", FAST.as_bytes());
    let log = service.wait_for("candidate 1: ready");
    assert!(
        log.iter()
            .any(|l| l.contains("candidate 1 from build/fast.asm (watch): queued")),
        "{log:#?}"
    );
    assert!(
        log.iter().any(|l| l.contains("candidate 1: ab_testing")),
        "{log:#?}"
    );
    service.wait_for("candidate 1: canary(stage 1)");
    assert!(service.stop().success());

    // The source is kept beside the bytecode; build/ is empty again.
    let c = by_source(dir.path(), "build/fast.asm");
    assert_eq!(c.state, State::Canary { stage: 1 });
    let kept = dir.path().join("candidates");
    assert_eq!(
        fs::read(kept.join(c.taken.as_ref().unwrap())).unwrap(),
        FAST.as_bytes()
    );
    assert_eq!(
        fs::read(kept.join(c.kernel.as_ref().unwrap())).unwrap(),
        asm(FAST)
    );
    assert_eq!(fs::read_dir(dir.path().join("build")).unwrap().count(), 0);
    let report: serde_json::Value =
        serde_json::from_slice(&fs::read(kept.join(c.ab_report.as_ref().unwrap())).unwrap())
            .unwrap();
    assert_eq!(report["verdict"], "better");

    // Stage 1 is 50 %: the first boot is the current version's, the second the canary's.
    let g1 = pxos_ok(dir.path(), &["boot", "--json"]);
    let g1: serde_json::Value = serde_json::from_str(g1.lines().next().unwrap()).unwrap();
    assert_eq!(
        (g1["version"].as_str(), g1["rollout"]["booted"].as_str()),
        (Some("v1.0"), Some("current"))
    );
    let g2: serde_json::Value = serde_json::from_str(
        pxos_ok(dir.path(), &["boot", "--json"])
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        (g2["version"].as_str(), g2["result"].as_str()),
        (Some("v2.0"), Some("next_stage"))
    );
    assert_eq!(
        current(dir.path()),
        "v1.0",
        "a canary is not current before its last stage"
    );
    // Stage 2 is 100 %: one clean boot promotes it.
    let out = pxos_ok(dir.path(), &["boot"]);
    assert!(out.contains("PROMOTED"), "{out}");
    assert_eq!(current(dir.path()), "v2.0");
    let store = Store::open(dir.path()).unwrap();
    let v2 = store.current().unwrap();
    assert_eq!(v2.parent.as_deref(), Some("v1.0"));
    assert!(
        v2.origin
            .as_deref()
            .unwrap()
            .starts_with("watch build/fast.asm"),
        "{:?}",
        v2.origin
    );
    assert_eq!(store.pipeline().get(1).unwrap().state, State::Promoted);
    assert!(store.pipeline().rollout.is_none());
    assert!(
        store
            .db()
            .events
            .iter()
            .any(|e| e.kind == pxos::store::EventKind::Promoted)
    );
    let status = pxos_ok(dir.path(), &["status"]);
    assert!(
        status.contains("current:  v2.0") && status.contains("promoted"),
        "{status}"
    );
}

#[test]
fn bad_candidates_are_rejected_each_with_its_reason() {
    let dir = store();
    let build = dir.path().join("build");
    drop_file(dir.path(), "a_syntax.asm", b"IMM32 R1, 1\nFROB R2\nHALT\n");
    drop_file(
        dir.path(),
        "b_other_output.asm",
        b"IMM32 R1, 43\nSYSCALL 10\nHALT\n",
    );
    drop_file(dir.path(), "c_loops.asm", b"loop: JMP loop\n");
    drop_file(dir.path(), "d_huge.bin", &vec![1u8; 70_000]);
    std::os::unix::fs::symlink("/etc/hostname", build.join("e_link.bin")).unwrap();
    drop_file(dir.path(), "f_notes.txt", b"just some notes\n");
    drop_file(dir.path(), "g_source.bin", FAST.as_bytes());
    fs::create_dir(build.join("h_folder")).unwrap();
    drop_file(dir.path(), "i_same.asm", SLOW.as_bytes());
    let o = pxos_env(dir.path(), &["watch", "--once"], &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let reason = |name: &str| {
        by_source(dir.path(), &format!("build/{name}"))
            .state
            .to_string()
    };
    let expect = [
        ("a_syntax.asm", "rejected(build/a_syntax.asm:2:1"),
        ("b_other_output.asm", "ab_failed(different output"),
        (
            "c_loops.asm",
            "rejected(its probation boot did not halt: exit=fuel",
        ),
        (
            "d_huge.bin",
            "rejected(kernel is 70,000 bytes; at most 65,536 fit in memory",
        ),
        (
            "e_link.bin",
            "rejected(a symbolic link (links are never followed)",
        ),
        ("f_notes.txt", "rejected(neither *.asm"),
        (
            "g_source.bin",
            "rejected(the bytes are assembly source text",
        ),
        ("h_folder", "rejected(a folder"),
        ("i_same.asm", "duplicate(of v1.0 (id 1))"),
    ];
    for (name, says) in expect {
        assert!(reason(name).starts_with(says), "{name}: {}", reason(name));
    }
    assert_eq!(candidates(dir.path()).len(), expect.len());
    assert_eq!(
        fs::read_dir(&build).unwrap().count(),
        0,
        "everything was taken, once"
    );
    assert!(
        fs::read_link(
            dir.path()
                .join("candidates")
                .join(by_source(dir.path(), "build/e_link.bin").taken.unwrap())
        )
        .is_ok(),
        "the link was moved, not followed"
    );
    assert_eq!(current(dir.path()), "v1.0");
    // A second pass takes nothing again.
    pxos_ok(dir.path(), &["watch", "--once"]);
    assert_eq!(candidates(dir.path()).len(), expect.len());
}

/// A kernel that prints 42 on its first boot in a store and hangs on every later one: it
/// remembers, in its guest file `file_7`, that it has booted.
const SECOND_BOOT_HANGS: &str = "IMM32 R1, 7\nIMM32 R2, 0\nSYSCALL 20\nJNZ R0, spin\nIMM32 R1, 7\nIMM32 R2, 2\nSYSCALL 20\nIMM32 R1, 42\nSYSCALL 10\nHALT\nspin: JMP spin\n";

#[test]
fn a_canary_that_fails_in_stage_2_is_reverted() {
    let dir = store();
    drop_file(dir.path(), "flaky.asm", SECOND_BOOT_HANGS.as_bytes());
    pxos_ok(dir.path(), &["watch", "--once"]);
    assert_eq!(
        by_source(dir.path(), "build/flaky.asm").state,
        State::Canary { stage: 1 }
    );
    pxos_ok(dir.path(), &["boot", "--fuel", "100000"]); // current
    let out = pxos_ok(dir.path(), &["boot", "--fuel", "100000"]); // canary, clean
    assert!(out.contains("now in stage 2"), "{out}");
    let out = pxos_ok(dir.path(), &["boot", "--fuel", "100000"]); // canary, hangs
    assert!(
        out.contains("canary FAILED") && out.contains("REVERTED"),
        "{out}"
    );
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(
        store.current().unwrap().version,
        "v1.0",
        "the current version is untouched"
    );
    let v2 = store.get("v2.0").unwrap();
    assert_eq!(v2.status, pxos::store::Status::Bad);
    let c = store.pipeline().get(1).unwrap();
    assert!(
        matches!(&c.state, State::Reverted { reason } if reason.contains("stage 2") && reason.contains("exit=fuel")),
        "{:?}",
        c.state
    );
    assert!(store.pipeline().rollout.is_none());
    // The next boot is the current version's again.
    let out = pxos_ok(dir.path(), &["boot", "--fuel", "100000"]);
    assert!(
        out.contains("v1.0 (id 1, good)") && !out.contains("rollout"),
        "{out}"
    );
}

#[test]
fn files_a_booted_kernel_creates_live_in_guest_not_beside_versions_json() {
    let dir = tempfile::tempdir().unwrap();
    let creates = "IMM32 R1, 7\nIMM32 R2, 2\nSYSCALL 20\nHALT\n";
    open(dir.path())
        .register("v1.0", &asm(creates), None, "register")
        .unwrap();
    pxos_ok(dir.path(), &["boot"]);
    assert!(dir.path().join("guest/file_7").is_file());
    assert!(!dir.path().join("file_7").exists());
}

#[test]
fn a_canary_whose_kernel_is_lost_is_reverted_not_retried_forever() {
    let dir = store();
    pxos_ok(dir.path(), &["policy", "set", "rollout.stages", "100"]);
    drop_file(dir.path(), "fast.asm", FAST.as_bytes());
    pxos_ok(dir.path(), &["watch", "--once"]);
    fs::remove_file(dir.path().join("kernels/kernel_v2.0.bin")).unwrap();
    let out = pxos_ok(dir.path(), &["boot"]);
    assert!(
        out.contains("canary FAILED: its kernel cannot be read"),
        "{out}"
    );
    let out = pxos_ok(dir.path(), &["boot"]);
    assert!(
        out.contains("v1.0 (id 1") && !out.contains("canary"),
        "{out}"
    );
}

#[test]
fn a_rollout_whose_canary_left_the_history_is_ended_on_load() {
    let dir = store();
    pxos_ok(dir.path(), &["policy", "set", "rollout.stages", "100"]);
    drop_file(dir.path(), "fast.asm", FAST.as_bytes());
    pxos_ok(dir.path(), &["watch", "--once"]);
    let path = dir.path().join("versions.json");
    let mut db: serde_json::Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    db["history"]
        .as_array_mut()
        .unwrap()
        .retain(|e| e["id"] != 2);
    fs::write(&path, serde_json::to_vec(&db).unwrap()).unwrap();
    let o = pxos_env(dir.path(), &["boot"], &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(
            "the rollout of candidate 1 was ended: its canary, version id 2, is not in the history"
        ),
        "{}",
        stderr(&o)
    );
    assert!(matches!(
        by_source(dir.path(), "build/fast.asm").state,
        State::Reverted { .. }
    ));
}

#[test]
fn a_version_made_current_during_a_rollout_abandons_it() {
    let dir = store();
    drop_file(dir.path(), "fast.asm", FAST.as_bytes());
    pxos_ok(dir.path(), &["watch", "--once"]);
    open(dir.path())
        .register(
            "v3.0",
            &asm("IMM32 R1, 42\nSYSCALL 10\nNOP\nHALT\n"),
            None,
            "register",
        )
        .unwrap();
    for _ in 0..3 {
        let out = pxos_ok(dir.path(), &["boot"]);
        assert!(!out.contains("canary"), "{out}");
    }
    assert_eq!(
        current(dir.path()),
        "v3.0",
        "never replaced by a canary tested against v1.0"
    );
    let c = by_source(dir.path(), "build/fast.asm");
    assert!(
        matches!(&c.state, State::Reverted { reason } if reason.contains("changed from v1.0 (id 1) to v3.0 (id 3)")),
        "{:?}",
        c.state
    );
    assert_eq!(
        Store::open(dir.path()).unwrap().get("v2.0").unwrap().status,
        pxos::store::Status::Probation,
        "not judged"
    );
}

#[test]
fn the_pipeline_never_writes_through_a_linked_folder() {
    let dir = store();
    let outside = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(outside.path(), dir.path().join("candidates")).unwrap();
    drop_file(dir.path(), "fast.asm", FAST.as_bytes());
    let o = pxos_env(dir.path(), &["watch", "--once"], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("candidates"), "{}", stderr(&o));
    assert_eq!(fs::read_dir(outside.path()).unwrap().count(), 0);
    assert!(
        dir.path().join("build/fast.asm").exists(),
        "nothing was taken"
    );
    fs::remove_file(dir.path().join("candidates")).unwrap();
    std::os::unix::fs::symlink(outside.path(), dir.path().join("wl")).unwrap();
    pxos_ok(dir.path(), &["policy", "set", "workload", "wl/x"]);
    let o = pxos_env(dir.path(), &["watch", "--once"], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("wl: is a symbolic link; links are never followed"),
        "{}",
        stderr(&o)
    );
    let c = by_source(dir.path(), "build/fast.asm");
    assert!(
        matches!(c.state, State::AbTesting | State::Validating),
        "the A/B test refused the linked workload: {}",
        c.state
    );
}

#[test]
fn a_claimed_file_a_crash_left_is_recorded_before_a_self_modify_candidate() {
    let dir = store();
    let k = "IMM32 R1, 301\nSYSCALL 99\nHALT\n";
    open(dir.path())
        .register("v1.1", &asm(k), None, "register")
        .unwrap();
    pxos_ok(dir.path(), &["policy", "set", "self_modify", "pipeline"]);
    fs::create_dir_all(dir.path().join("candidates")).unwrap();
    fs::write(dir.path().join("candidates/c1-mine.asm"), FAST).unwrap(); // claimed, not recorded
    fs::write(
        dir.path().join("build/kernel_v2.bin"),
        asm("IMM32 R1, 42\nSYSCALL 10\nNOP\nHALT\n"),
    )
    .unwrap();
    pxos_ok(dir.path(), &["boot"]);
    let all = candidates(dir.path());
    assert_eq!(
        all.iter()
            .map(|c| (c.id, c.source.as_str()))
            .collect::<Vec<_>>()[0],
        (1, "build/mine.asm")
    );
    assert_eq!(all[1].id, 2);
    assert_eq!(all[1].origin, pxos::store::candidates::Origin::SelfModify);
}

#[test]
fn bytes_that_already_failed_are_a_duplicate_not_tested_again() {
    let dir = store();
    drop_file(dir.path(), "loops.asm", b"loop: JMP loop\n");
    pxos_ok(dir.path(), &["watch", "--once"]);
    drop_file(dir.path(), "loops-again.asm", b"loop: JMP loop\n");
    pxos_ok(dir.path(), &["watch", "--once"]);
    assert_eq!(
        by_source(dir.path(), "build/loops-again.asm").state,
        State::Duplicate {
            of: "candidate 1, which was rejected".into()
        }
    );
}

#[test]
fn names_that_are_not_utf8_are_taken_and_shown_escaped() {
    use std::os::unix::ffi::OsStrExt;
    let dir = store();
    let name = std::ffi::OsStr::from_bytes(b"bad\xff\nname.asm");
    fs::write(dir.path().join("build").join(name), FAST).unwrap();
    let out = pxos_ok(dir.path(), &["watch", "--once"]);
    assert!(
        out.contains("from build/bad\u{fffd}\\nname.asm (watch)"),
        "{out}"
    );
    assert_eq!(fs::read_dir(dir.path().join("build")).unwrap().count(), 0);
}

#[test]
fn a_service_wakes_for_a_policy_change() {
    let dir = store();
    pxos_ok(
        dir.path(),
        &["policy", "set", "windows", "sun 00:00-00:01 UTC"],
    );
    let mut service = Service::start(dir.path(), &[]);
    drop_file(dir.path(), "fast.asm", FAST.as_bytes());
    service.wait_for("candidate 1: ready");
    pxos_ok(dir.path(), &["policy", "set", "windows", "always"]);
    service.wait_for("candidate 1: canary(stage 1)");
    assert!(service.stop().success());
}

#[test]
fn outside_a_window_a_candidate_waits_inside_it_proceeds() {
    let dir = store();
    pxos_ok(
        dir.path(),
        &["policy", "set", "windows", "daily 02:00-04:00 UTC"],
    );
    drop_file(dir.path(), "fast.asm", FAST.as_bytes());
    let late = [("PXOS_NOW", "2026-12-01T05:00:00Z")];
    let o = pxos_env(dir.path(), &["watch", "--once"], &late);
    assert!(
        stdout(&o).contains("waiting for the next evolution window at 2026-12-02T02:00:00Z"),
        "{}",
        stdout(&o)
    );
    assert_eq!(by_source(dir.path(), "build/fast.asm").state, State::Ready);
    let status = stdout(&pxos_env(dir.path(), &["status"], &late));
    assert!(
        status.contains("closed; next opens 2026-12-02T02:00:00Z"),
        "{status}"
    );
    pxos_env(
        dir.path(),
        &["watch", "--once"],
        &[("PXOS_NOW", "2026-12-02T03:00:00Z")],
    );
    assert_eq!(
        by_source(dir.path(), "build/fast.asm").state,
        State::Canary { stage: 1 }
    );
}

#[test]
fn background_evolution_finds_a_faster_kernel_that_goes_through_ab_and_the_rollout() {
    let dir = tempfile::tempdir().unwrap();
    let naive = super::store_util::kernel("evolve/naive_mul.asm");
    open(dir.path())
        .register("v1.0", &naive, None, "register")
        .unwrap();
    fs::create_dir_all(dir.path().join("workload/plain")).unwrap();
    for (k, v) in [
        ("rollout.stages", "100"),
        ("rollout.boots_per_stage", "1"),
        ("evolve.goal", "faster"),
        ("evolve.generations", "60"),
        ("evolve.population", "60"),
        ("evolve.seed", "1"),
    ] {
        pxos_ok(dir.path(), &["policy", "set", k, v]);
    }
    let out = pxos_ok(dir.path(), &["watch", "--once"]);
    assert!(
        out.contains("evolution from v1.0 (id 1) finished: submitted candidate 1"),
        "{out}"
    );
    let c = Store::open(dir.path())
        .unwrap()
        .pipeline()
        .get(1)
        .cloned()
        .unwrap();
    assert_eq!(c.origin, pxos::store::candidates::Origin::Evolve);
    assert_eq!(
        c.state,
        State::Canary { stage: 1 },
        "it passed its A/B test"
    );
    assert!(c.history.iter().any(|s| s.state == "ab_testing"));
    assert_eq!(
        current(dir.path()),
        "v1.0",
        "not current before the rollout"
    );
    let out = pxos_ok(dir.path(), &["boot"]);
    assert!(out.contains("PROMOTED"), "{out}");
    let store = Store::open(dir.path()).unwrap();
    let now = store.current().unwrap();
    assert_eq!(now.version, "v2.0");
    assert!(
        now.origin.as_deref().unwrap().starts_with("evolve"),
        "{:?}",
        now.origin
    );
    let report: serde_json::Value = serde_json::from_slice(
        &fs::read(store.candidates_dir().join(c.ab_report.unwrap())).unwrap(),
    )
    .unwrap();
    assert_eq!(report["verdict"], "better", "{report}");
    assert!(report["total_cycles_b"].as_u64() < report["total_cycles_a"].as_u64());
    // A version is evolved from once; the new current one starts a new run.
    assert!(store.pipeline().evolution.done_from.contains(&1));
}

/// A store evolving naive_mul in the background with `generations` per run.
fn evolving_store(generations: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let naive = super::store_util::kernel("evolve/naive_mul.asm");
    open(dir.path())
        .register("v1.0", &naive, None, "register")
        .unwrap();
    for (k, v) in [
        ("evolve.goal", "faster"),
        ("evolve.generations", generations),
        ("evolve.population", "30"),
        ("evolve.seed", "7"),
    ] {
        pxos_ok(dir.path(), &["policy", "set", k, v]);
    }
    dir
}

#[test]
fn background_evolution_killed_mid_run_resumes_from_its_checkpoint() {
    let dir = evolving_store("200");
    let mut service = Service::start(dir.path(), &[]);
    let seen = service.wait_for("evolution from v1.0 (id 1): generation");
    let line = seen.last().unwrap().clone();
    service.child.kill().unwrap(); // SIGKILL, mid-run
    service.child.wait().unwrap();
    let at: u64 = line
        .split("generation ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(at < 200, "{line}");
    let saved: serde_json::Value =
        serde_json::from_slice(&fs::read(dir.path().join("evolve/checkpoint.json")).unwrap())
            .unwrap();
    assert!(saved["state"]["generation"].as_u64().unwrap() >= at);
    let out = pxos_ok(dir.path(), &["watch", "--once"]);
    let first = out.lines().find(|l| l.contains("evolution from")).unwrap();
    assert!(
        !first.contains("generation 1 of"),
        "it resumed rather than restarting: {first}"
    );
    assert!(out.contains("finished"), "{out}");
    assert!(!dir.path().join("evolve/checkpoint.json").exists());
    // The interrupted run ends exactly where an uninterrupted one does.
    let whole = evolving_store("200");
    pxos_ok(whole.path(), &["watch", "--once"]);
    let sha = |d: &Path| {
        Store::open(d)
            .unwrap()
            .pipeline()
            .candidates
            .first()
            .map(|c| c.sha256.clone())
    };
    assert_eq!(sha(dir.path()), sha(whole.path()));
}

#[test]
fn polling_takes_files_too() {
    let dir = store();
    let mut service = Service::start(dir.path(), &["--poll", "50"]);
    drop_file(dir.path(), "fast.asm", FAST.as_bytes());
    service.wait_for("candidate 1: canary(stage 1)");
    assert!(service.stop().success());
}

#[test]
fn self_modify_routed_through_the_pipeline_becomes_a_candidate() {
    let dir = store();
    let k = "IMM32 R1, 301\nSYSCALL 99\nHALT\n";
    open(dir.path())
        .register("v1.1", &asm(k), None, "register")
        .unwrap();
    pxos_ok(dir.path(), &["policy", "set", "self_modify", "pipeline"]);
    fs::create_dir_all(dir.path().join("build")).unwrap();
    fs::write(dir.path().join("build/kernel_v2.bin"), asm(FAST)).unwrap();
    let out = pxos_ok(dir.path(), &["boot"]);
    assert!(
        out.contains("its SELF_MODIFY request is candidate 1 of the pipeline (queued)"),
        "{out}"
    );
    // The cycle's summary says the same, not that no replacement was asked for.
    assert!(
        out.contains("stopped because the kernel's SELF_MODIFY request went to the pipeline"),
        "{out}"
    );
    assert_eq!(current(dir.path()), "v1.1", "nothing is installed directly");
    let c = Store::open(dir.path())
        .unwrap()
        .pipeline()
        .get(1)
        .cloned()
        .unwrap();
    assert_eq!(c.origin, pxos::store::candidates::Origin::SelfModify);
    // The file the kernel read is still in build/: the service records it as a duplicate
    // of the candidate, so one kernel never becomes two.
    pxos_ok(dir.path(), &["watch", "--once"]);
    assert_eq!(
        by_source(dir.path(), "build/kernel_v2.bin").state,
        State::Duplicate {
            of: "candidate 1".into()
        }
    );
}

#[test]
fn a_file_still_open_for_writing_is_not_taken() {
    let dir = store();
    let mut writer = fs::File::create(dir.path().join("build/growing.asm")).unwrap();
    std::io::Write::write_all(&mut writer, b"IMM32 R1, 42\n").unwrap();
    let o = pxos_env(dir.path(), &["watch", "--once"], &[]);
    assert!(
        stdout(&o).contains("build/growing.asm: not taken yet (open for writing)"),
        "{}",
        stdout(&o)
    );
    assert!(candidates(dir.path()).is_empty());
    std::io::Write::write_all(&mut writer, b"SYSCALL 10\nHALT\n").unwrap();
    drop(writer);
    pxos_ok(dir.path(), &["watch", "--once"]);
    assert_eq!(
        by_source(dir.path(), "build/growing.asm").state,
        State::Canary { stage: 1 }
    );
}

/// CPU time (user + system, in clock ticks of 10 ms) the process `pid` has used.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap()
        .split_whitespace()
        .collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

#[test]
fn an_idle_service_sleeps() {
    let dir = store();
    let mut service = Service::start(dir.path(), &[]);
    // Its own scans of build/ must not wake it again: a file taken, then a second of quiet.
    drop_file(dir.path(), "fast.asm", FAST.as_bytes());
    service.wait_for("canary(stage 1)");
    let before = cpu_ticks(service.child.id());
    std::thread::sleep(Duration::from_millis(1500));
    let used = cpu_ticks(service.child.id()) - before;
    assert!(
        used <= 5,
        "an idle service used {used} ticks of CPU in 1.5 s"
    );
    assert!(service.stop().success());
}

#[test]
fn a_second_service_on_one_store_refuses_with_a_message() {
    let dir = store();
    let first = Service::start(dir.path(), &[]);
    let o = pxos_env(dir.path(), &["watch", "--once"], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("pxos: another `pxos watch` is already running on"),
        "{}",
        stderr(&o)
    );
    assert!(first.stop().success());
    pxos_ok(dir.path(), &["watch", "--once"]);
}

#[test]
fn ab_compares_two_kernels_over_a_workload() {
    let dir = tempfile::tempdir().unwrap();
    let w = dir.path().join("workload");
    fs::create_dir_all(w.join("one/files")).unwrap();
    fs::write(
        w.join("one/scenario.json"),
        r#"{"fuel": 5000, "expect": ["42"]}"#,
    )
    .unwrap();
    fs::create_dir_all(w.join("two")).unwrap();
    let (a, b) = (dir.path().join("slow.asm"), dir.path().join("fast.asm"));
    fs::write(&a, SLOW).unwrap();
    fs::write(&b, FAST).unwrap();
    let png = dir.path().join("ab.png");
    let o = super::cli_util::pxos(&[
        "ab",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--workload",
        w.to_str().unwrap(),
        "--json",
        "--png",
        png.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let r: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(r["verdict"], "better");
    assert_eq!(r["scenarios"].as_array().unwrap().len(), 2);
    assert_eq!(r["scenarios"][0]["b_meets_expect"], true);
    assert_eq!(
        r["scenarios"][0]["memory_equal"], false,
        "the loop counter differs"
    );
    let pic = fs::read(&png).unwrap();
    assert_eq!(&pic[1..4], b"PNG");
    // The other way round it is worse, and the exit status says it does not pass.
    let o = super::cli_util::pxos(&["ab", b.to_str().unwrap(), a.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("verdict: worse"), "{}", stdout(&o));
}

/// A workload scenario's `files/` holding a symbolic link, a FIFO or a folder named like a
/// guest file is refused, naming the entry, not run without it (the guest would find no
/// file, and the verdict could pass on a run the user did not ask for); the link's target
/// is not read.
#[test]
fn a_workload_file_that_is_a_link_or_fifo_is_refused_not_left_out() {
    let dir = tempfile::tempdir().unwrap();
    let kernel = dir.path().join("k.asm");
    fs::write(&kernel, FAST).unwrap();
    let secret = dir.path().join("secret.txt");
    fs::write(&secret, "outside").unwrap();
    for name in ["link", "fifo"] {
        let w = dir.path().join(format!("wl-{name}"));
        fs::create_dir_all(w.join("s1/files")).unwrap();
        fs::write(w.join("s1/files/file_4"), "kept").unwrap();
        let bad = w.join("s1/files/file_5");
        if name == "link" {
            std::os::unix::fs::symlink("../../../secret.txt", &bad).unwrap();
        } else {
            super::cli_util::mkfifo(&bad);
        }
        let o = super::cli_util::pxos(&[
            "ab",
            kernel.to_str().unwrap(),
            kernel.to_str().unwrap(),
            "--workload",
            w.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(2), "{name}: {}", stdout(&o));
        let err = stderr(&o);
        assert!(err.starts_with("pxos: "), "{name}: {err}");
        assert!(err.contains("file_5"), "{name}: {err}");
        let kind = if name == "link" {
            "a symbolic link"
        } else {
            "a FIFO"
        };
        assert!(err.contains(kind), "{name}: {err}");
    }
}

/// A version on probation that fails with no good version to fall back on leaves the store
/// without a current version: the boot's summary says so (not "rolled back"), and the next
/// boot's refusal names the way back (`switch --force`), which works.
#[test]
fn a_failed_only_version_is_reported_with_the_way_back() {
    let dir = tempfile::tempdir().unwrap();
    open(dir.path())
        .register("v1.0", &asm(SLOW), None, "register")
        .unwrap();
    let out = pxos_ok(dir.path(), &["boot", "--fuel", "1"]);
    assert!(out.contains("FAILED on probation"), "{out}");
    assert!(
        out.contains("no good version was left to roll back to")
            && out.contains("pxos switch --force NAME"),
        "{out}"
    );
    let o = pxos_env(dir.path(), &["boot"], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("pxos switch --force NAME"),
        "{}",
        stderr(&o)
    );
    pxos_ok(dir.path(), &["switch", "--force", "v1.0"]);
    let out = pxos_ok(dir.path(), &["boot"]);
    assert!(out.contains("current version: v1.0"), "{out}");
}

/// `pxos ab NAME` with NAME both a file in the current folder and a version of the store
/// is refused (it silently took the file); `./NAME` takes the file, and the version is
/// taken when no such file exists.
#[test]
fn ab_refuses_a_name_that_is_both_a_file_and_a_version() {
    let dir = store();
    fs::write(dir.path().join("v1.0"), asm(FAST)).unwrap();
    let run = |a: &str| {
        Command::new(env!("CARGO_BIN_EXE_pxos"))
            .args(["ab", a, "v1.0", "--fs", "."])
            .current_dir(dir.path())
            .output()
            .unwrap()
    };
    let o = run("v1.0");
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("v1.0 is both a file here and a version of"),
        "{}",
        stderr(&o)
    );
    let o = Command::new(env!("CARGO_BIN_EXE_pxos"))
        .args(["ab", "./v1.0", "./v1.0", "--fs", "."])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("A = ./v1.0"), "{}", stdout(&o));
    fs::remove_file(dir.path().join("v1.0")).unwrap();
    let o = run("v1.0");
    assert!(o.status.code() != Some(2), "{}", stderr(&o));
    assert!(stdout(&o).contains("A = v1.0 (id 1)"), "{}", stdout(&o));
}

#[test]
fn policy_keys_show_the_bounds_that_set_enforces() {
    let dir = tempfile::tempdir().unwrap();
    open(dir.path())
        .register(
            "v1.0",
            &super::store_util::kernel("kernel_v1.asm"),
            None,
            "register",
        )
        .unwrap();
    let keys = pxos_ok(dir.path(), &["policy", "keys"]);
    for (key, lo, hi) in pxos::lifecycle::pipeline::BOUNDS {
        let line = keys
            .lines()
            .find(|l| l.split_whitespace().next() == Some(*key))
            .unwrap_or_else(|| panic!("{key} listed: {keys}"));
        assert!(line.ends_with(&format!("({lo} ..= {hi})")), "{line}");
        for bad in [lo - 1, hi + 1] {
            let o = pxos_env(dir.path(), &["policy", "set", key, &bad.to_string()], &[]);
            assert_eq!(o.status.code(), Some(2), "{key} {bad}");
            assert!(
                stderr(&o).contains(&format!("must be {lo} ..= {hi}")),
                "{}",
                stderr(&o)
            );
        }
        pxos_ok(dir.path(), &["policy", "set", key, &hi.to_string()]);
    }
    assert!(!keys.contains("(1 ..)"), "{keys}");
}

#[test]
fn a_build_that_is_not_a_folder_is_named_for_what_it_is() {
    let dir = tempfile::tempdir().unwrap();
    open(dir.path())
        .register(
            "v1.0",
            &super::store_util::kernel("kernel_v1.asm"),
            None,
            "register",
        )
        .unwrap();
    let build = dir.path().join("build");
    let target = dir.path().join("elsewhere");
    fs::create_dir(&target).unwrap();
    for (make, what) in [
        (0, "is a regular file, not a folder"),
        (1, "is a FIFO (named pipe), not a folder"),
        (
            2,
            "is a symbolic link, not a folder (links are never followed)",
        ),
    ] {
        let _ = fs::remove_dir_all(&build);
        let _ = fs::remove_file(&build);
        match make {
            0 => fs::write(&build, b"x").unwrap(),
            1 => super::cli_util::mkfifo(&build),
            _ => std::os::unix::fs::symlink(&target, &build).unwrap(),
        }
        let o = pxos_env(dir.path(), &["watch", "--once"], &[]);
        assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
        let err = stderr(&o);
        assert!(
            err.starts_with("pxos: ") && err.contains(&format!("{} {what}", build.display())),
            "{err}"
        );
        if make != 2 {
            assert!(!err.contains("follow"), "{err}");
        }
    }
}

#[test]
fn a_damaged_background_checkpoint_is_reported_and_kept_aside() {
    // Garbage in a regular file: a warning naming it, the file kept aside, a fresh run.
    let dir = evolving_store("2");
    let evolve = dir.path().join("evolve");
    fs::create_dir(&evolve).unwrap();
    let ck = evolve.join("checkpoint.json");
    fs::write(&ck, b"not json").unwrap();
    let o = pxos_env(dir.path(), &["watch", "--once"], &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("finished"), "{}", stdout(&o));
    let aside = evolve.join("checkpoint.json.damaged-1");
    let err = stderr(&o);
    assert!(
        err.contains(&format!(
            "pxos: warning: {} is not a checkpoint",
            ck.display()
        )) && err.contains(&format!("kept as {}", aside.display())),
        "{err}"
    );
    assert_eq!(fs::read(&aside).unwrap(), b"not json");

    // A symbolic link and a FIFO: removed (never followed or opened), with a warning.
    for fifo in [false, true] {
        let dir = evolving_store("2");
        let evolve = dir.path().join("evolve");
        fs::create_dir(&evolve).unwrap();
        let ck = evolve.join("checkpoint.json");
        let outside = dir.path().join("outside.json");
        fs::write(&outside, b"keep").unwrap();
        if fifo {
            super::cli_util::mkfifo(&ck);
        } else {
            std::os::unix::fs::symlink(&outside, &ck).unwrap();
        }
        let o = pxos_env(dir.path(), &["watch", "--once"], &[]);
        assert!(o.status.success(), "{}", stderr(&o));
        let kind = if fifo {
            "a FIFO (named pipe)"
        } else {
            "a symbolic link"
        };
        assert!(
            stderr(&o).contains(&format!(
                "pxos: warning: {} was {kind}, not a checkpoint file; it was removed",
                ck.display()
            )),
            "{}",
            stderr(&o)
        );
        assert_eq!(fs::read(&outside).unwrap(), b"keep");
    }
}
