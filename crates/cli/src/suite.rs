//! Running design × scenario pairs of the model through the checker, in parallel.

use crate::term::Progress;
use explore::{explore, Config, Program, Report, Strategy};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use model::{Design, Scenario};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The checker program of one design × scenario pair.
pub fn program(design: Design, sc: &Scenario) -> Program {
    sc.program(design)
}

/// Finds the program a replay token names (`design/scenario`).
pub fn program_by_name(name: &str) -> Result<(Design, Scenario, Program), String> {
    let (d, s) = name
        .split_once('/')
        .ok_or_else(|| format!("token names program `{name}`, expected `design/scenario`"))?;
    let design: Design = d.parse().map_err(|e| format!("{e}"))?;
    let sc = model::find_scenario(s)
        .ok_or_else(|| format!("token names scenario `{s}`, which this build does not have; see `usb-offload scenarios`"))?;
    let p = program(design, &sc);
    Ok((design, sc, p))
}

/// Result of one pair.
pub struct PairResult {
    pub design: Design,
    pub scenario: Scenario,
    pub program: Program,
    pub report: Report,
    /// The search ran under the scenario's declared execution bound (no
    /// `--max-executions` given).
    pub declared_bound: bool,
    /// Of a sharded search: the shard its pieces were dealt from (or that ran it
    /// whole), and whether it was split.
    pub shard_owner: Option<(usize, bool)>,
}

impl PairResult {
    /// What bounded the search (`None`: exhaustive). A stop at the scenario's own
    /// execution bound is `scenario-bound`, not `max-executions`.
    pub fn bound(&self) -> Option<&'static str> {
        match self.report.bound() {
            Some("max-executions") if self.declared_bound => Some("scenario-bound"),
            b => b,
        }
    }
}

/// The exit code of a set of searches: findings (1) before bounded searches (3).
pub fn exit_code(results: &[PairResult]) -> u8 {
    if results.iter().any(|r| !r.report.findings.is_empty()) {
        crate::EXIT_FINDING
    } else if results.iter().any(|r| !r.report.exhaustive()) {
        crate::EXIT_INCOMPLETE
    } else {
        crate::EXIT_OK
    }
}

/// Options shared by `check`, `locks` and `bench check`.
#[derive(Clone)]
pub struct SuiteOpts {
    pub strategy: Strategy,
    pub max_executions: Option<u64>,
    pub max_steps: u32,
    pub max_time: Option<Duration>,
    pub jobs: usize,
    pub seed: u64,
    pub shard: Option<(usize, usize)>,
    /// With `shard`: where each search goes, by program name (see `shard_plan`);
    /// a search not in it is split, dealt from the shard its name hashes to.
    pub shard_plan: Option<Arc<HashMap<String, explore::ShardPlacement>>>,
    pub progress: Progress,
    /// Search to the end also where a scenario declares an execution bound.
    pub no_declared_bound: bool,
}

/// How often a search still running prints a progress line off a terminal.
const HEARTBEAT: Duration = Duration::from_secs(30);

/// How long a thread with no pair left waits for a search to join before it looks
/// again whether every pair has ended.
const HELP_PATIENCE: Duration = Duration::from_millis(50);

/// Runs every pair, `jobs` at a time, with progress; results in input order.
pub fn run_pairs(pairs: Vec<(Design, Scenario)>, o: &SuiteOpts) -> Vec<PairResult> {
    run_pairs_with(pairs, o, &|_| {})
}

/// As [`run_pairs`], calling `on_done` with each pair as soon as its search ends (in
/// the order they end, one call at a time), so JSON lines can stream out.
pub fn run_pairs_with(
    pairs: Vec<(Design, Scenario)>,
    o: &SuiteOpts,
    on_done: &(dyn Fn(&PairResult) + Sync),
) -> Vec<PairResult> {
    let n = pairs.len();
    let jobs = o.jobs.max(1);
    let mp = MultiProgress::new();
    if o.progress != Progress::Bar {
        mp.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let total = mp.add(ProgressBar::new(n as u64));
    total.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} pairs, ETA {eta}  {msg}",
        )
        .expect("template"),
    );
    total.enable_steady_tick(Duration::from_millis(200));
    let next = AtomicUsize::new(0);
    // Finished pairs: the results in input order, and how many ended (for the
    // per-pair log line).
    let results: Mutex<(Vec<Option<PairResult>>, usize)> =
        Mutex::new(((0..n).map(|_| None).collect(), 0));
    let fails = AtomicUsize::new(0);
    // One search per pair and core; fewer pairs than cores share them out, each
    // search stealing work among its own workers. A thread that finds no pair left
    // joins a running search through the help desk, so the last searches of a
    // suite get every core.
    let inner_jobs = (jobs / n.max(1)).max(1);
    let desk = Arc::new(explore::HelpDesk::default());
    let ended = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..jobs.min(n.max(1)) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some((design, sc)) = pairs.get(i).cloned() else {
                    while ended.load(Ordering::Relaxed) < n {
                        desk.help(HELP_PATIENCE);
                    }
                    break;
                };
                let p = program(design, &sc);
                let bar = mp.add(ProgressBar::new_spinner());
                bar.set_message(format!("{}  0 executions", p.name));
                let b2 = bar.clone();
                let name = p.name.clone();
                // Off a terminal, a long search says it is alive every half minute.
                let lines = o.progress == Progress::Lines;
                let began = std::time::Instant::now();
                let last_line = Mutex::new(began);
                let declared = sc.search_config();
                let placement = o
                    .shard_plan
                    .as_ref()
                    .and_then(|plan| plan.get(&p.name).copied())
                    .unwrap_or_default();
                let cfg = Config {
                    strategy: o.strategy,
                    max_steps: o.max_steps,
                    max_executions: o.max_executions.or(if o.no_declared_bound {
                        None
                    } else {
                        declared.max_executions
                    }),
                    max_time: o.max_time,
                    seed: o.seed,
                    jobs: inner_jobs,
                    helpers: (jobs > 1).then(|| desk.clone()),
                    shard: o.shard,
                    shard_placement: placement,
                    progress: Some(Arc::new(move |e| {
                        b2.set_message(format!("{name}  {e} executions"));
                        if lines {
                            let mut last = last_line.lock().expect("progress clock");
                            if last.elapsed() >= HEARTBEAT {
                                *last = std::time::Instant::now();
                                eprintln!(
                                    "[running] {name}: {e} executions, {:.0} s",
                                    began.elapsed().as_secs_f64()
                                );
                            }
                        }
                    })),
                    ..declared
                };
                let shard_owner = o.shard.map(|(_, n)| {
                    let whole = matches!(placement, explore::ShardPlacement::Whole { .. });
                    (
                        placement.owner(&p.name, n),
                        !whole && cfg.max_executions.is_none(),
                    )
                });
                let report = explore(&p, &cfg);
                bar.finish_and_clear();
                mp.remove(&bar);
                let r = PairResult {
                    design,
                    scenario: sc,
                    program: p,
                    report,
                    declared_bound: o.max_executions.is_none()
                        && !o.no_declared_bound
                        && sc.max_executions.is_some(),
                    shard_owner,
                };
                let mut guard = results.lock().expect("results");
                guard.1 += 1;
                if !r.report.findings.is_empty() {
                    fails.fetch_add(1, Ordering::Relaxed);
                }
                total.inc(1);
                total.set_message(format!("{} with findings", fails.load(Ordering::Relaxed)));
                if o.progress == Progress::Lines {
                    eprintln!("{}", progress_line(&r, guard.1, n));
                }
                on_done(&r);
                guard.0[i] = Some(r);
                ended.fetch_add(1, Ordering::Relaxed);
            });
        }
    });
    total.finish_and_clear();
    results
        .into_inner()
        .expect("results")
        .0
        .into_iter()
        .map(|r| r.expect("every pair ran"))
        .collect()
}

/// The log line of a finished pair: `[12/102] v1-caller-locks/stream-vs-reset: FAIL, 4
/// findings, 11880 executions, 2.5 s`.
fn progress_line(r: &PairResult, done: usize, n: usize) -> String {
    let w = n.to_string().len();
    let k = r.report.findings.len();
    format!(
        "[{done:>w$}/{n}] {}: {}, {k} finding{}, {} executions, {:.1} s",
        r.program.name,
        crate::summary::verdict_word(r.report.verdict()),
        if k == 1 { "" } else { "s" },
        r.report.executions,
        r.report.elapsed.as_secs_f64()
    )
}

/// Selects designs and scenarios by name (empty = all).
pub fn select(designs: &[String], scenarios: &[String]) -> Result<Vec<(Design, Scenario)>, String> {
    let ds: Vec<Design> = if designs.is_empty() {
        Design::ALL.to_vec()
    } else {
        designs
            .iter()
            .map(|d| d.parse::<Design>().map_err(|e| e.to_string()))
            .collect::<Result<_, _>>()?
    };
    let all = model::all_scenarios();
    let ss: Vec<Scenario> = if scenarios.is_empty() {
        all
    } else {
        scenarios
            .iter()
            .map(|s| {
                all.iter().find(|x| x.name == s).cloned().ok_or_else(|| {
                    format!("unknown scenario `{s}`; `usb-offload scenarios` lists them")
                })
            })
            .collect::<Result<_, _>>()?
    };
    Ok(ds
        .iter()
        .flat_map(|&d| ss.iter().map(move |s| (d, *s)))
        .collect())
}

pub fn default_jobs() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// The fields every JSON line about a design × scenario pair carries.
pub fn pair_json(r: &PairResult) -> serde_json::Map<String, serde_json::Value> {
    let v = serde_json::json!({
        "design": r.design.name(),
        "scenario": r.scenario.name,
        "verdict": r.report.verdict().as_str(),
        "strategy": r.report.strategy,
        "exhaustive": r.report.exhaustive(),
        "bound": r.bound(),
        "executions": r.report.executions,
        "pruned": r.report.pruned,
        "steps": r.report.total_steps,
        "seconds": r.report.elapsed.as_secs_f64(),
    });
    match v {
        serde_json::Value::Object(m) => m,
        _ => unreachable!("a JSON object"),
    }
}
