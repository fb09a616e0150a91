//! `pxos versions` (a table of every version, then the recorded events — rollbacks,
//! switches, repairs) and `pxos versions tree` (the lineage as a tree that keeps a chain in
//! one column). Both only read the store, and both are linear in its number of versions
//! (every lookup goes through one [`Index`]).

use super::manage::{StoreArg, print_warnings};
use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use pxos::store::{Db, Entry, Index, Store};
use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct VersionsArgs {
    #[command(subcommand)]
    view: Option<View>,
    /// Print versions.json's contents as one JSON object.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    store: StoreArg,
}

#[derive(Debug, Subcommand)]
enum View {
    /// The lineage as a tree: a chain of versions in one column, branches indented.
    Tree(TreeArgs),
}

/// `pxos versions tree` as a picture (long chains collapsed into one box).
#[derive(Debug, Args)]
struct TreeArgs {
    /// Print the lineage as Graphviz text (`| dot -Tsvg`), long chains collapsed.
    #[arg(long, conflicts_with = "png")]
    dot: bool,
    /// Draw the lineage as a PNG picture, long chains collapsed.
    #[arg(long, value_name = "PNG")]
    png: Option<std::path::PathBuf>,
}

pub fn versions(args: VersionsArgs) -> Result<ExitCode> {
    if let Some(View::Tree(TreeArgs { png: Some(out), .. })) = &args.view {
        pxos::util::userfile::check_output(out).context("--png")?;
    }
    let store = Store::open(&args.store.fs)?;
    print_warnings(&store);
    let db = store.db();
    if args.json {
        println!("{}", serde_json::to_string(db)?);
        return Ok(ExitCode::SUCCESS);
    }
    match args.view {
        Some(View::Tree(TreeArgs { dot, png })) if dot || png.is_some() => {
            super::plot::lineage_picture(db, &args.store.fs, dot, png.as_deref())?
        }
        Some(View::Tree(_)) => print!("{}", tree(db)),
        None => print!("{}{}", table(db), candidates(db)),
    }
    Ok(ExitCode::SUCCESS)
}

/// The pipeline's newest candidates (at most 20) with their A/B verdicts, under the table.
fn candidates(db: &Db) -> String {
    let all = &db.pipeline.candidates;
    if all.is_empty() {
        return String::new();
    }
    let mut out = format!(
        "\ncandidates of the evolution pipeline ({} in all; `pxos status` has more):\n",
        all.len()
    );
    for c in all.iter().rev().take(20) {
        let version = c
            .version_id
            .and_then(|id| db.by_id(id))
            .map_or(String::new(), |e| {
                format!(" -> {} (id {})", e.version, e.id)
            });
        out += &format!(
            "  {} {} ({}){version}: {}\n",
            c.id, c.source, c.origin, c.state
        );
        let verdict = c.ab_report.as_ref().and(
            c.history
                .iter()
                .rev()
                .find(|s| matches!(s.state.as_str(), "ready" | "ab_failed")),
        );
        if let (Some(step), Some(file)) = (verdict, &c.ab_report) {
            out += &format!("      A/B: {} (candidates/{file})\n", step.note);
        }
    }
    out
}

fn parent_label(index: &Index, e: &Entry) -> String {
    match (&e.parent, index.parent_of(e)) {
        (_, Some(p)) => format!("{} (id {})", p.version, p.id),
        (Some(name), None) => format!("{name} (missing)"),
        (None, None) => "-".to_string(),
    }
}

/// The table: one row per version (`*` marks the current one), then the events. Linear
/// in the number of versions.
pub fn table(db: &Db) -> String {
    let index = Index::new(db);
    let header = ["", "id", "version", "parent", "date", "size", "status"];
    let mut rows: Vec<[String; 7]> = vec![header.map(String::from)];
    for e in &db.history {
        let mark = if db.current_id == Some(e.id) { "*" } else { "" };
        rows.push([
            mark.to_string(),
            e.id.to_string(),
            e.version.clone(),
            parent_label(&index, e),
            e.date.clone(),
            e.size.to_string(),
            e.status.to_string(),
        ]);
    }
    let widths: Vec<usize> = (0..7)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for r in &rows {
        let start = out.len();
        for (c, (cell, &w)) in r.iter().zip(&widths).enumerate() {
            if c > 0 {
                out += "  ";
            }
            if c == 1 || c == 5 {
                let _ = write!(out, "{cell:>w$}");
            } else {
                let _ = write!(out, "{cell:<w$}");
            }
        }
        out.truncate(start + out[start..].trim_end().len());
        out.push('\n');
    }
    match db.current_entry() {
        Some(e) => out += &format!("current: {} (id {})\n", e.version, e.id),
        None => out += "current: none\n",
    }
    if !db.events.is_empty() {
        out += "events:\n";
        for ev in &db.events {
            let side = |name: &Option<String>, id: Option<u64>| match (name, id) {
                (Some(n), Some(id)) => format!("{n} (id {id})"),
                (Some(n), None) => n.clone(),
                _ => "none".to_string(),
            };
            let _ = writeln!(
                out,
                "  {} {}: {} -> {}: {}",
                ev.date,
                ev.kind.as_str(),
                side(&ev.from, ev.from_id),
                side(&ev.to, ev.to_id),
                ev.reason
            );
        }
    }
    out
}

/// The lineage tree, drawn so that a chain stays in one column (as `git log --graph`
/// does): a version's heaviest child (the one with the largest subtree; the newest on a
/// tie) continues on the next line at the same indentation, and its other children hang
/// off it as branches, each drawn first, marked `├─ ` and indented by three columns (its
/// lines carry `│  ` down to where the column continues):
///
/// ```text
/// v1.0 (id 1, good)
/// ├─ v2.0 (id 2, bad)
/// v2.1 (id 3, good)
/// v3.0 (id 4, probation)  <- current
/// ```
///
/// A line without `├─ ` is the child of the line above it in its column. Because every
/// branch is at most half the size of what it hangs off, branches nest at most log2(n)
/// deep: output and time are O(n log n) at worst and linear for a chain. Separate trees
/// (versions without a parent in the history) are separated by an empty line.
pub fn tree(db: &Db) -> String {
    let index = Index::new(db);
    let children = index.children();
    let kids = |e: &Entry| children.get(&e.id).map(Vec::as_slice).unwrap_or(&[]);
    // Subtree sizes, children before parents: parents are older (sanitize breaks any
    // cycle), so newest first is a post-order.
    let mut size: HashMap<u64, u64> = HashMap::with_capacity(db.history.len());
    for e in db.history.iter().rev() {
        let own = 1 + kids(e)
            .iter()
            .map(|&k| size.get(&db.history[k].id).copied().unwrap_or(0))
            .sum::<u64>();
        size.insert(e.id, own);
    }
    let weight = |at: usize| (size.get(&db.history[at].id).copied().unwrap_or(0), at);

    let mut out = String::new();
    let mut printed: HashSet<u64> = HashSet::with_capacity(db.history.len());
    let roots = db
        .history
        .iter()
        .enumerate()
        .filter(|(_, e)| index.parent_of(e).filter(|p| p.id != e.id).is_none());
    // Entries no root leads to (a parent cycle in an unsanitized database) come last,
    // each as a root.
    let rest = db.history.iter().enumerate();
    for (at, _) in roots.chain(rest) {
        if printed.contains(&db.history[at].id) {
            continue;
        }
        if !out.is_empty() {
            out.push('\n');
        }
        // Tasks: (entry, prefix of its first line, prefix of the lines after it).
        let mut stack = vec![(at, String::new(), String::new())];
        while let Some((at, first, rest)) = stack.pop() {
            let e = &db.history[at];
            if !printed.insert(e.id) {
                continue;
            }
            let mark = if db.current_id == Some(e.id) {
                "  <- current"
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "{first}{} (id {}, {}){mark}",
                e.version, e.id, e.status
            );
            let mine: Vec<usize> = kids(e)
                .iter()
                .copied()
                .filter(|&k| !printed.contains(&db.history[k].id))
                .collect();
            let Some(&heavy) = mine.iter().max_by_key(|&&k| weight(k)) else {
                continue;
            };
            stack.push((heavy, rest.clone(), rest.clone()));
            for &k in mine.iter().rev().filter(|&&k| k != heavy) {
                stack.push((k, format!("{rest}├─ "), format!("{rest}│  ")));
            }
        }
    }
    if out.is_empty() {
        out += "(no versions)\n";
    }
    out
}
