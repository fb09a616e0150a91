//! Data-driven kernel tests: every `kernels/**/*.asm` has a `.expected.json` beside it
//! giving the exit, cycles, pc, output lines (and optionally registers and fuel); each is
//! assembled and run on every engine through `check`.

use pxos::check::difftest::Scenario;
use pxos::check::difftest::check;
use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expected {
    exit: pxvm::Exit,
    cycles: u64,
    pc: u32,
    sysout: Vec<String>,
    #[serde(default)]
    regs: Option<[i32; 8]>,
    #[serde(default)]
    size: Option<usize>,
    #[serde(default = "default_fuel")]
    fuel: u64,
}

fn default_fuel() -> u64 {
    10_000_000
}

fn kernels(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            kernels(&path, out);
        } else if path.extension().is_some_and(|e| e == "asm") {
            out.push(path);
        }
    }
}

#[test]
fn every_kernel_matches_its_expected_run() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("kernels");
    let mut paths = Vec::new();
    kernels(&root, &mut paths);
    paths.sort();
    assert!(paths.len() >= 6, "kernels/ lost its kernels: {paths:?}");
    for path in paths {
        let expected_path = path.with_extension("expected.json");
        let text = std::fs::read_to_string(&expected_path).unwrap_or_else(|e| {
            panic!("{} has no {}: {e}", path.display(), expected_path.display())
        });
        let expected: Expected = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{}: {e}", expected_path.display()));
        let bytes = pxos::runtime::kernel::load(&path).unwrap_or_else(|e| panic!("{e}"));
        if let Some(size) = expected.size {
            assert_eq!(bytes.len(), size, "{}: size", path.display());
        }
        let o = check(&Scenario::new(bytes, expected.fuel));
        let r = &o.report;
        let name = path.display();
        assert_eq!(r.exit, expected.exit, "{name}: exit");
        assert_eq!(r.cycles, expected.cycles, "{name}: cycles");
        assert_eq!(r.pc, expected.pc, "{name}: pc");
        assert_eq!(r.sysout, expected.sysout, "{name}: output");
        if let Some(regs) = expected.regs {
            assert_eq!(r.regs, regs, "{name}: registers");
        }
    }
}
