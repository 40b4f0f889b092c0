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
pub mod token;

use ksync::rt::{EndKind, ExecConfig, ExecOutcome, Execution, Scheduler};
use ksync::{Finding, PropertyIds, RuntimeCheck};
use std::collections::HashMap;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
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
    /// A sharded search first searches the tree whole for this many executions; a
    /// tree that ends within them is not split (one shard searches it).
    pub small_tree: u64,
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
            small_tree: SMALL_TREE,
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
    next_prefix: AtomicUsize,
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

/// Runs one DFS/DPOR search over the subtree of each prefix in `prefixes` that this
/// worker claims.
fn dfs_worker(
    program: &Program,
    cfg: &Config,
    prefixes: &[dpor::Frontier],
    sh: &Shared,
    start: Instant,
) -> WorkerResult {
    let mut w = Searcher::new(program, cfg, sh, start);
    let reduce = cfg.strategy == Strategy::Dpor;
    loop {
        let i = sh.next_prefix.fetch_add(1, Ordering::Relaxed);
        let Some(prefix) = prefixes.get(i) else { break };
        if w.run(&mut dpor::Dfs::with_frontier(reduce, prefix), &mut |_| {}) {
            break;
        }
    }
    w.finish()
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

    /// Runs `dfs` to its end, calling `between` after each execution. True if a
    /// limit or the first finding stopped it (the result says which).
    fn run(&mut self, dfs: &mut dpor::Dfs, between: &mut dyn FnMut(&mut dpor::Dfs)) -> bool {
        let (program, cfg, sh, res) = (self.program, self.cfg, self.sh, &mut self.res);
        while dfs.start() {
            if let Some(stop) = limits_hit(cfg, sh, self.start) {
                res.exhausted = false;
                res.stopped_by.get_or_insert(stop);
                return true;
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
            between(dfs);
        }
        if sh.stop.load(Ordering::Relaxed) {
            res.exhausted = false;
            res.stopped_by.get_or_insert(Stop::FirstFinding);
            return true;
        }
        false
    }

    fn finish(mut self) -> WorkerResult {
        self.res.lockdep = std::mem::take(&mut self.exec.lockdep);
        self.res
    }
}

/// Enumerates the split points of a parallel or sharded search: the decision
/// prefixes up to the first scheduling point at or past `depth` decisions (shorter
/// where an execution ends earlier), every enabled task branched, each with the
/// sleep set reached there. Every prefix's subtree is searched with DPOR below it
/// (races pointing above the prefix are ignored: the enumeration branched fully
/// there); the sleep set keeps a subtree from exploring what a sibling prefix
/// already covers, so the subtrees together explore about what one search does.
pub fn split_prefixes(program: &Program, cfg: &Config, depth: usize) -> Vec<dpor::Frontier> {
    struct Cut {
        inner: dpor::Dfs,
        depth: usize,
        made: usize,
        hit: Option<dpor::Frontier>,
    }
    impl Scheduler for Cut {
        fn next_task(&mut self, view: &ksync::rt::SchedView) -> Option<ksync::rt::TaskId> {
            if self.made >= self.depth {
                self.hit = Some(self.inner.frontier());
                return None;
            }
            self.made += 1;
            self.inner.next_task(view)
        }
        fn choose(&mut self, task: ksync::rt::TaskId, n: usize, step: u32) -> usize {
            self.made += 1;
            self.inner.choose(task, n, step)
        }
        fn step_done(&mut self, step: &ksync::rt::Step) {
            self.inner.step_done(step)
        }
        fn execution_end(&mut self, unfinished: &[ksync::rt::TaskView]) {
            self.inner.execution_end(unfinished)
        }
    }
    let mut exec = Execution::new(exec_config(program, cfg, false));
    // Full branching with sleep sets: orderings of independent first steps that
    // sleep sets prove redundant are not split points.
    let mut cut = Cut {
        inner: dpor::Dfs::with_full_depth(depth),
        depth,
        made: 0,
        hit: None,
    };
    let mut out = Vec::new();
    while cut.inner.start() {
        cut.made = 0;
        let o = run_one(&mut exec, program, &mut cut);
        match cut.hit.take() {
            Some(f) => out.push(f),
            // sleep-set blocked: covered by another prefix
            None if o.end == EndKind::Pruned => {}
            // an execution that ended before the split depth: its own subtree
            None => {
                let mut f = cut.inner.frontier();
                f.complete = true;
                out.push(f);
            }
        }
    }
    out
}

/// Split prefixes per worker or shard of a split search.
const PREFIXES_PER_SHARE: usize = 64;

/// The default of [`Config::small_tree`].
pub const SMALL_TREE: u64 = 1000;

/// FNV-1a of a program's name: the same in every process and on every machine.
fn name_hash(name: &str) -> usize {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    h as usize
}

/// Explores `program` under `cfg`.
pub fn explore(program: &Program, cfg: &Config) -> Report {
    let start = Instant::now();
    let sh = Shared {
        stop: AtomicBool::new(false),
        executions: AtomicU64::new(0),
        next_prefix: AtomicUsize::new(0),
    };
    let mut results: Vec<WorkerResult> = Vec::new();
    // One search on several cores: the workers share the tree by work stealing.
    // Not under an execution bound: which executions come first would depend on the
    // threads' timing, and a bounded search must report the same on every run (the
    // first executions of the serial order).
    let stealing = cfg.strategy.exhaustive()
        && (cfg.jobs > 1 || cfg.helpers.is_some())
        && cfg.shard.is_none()
        && cfg.max_executions.is_none();
    let mut split = cfg.strategy.exhaustive() && cfg.shard.is_some();
    // Executions, abandoned ones and steps of a probe that found the tree too large:
    // work done, counted, though the split search covers that part again.
    let mut probed = (0, 0, 0);
    let mut probe_result = None;
    if split {
        // A small tree is searched whole rather than split (the split's prefixes
        // would cost more than it has): every shard runs the same bounded search to
        // find out, and only the shard the program's name hashes to (FNV-1a, the
        // same on every machine) reports it, so a suite's small searches spread over
        // the shards.
        let probe_cfg = Config {
            max_executions: Some(
                cfg.max_executions
                    .map_or(cfg.small_tree, |m| m.min(cfg.small_tree)),
            ),
            ..cfg.clone()
        };
        let probe_sh = Shared {
            stop: AtomicBool::new(false),
            executions: AtomicU64::new(0),
            next_prefix: AtomicUsize::new(0),
        };
        let whole = cfg.small_tree > 0 && {
            let probe = dfs_worker(
                program,
                &probe_cfg,
                &[dpor::Frontier::root()],
                &probe_sh,
                start,
            );
            let whole = probe.exhausted || cfg.max_executions.is_some_and(|m| m <= cfg.small_tree);
            if whole {
                probe_result = Some(probe);
            } else {
                probed = (probe.executions, probe.pruned, probe.steps);
            }
            whole
        };
        if whole {
            split = false;
            let owner = cfg.shard.map_or(0, |(_, n)| name_hash(&program.name) % n);
            if cfg.shard.is_none_or(|(k, _)| k == owner) {
                results.extend(probe_result.take());
            }
        }
    }
    if stealing {
        results = parallel::search(program, cfg, start);
    } else if cfg.strategy.exhaustive() && (split || results.is_empty() && cfg.shard.is_none()) {
        let prefixes = if split {
            // Many more prefixes than workers or shards: the subtrees differ in size
            // by orders of magnitude (one usually holds most of the space), and many
            // small ones even out the share each worker or shard gets.
            let want = PREFIXES_PER_SHARE * cfg.jobs.max(cfg.shard.map_or(1, |s| s.1));
            // The shallowest depth with enough prefixes: the first decisions of an
            // execution are often forced (set-up), so search by doubling, then
            // bisect back towards `want`.
            let (mut lo, mut hi) = (0usize, 1usize);
            let mut p = split_prefixes(program, cfg, hi);
            // Most prefixes whole executions: the tree is too small to be worth a
            // split (its sleep-set-blocked prefixes would cost more than it has).
            let small =
                |p: &[dpor::Frontier]| p.iter().filter(|f| f.complete).count() * 2 > p.len();
            while p.len() < want && hi < 4096 && !small(&p) {
                lo = hi;
                hi *= 2;
                p = split_prefixes(program, cfg, hi);
            }
            while hi - lo > 1 && p.len() >= want {
                let mid = (lo + hi) / 2;
                let q = split_prefixes(program, cfg, mid);
                if q.len() >= want {
                    hi = mid;
                    p = q;
                } else {
                    lo = mid;
                }
            }
            if p.len() < want || small(&p) {
                // Too few split points: searched whole, by one worker, and by one
                // shard (as a small tree).
                let owner = cfg.shard.map_or(0, |(_, n)| name_hash(&program.name) % n);
                p = vec![dpor::Frontier::root()];
                if cfg.shard.is_some_and(|(k, _)| k != owner) {
                    p.clear();
                }
                p
            } else {
                if let Some((k, n)) = cfg.shard {
                    p = p
                        .into_iter()
                        .enumerate()
                        .filter(|(i, _)| i % n == k)
                        .map(|(_, f)| f)
                        .collect();
                }
                p
            }
        } else {
            vec![dpor::Frontier::root()]
        };
        let jobs = cfg.jobs.max(1).min(prefixes.len().max(1));
        if jobs == 1 {
            results.push(dfs_worker(program, cfg, &prefixes, &sh, start));
        } else {
            std::thread::scope(|s| {
                let hs: Vec<_> = (0..jobs)
                    .map(|_| s.spawn(|| dfs_worker(program, cfg, &prefixes, &sh, start)))
                    .collect();
                for h in hs {
                    results.push(h.join().expect("search worker"));
                }
            });
        }
    } else if !cfg.strategy.exhaustive() {
        results.push(pct::random_worker(program, cfg, &sh_limits(&sh), start));
    }
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
    report.executions += probed.0;
    report.pruned += probed.1;
    report.total_steps += probed.2;
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
