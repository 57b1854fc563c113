//! The producer → consumer graph of the organisation (petgraph).
//!
//! Nodes are domains, teams, accounts and products; edges follow the data:
//! a domain contains teams, a team owns accounts, an account produces
//! products, and a product is consumed by an account (one edge per consume
//! entry, carrying the version). Nodes are inserted in sorted-id order and
//! every listing is sorted, so output never depends on input order.
//!
//! [`Dependencies`] is the other graph of the pipeline: what must be deployed
//! before what (synth's stacks), layered into waves. It lives here so that
//! every petgraph construction and sort of the crate is in one module.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;
use petgraph::Direction;
use serde_json::{json, Value};

use crate::model::{Classification, ProductId, Topology};

/// What a node stands for.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum NodeKind {
    Domain,
    Team,
    Account,
    Product(Classification),
}

impl NodeKind {
    pub(crate) fn as_str(&self) -> &'static str {
        match self {
            NodeKind::Domain => "domain",
            NodeKind::Team => "team",
            NodeKind::Account => "account",
            NodeKind::Product(_) => "product",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Node {
    /// Stable id: `domain:<name>`, `team:<name>`, `account:<id>`, `product:<domain>.<name>`.
    pub(crate) id: String,
    pub(crate) kind: NodeKind,
    /// A human label (account name, product description is not used).
    pub(crate) label: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum EdgeKind {
    Contains,
    Owns,
    Produces,
    Consumes { version: u32 },
}

impl EdgeKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            EdgeKind::Contains => "contains",
            EdgeKind::Owns => "owns",
            EdgeKind::Produces => "produces",
            EdgeKind::Consumes { .. } => "consumes",
        }
    }
}

/// The organisation as a directed graph.
#[derive(Debug, Clone)]
pub struct OrgGraph {
    pub(crate) graph: DiGraph<Node, EdgeKind>,
    pub(crate) index: BTreeMap<String, NodeIndex>,
}

impl OrgGraph {
    /// Builds the graph of a validated topology.
    pub fn build(t: &Topology) -> OrgGraph {
        let mut g = OrgGraph {
            graph: DiGraph::new(),
            index: BTreeMap::new(),
        };
        for d in t.domains.keys() {
            g.add(format!("domain:{d}"), NodeKind::Domain, d.clone());
        }
        for team in t.teams.keys() {
            g.add(format!("team:{team}"), NodeKind::Team, team.clone());
        }
        for a in t.accounts.values() {
            g.add(format!("account:{}", a.id), NodeKind::Account, a.name.clone());
        }
        for p in t.products.values() {
            g.add(
                format!("product:{}", p.id),
                NodeKind::Product(p.classification),
                p.id.to_string(),
            );
        }
        for team in t.teams.values() {
            g.edge(
                &format!("domain:{}", team.domain),
                &format!("team:{}", team.name),
                EdgeKind::Contains,
            );
            for a in &team.accounts {
                g.edge(&format!("team:{}", team.name), &format!("account:{a}"), EdgeKind::Owns);
            }
        }
        for p in t.products.values() {
            g.edge(
                &format!("account:{}", p.account),
                &format!("product:{}", p.id),
                EdgeKind::Produces,
            );
        }
        for c in &t.consumes {
            g.edge(
                &format!("product:{}", c.product),
                &format!("account:{}", c.account),
                EdgeKind::Consumes { version: c.version },
            );
        }
        g
    }

    fn add(&mut self, id: String, kind: NodeKind, label: String) {
        let ix = self.graph.add_node(Node {
            id: id.clone(),
            kind,
            label,
        });
        self.index.insert(id, ix);
    }

    fn edge(&mut self, from: &str, to: &str, kind: EdgeKind) {
        // Validation guarantees both ends exist; a missing one is skipped rather than panicking.
        if let (Some(&a), Some(&b)) = (self.index.get(from), self.index.get(to)) {
            self.graph.add_edge(a, b, kind);
        }
    }

    /// The sub-graph around one product: its domain, team and producing account,
    /// and every consuming account with its team.
    pub(crate) fn around_product(&self, product: &ProductId) -> Option<OrgGraph> {
        let center = *self.index.get(&format!("product:{product}"))?;
        let mut keep: BTreeSet<NodeIndex> = BTreeSet::new();
        keep.insert(center);
        let mut accounts = Vec::new();
        for e in self.graph.edges_directed(center, Direction::Incoming) {
            accounts.push(e.source());
        }
        for e in self.graph.edges_directed(center, Direction::Outgoing) {
            accounts.push(e.target());
        }
        for a in accounts {
            keep.insert(a);
            for owner in self.graph.edges_directed(a, Direction::Incoming) {
                if *owner.weight() == EdgeKind::Owns {
                    keep.insert(owner.source());
                    for d in self.graph.edges_directed(owner.source(), Direction::Incoming) {
                        keep.insert(d.source());
                    }
                }
            }
        }
        let mut sub = OrgGraph {
            graph: DiGraph::new(),
            index: BTreeMap::new(),
        };
        let mut ordered: Vec<NodeIndex> = keep.into_iter().collect();
        ordered.sort_by(|a, b| {
            (&self.graph[*a].kind, &self.graph[*a].id).cmp(&(&self.graph[*b].kind, &self.graph[*b].id))
        });
        for ix in &ordered {
            let n = &self.graph[*ix];
            sub.add(n.id.clone(), n.kind.clone(), n.label.clone());
        }
        for e in self.graph.edge_references() {
            let (a, b) = (&self.graph[e.source()].id, &self.graph[e.target()].id);
            if sub.index.contains_key(a) && sub.index.contains_key(b) {
                // Only the edges of this product, not every product of the same accounts.
                let touches = e.source() == center || e.target() == center;
                if touches || !matches!(e.weight(), EdgeKind::Produces | EdgeKind::Consumes { .. }) {
                    sub.edge(a, b, *e.weight());
                }
            }
        }
        Some(sub)
    }

    /// Every edge as (from id, to id, kind), sorted.
    pub fn edges(&self) -> Vec<(&str, &str, EdgeKind)> {
        let mut out: Vec<(&str, &str, EdgeKind)> = self
            .graph
            .edge_references()
            .map(|e| {
                (
                    self.graph[e.source()].id.as_str(),
                    self.graph[e.target()].id.as_str(),
                    *e.weight(),
                )
            })
            .collect();
        out.sort_by(|a, b| (a.2.as_str(), a.0, a.1, a.2).cmp(&(b.2.as_str(), b.0, b.1, b.2)));
        out
    }

    /// `graph --format json`, as `spec/cli.md` specifies.
    pub(crate) fn to_json(&self) -> Value {
        let nodes: Vec<Value> = self
            .graph
            .node_weights()
            .map(|n| {
                let mut v = json!({"id": n.id, "kind": n.kind.as_str()});
                if let NodeKind::Product(c) = n.kind {
                    v["classification"] = json!(c.as_str());
                }
                v
            })
            .collect();
        let edges: Vec<Value> = self
            .edges()
            .into_iter()
            .map(|(from, to, kind)| {
                let mut v = json!({"from": from, "to": to, "kind": kind.as_str()});
                if let EdgeKind::Consumes { version } = kind {
                    v["version"] = json!(version);
                }
                v
            })
            .collect();
        json!({"format": 1, "nodes": nodes, "edges": edges})
    }

    /// Graphviz dot, one cluster per domain.
    pub(crate) fn to_dot(&self) -> String {
        let mut s = String::from("digraph mesh {\n  rankdir=LR;\n  node [fontname=\"Helvetica\"];\n");
        for n in self.graph.node_weights() {
            let (shape, style) = match n.kind {
                NodeKind::Domain => ("folder", ""),
                NodeKind::Team => ("box", ", style=rounded"),
                NodeKind::Account => ("box", ""),
                NodeKind::Product(Classification::Open) => ("ellipse", ""),
                NodeKind::Product(Classification::Restricted) => ("ellipse", ", style=filled, fillcolor=\"#f4cccc\""),
            };
            let label = match n.kind {
                NodeKind::Account => format!("{}\\n{}", esc(&n.label), n.id.trim_start_matches("account:")),
                _ => esc(&n.label),
            };
            let _ = writeln!(s, "  \"{}\" [label=\"{label}\", shape={shape}{style}];", esc(&n.id));
        }
        for (from, to, kind) in self.edges() {
            let label = match kind {
                EdgeKind::Consumes { version } => format!("v{version}"),
                other => other.as_str().to_owned(),
            };
            let style = if matches!(kind, EdgeKind::Consumes { .. }) {
                ""
            } else {
                ", style=dashed"
            };
            let _ = writeln!(s, "  \"{}\" -> \"{}\" [label=\"{label}\"{style}];", esc(from), esc(to));
        }
        s.push_str("}\n");
        s
    }

    /// Mermaid flowchart (renders in GitHub pull requests).
    pub(crate) fn to_mermaid(&self) -> String {
        let mut s = String::from("flowchart LR\n");
        let ids: BTreeMap<&str, String> = self
            .graph
            .node_weights()
            .enumerate()
            .map(|(i, n)| (n.id.as_str(), format!("n{i}")))
            .collect();
        for n in self.graph.node_weights() {
            let id = &ids[n.id.as_str()];
            let label = mermaid_text(&match n.kind {
                NodeKind::Account => format!("{} {}", n.label, n.id.trim_start_matches("account:")),
                NodeKind::Domain => format!("domain {}", n.label),
                NodeKind::Team => format!("team {}", n.label),
                NodeKind::Product(Classification::Restricted) => {
                    format!("{} (restricted)", n.label)
                }
                NodeKind::Product(Classification::Open) => n.label.clone(),
            });
            let _ = match n.kind {
                NodeKind::Domain => writeln!(s, "  {id}[/\"{label}\"/]"),
                NodeKind::Team => writeln!(s, "  {id}(\"{label}\")"),
                NodeKind::Account => writeln!(s, "  {id}[\"{label}\"]"),
                NodeKind::Product(_) => writeln!(s, "  {id}([\"{label}\"])"),
            };
        }
        for (from, to, kind) in self.edges() {
            let (a, b) = (&ids[from], &ids[to]);
            let _ = match kind {
                EdgeKind::Consumes { version } => writeln!(s, "  {a} -->|v{version}| {b}"),
                other => writeln!(s, "  {a} -.-|{}| {b}", other.as_str()),
            };
        }
        s
    }
}

/// A "deploy after" graph over items `0..n` (synth's stacks): each item gets
/// a wave, one more than the highest wave of the items it follows.
#[derive(Debug, Clone)]
pub(crate) struct Dependencies {
    graph: DiGraph<usize, ()>,
    nodes: Vec<NodeIndex>,
}

impl Dependencies {
    /// `n` items that follow nothing yet.
    pub(crate) fn new(n: usize) -> Dependencies {
        let mut graph = DiGraph::with_capacity(n, n);
        let nodes = (0..n).map(|i| graph.add_node(i)).collect();
        Dependencies { graph, nodes }
    }

    /// Item `after` is deployed after item `before`. Both are below `n`, as
    /// the caller numbers its own items.
    pub(crate) fn follow(&mut self, after: usize, before: usize) {
        self.graph.add_edge(self.nodes[before], self.nodes[after], ());
    }

    /// Each item's wave (from 1), by position; or, when the items cannot be
    /// ordered, the members of one cycle, ascending.
    pub(crate) fn waves(&self) -> Result<Vec<u32>, Vec<usize>> {
        let g = &self.graph;
        let order = petgraph::algo::toposort(g, None).map_err(|cycle| {
            let mut members: Vec<usize> = petgraph::algo::tarjan_scc(g)
                .into_iter()
                .find(|c| c.contains(&cycle.node_id()))
                .unwrap_or_else(|| vec![cycle.node_id()])
                .into_iter()
                .map(|n| g[n])
                .collect();
            members.sort_unstable();
            members
        })?;
        let mut wave = vec![1u32; self.nodes.len()];
        for n in order {
            wave[g[n]] = g
                .neighbors_directed(n, Direction::Incoming)
                .map(|m| wave[g[m]] + 1)
                .max()
                .unwrap_or(1);
        }
        Ok(wave)
    }
}

fn esc(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

fn mermaid_text(s: &str) -> String {
    s.replace('"', "#quot;")
}

#[cfg(test)]
mod tests {
    use super::Dependencies;

    #[test]
    fn a_wave_is_one_more_than_the_highest_it_follows() {
        // 0 ← 1 ← 3, 0 ← 2 ← 3, 4 alone: the longest chain decides.
        let mut d = Dependencies::new(5);
        d.follow(1, 0);
        d.follow(2, 0);
        d.follow(3, 1);
        d.follow(3, 2);
        d.follow(2, 1);
        assert_eq!(d.waves(), Ok(vec![1, 2, 3, 4, 1]));
    }

    #[test]
    fn a_cycle_names_its_members_and_nothing_else() {
        let mut d = Dependencies::new(4);
        d.follow(1, 0);
        d.follow(2, 1);
        d.follow(3, 2);
        d.follow(1, 3);
        assert_eq!(d.waves(), Err(vec![1, 2, 3]));
    }
}
