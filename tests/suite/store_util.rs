//! Helpers for the version-store tests: store folders, their bytes, the `pxos` binary on
//! a store, and [`boot_everywhere`], which runs a boot cycle on every engine (each on its
//! own copy of the store) and fails the test if the engines disagree on any generation.

use pxos::lifecycle::boot::{BootOptions, BootSummary, Generation, boot};
use pxos::runtime::engines::EngineKind;
use pxos::store::Store;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Assemble `source`.
pub fn asm(source: &str) -> Vec<u8> {
    pxvm::asm::assemble(source, "test.asm").unwrap_or_else(|e| panic!("{e}"))
}

/// A kernel from `kernels/`.
pub fn kernel(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("kernels")
        .join(name);
    pxos::runtime::kernel::load(&path).unwrap_or_else(|e| panic!("{e}"))
}

/// Open (creating if needed) the store at `dir` for changes.
pub fn open(dir: &Path) -> Store {
    Store::open_mut(dir, true, &mut |p| {
        panic!("store lock {} is busy", p.display())
    })
    .unwrap_or_else(|e| panic!("{e}"))
}

/// Every file under `dir` with its bytes (folders as empty entries ending in `/`), to
/// compare a store before and after an operation.
pub fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries {
            let path = e.unwrap().path();
            let rel = path.strip_prefix(root).unwrap().display().to_string();
            if path.is_dir() {
                out.insert(format!("{rel}/"), Vec::new());
                walk(root, &path, out);
            } else {
                out.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

pub use super::cli_util::{pxos, stderr, stdout};

/// A path as a `&str` argument.
pub fn arg(p: &Path) -> &str {
    p.to_str().expect("UTF-8 temporary path")
}

/// What a boot cycle left: its generations, its summary and the store folder (kept alive).
#[derive(Debug)]
pub struct Booted {
    pub generations: Vec<Generation>,
    pub summary: BootSummary,
    pub dir: tempfile::TempDir,
}

impl Booted {
    /// The store, opened for reading.
    pub fn store(&self) -> Store {
        Store::open(self.dir.path()).unwrap()
    }

    pub fn path(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }
}

/// Set up a store with `setup`, then run the boot cycle with `fuel` and
/// `max_generations` on every engine, each on its own copy of the store; panic if the
/// engines disagree on any generation (everything but the engine's name) or on the
/// summary. Returns the interpreter's result.
pub fn boot_everywhere(setup: &dyn Fn(&mut Store), fuel: u64, max_generations: u32) -> Booted {
    boot_on(EngineKind::ALL, setup, fuel, max_generations)
}

/// [`boot_everywhere`] on the given engines only (the first is the reference).
pub fn boot_on(
    engines: &[EngineKind],
    setup: &dyn Fn(&mut Store),
    fuel: u64,
    max_generations: u32,
) -> Booted {
    let mut results: Vec<Booted> = Vec::new();
    for &engine in engines {
        let dir = tempfile::tempdir().unwrap();
        let mut store = open(dir.path());
        setup(&mut store);
        let opts = BootOptions {
            engine,
            fuel,
            max_generations,
        };
        let mut generations = Vec::new();
        let summary = boot(&mut store, &opts, &mut |g| generations.push(g.clone()))
            .unwrap_or_else(|e| panic!("{engine}: {e}"));
        drop(store);
        results.push(Booted {
            generations,
            summary,
            dir,
        });
    }
    let reference = results.remove(0);
    for other in &results {
        assert_eq!(other.summary, reference.summary, "summaries differ");
        assert_eq!(other.generations.len(), reference.generations.len());
        for (a, b) in reference.generations.iter().zip(&other.generations) {
            let mut b = b.clone();
            b.engine = a.engine;
            assert_eq!(*a, b, "engines disagree on generation {}", a.generation);
        }
    }
    reference
}
