//! `usb-offload locks`: the lock-order graph observed over all scenarios of a design —
//! the written lock hierarchy, generated from the model.

use crate::suite::{self, SuiteOpts};
use explore::Strategy;
use std::collections::BTreeMap;
use std::fmt::Write;

#[derive(clap::Args)]
pub struct Args {
    /// Design(s) (default: all).
    #[arg(long = "design", short = 'd')]
    pub designs: Vec<String>,
    /// Print Graphviz DOT instead of text.
    #[arg(long)]
    pub dot: bool,
    /// Executions per scenario, at least 1 (default: exhaustive).
    #[arg(long, allow_negative_numbers = true, value_parser = crate::args::max_executions)]
    pub max_executions: Option<u64>,
    /// Cores to use (default: all): one search per core; once fewer searches are left than cores, the idle ones join those still running (work stealing), so `-j 2` on one scenario runs its search on 2 cores. A search with an execution bound (--max-executions, or a scenario's declared one) stays on one core, so that it explores the same executions on every run.
    #[arg(long, short = 'j', allow_negative_numbers = true, value_parser = crate::args::jobs)]
    pub jobs: Option<usize>,
}

pub fn run(a: Args) -> u8 {
    let pairs = match suite::select(&a.designs, &[]) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return crate::EXIT_USAGE;
        }
    };
    let opts = SuiteOpts {
        strategy: Strategy::Dpor,
        max_executions: a.max_executions,
        max_steps: 20_000,
        max_time: None,
        jobs: a.jobs.unwrap_or_else(suite::default_jobs),
        seed: 1,
        shard: None,
        shard_plan: None,
        progress: crate::term::progress(),
        no_declared_bound: false,
    };
    let results = suite::run_pairs(pairs, &opts);
    // design → (from, to) → (first task, stack, scenarios)
    type Info = (String, Vec<&'static str>, Vec<&'static str>);
    let mut graphs: BTreeMap<&'static str, BTreeMap<(String, String), Info>> = BTreeMap::new();
    let mut cycles: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
    for r in &results {
        let g = graphs.entry(r.design.name()).or_default();
        for e in &r.report.edges {
            let ent = g
                .entry((e.from.clone(), e.to.clone()))
                .or_insert_with(|| (e.task.clone(), e.stack.clone(), Vec::new()));
            if !ent.2.contains(&r.scenario.name) {
                ent.2.push(r.scenario.name);
            }
        }
        for f in &r.report.findings {
            if f.finding.kind == ksync::FindingKind::LockOrder {
                cycles
                    .entry(r.design.name())
                    .or_default()
                    .push(f.finding.summary.clone());
            }
        }
    }
    let declared = ksync::order::Hierarchy::new(model::lock_order::TYPED_ORDER);
    let mut against: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut out = String::new();
    for (design, g) in &graphs {
        let violations = declared.violations(g.keys().map(|(a, b)| (a.as_str(), b.as_str())));
        against.insert(design, violations.len());
        if a.dot {
            let _ = writeln!(
                out,
                "digraph \"{design}\" {{\n  rankdir=LR;\n  node [shape=box, fontname=monospace];"
            );
            for ((from, to), (task, _, scen)) in g {
                let _ = writeln!(
                    out,
                    "  \"{from}\" -> \"{to}\" [tooltip=\"{task} in {}\"];",
                    scen.join(", ")
                );
            }
            let _ = writeln!(out, "}}");
        } else {
            let _ = writeln!(
                out,
                "== {design}: lock hierarchy (take a lock only after those on earlier levels) =="
            );
            for (i, level) in hierarchy(g.keys()).iter().enumerate() {
                let _ = writeln!(out, "  {:>2}. {}", i + 1, level.join(", "));
            }
            let _ = writeln!(
                out,
                "\n== {design}: {} lock-order edges (held → acquired) ==",
                g.len()
            );
            for ((from, to), (task, stack, scen)) in g {
                let _ = writeln!(out, "  {from} -> {to}");
                let _ = writeln!(out, "      first by {task} in {}", stack.join(" > "));
                let _ = writeln!(out, "      scenarios: {}", scen.join(", "));
            }
            let _ = writeln!(
                out,
                "\n== {design}: against the declared hierarchy (crates/model/src/lock_order.rs): {} of {} edges ==",
                violations.len(),
                g.len()
            );
            for v in &violations {
                let (task, stack, scen) = &g[&(v.held.clone(), v.acquired.clone())];
                let _ = writeln!(out, "  {} -> {}: {}", v.held, v.acquired, v.why);
                let _ = writeln!(out, "      first by {task} in {}", stack.join(" > "));
                let _ = writeln!(out, "      scenarios: {}", scen.join(", "));
            }
            if let Some(c) = cycles.get(design) {
                let _ = writeln!(out, "  cycles:");
                let mut c = c.clone();
                c.sort_unstable();
                c.dedup();
                for s in c {
                    let _ = writeln!(out, "    {s}");
                }
            }
            out.push('\n');
        }
    }
    for (design, n) in &against {
        let c = cycles.get(design).map_or(0, |c| {
            let mut c = c.clone();
            c.sort_unstable();
            c.dedup();
            c.len()
        });
        let _ = writeln!(
            out,
            "{design}: {n} edge(s) against the declared hierarchy, {c} lock-order cycle(s)"
        );
    }
    print!("{out}");
    let clean = against.values().all(|&n| n == 0) && cycles.values().all(|c| c.is_empty());
    if clean {
        crate::EXIT_OK
    } else {
        crate::EXIT_FINDING
    }
}

/// Levels of the lock-order graph: each class on the level after the deepest class
/// that is ever held while it is taken. Classes on a cycle share one level, marked.
fn hierarchy<'a>(edges: impl Iterator<Item = &'a (String, String)>) -> Vec<Vec<String>> {
    use std::collections::{BTreeMap, BTreeSet};
    let mut adj: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (a, b) in edges {
        adj.entry(a).or_default().insert(b);
        adj.entry(b).or_default();
    }
    let nodes: Vec<&str> = adj.keys().copied().collect();
    // Strongly connected components (Kosaraju), so cycles collapse into one node.
    let mut order = Vec::new();
    let mut seen = BTreeSet::new();
    fn dfs1<'b>(
        n: &'b str,
        adj: &BTreeMap<&'b str, BTreeSet<&'b str>>,
        seen: &mut BTreeSet<&'b str>,
        order: &mut Vec<&'b str>,
    ) {
        if !seen.insert(n) {
            return;
        }
        for &m in &adj[n] {
            dfs1(m, adj, seen, order);
        }
        order.push(n);
    }
    for &n in &nodes {
        dfs1(n, &adj, &mut seen, &mut order);
    }
    let mut radj: BTreeMap<&str, BTreeSet<&str>> =
        nodes.iter().map(|&n| (n, BTreeSet::new())).collect();
    for (&a, bs) in &adj {
        for &b in bs {
            radj.get_mut(b).expect("node").insert(a);
        }
    }
    let mut comp: BTreeMap<&str, usize> = BTreeMap::new();
    let mut comps: Vec<Vec<&str>> = Vec::new();
    for &n in order.iter().rev() {
        if comp.contains_key(n) {
            continue;
        }
        let id = comps.len();
        let mut stack = vec![n];
        let mut members = Vec::new();
        comp.insert(n, id);
        while let Some(x) = stack.pop() {
            members.push(x);
            for &y in &radj[x] {
                if let std::collections::btree_map::Entry::Vacant(e) = comp.entry(y) {
                    e.insert(id);
                    stack.push(y);
                }
            }
        }
        comps.push(members);
    }
    // Components come out in topological order; level = longest path from a source.
    let mut level = vec![0usize; comps.len()];
    for (id, members) in comps.iter().enumerate() {
        for &m in members {
            for &t in &adj[m] {
                let tid = comp[t];
                if tid != id {
                    level[tid] = level[tid].max(level[id] + 1);
                }
            }
        }
    }
    let depth = level.iter().copied().max().map_or(0, |d| d + 1);
    let mut out = vec![Vec::new(); depth];
    for (id, members) in comps.iter().enumerate() {
        let mut names: Vec<String> = members.iter().map(|s| s.to_string()).collect();
        names.sort();
        if names.len() > 1 {
            out[level[id]].push(format!("{{{}}} (CYCLE)", names.join(" <-> ")));
        } else {
            out[level[id]].extend(names);
        }
    }
    out
}
