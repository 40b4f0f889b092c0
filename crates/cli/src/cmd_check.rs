//! `usb-offload check`: every design × scenario through the checker.

use crate::suite::{self, PairResult, SuiteOpts};
use explore::{Found, Strategy, Verdict};
use serde_json::json;
use std::collections::HashSet;
use std::time::Duration;

#[derive(clap::Args)]
#[command(after_help = concat!(
    "Examples:\n  usb-offload check\n  usb-offload check --design v1-caller-locks --scenario stream-vs-reset\n  \
usb-offload check --strategy pct --max-executions 20000 --json\n\n\
A pair's verdict is `FAIL` if it has findings, `pass` if its search covered the whole space \
without one, `incomplete` otherwise (the JSON line's `bound` says what bounded it).\n\n",
    exit_codes_help!()
))]
pub struct Args {
    /// Design(s) to check: v0-core-locks, v1-caller-locks, v2-offload-spinlock (default: all).
    #[arg(long = "design", short = 'd')]
    pub designs: Vec<String>,
    /// Scenario(s) to check (default: all; see `usb-offload scenarios`).
    #[arg(long = "scenario", short = 's')]
    pub scenarios: Vec<String>,
    /// dpor (exhaustive, default), dfs (exhaustive, no reduction), random, pct.
    #[arg(long, default_value = "dpor")]
    pub strategy: Strategy,
    /// Stop each search after this many executions, at least 1 (verdict becomes "incomplete").
    #[arg(long, allow_negative_numbers = true, value_parser = crate::args::max_executions)]
    pub max_executions: Option<u64>,
    /// Steps per execution before it counts as incomplete (at least 1).
    #[arg(long, default_value_t = 20_000, allow_negative_numbers = true, value_parser = crate::args::max_steps)]
    pub max_steps: u32,
    /// Wall-time limit per search, in seconds (more than 0, at most a year).
    #[arg(long, value_name = "SECONDS", allow_hyphen_values = true, value_parser = crate::args::max_time)]
    pub max_time: Option<Duration>,
    /// Parallel searches (default: number of cores).
    #[arg(long, short = 'j', allow_negative_numbers = true, value_parser = crate::args::jobs)]
    pub jobs: Option<usize>,
    /// Explore only shard K of N of each search tree (K/N, 0-based), for many machines.
    #[arg(long, value_name = "K/N", value_parser = crate::args::shard)]
    pub shard: Option<(usize, usize)>,
    /// Seed of the random and PCT strategies.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// JSON Lines, one object per design × scenario.
    #[arg(long)]
    pub json: bool,
    /// Do not print counterexamples (table only).
    #[arg(long)]
    pub brief: bool,
}

pub fn finding_json(f: &Found) -> serde_json::Value {
    let fi = &f.finding;
    json!({
        "id": f.id,
        "signature": f.signature,
        "edge_witnesses": f.edge_witnesses,
        "kind": fi.kind.as_str(),
        "property": fi.property,
        "summary": fi.summary,
        "tasks": fi.task.iter().collect::<Vec<_>>(),
        "locks": fi.locks,
        "replay": f.token,
        "occurrences": f.occurrences,
        "detail": fi.detail,
    })
}

pub fn run(a: Args) -> u8 {
    let pairs = match suite::select(&a.designs, &a.scenarios) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return crate::EXIT_USAGE;
        }
    };
    let opts = SuiteOpts {
        strategy: a.strategy,
        max_executions: a.max_executions,
        max_steps: a.max_steps,
        max_time: a.max_time,
        jobs: a.jobs.unwrap_or_else(suite::default_jobs),
        seed: a.seed,
        shard: a.shard,
        progress: !a.json,
    };
    let started = std::time::Instant::now();
    let results = suite::run_pairs(pairs, &opts);
    if a.json {
        for r in &results {
            let mut v = suite::pair_json(r);
            v.insert(
                "findings".into(),
                r.report.findings.iter().map(finding_json).collect(),
            );
            let v = serde_json::Value::Object(v);
            println!("{v}");
        }
    } else {
        print_table(&results, started.elapsed());
        if !a.brief {
            print_counterexamples(&results, a.max_steps);
        }
    }
    suite::exit_code(&results)
}

fn print_table(results: &[PairResult], total: Duration) {
    let w = results
        .iter()
        .map(|r| r.scenario.name.len())
        .max()
        .unwrap_or(8)
        .max(8);
    println!(
        "{:<20} {:<w$} {:<10} {:>10} {:>8}  findings",
        "design", "scenario", "verdict", "executions", "seconds"
    );
    println!("{}", "-".repeat(20 + w + 36));
    for r in results {
        let v = r.report.verdict();
        let mark = match v {
            Verdict::Pass => "pass",
            Verdict::Fail => "FAIL",
            Verdict::Incomplete => "incomplete",
        };
        let kinds: Vec<String> = r
            .report
            .findings
            .iter()
            .map(|f| format!("{} {}", f.finding.kind.as_str(), f.finding.property))
            .collect();
        println!(
            "{:<20} {:<w$} {:<10} {:>10} {:>8.2}  {}",
            r.design.name(),
            r.scenario.name,
            mark,
            r.report.executions,
            r.report.elapsed.as_secs_f64(),
            kinds.join(", ")
        );
    }
    let execs: u64 = results.iter().map(|r| r.report.executions).sum();
    let incomplete = results
        .iter()
        .filter(|r| r.report.verdict() == Verdict::Incomplete)
        .count();
    println!(
        "\n{} pair(s), {} executions, {:.1} s wall; {} with findings{}",
        results.len(),
        execs,
        total.as_secs_f64(),
        results
            .iter()
            .filter(|r| !r.report.findings.is_empty())
            .count(),
        if incomplete > 0 {
            format!("; {incomplete} incomplete (bounded search, no finding)")
        } else {
            String::new()
        }
    );
}

/// One counterexample per distinct finding of each design (kind, property, locks).
fn print_counterexamples(results: &[PairResult], max_steps: u32) {
    let mut seen = HashSet::new();
    let mut first = true;
    for r in results {
        for f in &r.report.findings {
            if !seen.insert((r.design, f.signature.clone())) {
                continue;
            }
            if first {
                println!("\n=== counterexamples (one per distinct finding and design) ===");
                first = false;
            }
            println!();
            print!(
                "{}",
                explore::report::format_found(&r.program, f, max_steps)
            );
        }
    }
}
