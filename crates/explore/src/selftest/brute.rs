//! Brute force, independent of the DPOR search: every schedule (every enabled task at
//! every point, every `choose` value), each execution canonicalised by its
//! happens-before restricted to dependent pairs (a Mazurkiewicz trace).

use crate::dpor::Dfs;
use crate::Program;
use ksync::rt::{
    Access, EndKind, ExecConfig, Execution, SchedView, Scheduler, Step, TaskId, TaskView,
    CLOCK_TASK,
};
use std::collections::{BTreeSet, HashSet};
use std::time::{Duration, Instant};

/// An event: (task, index of the step within its task), both 0-based.
pub type Event = (u32, u32);

/// One ordered dependent pair: the earlier event and its access kind, then the later.
pub type Pair = (Event, u8, Event, u8);

/// Canonical form of a complete execution: the events each task made, the values of
/// its `choose` points, and the ordered pairs of conflicting accesses. Two executions
/// have the same form iff they are the same Mazurkiewicz trace.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Form {
    /// Number of steps of each task.
    pub steps: Vec<u32>,
    /// (task, step index within the task, value) of every `choose`.
    pub choices: Vec<(u32, u32, u32)>,
    /// Sorted, deduplicated conflicting pairs.
    pub pairs: Vec<Pair>,
    /// Timer firings (clock steps; their events are `(CLOCK, n)` in `pairs`).
    pub clock_steps: u32,
}

/// Task number of the clock (timer firings) in events.
pub const CLOCK: u32 = u32::MAX;

/// Records one execution's events and builds its canonical form.
#[derive(Default)]
pub struct Recorder {
    counts: Vec<u32>,
    clock_steps: u32,
    hist: Vec<Vec<(u32, u32, Access)>>,
    pairs: Vec<Pair>,
    choices: Vec<(u32, u32, u32)>,
}

impl Recorder {
    pub fn reset(&mut self) {
        self.counts.clear();
        self.clock_steps = 0;
        for h in &mut self.hist {
            h.clear();
        }
        self.pairs.clear();
        self.choices.clear();
    }

    fn local(&mut self, task: TaskId) -> u32 {
        if self.counts.len() <= task {
            self.counts.resize(task + 1, 0);
        }
        self.counts[task]
    }

    /// A `choose` made inside the current (not yet completed) step of `task`.
    pub fn choice(&mut self, task: TaskId, value: usize) {
        let idx = self.local(task);
        self.choices.push((task as u32, idx, value as u32));
    }

    /// A completed step.
    pub fn step(&mut self, s: &Step) {
        let (t, idx) = if s.task == CLOCK_TASK {
            self.clock_steps += 1;
            (CLOCK, self.clock_steps - 1)
        } else {
            let idx = self.local(s.task);
            self.counts[s.task] += 1;
            (s.task as u32, idx)
        };
        for &a in s.accesses {
            let Some(o) = a.obj() else { continue };
            let o = o as usize;
            if self.hist.len() <= o {
                self.hist.resize_with(o + 1, Vec::new);
            }
            for &(t2, i2, a2) in &self.hist[o] {
                if t2 != t && a2.conflicts(a) {
                    self.pairs.push(((t2, i2), a2.kind(), (t, idx), a.kind()));
                }
            }
            self.hist[o].push((t, idx, a));
        }
    }

    pub fn form(&self) -> Form {
        let mut pairs = self.pairs.clone();
        pairs.sort_unstable();
        pairs.dedup();
        let mut steps = self.counts.clone();
        while steps.last() == Some(&0) {
            steps.pop();
        }
        let mut choices = self.choices.clone();
        choices.sort_unstable();
        Form {
            steps,
            choices,
            pairs,
            clock_steps: self.clock_steps,
        }
    }
}

/// One decision level of the enumeration.
struct Level {
    /// Scheduling point: the enabled tasks; `choose`: empty.
    tasks: Vec<u32>,
    /// `choose`: the number of values; scheduling point: `tasks.len()`.
    n: u32,
    cur: u32,
    choice: bool,
}

/// A scheduler that enumerates every schedule with its own decision stack.
#[derive(Default)]
pub struct BruteSched {
    levels: Vec<Level>,
    pos: usize,
    pub rec: Recorder,
    /// Set when a replayed prefix no longer matches the program (nondeterminism).
    pub diverged: Option<String>,
}

impl BruteSched {
    fn begin(&mut self) {
        self.pos = 0;
        self.rec.reset();
    }

    /// Moves to the next schedule; false when all have been run.
    fn advance(&mut self) -> bool {
        while let Some(l) = self.levels.last_mut() {
            if l.cur + 1 < l.n {
                l.cur += 1;
                return true;
            }
            self.levels.pop();
        }
        false
    }
}

impl Scheduler for BruteSched {
    fn next_task(&mut self, view: &SchedView) -> Option<TaskId> {
        let enabled: Vec<u32> = view.enabled().map(|t| t as u32).collect();
        let i = self.pos;
        self.pos += 1;
        if let Some(l) = self.levels.get(i) {
            if l.choice || l.tasks != enabled {
                self.diverged = Some(format!(
                    "decision {i}: recorded {:?}, now enabled {enabled:?}",
                    if l.choice { None } else { Some(&l.tasks) }
                ));
                return None;
            }
            return Some(l.tasks[l.cur as usize] as usize);
        }
        let first = *enabled
            .first()
            .expect("a scheduling point with an enabled task");
        self.levels.push(Level {
            n: enabled.len() as u32,
            tasks: enabled,
            cur: 0,
            choice: false,
        });
        Some(first as usize)
    }

    fn choose(&mut self, task: TaskId, n: usize, _step: u32) -> usize {
        let i = self.pos;
        self.pos += 1;
        let v = match self.levels.get(i) {
            Some(l) if l.choice && l.n == n as u32 => l.cur as usize,
            Some(_) => {
                self.diverged = Some(format!(
                    "decision {i}: expected a scheduling point, got choose({n})"
                ));
                0
            }
            None => {
                self.levels.push(Level {
                    tasks: Vec::new(),
                    n: n as u32,
                    cur: 0,
                    choice: true,
                });
                0
            }
        };
        self.rec.choice(task, v);
        v
    }

    fn step_done(&mut self, step: &Step) {
        self.rec.step(step);
    }
    fn execution_end(&mut self, _unfinished: &[ksync::rt::TaskView]) {}
}

/// Bounds of a brute-force or observed search.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_steps: u32,
    pub max_executions: Option<u64>,
    pub max_time: Option<Duration>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_steps: 10_000,
            max_executions: None,
            max_time: None,
        }
    }
}

impl Limits {
    fn hit(&self, executions: u64, start: Instant) -> bool {
        self.max_executions.is_some_and(|m| executions >= m)
            || self.max_time.is_some_and(|t| start.elapsed() >= t)
    }
}

/// What brute force saw.
#[derive(Debug, Default)]
pub struct BruteResult {
    /// Schedules run (every one is a complete execution: brute force never abandons).
    pub schedules: u64,
    pub total_steps: u64,
    /// Distinct canonical forms: the Mazurkiewicz traces.
    pub forms: HashSet<Form>,
    /// Distinct finding signatures ([`ksync::Finding::signature`]).
    pub finding_keys: BTreeSet<String>,
    /// Every schedule was run (no limit hit).
    pub complete: bool,
    pub step_bound_hits: u64,
    pub diverged: Option<String>,
    pub elapsed: Duration,
}

fn new_exec(program: &Program, limits: &Limits) -> Execution {
    Execution::new(ExecConfig {
        max_steps: limits.max_steps,
        property_ids: program.property_ids,
        ..ExecConfig::default()
    })
}

/// Runs every schedule of `program` (within `limits`).
pub fn brute_force(program: &Program, limits: &Limits) -> BruteResult {
    let start = Instant::now();
    let mut exec = new_exec(program, limits);
    let mut sched = BruteSched::default();
    let mut res = BruteResult::default();
    loop {
        if limits.hit(res.schedules, start) {
            break;
        }
        sched.begin();
        let main = program.main.clone();
        let out = exec.run(Box::new(move || main()), &mut sched);
        res.schedules += 1;
        res.total_steps += out.steps as u64;
        if sched.diverged.is_some() || out.end == EndKind::Pruned {
            res.diverged = sched.diverged.take().or(Some("execution abandoned".into()));
            break;
        }
        if out.end == EndKind::StepBound {
            res.step_bound_hits += 1;
        }
        res.forms.insert(sched.rec.form());
        for f in &out.findings {
            res.finding_keys.insert(f.signature());
        }
        if !sched.advance() {
            res.complete = true;
            break;
        }
    }
    res.elapsed = start.elapsed();
    res
}

/// Drives a [`Dfs`] and records what it runs.
struct Observe<'a> {
    dfs: &'a mut Dfs,
    rec: &'a mut Recorder,
}

impl Scheduler for Observe<'_> {
    fn next_task(&mut self, view: &SchedView) -> Option<TaskId> {
        self.dfs.next_task(view)
    }
    fn choose(&mut self, task: TaskId, n: usize, step: u32) -> usize {
        let v = self.dfs.choose(task, n, step);
        self.rec.choice(task, v);
        v
    }
    fn step_done(&mut self, step: &Step) {
        self.rec.step(step);
        self.dfs.step_done(step);
    }
    fn execution_end(&mut self, unfinished: &[TaskView]) {
        self.dfs.execution_end(unfinished);
    }
}

/// What the DPOR (or plain DFS) search ran, execution by execution.
#[derive(Debug, Default)]
pub struct Observed {
    /// Executions started, including those abandoned by sleep sets.
    pub executions: u64,
    pub pruned: u64,
    pub total_steps: u64,
    /// Distinct canonical forms of the complete executions.
    pub forms: HashSet<Form>,
    /// Complete executions whose trace had been explored already.
    pub redundant: u64,
    pub finding_keys: BTreeSet<String>,
    pub exhausted: bool,
    pub step_bound_hits: u64,
    pub elapsed: Duration,
}

impl Observed {
    /// Executions that ran to their end (not abandoned).
    pub fn complete(&self) -> u64 {
        self.executions - self.pruned
    }
}

/// Runs the search of [`crate::explore`] with `dpor::Dfs` (the same loop, one worker)
/// and canonicalises every execution it completes.
pub fn observe_dfs(program: &Program, reduce: bool, limits: &Limits) -> Observed {
    let start = Instant::now();
    let mut exec = new_exec(program, limits);
    let mut dfs = Dfs::new(reduce);
    let mut rec = Recorder::default();
    let mut res = Observed {
        exhausted: true,
        ..Observed::default()
    };
    while dfs.start() {
        if limits.hit(res.executions, start) {
            res.exhausted = false;
            break;
        }
        observe_one(program, &mut exec, &mut dfs, &mut rec, &mut res);
    }
    res.elapsed = start.elapsed();
    res
}

/// The parallel DPOR search of [`crate::explore`] with `workers` workers, simulated
/// on one thread so that it is the same every run: the workers take turns, one
/// execution each, and whenever one waits with nothing queued, the worker whose turn
/// ended hands it work ([`Dfs::donate`]), as often as the real search ever could.
pub fn observe_parallel(program: &Program, workers: usize, limits: &Limits) -> Observed {
    let start = Instant::now();
    let mut exec = new_exec(program, limits);
    let mut rec = Recorder::default();
    let mut res = Observed {
        exhausted: true,
        ..Observed::default()
    };
    let claims = std::sync::Arc::new(crate::dpor::Claims::default());
    let mut searches: Vec<Option<Dfs>> = (0..workers.max(1)).map(|_| None).collect();
    searches[0] = Some(Dfs::shared(true, claims));
    let mut queue: Vec<Dfs> = Vec::new();
    'search: loop {
        let mut ran = false;
        for w in 0..searches.len() {
            if searches[w].is_none() {
                searches[w] = queue.pop();
            }
            let Some(dfs) = searches[w].as_mut() else {
                continue;
            };
            if !dfs.start() {
                searches[w] = None;
                continue;
            }
            if limits.hit(res.executions, start) {
                res.exhausted = false;
                break 'search;
            }
            observe_one(program, &mut exec, dfs, &mut rec, &mut res);
            ran = true;
            let waiting = searches.iter().filter(|s| s.is_none()).count();
            if waiting > queue.len() {
                if let Some(t) = searches[w].as_mut().and_then(Dfs::donate) {
                    queue.push(t);
                }
            }
        }
        if !ran && queue.is_empty() && searches.iter().all(Option::is_none) {
            break;
        }
    }
    res.elapsed = start.elapsed();
    res
}

/// Runs one execution of `dfs`'s search and records it in `res`.
fn observe_one(
    program: &Program,
    exec: &mut Execution,
    dfs: &mut Dfs,
    rec: &mut Recorder,
    res: &mut Observed,
) {
    rec.reset();
    let main = program.main.clone();
    let out = exec.run(Box::new(move || main()), &mut Observe { dfs, rec });
    res.executions += 1;
    res.total_steps += out.steps as u64;
    for f in &out.findings {
        res.finding_keys.insert(f.signature());
    }
    match out.end {
        EndKind::Pruned => {
            res.pruned += 1;
            return;
        }
        EndKind::StepBound => res.step_bound_hits += 1,
        _ => {}
    }
    if !res.forms.insert(rec.form()) {
        res.redundant += 1;
    }
}

/// Runs tasks serially: the task that ran last keeps running while it can, otherwise
/// the lowest-numbered enabled task; every `choose` takes 0.
#[derive(Default)]
pub struct Serial {
    last: Option<TaskId>,
}

impl Scheduler for Serial {
    fn next_task(&mut self, view: &SchedView) -> Option<TaskId> {
        let t = match self.last {
            Some(l) if view.tasks.iter().any(|v| v.id == l && v.enabled) => l,
            _ => view.enabled().next()?,
        };
        self.last = Some(t);
        Some(t)
    }
    fn choose(&mut self, _task: TaskId, _n: usize, _step: u32) -> usize {
        0
    }
    fn execution_end(&mut self, _unfinished: &[ksync::rt::TaskView]) {}
}

/// One serial execution of `program` in a fresh lock-order graph.
pub fn run_serial(program: &Program) -> ksync::rt::ExecOutcome {
    let mut exec = new_exec(program, &Limits::default());
    let main = program.main.clone();
    exec.run(Box::new(move || main()), &mut Serial::default())
}
