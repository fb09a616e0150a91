//! `pxos demo` end to end: the seed's stages with the right sizes and cycles, in order, two
//! PNGs, and a second run that boots the v2.0 already installed instead of registering the
//! same kernel again.

use super::cli_util::{stderr, stdout};
use std::process::Command;

fn demo(dir: &std::path::Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_pxos"))
        .args(["demo", "--engine", "interp"])
        .current_dir(dir)
        .output()
        .expect("run pxos demo")
}

fn decode_png(path: &std::path::Path) -> (u32, u32) {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let reader = decoder.read_info().unwrap();
    (reader.info().width, reader.info().height)
}

#[test]
fn the_demo_reproduces_the_seed_and_can_run_twice() {
    let dir = tempfile::tempdir().unwrap();
    let o = demo(dir.path());
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    for needle in [
        "[1] Initializing persistent filesystem...",
        "Kernel v1.0: 73 bytes (original)",
        "Kernel v2.0: 65 bytes (evolved)",
        "--- Kernel v1.0 execution complete (16 cycles) ---",
        "[4] SELF-MODIFICATION REQUESTED!",
        "✓ Verified: New kernel is v2.0 (evolved version)",
        "--- Kernel v2.0 execution begins (EVOLVED) ---",
        "--- Kernel v2.0 execution complete (14 cycles) ---",
        "✓ Rendered ./evolution_v1.png (original kernel)",
        "✓ Rendered ./evolution_v2.png (evolved kernel)",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
    let mut at = 0;
    for step in [
        "[1] Initializing",
        "[2] Compiling",
        "[3] Booting kernel v1.0",
        "--- Kernel v1.0 execution begins ---",
        "[4] SELF-MODIFICATION REQUESTED!",
        "[5] Replacing the kernel atomically and rebooting...",
        "--- Kernel v2.0 execution begins (EVOLVED) ---",
        "[6] Comparing kernel outputs...",
    ] {
        let found = text[at..].find(step).map(|i| i + at);
        at = found.unwrap_or_else(|| panic!("{step:?} missing or out of order in:\n{text}"));
    }
    assert_eq!(
        std::fs::read_to_string(dir.path().join("pxos_fs/build/kernel_v2.asm")).unwrap(),
        include_str!("../../kernels/kernel_v2.asm"),
        "the seed's layout: the source beside build/kernel_v2.bin"
    );
    for name in ["evolution_v1.png", "evolution_v2.png"] {
        assert_eq!(decode_png(&dir.path().join(name)), (800, 600), "{name}");
    }
    let db = || -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(dir.path().join("pxos_fs/versions.json")).unwrap())
            .unwrap()
    };
    let first = db();
    assert_eq!(first["current"], "v2.0");
    assert_eq!(first["history"][1]["parent"], "v1.0");
    assert!(
        dir.path()
            .join("pxos_fs/kernels/kernel_v1.0_backup.bin")
            .is_file()
    );

    let o = demo(dir.path());
    assert!(o.status.success(), "second run: {}", stderr(&o));
    let text = stdout(&o);
    for needle in [
        "--- Kernel v1.0 execution complete (16 cycles) ---",
        "✓ Verified: New kernel is v2.0 (evolved version)",
        "the store already holds these bytes as v2.0 (id 2)",
        "--- Kernel v2.0 execution begins (EVOLVED) ---",
        "v2.0 booted cleanly and is now good; current version: v2.0",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
    assert!(
        !text.contains("v2.1"),
        "no copy of v2.0 is registered:\n{text}"
    );
    let second = db();
    let history = second["history"].as_array().unwrap();
    assert_eq!(
        history,
        first["history"].as_array().unwrap(),
        "the same two versions"
    );
    assert_eq!(second["current"], "v2.0");
}

#[test]
fn a_bad_picture_folder_is_refused_before_the_store_changes() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("afile"), b"x").unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_pxos"))
        .args(["demo", "--engine", "interp", "--out", "afile"])
        .current_dir(dir.path())
        .output()
        .expect("run pxos demo");
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).starts_with("pxos: "), "{}", stderr(&o));
    assert!(
        !dir.path().join("pxos_fs").exists(),
        "the store is untouched"
    );
}

#[test]
fn every_output_is_checked_before_the_store_changes() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_pxos"))
            .args(["demo", "--engine", "interp"])
            .args(args)
            .current_dir(dir.path())
            .output()
            .expect("run pxos demo")
    };
    let untouched = |o: &std::process::Output| {
        assert_eq!(o.status.code(), Some(2), "{}", stderr(o));
        assert!(stderr(o).starts_with("pxos: "), "{}", stderr(o));
        assert!(
            !dir.path().join("pxos_fs").exists(),
            "the store is untouched"
        );
        assert!(!dir.path().join("evolution_v1.png").exists(), "no picture");
    };
    // A picture that cannot be written: refused before step 1.
    std::fs::create_dir(dir.path().join("evolution_v2.png")).unwrap();
    let o = run(&[]);
    untouched(&o);
    assert!(
        stderr(&o).contains("evolution_v2.png: it is a folder"),
        "{}",
        stderr(&o)
    );
    assert!(!stdout(&o).contains("[1]"), "{}", stdout(&o));
    std::fs::remove_dir(dir.path().join("evolution_v2.png")).unwrap();
    // --fs naming a file, and --out in a folder that does not exist.
    std::fs::write(dir.path().join("afile"), b"x").unwrap();
    let o = run(&["--fs", "afile"]);
    untouched(&o);
    assert_eq!(
        stderr(&o),
        "pxos: --fs afile is a regular file, not a folder\n"
    );
    let o = run(&["--out", "no/such"]);
    untouched(&o);
    assert_eq!(
        stderr(&o),
        "pxos: --out no/such: the folder no does not exist\n"
    );
    assert!(!dir.path().join("no").exists(), "no parent is created");
}
