//! `pxos demo` end to end: the seed's stages with the right sizes and cycles, two PNGs, and
//! a second run that adds to the history instead of failing or losing it.

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
    assert!(dir
        .path()
        .join("pxos_fs/kernels/kernel_v1.0_backup.bin")
        .is_file());

    let o = demo(dir.path());
    assert!(o.status.success(), "second run: {}", stderr(&o));
    let second = db();
    let history = second["history"].as_array().unwrap();
    assert_eq!(history.len(), 3, "the second run adds one evolved version");
    assert_eq!(
        history[0], first["history"][0],
        "the first run's history is kept"
    );
    assert_eq!(history[1]["version"], "v2.0");
    assert_eq!(history[2]["parent"], "v1.0");
}
