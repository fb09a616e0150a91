//! A lineage as a plain tree — versions with ids, parents, names, statuses and marks
//! (current, promoted), built by the caller from wherever it keeps them (the CLI builds it
//! from a version store) — and its readable form, [`Collapsed`]: every maximal chain of at
//! least [`MIN_CHAIN`] unremarkable versions (each the only child of its parent, with one
//! child, neither bad, missing, current nor promoted) becomes one node, "v3 … v187 (185
//! versions)". A store 200 or 50,000 generations deep then shows only its branch points,
//! its failures and its ends. [`Collapsed::dot`] writes it as Graphviz.
//!
//! Versions whose parent is not in the lineage are roots; a parent cycle (which a store
//! never has, but a plain tree may) is broken where the walk meets it. Every step is
//! linear in the number of versions and nothing recurses, so any depth is fine.

use std::collections::HashMap;
use std::fmt::Write as _;

/// Chains shorter than this stay as they are.
pub const MIN_CHAIN: usize = 3;

/// What a version's boot history says about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VersionStatus {
    Good,
    Probation,
    Bad,
    Missing,
}

impl VersionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            VersionStatus::Good => "good",
            VersionStatus::Probation => "probation",
            VersionStatus::Bad => "bad",
            VersionStatus::Missing => "missing",
        }
    }
}

/// What else a picture shows of a version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Mark {
    /// The version that boots now.
    pub current: bool,
    /// It became current through a promotion (a canary's last stage, `evolve --promote`).
    pub promoted: bool,
}

/// One version of the plain tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Version {
    pub id: u64,
    pub parent: Option<u64>,
    pub name: String,
    pub status: VersionStatus,
    pub mark: Mark,
}

/// A lineage: versions in any order, ids unique (a repeated id keeps its first).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Lineage {
    pub versions: Vec<Version>,
}

/// What one node of a [`Collapsed`] lineage stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeKind {
    /// One version (an index into [`Lineage::versions`]).
    Version(usize),
    /// A chain of `count` versions from `first` to `last` (indices), `probation` of them
    /// on probation (the others good).
    Chain {
        first: usize,
        last: usize,
        count: usize,
        probation: usize,
    },
}

/// A node and its place in the collapsed tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    pub kind: NodeKind,
    pub parent: Option<usize>,
    /// In the order of their first versions' ids.
    pub children: Vec<usize>,
}

/// A lineage with its long chains collapsed. Nodes are in depth-first order (parents
/// before children).
#[derive(Clone, Debug)]
pub struct Collapsed<'a> {
    pub lineage: &'a Lineage,
    pub nodes: Vec<Node>,
    /// The nodes without a parent, oldest first.
    pub roots: Vec<usize>,
}

impl Lineage {
    /// The lineage with its chains collapsed.
    pub fn collapse(&self) -> Collapsed<'_> {
        let vs = &self.versions;
        let mut at: HashMap<u64, usize> = HashMap::with_capacity(vs.len());
        for (i, v) in vs.iter().enumerate() {
            at.entry(v.id).or_insert(i);
        }
        let mut children: Vec<Vec<usize>> = vec![Vec::new(); vs.len()];
        let mut has_parent = vec![false; vs.len()];
        for (i, v) in vs.iter().enumerate() {
            if at[&v.id] != i {
                continue; // a repeated id
            }
            if let Some(&p) = v.parent.and_then(|p| at.get(&p))
                && p != i
            {
                children[p].push(i);
                has_parent[i] = true;
            }
        }
        for list in &mut children {
            list.sort_by_key(|&c| vs[c].id);
        }
        let plain = |i: usize| {
            has_parent[i]
                && children[i].len() == 1
                && matches!(vs[i].status, VersionStatus::Good | VersionStatus::Probation)
                && vs[i].mark == Mark::default()
        };
        let mut order: Vec<usize> = (0..vs.len()).filter(|&i| at[&vs[i].id] == i).collect();
        order.sort_by_key(|&i| (has_parent[i], vs[i].id));
        let mut visited = vec![false; vs.len()];
        let mut nodes: Vec<Node> = Vec::new();
        let mut roots = Vec::new();
        let mut push = |nodes: &mut Vec<Node>, kind, parent: Option<usize>| {
            let n = nodes.len();
            nodes.push(Node {
                kind,
                parent,
                children: Vec::new(),
            });
            match parent {
                Some(p) => nodes[p].children.push(n),
                None => roots.push(n),
            }
            n
        };
        // Roots first, then whatever a parent cycle kept out of reach, each as a root.
        for start in order {
            let mut stack = vec![(start, None)];
            while let Some((v, parent)) = stack.pop() {
                if visited[v] {
                    continue;
                }
                visited[v] = true;
                if plain(v) {
                    let mut run = vec![v];
                    let mut next = children[v][0];
                    while plain(next) && !visited[next] {
                        visited[next] = true;
                        run.push(next);
                        next = children[next][0];
                    }
                    let mut tail = parent;
                    if run.len() >= MIN_CHAIN {
                        let kind = NodeKind::Chain {
                            first: run[0],
                            last: run[run.len() - 1],
                            count: run.len(),
                            probation: run
                                .iter()
                                .filter(|&&r| vs[r].status == VersionStatus::Probation)
                                .count(),
                        };
                        tail = Some(push(&mut nodes, kind, tail));
                    } else {
                        for r in run {
                            tail = Some(push(&mut nodes, NodeKind::Version(r), tail));
                        }
                    }
                    stack.push((next, tail));
                    continue;
                }
                let n = push(&mut nodes, NodeKind::Version(v), parent);
                for &c in children[v].iter().rev() {
                    stack.push((c, Some(n)));
                }
            }
        }
        Collapsed {
            lineage: self,
            nodes,
            roots,
        }
    }
}

impl Collapsed<'_> {
    /// The first line of node `n`'s label: the version's name, or the chain's ends.
    pub fn title(&self, n: usize) -> String {
        let vs = &self.lineage.versions;
        match self.nodes[n].kind {
            NodeKind::Version(v) => vs[v].name.clone(),
            NodeKind::Chain { first, last, .. } => {
                format!("{} … {}", vs[first].name, vs[last].name)
            }
        }
    }

    /// The second line: id and status, or how many versions a chain holds.
    pub fn detail(&self, n: usize) -> String {
        let vs = &self.lineage.versions;
        match self.nodes[n].kind {
            NodeKind::Version(v) => format!("id {} · {}", vs[v].id, vs[v].status.as_str()),
            NodeKind::Chain {
                count, probation, ..
            } => {
                let mut s = format!("{} versions", crate::util::thousands(count as u64));
                if probation == count {
                    s += " on probation";
                } else if probation > 0 {
                    s += &format!(", {probation} on probation");
                }
                s
            }
        }
    }

    /// The status a node is drawn with (a chain: good, or probation if all are).
    pub fn status(&self, n: usize) -> Option<VersionStatus> {
        match self.nodes[n].kind {
            NodeKind::Version(v) => Some(self.lineage.versions[v].status),
            NodeKind::Chain { .. } => None,
        }
    }

    /// A node's marks (a chain has none).
    pub fn mark(&self, n: usize) -> Mark {
        match self.nodes[n].kind {
            NodeKind::Version(v) => self.lineage.versions[v].mark,
            NodeKind::Chain { .. } => Mark::default(),
        }
    }

    /// How many versions the nodes stand for in all.
    pub fn versions(&self) -> usize {
        self.nodes
            .iter()
            .map(|n| match n.kind {
                NodeKind::Version(_) => 1,
                NodeKind::Chain { count, .. } => count,
            })
            .sum()
    }

    /// The collapsed lineage as a Graphviz digraph (`dot -Tpng`): one box per node,
    /// coloured by status (green good, amber probation, red bad, grey missing), chains
    /// dashed, the current version with a thick blue border, a promoted one doubled.
    pub fn dot(&self, title: &str) -> String {
        let mut out = String::from("digraph lineage {\n");
        let _ = writeln!(
            out,
            "  graph [rankdir=TB, fontname=\"DejaVu Sans\", labelloc=t, label=\"{}\"];",
            escape(title)
        );
        out += "  node [shape=box, style=\"rounded,filled\", fontname=\"DejaVu Sans\", fontsize=11];\n";
        out += "  edge [color=\"#9e9e9e\", arrowsize=0.6];\n";
        for n in 0..self.nodes.len() {
            let (fill, border) = colors(self.status(n));
            let mark = self.mark(n);
            let mut label = format!("{}\\n{}", escape(&self.title(n)), escape(&self.detail(n)));
            let mut attrs = format!("fillcolor=\"{fill}\", color=\"{border}\"");
            if self.status(n).is_none() {
                attrs += ", style=\"rounded,filled,dashed\"";
            }
            if mark.current {
                label += "\\n◀ current";
                attrs = format!("fillcolor=\"{fill}\", color=\"{CURRENT}\", penwidth=3");
            }
            if mark.promoted {
                label += "\\n★ promoted";
                attrs += ", peripheries=2";
            }
            let _ = writeln!(out, "  n{n} [label=\"{label}\", {attrs}];");
        }
        for (n, node) in self.nodes.iter().enumerate() {
            if let Some(p) = node.parent {
                let _ = writeln!(out, "  n{p} -> n{n};");
            }
        }
        out += "}\n";
        out
    }
}

/// The border of the current version.
pub const CURRENT: &str = "#1565c0";

/// (fill, border) of a status; `None` is a chain.
pub fn colors(status: Option<VersionStatus>) -> (&'static str, &'static str) {
    match status {
        Some(VersionStatus::Good) => ("#e8f5e9", "#2e7d32"),
        Some(VersionStatus::Probation) => ("#fff8e1", "#f9a825"),
        Some(VersionStatus::Bad) => ("#ffebee", "#c62828"),
        Some(VersionStatus::Missing) => ("#eeeeee", "#757575"),
        None => ("#fafafa", "#9e9e9e"),
    }
}

/// Text inside a Graphviz double-quoted string.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' => out += "\\\"",
            '\\' => out += "\\\\",
            '\n' => out += "\\n",
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(id: u64, parent: Option<u64>, status: VersionStatus) -> Version {
        Version {
            id,
            parent,
            name: format!("v{id}"),
            status,
            mark: Mark::default(),
        }
    }

    /// A chain 1..=n with a bad leaf hanging off every `every`-th version.
    fn chain(n: u64, every: u64) -> Lineage {
        let mut versions = Vec::new();
        let mut next = n + 1;
        for id in 1..=n {
            versions.push(version(id, (id > 1).then(|| id - 1), VersionStatus::Good));
            if id % every == 0 && id < n {
                versions.push(version(next, Some(id), VersionStatus::Bad));
                next += 1;
            }
        }
        versions[n as usize - 1 + ((n - 1) / every) as usize]
            .mark
            .current = true;
        Lineage { versions }
    }

    #[test]
    fn long_chains_become_one_node() {
        let l = chain(200, 50);
        let c = l.collapse();
        let titles: Vec<String> = (0..c.nodes.len()).map(|n| c.title(n)).collect();
        let mut sorted = titles.clone();
        sorted.sort();
        let mut expected = [
            "v1",
            "v2 … v49",
            "v50",
            "v201",
            "v51 … v99",
            "v100",
            "v202",
            "v101 … v149",
            "v150",
            "v203",
            "v151 … v199",
            "v200",
        ];
        expected.sort();
        assert_eq!(sorted, expected);
        let at = |t: &str| titles.iter().position(|x| x == t).unwrap();
        assert_eq!(c.detail(at("v2 … v49")), "48 versions");
        assert_eq!(c.versions(), 203);
        assert!(c.mark(at("v200")).current);
        assert_eq!(c.roots, vec![at("v1")]);
        assert_eq!(
            c.nodes[at("v50")].children,
            vec![at("v51 … v99"), at("v201")],
            "children in the order of their ids"
        );
        assert_eq!(c.nodes[at("v51 … v99")].parent, Some(at("v50")));
    }

    #[test]
    fn short_chains_stay_and_cycles_do_not_hang() {
        let l = Lineage {
            versions: vec![
                version(1, None, VersionStatus::Good),
                version(2, Some(1), VersionStatus::Good),
                version(3, Some(2), VersionStatus::Good),
                version(4, Some(5), VersionStatus::Good),
                version(5, Some(4), VersionStatus::Good),
            ],
        };
        let c = l.collapse();
        assert_eq!(c.versions(), 5);
        assert_eq!(c.title(1), "v2");
        assert_eq!(c.roots.len(), 2);
    }

    #[test]
    fn dot_is_graphviz_with_one_node_per_collapsed_node() {
        let l = chain(200, 50);
        let dot = l.collapse().dot("pxos \"store\"");
        assert!(dot.starts_with("digraph lineage {\n"));
        assert!(dot.contains("label=\"pxos \\\"store\\\"\""));
        assert_eq!(dot.matches(" [label=").count(), 12);
        assert_eq!(dot.matches(" -> ").count(), 11);
        assert!(dot.contains("◀ current"));
        assert!(dot.ends_with("}\n"));
    }

    #[test]
    fn a_fifty_thousand_deep_chain_collapses_without_recursion() {
        let c = chain(50_000, 1_000);
        assert!(c.collapse().nodes.len() < 200);
    }
}
