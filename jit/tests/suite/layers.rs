//! The crate's module structure, checked from its source: three layers (`analysis`,
//! `lower`, `runtime`), each importing only from the layers before it — except that
//! `lower` may use `runtime::abi`, the contract with compiled code, which itself imports
//! nothing from the crate — and no import cycle between any two modules.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`, as (module path like `lower::edges`, source text).
fn modules(dir: &Path, prefix: &str, out: &mut BTreeMap<String, String>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("src is readable")
        .map(|e| e.expect("entry").path())
        .collect();
    entries.sort();
    for path in entries {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            modules(&path, &join(prefix, &name), out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let module = match name.as_str() {
                "lib" | "mod" => prefix.to_string(),
                _ => join(prefix, &name),
            };
            out.insert(module, std::fs::read_to_string(&path).expect("readable"));
        }
    }
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}::{name}")
    }
}

/// The crate modules `module`'s source refers to by path (`crate::a::b`, `super::c`),
/// resolved to the longest known module, outside its tests.
fn imports(module: &str, source: &str, known: &BTreeSet<String>) -> BTreeSet<String> {
    let code = source.split("#[cfg(test)]").next().unwrap_or("");
    let parent = module.rsplit_once("::").map_or("", |(p, _)| p);
    let mut found = BTreeSet::new();
    for (anchor, base) in [("crate::", ""), ("super::", parent)] {
        for (i, _) in code.match_indices(anchor) {
            if i > 0 && code[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_') {
                continue;
            }
            let rest = &code[i + anchor.len()..];
            let path: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            let mut target = String::from(base);
            let mut best = Some(target.clone()).filter(|t| known.contains(t));
            for seg in path.split("::").filter(|s| !s.is_empty()) {
                target = join(&target, seg);
                if known.contains(&target) {
                    best = Some(target.clone());
                }
            }
            if let Some(t) = best.filter(|t| t != module) {
                found.insert(t);
            }
        }
    }
    found
}

fn layer(module: &str) -> &str {
    module.split("::").next().unwrap_or("")
}

#[test]
fn layers_import_only_downwards_and_modules_form_no_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut sources = BTreeMap::new();
    modules(&src, "", &mut sources);
    let known: BTreeSet<String> = sources.keys().cloned().collect();
    for layer_name in [
        "analysis",
        "lower",
        "runtime",
        "runtime::abi",
        "lower::edges",
    ] {
        assert!(known.contains(layer_name), "{layer_name} exists");
    }
    let graph: BTreeMap<String, BTreeSet<String>> = sources
        .iter()
        .map(|(m, s)| (m.clone(), imports(m, s, &known)))
        .collect();

    for (m, deps) in &graph {
        for d in deps {
            let ok = match (layer(m), layer(d)) {
                ("analysis", to) => to == "analysis",
                ("lower", "runtime") => d == "runtime::abi",
                ("lower", to) => to == "lower" || to == "analysis",
                ("runtime", _) => m != "runtime::abi",
                _ => true,
            };
            assert!(ok, "{m} may not import {d}");
        }
    }

    // No cycle: repeatedly remove modules whose imports are all removed.
    let mut left = graph.clone();
    while !left.is_empty() {
        let ready: Vec<String> = (left.iter())
            .filter(|(_, deps)| deps.iter().all(|d| !left.contains_key(d)))
            .map(|(m, _)| m.clone())
            .collect();
        assert!(!ready.is_empty(), "import cycle among {:?}", left);
        for m in ready {
            left.remove(&m);
        }
    }
}

#[test]
fn every_module_says_what_it_owns_and_every_unsafe_block_why_it_is_sound() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut sources = BTreeMap::new();
    modules(&src, "", &mut sources);
    assert!(
        sources.len() >= 15,
        "all modules found: {:?}",
        sources.keys()
    );
    for (m, s) in &sources {
        assert!(s.starts_with("//!"), "{m} opens with a //! paragraph");
        let lines: Vec<&str> = s.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            if line.contains("unsafe {") && !line.trim_start().starts_with("//") {
                let before = &lines[i.saturating_sub(12)..i];
                assert!(
                    before.iter().any(|l| l.contains("// SAFETY:")),
                    "{m}:{}: unsafe block without a SAFETY comment",
                    i + 1
                );
            }
        }
    }
}
