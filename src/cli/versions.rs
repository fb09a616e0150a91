//! `pxos versions` (a table of every version, then the recorded events — rollbacks,
//! switches, repairs) and `pxos versions tree` (the lineage as an indented tree). Both only
//! read the store.

use super::manage::{print_warnings, StoreArg};
use anyhow::Result;
use clap::{Args, Subcommand};
use pxos::store::{Db, Entry, Store};
use std::collections::BTreeMap;
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
    /// The lineage as an indented tree: each version under its parent.
    Tree,
}

pub fn versions(args: VersionsArgs) -> Result<ExitCode> {
    let store = Store::open(&args.store.fs)?;
    print_warnings(&store);
    let db = store.db();
    if args.json {
        println!("{}", serde_json::to_string(db)?);
        return Ok(ExitCode::SUCCESS);
    }
    match args.view {
        Some(View::Tree) => print!("{}", tree(db)),
        None => print!("{}", table(db)),
    }
    Ok(ExitCode::SUCCESS)
}

fn parent_label(db: &Db, e: &Entry) -> String {
    match (&e.parent, db.parent_of(e)) {
        (_, Some(p)) => format!("{} (id {})", p.version, p.id),
        (Some(name), None) => format!("{name} (missing)"),
        (None, None) => "-".to_string(),
    }
}

/// The table: one row per version (`*` marks the current one), then the events.
pub fn table(db: &Db) -> String {
    let header = ["", "id", "version", "parent", "date", "size", "status"];
    let mut rows: Vec<[String; 7]> = vec![header.map(String::from)];
    for e in &db.history {
        let mark = if db.current_id == Some(e.id) { "*" } else { "" };
        rows.push([
            mark.to_string(),
            e.id.to_string(),
            e.version.clone(),
            parent_label(db, e),
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
        let cells: Vec<String> = r
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(c, (cell, &w))| {
                if c == 1 || c == 5 {
                    format!("{cell:>w$}")
                } else {
                    format!("{cell:<w$}")
                }
            })
            .collect();
        out += cells.join("  ").trim_end();
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
            out += &format!(
                "  {} {}: {} -> {}: {}\n",
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

/// The lineage tree: roots (no parent, or a parent missing from the history) at the left,
/// each version two spaces right of its parent, children in id order.
pub fn tree(db: &Db) -> String {
    let mut children: BTreeMap<u64, Vec<&Entry>> = BTreeMap::new();
    let mut roots = Vec::new();
    for e in &db.history {
        match db.parent_of(e) {
            Some(p) if p.id != e.id => children.entry(p.id).or_default().push(e),
            _ => roots.push(e),
        }
    }
    let mut out = String::new();
    let mut printed = std::collections::HashSet::new();
    // Depth-first without recursion (lineages can be long). Entries no root leads to are
    // on a parent cycle (a hand-edited file); each is printed as a root.
    let mut next_root = roots.into_iter();
    loop {
        let start = match next_root.next() {
            Some(e) => e,
            None => match db.history.iter().find(|e| !printed.contains(&e.id)) {
                Some(e) => e,
                None => break,
            },
        };
        let mut stack = vec![(start, 0usize)];
        while let Some((e, depth)) = stack.pop() {
            if !printed.insert(e.id) {
                continue;
            }
            let mark = if db.current_id == Some(e.id) {
                "  <- current"
            } else {
                ""
            };
            out += &format!(
                "{}{} (id {}, {}){mark}\n",
                "  ".repeat(depth),
                e.version,
                e.id,
                e.status
            );
            for k in children.get(&e.id).into_iter().flatten().rev() {
                stack.push((k, depth + 1));
            }
        }
    }
    if out.is_empty() {
        out += "(no versions)\n";
    }
    out
}
