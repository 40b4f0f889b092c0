//! The usb-offload checker: runs a ksync program through its interleavings.
//!
//! A [`Program`] is a main function that builds its state and spawns tasks; the checker
//! runs it many times under a [`Strategy`] (exhaustive DPOR, plain DFS, random, PCT)
//! and collects [`Found`] findings, each with the shortest counterexample seen and a
//! replay token.

pub mod dpor;
mod parallel;
pub use parallel::HelpDesk;
pub mod pct;
pub mod report;
pub mod selftest;
mod shards;
pub use shards::{Placement as ShardPlacement, COMMON_EXECUTIONS as SHARD_COMMON_EXECUTIONS};
pub mod token;

use ksync::rt::{EndKind, ExecConfig, ExecOutcome, Execution, Scheduler};
use ksync::{Finding, PropertyIds, RuntimeCheck};
use std::collections::HashMap;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A program to check: `main` runs as task 0 of every execution.
#[derive(Clone)]
pub struct Program {
    /// Name used in reports and replay tokens (the model uses `design/scenario`).
    pub name: String,
    pub main: Arc<dyn Fn() + Send + Sync>,
    /// The property ids the program's specification gives the runtime's own checks.
    pub property_ids: PropertyIds,
}

impl Program {
    /// A program whose runtime findings are named after their checks.
    pub fn new(name: impl Into<String>, main: impl Fn() + Send + Sync + 'static) -> Self {
        Program {
            name: name.into(),
            main: Arc::new(main),
            property_ids: RuntimeCheck::name,
        }
    }

    /// The same program, its runtime findings under the property ids `ids` gives.
    pub fn with_property_ids(mut self, ids: PropertyIds) -> Self {
        self.property_ids = ids;
        self
    }
}

/// How the search picks schedules.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Strategy {
    /// Exhaustive DFS with dynamic partial-order reduction (source sets + sleep sets).
    Dpor,
    /// Exhaustive DFS without reduction: every enabled task at every point.
    Dfs,
    /// Uniformly random scheduling, `max_executions` runs.
    Random,
    /// Probabilistic concurrency testing with bug depth `pct_depth`.
    Pct,
}

impl FromStr for Strategy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "dpor" => Ok(Strategy::Dpor),
            "dfs" => Ok(Strategy::Dfs),
            "random" => Ok(Strategy::Random),
            "pct" => Ok(Strategy::Pct),
            _ => Err(format!(
                "unknown strategy `{s}` (expected dpor, dfs, random or pct)"
            )),
        }
    }
}

impl Strategy {
    pub fn exhaustive(self) -> bool {
        matches!(self, Strategy::Dpor | Strategy::Dfs)
    }
}

/// Search bounds and options.
#[derive(Clone)]
pub struct Config {
    pub strategy: Strategy,
    /// Steps per execution; hitting it makes the verdict "incomplete".
    pub max_steps: u32,
    pub max_executions: Option<u64>,
    pub max_time: Option<Duration>,
    pub seed: u64,
    pub pct_depth: usize,
    /// Worker threads for one exhaustive search: they share its tree by work
    /// stealing (a worker hands unexplored alternatives near its root to an idle one).
    /// A search with `max_executions` runs on one, so that its first executions are
    /// the same on every run.
    pub jobs: usize,
    /// Threads that finished their own work can join this search as extra workers
    /// through this desk (a suite's searches share the cores as they end).
    pub helpers: Option<Arc<HelpDesk>>,
    /// Explore only shard `k` of `n` (0-based) of the split search tree.
    pub shard: Option<(usize, usize)>,
    /// With `shard`: whether this search is split over the shards or run whole by one
    /// of them, and which shard its split starts dealing from.
    pub shard_placement: ShardPlacement,
    /// Executions the shards run alike before they split, and again at most to split
    /// large pieces further ([`SHARD_COMMON_EXECUTIONS`]); a small value splits small
    /// trees too, as the self-tests need.
    pub shard_common_executions: u64,
    /// Stop at the first finding.
    pub stop_at_first: bool,
    /// Called now and then with the number of executions so far.
    pub progress: Option<Arc<dyn Fn(u64) + Send + Sync>>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            strategy: Strategy::Dpor,
            max_steps: 20_000,
            max_executions: None,
            max_time: None,
            seed: 1,
            pct_depth: 3,
            jobs: 1,
            helpers: None,
            shard: None,
            shard_placement: ShardPlacement::Hashed,
            shard_common_executions: SHARD_COMMON_EXECUTIONS,
            stop_at_first: false,
            progress: None,
        }
    }
}

/// A distinct finding with its shortest counterexample.
#[derive(Clone, Debug)]
pub struct Found {
    pub finding: Finding,
    pub decisions: Vec<u32>,
    pub token: String,
    /// Executions that hit it.
    pub occurrences: u64,
    /// Stable id: `program/PROPERTY#n`, `n` numbering the distinct mechanisms of one
    /// property in the program by their signatures' order.
    pub id: String,
    /// The mechanism signature ([`Finding::signature`]): the finding's identity.
    pub signature: String,
    /// Lock-order cycles (accumulated over executions, so potential): for each edge
    /// of the cycle, the execution that first recorded it.
    pub edge_witnesses: Vec<EdgeWitness>,
}

/// The execution that first recorded one lock-order edge.
#[derive(Clone, Debug, serde::Serialize)]
pub struct EdgeWitness {
    pub from: String,
    pub to: String,
    pub token: String,
    #[serde(skip)]
    pub decisions: Vec<u32>,
}

/// Overall verdict of a search.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Pass,
    Fail,
    Incomplete,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::Incomplete => "incomplete",
        }
    }
}

/// A lock-order edge observed during a search, for `usb-offload locks`.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Edge {
    pub from: String,
    pub to: String,
    pub task: String,
    pub stack: Vec<&'static str>,
}

/// The limit that ended a search before it covered its space.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stop {
    /// `Config::max_executions` (for random and PCT also their default budget).
    MaxExecutions,
    /// `Config::max_time`.
    MaxTime,
    /// `Config::stop_at_first`: a finding ended the search.
    FirstFinding,
}

impl Stop {
    pub fn as_str(self) -> &'static str {
        match self {
            Stop::MaxExecutions => "max-executions",
            Stop::MaxTime => "max-time",
            Stop::FirstFinding => "first-finding",
        }
    }
}

/// What a search found.
#[derive(Clone, Debug)]
pub struct Report {
    pub program: String,
    pub strategy: Strategy,
    pub executions: u64,
    pub total_steps: u64,
    /// Executions abandoned by sleep sets (redundant).
    pub pruned: u64,
    /// Executions that hit the step bound.
    pub step_bound_hits: u64,
    /// The search covered its whole space (exhaustive strategies only).
    pub exhausted: bool,
    /// The limit that stopped the search early, if one did.
    pub stopped_by: Option<Stop>,
    pub findings: Vec<Found>,
    pub elapsed: Duration,
    pub edges: Vec<Edge>,
}

impl Report {
    pub fn verdict(&self) -> Verdict {
        if !self.findings.is_empty() {
            Verdict::Fail
        } else if self.exhausted && self.step_bound_hits == 0 {
            Verdict::Pass
        } else {
            Verdict::Incomplete
        }
    }

    /// The search covered the whole space: exhaustive strategy, not stopped early,
    /// no execution cut by the step bound.
    pub fn exhaustive(&self) -> bool {
        self.strategy.exhaustive() && self.exhausted && self.step_bound_hits == 0
    }

    /// What bounded the search, `None` when it was exhaustive: `strategy` (random and
    /// PCT sample schedules), the limit that stopped it (`max-executions`,
    /// `max-time`, `first-finding`), or `step-bound` (executions cut short).
    pub fn bound(&self) -> Option<&'static str> {
        if !self.strategy.exhaustive() {
            Some("strategy")
        } else if let Some(s) = self.stopped_by {
            Some(s.as_str())
        } else if self.step_bound_hits > 0 {
            Some("step-bound")
        } else if !self.exhausted {
            Some("stopped")
        } else {
            None
        }
    }
}

/// Findings merged by their mechanism signature, keeping the shortest
/// counterexample; and the first execution of every lock-order edge.
#[derive(Default)]
pub(crate) struct Collector {
    found: HashMap<String, Found>,
    order: Vec<String>,
    edges: HashMap<(String, String), Vec<u32>>,
}

impl Collector {
    /// Records the execution (`decisions`) as the witness of the lock-order edges it
    /// added to `lockdep` (those after the first `before`).
    pub(crate) fn note_edges(
        &mut self,
        lockdep: &ksync::rt::LockDep,
        before: usize,
        decisions: &[u32],
    ) {
        for e in lockdep.edges().skip(before) {
            self.edges
                .entry((e.from_name(), e.to_name()))
                .or_insert_with(|| decisions.to_vec());
        }
    }

    pub(crate) fn add(&mut self, program: &str, f: Finding, decisions: &[u32]) {
        let key = f.signature();
        match self.found.get_mut(&key) {
            Some(prev) => {
                prev.occurrences += 1;
                if f.step < prev.finding.step {
                    prev.finding = f;
                    prev.decisions = decisions.to_vec();
                    prev.token = token::encode(program, decisions);
                }
            }
            None => {
                self.order.push(key.clone());
                self.found.insert(
                    key.clone(),
                    Found {
                        finding: f,
                        decisions: decisions.to_vec(),
                        token: token::encode(program, decisions),
                        occurrences: 1,
                        id: String::new(),
                        signature: key,
                        edge_witnesses: Vec::new(),
                    },
                );
            }
        }
    }

    fn merge(&mut self, other: Collector) {
        for (e, d) in other.edges {
            self.edges.entry(e).or_insert(d);
        }
        for k in other.order {
            let f = other.found[&k].clone();
            match self.found.get_mut(&k) {
                Some(prev) => {
                    prev.occurrences += f.occurrences;
                    if f.finding.step < prev.finding.step {
                        prev.finding = f.finding;
                        prev.decisions = f.decisions;
                        prev.token = f.token;
                    }
                }
                None => {
                    self.order.push(k.clone());
                    self.found.insert(k, f);
                }
            }
        }
    }

    /// The findings, in the order first met, with their ids and (lock-order cycles)
    /// edge witnesses.
    fn into_vec(mut self, program: &str) -> Vec<Found> {
        let mut out: Vec<Found> = self
            .order
            .iter()
            .filter_map(|k| self.found.remove(k))
            .collect();
        let mut by_prop: Vec<(String, String, usize)> = out
            .iter()
            .enumerate()
            .map(|(i, f)| (f.finding.property.clone(), f.signature.clone(), i))
            .collect();
        by_prop.sort();
        let mut n = 0;
        for k in 0..by_prop.len() {
            n = if k > 0 && by_prop[k - 1].0 == by_prop[k].0 {
                n + 1
            } else {
                1
            };
            let (p, _, i) = &by_prop[k];
            out[*i].id = format!("{program}/{p}#{n}");
        }
        for f in &mut out {
            if f.finding.kind != ksync::FindingKind::LockOrder {
                continue;
            }
            let c = &f.finding.locks;
            for i in 0..c.len() {
                let (from, to) = (c[i].clone(), c[(i + 1) % c.len()].clone());
                if let Some(d) = self.edges.get(&(from.clone(), to.clone())) {
                    f.edge_witnesses.push(EdgeWitness {
                        from,
                        to,
                        token: token::encode(program, d),
                        decisions: d.clone(),
                    });
                }
            }
        }
        out
    }
}

/// A scheduler that records the decisions it makes (random/PCT/replay).
pub(crate) struct Recording<S> {
    pub inner: S,
    pub decisions: Vec<u32>,
}

impl<S: Scheduler> Scheduler for Recording<S> {
    fn next_task(&mut self, view: &ksync::rt::SchedView) -> Option<ksync::rt::TaskId> {
        let t = self.inner.next_task(view)?;
        self.decisions.push(t as u32);
        Some(t)
    }
    fn choose(&mut self, task: ksync::rt::TaskId, n: usize, step: u32) -> usize {
        let v = self.inner.choose(task, n, step);
        self.decisions.push(v as u32);
        v
    }
    fn step_done(&mut self, step: &ksync::rt::Step) {
        self.inner.step_done(step)
    }
    fn execution_end(&mut self, unfinished: &[ksync::rt::TaskView]) {
        self.inner.execution_end(unfinished)
    }
}

/// Follows a decision list; fails if the program no longer matches it.
pub struct ReplaySched {
    decisions: Vec<u32>,
    pos: usize,
    pub diverged: Option<String>,
}

impl ReplaySched {
    pub fn new(decisions: Vec<u32>) -> Self {
        ReplaySched {
            decisions,
            pos: 0,
            diverged: None,
        }
    }
    fn next(&mut self) -> Option<u32> {
        let d = self.decisions.get(self.pos).copied();
        self.pos += 1;
        d
    }
}

impl Scheduler for ReplaySched {
    fn next_task(&mut self, view: &ksync::rt::SchedView) -> Option<ksync::rt::TaskId> {
        match self.next() {
            Some(t) if view.tasks.iter().any(|v| v.id == t as usize && v.enabled) => {
                Some(t as usize)
            }
            Some(t) => {
                self.diverged = Some(format!(
                    "decision {}: task {t} is not runnable at step {}",
                    self.pos - 1,
                    view.step
                ));
                None
            }
            None => {
                // Past the recorded decisions (the finding happened earlier): run on
                // deterministically so the execution can end.
                view.enabled().next()
            }
        }
    }
    fn choose(&mut self, _task: ksync::rt::TaskId, n: usize, _step: u32) -> usize {
        match self.next() {
            Some(v) if (v as usize) < n => v as usize,
            Some(v) => {
                self.diverged = Some(format!(
                    "decision {}: value {v} out of range 0..{n}",
                    self.pos - 1
                ));
                0
            }
            None => 0,
        }
    }
    fn execution_end(&mut self, _unfinished: &[ksync::rt::TaskView]) {}
}

pub(crate) fn exec_config(program: &Program, cfg: &Config, record: bool) -> ExecConfig {
    ExecConfig {
        max_steps: cfg.max_steps,
        record,
        main_name: "main".into(),
        property_ids: program.property_ids,
        ..ExecConfig::default()
    }
}

pub(crate) fn run_one(
    exec: &mut Execution,
    program: &Program,
    sched: &mut dyn Scheduler,
) -> ExecOutcome {
    let main = program.main.clone();
    exec.run(Box::new(move || main()), sched)
}

/// Shared stop flag and counters of a (possibly parallel) search.
struct Shared {
    stop: AtomicBool,
    executions: AtomicU64,
}

impl Shared {
    fn new() -> Self {
        Shared {
            stop: AtomicBool::new(false),
            executions: AtomicU64::new(0),
        }
    }
}

pub(crate) struct WorkerResult {
    collector: Collector,
    executions: u64,
    steps: u64,
    pruned: u64,
    bound_hits: u64,
    exhausted: bool,
    stopped_by: Option<Stop>,
    lockdep: ksync::rt::LockDep,
}

fn limits_hit(cfg: &Config, sh: &Shared, start: Instant) -> Option<Stop> {
    if sh.stop.load(Ordering::Relaxed) {
        return Some(Stop::FirstFinding);
    }
    if let Some(m) = cfg.max_executions {
        if sh.executions.load(Ordering::Relaxed) >= m {
            return Some(Stop::MaxExecutions);
        }
    }
    if let Some(t) = cfg.max_time {
        if start.elapsed() >= t {
            return Some(Stop::MaxTime);
        }
    }
    None
}

impl WorkerResult {
    fn new() -> Self {
        WorkerResult {
            collector: Collector::default(),
            executions: 0,
            steps: 0,
            pruned: 0,
            bound_hits: 0,
            exhausted: true,
            stopped_by: None,
            lockdep: Default::default(),
        }
    }
}

/// How [`Searcher::run`] ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Run {
    /// The search is exhausted.
    Done,
    /// Paused between two executions; running it again resumes it.
    Paused,
    /// A limit or the first finding stopped it (the result says which).
    Stopped,
}

/// One worker of an exhaustive search: its execution engine and what it found.
struct Searcher<'a> {
    program: &'a Program,
    cfg: &'a Config,
    sh: &'a Shared,
    start: Instant,
    exec: Execution,
    res: WorkerResult,
}

impl<'a> Searcher<'a> {
    fn new(program: &'a Program, cfg: &'a Config, sh: &'a Shared, start: Instant) -> Self {
        Searcher {
            program,
            cfg,
            sh,
            start,
            exec: Execution::new(exec_config(program, cfg, false)),
            res: WorkerResult::new(),
        }
    }

    /// Runs `dfs` to its end, calling `between` after each execution (which pauses
    /// the search by returning false: `run` again resumes it).
    fn run(&mut self, dfs: &mut dpor::Dfs, between: &mut dyn FnMut(&mut dpor::Dfs) -> bool) -> Run {
        let (program, cfg, sh, res) = (self.program, self.cfg, self.sh, &mut self.res);
        while dfs.start() {
            if let Some(stop) = limits_hit(cfg, sh, self.start) {
                res.exhausted = false;
                res.stopped_by.get_or_insert(stop);
                return Run::Stopped;
            }
            let edges_before = self.exec.lockdep.len();
            let out = run_one(&mut self.exec, program, dfs);
            if self.exec.lockdep.len() > edges_before {
                res.collector
                    .note_edges(&self.exec.lockdep, edges_before, &dfs.decisions());
            }
            let n = sh.executions.fetch_add(1, Ordering::Relaxed) + 1;
            if n.is_multiple_of(1024) {
                if let Some(p) = &cfg.progress {
                    p(n);
                }
            }
            res.executions += 1;
            res.steps += out.steps as u64;
            match out.end {
                EndKind::Pruned => res.pruned += 1,
                EndKind::StepBound => res.bound_hits += 1,
                _ => {}
            }
            if !out.findings.is_empty() {
                let d = dfs.decisions();
                for f in out.findings {
                    res.collector.add(&program.name, f, &d);
                }
                if cfg.stop_at_first {
                    sh.stop.store(true, Ordering::Relaxed);
                }
            }
            if !between(dfs) {
                return Run::Paused;
            }
        }
        if sh.stop.load(Ordering::Relaxed) {
            res.exhausted = false;
            res.stopped_by.get_or_insert(Stop::FirstFinding);
            return Run::Stopped;
        }
        Run::Done
    }

    fn finish(mut self) -> WorkerResult {
        self.res.lockdep = std::mem::take(&mut self.exec.lockdep);
        self.res
    }
}

/// Explores `program` under `cfg`.
pub fn explore(program: &Program, cfg: &Config) -> Report {
    let start = Instant::now();
    let sh = Shared::new();
    // One search on several cores: the workers share the tree by work stealing.
    // Not under an execution bound: which executions come first would depend on the
    // threads' timing, and a bounded search must report the same on every run (the
    // first executions of the serial order).
    let stealing = (cfg.jobs > 1 || cfg.helpers.is_some()) && cfg.max_executions.is_none();
    let results: Vec<WorkerResult> = if !cfg.strategy.exhaustive() {
        vec![pct::random_worker(program, cfg, &sh_limits(&sh), start)]
    } else if let Some(shard) = cfg.shard {
        shards::search(program, cfg, shard, start)
    } else if stealing {
        parallel::search(program, cfg, start)
    } else {
        let mut w = Searcher::new(program, cfg, &sh, start);
        w.run(
            &mut dpor::Dfs::new(cfg.strategy == Strategy::Dpor),
            &mut |_| true,
        );
        vec![w.finish()]
    };
    let mut collector = Collector::default();
    let mut report = Report {
        program: program.name.clone(),
        strategy: cfg.strategy,
        executions: 0,
        total_steps: 0,
        pruned: 0,
        step_bound_hits: 0,
        exhausted: cfg.strategy.exhaustive(),
        stopped_by: None,
        findings: Vec::new(),
        elapsed: Duration::ZERO,
        edges: Vec::new(),
    };
    let mut graph = ksync::rt::LockDep::default();
    let single = results.len() == 1;
    for r in results {
        report.executions += r.executions;
        report.total_steps += r.steps;
        report.pruned += r.pruned;
        report.step_bound_hits += r.bound_hits;
        report.exhausted &= r.exhausted;
        report.stopped_by = report.stopped_by.or(r.stopped_by);
        collector.merge(r.collector);
        for cycle in graph.merge(&r.lockdep) {
            if single {
                continue; // already reported by the worker that closed it
            }
            // A cycle whose edges were seen by different workers.
            let mut f = Finding::of_check(
                RuntimeCheck::LockOrder,
                program.property_ids,
                format!("possible circular locking dependency: {}", {
                    // Written as the worker that closed it would (report_order_cycle).
                    let mut c = cycle.classes();
                    c.push(c[0].clone());
                    c.join(" --> ")
                }),
            );
            f.locks = cycle.classes();
            f.detail = ksync::lockdep_report::format_cycle(
                &cycle,
                &cycle.edges[0].task,
                &[],
                &cycle.edges[0].stack,
            );
            if !collector.found.contains_key(&f.signature()) {
                collector.add(&program.name, f, &[]);
            }
        }
    }
    report.edges = graph
        .edges()
        .map(|e| Edge {
            from: e.from_name(),
            to: e.to_name(),
            task: e.task.clone(),
            stack: e.stack.clone(),
        })
        .collect();
    report.findings = collector.into_vec(&program.name);
    report.elapsed = start.elapsed();
    report
}

pub(crate) struct Limits<'a> {
    sh: &'a Shared,
}

fn sh_limits(sh: &Shared) -> Limits<'_> {
    Limits { sh }
}

impl Limits<'_> {
    pub(crate) fn hit(&self, cfg: &Config, start: Instant) -> Option<Stop> {
        limits_hit(cfg, self.sh, start)
    }
    pub(crate) fn count(&self) -> u64 {
        self.sh.executions.fetch_add(1, Ordering::Relaxed) + 1
    }
    pub(crate) fn stop(&self) {
        self.sh.stop.store(true, Ordering::Relaxed)
    }
}

/// Result of replaying a decision list.
pub struct Replay {
    pub outcome: ExecOutcome,
    /// Why the replay left the recorded schedule, if it did.
    pub diverged: Option<String>,
    /// The lock-order edges (from, to) the execution recorded.
    pub edges: Vec<(String, String)>,
}

/// Re-runs one execution from its decision list with a full trace.
pub fn replay(program: &Program, decisions: &[u32], max_steps: u32) -> Replay {
    let mut exec = Execution::new(ExecConfig {
        max_steps,
        record: true,
        property_ids: program.property_ids,
        ..ExecConfig::default()
    });
    let mut sched = ReplaySched::new(decisions.to_vec());
    let outcome = run_one(&mut exec, program, &mut sched);
    let edges = exec
        .lockdep
        .edges()
        .map(|e| (e.from_name(), e.to_name()))
        .collect();
    let mut diverged = sched.diverged;
    // An execution that ends before its recorded decisions do left the schedule too
    // (unless the step bound cut it short: a smaller bound than the search's).
    if diverged.is_none() && sched.pos < decisions.len() && outcome.end != EndKind::StepBound {
        diverged = Some(format!(
            "the execution ended after {} of the {} recorded decisions",
            sched.pos,
            decisions.len()
        ));
    }
    Replay {
        outcome,
        diverged,
        edges,
    }
}
