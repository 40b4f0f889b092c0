//! `usb-offload check`: every design × scenario through the checker.

use crate::suite::{self, PairResult, SuiteOpts};
use crate::summary;
use explore::{Found, Strategy};
use serde_json::json;
use std::time::Duration;

#[derive(clap::Args)]
#[command(after_help = concat!(
    "Examples:\n  usb-offload check\n  usb-offload check --design v1-caller-locks --scenario stream-vs-reset --details\n  \
usb-offload check --html report.html\n  usb-offload check --strategy pct --max-executions 20000 --json\n\n\
Output: a matrix of scenarios (rows) × designs (columns) whose cells say `pass`, `FAIL n` (n distinct \
findings) or `incomplete`; the distinct findings, one line each (id, kind, property); a legend of the \
property ids; and a last line with the exit code and why. `usb-offload explain ID` prints one finding's \
counterexample, `--details` all of them. Progress goes to standard error: a bar on a terminal, one line \
per finished pair otherwise (nothing with --quiet); JSON lines stream out as pairs finish.\n\n\
A pair's verdict is `FAIL` if it has findings, `pass` if its search covered the whole space \
without one, `incomplete` otherwise (the JSON line's `bound` says what bounded it).\n\n",
    exit_codes_help!()
))]
pub struct Args {
    /// Design(s) to check: v0-core-locks, v1-caller-locks, v2-offload-spinlock, typed (default: all).
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
    /// Search every pair to its end, also those whose scenario declares an execution bound (resume-after-unplug, for one, runs for hours: combine with --max-time).
    #[arg(long, conflicts_with = "max_executions")]
    pub no_declared_bound: bool,
    /// Steps per execution before it counts as incomplete (at least 1).
    #[arg(long, default_value_t = 20_000, allow_negative_numbers = true, value_parser = crate::args::max_steps)]
    pub max_steps: u32,
    /// Wall-time limit per search, in seconds (more than 0, at most a year).
    #[arg(long, value_name = "SECONDS", allow_hyphen_values = true, value_parser = crate::args::max_time)]
    pub max_time: Option<Duration>,
    /// Cores to use (default: all): one search per core; once fewer searches are left than cores, the idle ones join those still running (work stealing), so `-j 2` on one scenario runs its search on 2 cores. A search with an execution bound (--max-executions, or a scenario's declared one) stays on one core, so that it explores the same executions on every run.
    #[arg(long, short = 'j', allow_negative_numbers = true, value_parser = crate::args::jobs)]
    pub jobs: Option<usize>,
    /// Explore only shard K of N of each search tree (K/N, 0-based): N shards partition it; `usb-offload merge` combines their --json output into the unsharded result (docs/distributed.md).
    #[arg(long, value_name = "K/N", value_parser = crate::args::shard)]
    pub shard: Option<(usize, usize)>,
    /// With --shard: plan where each search goes from the executions an earlier run took: its --json output (unsharded, or merged), or the files of all its shards (then a split search is also dealt where its large pieces fit). Searches up to half a shard's share run whole on one shard, larger ones are split; longest first, onto the shards with the least work. Give every shard the same files.
    #[arg(long, value_name = "FILE", num_args = 1.., requires = "shard")]
    pub shard_sizes: Vec<std::path::PathBuf>,
    /// Seed of the random and PCT strategies.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// JSON Lines, one object per design × scenario, each printed as its search ends.
    #[arg(long)]
    pub json: bool,
    /// The matrix and the exit line only (no list of findings).
    #[arg(long, conflicts_with = "details")]
    pub brief: bool,
    /// After the summary, every distinct finding with its counterexample.
    #[arg(long)]
    pub details: bool,
    /// Also write a self-contained HTML report (matrix, findings, a sequence diagram each).
    #[arg(long, value_name = "FILE")]
    pub html: Option<std::path::PathBuf>,
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
    let shard_plan = match a.shard {
        Some((_, n)) if !a.shard_sizes.is_empty() => {
            match crate::shard_plan::read_sizes(&a.shard_sizes) {
                Ok(sizes) => {
                    let names: Vec<String> = pairs
                        .iter()
                        .map(|(d, sc)| suite::program(*d, sc).name)
                        .collect();
                    Some(std::sync::Arc::new(crate::shard_plan::plan(
                        &names, &sizes, n,
                    )))
                }
                Err(e) => {
                    eprintln!(
                    "error: --shard-sizes: {e}\nhint: give what `usb-offload check --json` printed for the suite, unsharded or in every shard (or `usb-offload merge` of the shards)"
                );
                    return crate::EXIT_USAGE;
                }
            }
        }
        _ => None,
    };
    let opts = SuiteOpts {
        strategy: a.strategy,
        max_executions: a.max_executions,
        max_steps: a.max_steps,
        max_time: a.max_time,
        jobs: a.jobs.unwrap_or_else(suite::default_jobs),
        seed: a.seed,
        shard: a.shard,
        shard_plan,
        progress: crate::term::progress(),
        no_declared_bound: a.no_declared_bound,
    };
    let started = std::time::Instant::now();
    let json = a.json;
    let shard = a.shard;
    let stream = move |r: &PairResult| {
        if json {
            println!("{}", pair_line(r, shard));
        }
    };
    let results = suite::run_pairs_with(pairs, &opts, &stream);
    let code = suite::exit_code(&results);
    if !a.json {
        if a.brief {
            print!("{}", summary::matrix(&results));
            println!("\n{}", summary::exit_line(&results, code));
        } else {
            if a.details {
                print_details(&results, a.max_steps);
            }
            print!("{}", summary::format(&results, started.elapsed(), code));
        }
    }
    if let Some(path) = &a.html {
        let page = crate::html::check_page(&results, started.elapsed(), a.max_steps);
        if let Err(e) = std::fs::write(path, page) {
            eprintln!("error: cannot write {}: {e}", path.display());
            return crate::EXIT_USAGE;
        }
        if !crate::term::quiet() {
            eprintln!("wrote {}", path.display());
        }
    }
    code
}

/// The JSON line of one pair: its fields and its findings. A shard's line also says
/// which shard it is, where each finding's counterexample ends and the lock-order
/// edges the shard recorded, so that `merge` can combine the shards.
fn pair_line(r: &PairResult, shard: Option<(usize, usize)>) -> serde_json::Value {
    let mut v = suite::pair_json(r);
    v.insert(
        "findings".into(),
        r.report
            .findings
            .iter()
            .map(|f| {
                let mut j = finding_json(f);
                if shard.is_some() {
                    j["at_step"] = json!(f.finding.step);
                }
                j
            })
            .collect(),
    );
    if let Some((k, n)) = shard {
        v.insert("shard".into(), json!(format!("{k}/{n}")));
        if let Some((owner, split)) = r.shard_owner {
            // What a later plan needs to read this shard's part of the search.
            v.insert("shard_owner".into(), json!(owner));
            v.insert("shard_split".into(), json!(split));
        }
        v.insert(
            "lock_edges".into(),
            r.report
                .edges
                .iter()
                .map(|e| json!([e.from, e.to]))
                .collect(),
        );
    }
    serde_json::Value::Object(v)
}

/// Every distinct finding (per design and mechanism) with its counterexample, printed
/// before the summary so the summary stays the last screen.
fn print_details(results: &[PairResult], max_steps: u32) {
    for g in summary::distinct(results) {
        print!(
            "{}",
            explore::report::format_found(&g.pair.program, g.first, max_steps)
        );
        if g.scenarios.len() > 1 {
            println!("  also in: {}", g.scenarios[1..].join(", "));
        }
        println!();
    }
}
