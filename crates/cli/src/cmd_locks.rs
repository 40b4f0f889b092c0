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
    /// Executions per scenario (default: exhaustive).
    #[arg(long)]
    pub max_executions: Option<u64>,
    #[arg(long, short = 'j')]
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
        progress: true,
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
    let mut out = String::new();
    for (design, g) in &graphs {
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
                "== {design}: {} lock-order edges (held → acquired) ==",
                g.len()
            );
            for ((from, to), (task, stack, scen)) in g {
                let _ = writeln!(out, "  {from} -> {to}");
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
    print!("{out}");
    crate::EXIT_OK
}
