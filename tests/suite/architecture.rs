//! ARCHITECTURE.md cannot go stale: its code map names every module of the three crates
//! down to two levels (`pxvm::asm::lexer`, `pxos::store::candidates`, `cli::run` for the
//! binary's modules) — as a section heading or as an entry `` `path` — what it owns `` —
//! and names no module that does not exist. The module tree is read from
//! the source folders, the way rustc finds modules (`a.rs` or `a/mod.rs`).

use std::collections::BTreeSet;
use std::path::Path;

/// Every module path of the crate whose root folder is `src` (relative to the repository),
/// as `prefix::a` and `prefix::a::b`, skipping test-only modules (`tests.rs`).
fn modules(src: &str, prefix: &str, skip: &[&str]) -> BTreeSet<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(src);
    let mut found = BTreeSet::new();
    let mut walk = vec![(root, prefix.to_string(), 0)];
    while let Some((dir, path, depth)) = walk.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name().into_string().unwrap();
            let file_type = entry.file_type().unwrap();
            let module = if file_type.is_dir() {
                name.clone()
            } else if let Some(stem) = name.strip_suffix(".rs") {
                if ["lib", "main", "mod", "tests"].contains(&stem) || skip.contains(&stem) {
                    continue;
                }
                stem.to_string()
            } else {
                continue;
            };
            let full = format!("{path}::{module}");
            found.insert(full.clone());
            if file_type.is_dir() && depth < 1 {
                walk.push((entry.path(), full, depth + 1));
            }
        }
    }
    found
}

/// The modules the document names: a backquoted `crate::module` path that heads a section
/// (`#### \`pxos::util\``) or starts an entry (`\`pxos::util::date\` — ...`).
fn named(doc: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for line in doc.lines() {
        let heading = line.starts_with('#');
        let pieces: Vec<&str> = line.split('`').collect();
        for (i, piece) in pieces.iter().enumerate().skip(1).step_by(2) {
            let after = pieces.get(i + 1).copied().unwrap_or_default();
            if (heading || after.starts_with(" —")) && is_module_path(piece) {
                names.insert(piece.to_string());
            }
        }
    }
    names
}

fn is_module_path(text: &str) -> bool {
    let mut parts = text.split("::");
    let head = parts.next().unwrap_or_default();
    let rest: Vec<&str> = parts.collect();
    let lower = |p: &&str| {
        !p.is_empty()
            && p.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    };
    ["pxvm", "pxvm_jit", "pxos", "cli"].contains(&head)
        && !rest.is_empty()
        && rest.len() <= 2
        && rest.iter().all(lower)
}

#[test]
fn the_code_map_names_every_module_and_only_real_ones() {
    let doc_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("ARCHITECTURE.md");
    let doc = std::fs::read_to_string(doc_path).unwrap();
    let mut real = modules("vm/src", "pxvm", &[]);
    real.extend(modules("jit/src", "pxvm_jit", &[]));
    let mut library = modules("src", "pxos", &[]);
    let cli: Vec<String> = library
        .iter()
        .filter(|m| m.starts_with("pxos::cli"))
        .cloned()
        .collect();
    for m in cli {
        library.remove(&m);
        if m != "pxos::cli" {
            real.insert(m.replacen("pxos::cli", "cli", 1));
        }
    }
    real.extend(library);
    let written = named(&doc);
    let missing: Vec<_> = real.difference(&written).collect();
    let stale: Vec<_> = written.difference(&real).collect();
    assert!(
        missing.is_empty() && stale.is_empty(),
        "ARCHITECTURE.md's code map is out of date.\n  modules it does not name: {missing:?}\n  names of modules that do not exist: {stale:?}"
    );
    assert!(real.len() > 60, "the module walk found only {real:?}");
}
