//! Exhaustive depth-first search over schedules and `choose` values, with dynamic
//! partial-order reduction: source sets (Abdulla et al., POPL 2014) and sleep sets.
//! With `reduce = false` it is plain DFS (every enabled task at every point).
//!
//! The search is stateless: each execution replays the decision prefix of the node
//! being backtracked to, then continues with fresh decisions. Happens-before is
//! recomputed each execution with vector clocks from the steps' access footprints.

use ksync::rt::vv::VersionVector;
use ksync::rt::{Access, SchedView, Scheduler, Step, TaskId, CLOCK_TASK};

mod steal;
pub use steal::Claims;

type Bits = u64;

/// The most tasks a reduced search supports.
pub const MAX_TASKS: usize = 16;
/// Vector-clock slot of the clock steps (timer firings), after the tasks' slots.
const CLOCK_SLOT: usize = MAX_TASKS;
/// Width of a vector clock: the tasks and the clock.
const SLOTS: usize = MAX_TASKS + 1;
type Clock = [u32; SLOTS];
type Pending = [Option<Access>; MAX_TASKS];

fn pending_of(view: &SchedView) -> Pending {
    let mut p = [None; MAX_TASKS];
    for t in view.tasks {
        if let Some(slot) = p.get_mut(t.id) {
            *slot = t.access;
        }
    }
    p
}

#[inline]
fn bit(t: TaskId) -> Bits {
    debug_assert!(t < 64, "at most 64 tasks");
    1u64 << t
}

#[derive(Clone, Debug)]
struct SleepEntry {
    task: TaskId,
    /// Footprint of the task's next step: its pending access and, if it was explored
    /// from this node, the accesses that step made.
    footprint: std::sync::Arc<[Access]>,
    /// That step ended the execution while others could still run (see
    /// [`Dfs::cut_races`]): it is dependent with every step of another task.
    cuts: bool,
}

// Nodes live in one Vec along the current path; boxing the scheduling variant would
// cost an allocation per step.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
enum Node {
    Sched {
        enabled: Bits,
        chosen: TaskId,
        backtrack: Bits,
        done: Vec<SleepEntry>,
        sleep: Vec<SleepEntry>,
        /// Each task's pending access here (indexed by task; reduced searches).
        pending: Pending,
        /// Step index this node's decision started.
        step: u32,
        /// Accesses of the chosen task's step when it last ran from here.
        chosen_fp: Vec<Access>,
        /// The chosen task's step ended the execution with other tasks runnable.
        chosen_cuts: bool,
        /// For a task added to `backtrack` by a reversed race: the tasks of the
        /// reversal's steps in order, starting with it (see [`Dfs::guide`]).
        wakeup: Vec<(TaskId, Vec<TaskId>)>,
        /// Alternatives this search holds the claim for (a node shared with other
        /// workers of a parallel search, see [`Claims`]).
        claimed: Bits,
        /// Alternatives another worker claimed: never explored here.
        lost: Bits,
    },
    Choice {
        n: usize,
        value: usize,
    },
}

impl Node {
    /// The alternatives still to explore at a scheduling point: tasks a race put in
    /// its backtrack set that are enabled there, neither explored from it nor asleep
    /// at it, and not claimed by another worker.
    fn open(&self) -> Bits {
        match self {
            Node::Sched {
                chosen,
                backtrack,
                done,
                sleep,
                enabled,
                lost,
                ..
            } => {
                *backtrack
                    & !task_bits(done)
                    & !task_bits(sleep)
                    & *enabled
                    & !*lost
                    & !bit(*chosen)
            }
            Node::Choice { .. } => 0,
        }
    }

    /// The decision taken here: the task scheduled or the value chosen.
    fn decision(&self) -> u32 {
        match self {
            Node::Sched { chosen, .. } => *chosen as u32,
            Node::Choice { value, .. } => *value as u32,
        }
    }
}

/// One access in an object's history, with what race detection asks of its step
/// (looked up in `steps` for every access of every later step, it missed the cache).
#[derive(Clone, Copy)]
struct Touch {
    step: u32,
    task: u32,
    local: u32,
    access: Access,
}

struct StepRec {
    task: TaskId,
    /// Local index of the step in its task (1-based), for clock comparisons.
    local: u32,
    /// Decision node that chose this step (CLOCK steps: none).
    node: Option<usize>,
}

/// The DFS/DPOR scheduler; one instance drives a whole search.
pub struct Dfs {
    reduce: bool,
    nodes: Vec<Node>,
    /// Decisions to replay before deciding freshly (the current node path).
    replay_len: usize,
    pos: usize,
    // Per-execution happens-before state.
    steps: Vec<StepRec>,
    task_clock: Vec<Clock>,
    /// Clock of step i at `clocks[i * SLOTS..]`.
    clocks: Vec<u32>,
    obj_hist: Vec<Vec<Touch>>,
    /// Index of the first step decided freshly in this execution.
    fresh_from_step: u32,
    /// Sleep set to install at the next sched node.
    pending_sleep: Option<Vec<SleepEntry>>,
    next_step_node: Option<usize>,
    /// The rest of the wakeup sequence of the alternative being explored: the fresh
    /// decisions after a backtrack follow it while its tasks can run. Which enabled,
    /// awake task a fresh decision takes is free in source-DPOR; following the
    /// reversed race's steps reaches the race instead of a sleep-set-blocked end
    /// (the job of optimal DPOR's wakeup trees).
    guide: std::collections::VecDeque<TaskId>,
    /// Emptied footprint vectors of popped nodes, reused by new ones (a node is made
    /// per step; allocating its footprint each time showed in profiles).
    fp_pool: Vec<Vec<Access>>,
    /// Reused buffer of race candidates.
    cands: Vec<u32>,
    pub executions: u64,
    /// Executions ended because every enabled task was asleep.
    pub sleep_blocked: u64,
    /// The claims of a parallel search (work stealing), if this is one of its workers.
    claims: Option<std::sync::Arc<Claims>>,
    /// Nodes `0..shared_upto` may also be on other workers' stacks: an alternative
    /// is explored there only by the worker that claims it.
    shared_upto: usize,
    /// A donated subtree: the first `start` backtracks at its top node.
    resume_backtrack: bool,
}

impl Dfs {
    pub fn new(reduce: bool) -> Self {
        Dfs {
            reduce,
            nodes: Vec::new(),
            replay_len: 0,
            pos: 0,
            steps: Vec::new(),
            task_clock: Vec::new(),
            clocks: Vec::new(),
            obj_hist: Vec::new(),
            fresh_from_step: 0,
            pending_sleep: None,
            next_step_node: None,
            guide: Default::default(),
            fp_pool: Vec::new(),
            cands: Vec::new(),
            executions: 0,
            sleep_blocked: 0,
            claims: None,
            shared_upto: 0,
            resume_backtrack: false,
        }
    }

    /// The decision list of the current execution (for replay tokens).
    pub fn decisions(&self) -> Vec<u32> {
        self.nodes.iter().map(Node::decision).collect()
    }

    fn begin_execution(&mut self) {
        self.pos = 0;
        self.steps.clear();
        self.task_clock.clear();
        self.clocks.clear();
        for h in &mut self.obj_hist {
            h.clear();
        }
        self.fresh_from_step = u32::MAX;
        self.pending_sleep = None;
    }

    /// Call before each execution; false when the search is exhausted.
    pub fn start(&mut self) -> bool {
        if (self.executions > 0 || std::mem::take(&mut self.resume_backtrack)) && !self.backtrack()
        {
            return false;
        }
        self.executions += 1;
        self.begin_execution();
        true
    }

    /// Moves to the deepest node with an unexplored alternative.
    fn backtrack(&mut self) -> bool {
        let found = self.backtrack_to_alternative();
        self.shared_upto = self.shared_upto.min(self.nodes.len());
        found
    }

    fn backtrack_to_alternative(&mut self) -> bool {
        while !self.nodes.is_empty() {
            let at = self.nodes.len() - 1;
            let mut todo = self.nodes[at].open();
            let has_alternative = match &self.nodes[at] {
                Node::Choice { n, value } => value + 1 < *n,
                Node::Sched { .. } => todo != 0,
            };
            // On a node other workers may have too, an alternative needs a claim.
            let claim = match &self.claims {
                Some(c) if at < self.shared_upto && has_alternative => {
                    Some((c.clone(), self.path_to(at)))
                }
                _ => None,
            };
            let node = &mut self.nodes[at];
            match node {
                Node::Choice { n, value, .. } => {
                    while *value + 1 < *n {
                        *value += 1;
                        if let Some((c, path)) = &claim {
                            if !c.claim(path, steal::choice_alt(*value)) {
                                continue;
                            }
                        }
                        self.replay_len = self.nodes.len();
                        return true;
                    }
                }
                Node::Sched {
                    chosen,
                    done,
                    pending,
                    chosen_fp,
                    chosen_cuts,
                    wakeup,
                    claimed,
                    lost,
                    ..
                } => {
                    let mut next = None;
                    while todo != 0 {
                        let t = todo.trailing_zeros() as TaskId;
                        todo &= !bit(t);
                        if let Some((c, path)) = &claim {
                            if *claimed & bit(t) == 0 {
                                if !c.claim(path, t as u32) {
                                    *lost |= bit(t);
                                    continue;
                                }
                                *claimed |= bit(t);
                            }
                        }
                        next = Some(t);
                        break;
                    }
                    if let Some(next) = next {
                        let mut fp = std::mem::take(chosen_fp);
                        if let Some(a) = pending.get(*chosen).copied().flatten() {
                            fp.push(a);
                        }
                        done.push(SleepEntry {
                            task: *chosen,
                            footprint: fp.into(),
                            cuts: std::mem::take(chosen_cuts),
                        });
                        *chosen = next;
                        self.guide.clear();
                        if let Some(i) = wakeup.iter().position(|(t, _)| *t == next) {
                            let (_, seq) = wakeup.swap_remove(i);
                            self.guide.extend(seq.into_iter().skip(1));
                        }
                        self.replay_len = self.nodes.len();
                        return true;
                    }
                }
            }
            if let Some(Node::Sched { mut chosen_fp, .. }) = self.nodes.pop() {
                chosen_fp.clear();
                self.fp_pool.push(chosen_fp);
            }
        }
        false
    }

    /// The decisions that lead to node `at` (its identity across workers).
    fn path_to(&self, at: usize) -> Vec<u32> {
        self.nodes[..at].iter().map(Node::decision).collect()
    }

    fn node_for_step(&self, step: u32) -> Option<usize> {
        self.steps.get(step as usize).and_then(|s| s.node)
    }

    /// Adds the accesses of the chosen task's step to the node's `done` footprint
    /// (called when its step completes, in every execution through the node). A step
    /// that makes a `choose` is a different step for each value, each explored in an
    /// execution of its own: the task's sleep entry must conflict with what any of
    /// them did, so the footprint is the union over the executions, not the last.
    fn record_done_footprint(&mut self, node: usize, accesses: &[Access]) {
        if let Node::Sched { chosen_fp, .. } = &mut self.nodes[node] {
            for &a in accesses {
                if a.obj().is_some() && !chosen_fp.contains(&a) {
                    chosen_fp.push(a);
                }
            }
        }
    }

    #[inline]
    fn clk(&self, step: u32) -> &[u32] {
        let i = step as usize * SLOTS;
        &self.clocks[i..i + SLOTS]
    }

    /// Race detection and source-set update for a freshly executed step.
    fn analyse(&mut self, idx: u32, task: TaskId, accesses: &[Access]) {
        assert!(
            task < SLOTS,
            "a reduced search supports at most {MAX_TASKS} tasks"
        );
        if self.task_clock.len() <= task {
            self.task_clock.resize(task + 1, [0; SLOTS]);
        }
        let before = self.task_clock[task];
        let local = before[task] + 1;
        let mut clock = before;
        clock[task] = local;
        let analyse = idx >= self.fresh_from_step;
        let mut cands = std::mem::take(&mut self.cands);
        cands.clear();
        for &a in accesses {
            match a {
                Access::SyncWith(s) => {
                    if (s as usize) < self.steps.len() {
                        let i = s as usize * SLOTS;
                        clock.join(&self.clocks[i..i + SLOTS]);
                    }
                }
                _ => {
                    let o = a.obj().expect("object access") as usize;
                    if self.obj_hist.len() <= o {
                        self.obj_hist.resize_with(o + 1, Vec::new);
                    }
                    self.scan_conflicts(
                        task,
                        a,
                        &before,
                        &mut clock,
                        analyse.then_some(&mut cands),
                    );
                }
            }
        }
        self.task_clock[task] = clock;
        self.steps.push(StepRec {
            task,
            local,
            node: None,
        });
        self.clocks.extend_from_slice(&clock);
        for &a in accesses {
            if let Some(o) = a.obj() {
                // Earlier accesses of this task that `a` subsumes can never race or
                // add happens-before that `a` does not.
                let h = &mut self.obj_hist[o as usize];
                h.retain(|p| p.task as usize != task || !p.access.dominated_by(a));
                h.push(Touch {
                    step: idx,
                    task: task as u32,
                    local,
                    access: a,
                });
            }
        }
        if cands.is_empty() {
            self.cands = cands;
            return;
        }
        cands.sort_unstable();
        cands.dedup();
        let races = self.maximal(&cands);
        self.cands = cands;
        let qclock = clock;
        for s in races {
            self.reverse_race(s, idx, task, &qclock);
        }
    }

    /// Joins into `clock` every earlier conflicting access to `a`'s object by
    /// another task (dependence is happens-before), and collects in `cands` those
    /// that `before` (the task's clock without them) does not already know: the
    /// race candidates.
    fn scan_conflicts(
        &self,
        task: TaskId,
        a: Access,
        before: &Clock,
        clock: &mut Clock,
        mut cands: Option<&mut Vec<u32>>,
    ) {
        let o = a.obj().expect("object access") as usize;
        // Latest first: a step `clock` already knows adds nothing to it (clocks are
        // closed under happens-before), and the latest conflicting step of a task
        // makes its earlier ones known.
        for p in self.obj_hist[o].iter().rev() {
            let t = p.task as usize;
            if t == task || !p.access.conflicts(a) {
                continue;
            }
            if let Some(c) = cands.as_deref_mut() {
                if !before.knows(t, p.local) {
                    c.push(p.step);
                }
            }
            if !clock.knows(t, p.local) {
                clock.join(self.clk(p.step));
            }
        }
    }

    /// The races among the candidates: those no other candidate happens after.
    fn maximal(&self, cands: &[u32]) -> Vec<u32> {
        cands
            .iter()
            .copied()
            .filter(|&e| {
                let re = &self.steps[e as usize];
                !cands
                    .iter()
                    .any(|&o| o != e && self.clk(o).knows(re.task, re.local))
            })
            .collect()
    }

    /// Source-DPOR: make sure some initial of `v` (the steps after `e` and before
    /// `end` that do not happen after `e`, then the racing event of task `q` with
    /// clock `qclock`) is in backtrack(pre(e)).
    ///
    /// A timer fires only when no task can run, and the task of `e` can run all along
    /// `v`: `v`'s steps are independent of `e`, so none of them disables it. A
    /// reversal that needs a clock step before `e` (the racing step itself, or one
    /// that the racing step happens after) therefore cannot be scheduled; it would
    /// only ever end sleep-set blocked. Getting there needs `e`'s task disabled first,
    /// which only a step dependent with `e` can do: that is a race of its own, whose
    /// reversal reaches the timer's firing before `e`.
    fn reverse_race(&mut self, e: u32, end: u32, q: TaskId, qclock: &[u32]) {
        if q == CLOCK_SLOT {
            return;
        }
        let Some(node) = self.node_for_step(e) else {
            return;
        };
        let (et, elocal) = {
            let r = &self.steps[e as usize];
            (r.task, r.local)
        };
        // Steps in v, in order.
        let mut v: Vec<u32> = Vec::new();
        for k in e + 1..end {
            if !self.clk(k).knows(et, elocal) {
                v.push(k);
            }
        }
        let before_q = |m: u32| {
            let rm = &self.steps[m as usize];
            rm.task == q || qclock.knows(rm.task, rm.local)
        };
        // The steps of v that q happens after: the part of the reversal that must
        // run before q (the rest can follow it).
        let u: Vec<u32> = v.iter().copied().filter(|&m| before_q(m)).collect();
        if u.iter().any(|&m| self.steps[m as usize].task == CLOCK_SLOT) {
            return;
        }
        // The initials of a sequence of steps: tasks whose first step in it has no
        // predecessor in it. (A clock step is never one.)
        let initials_of = |seq: &[u32]| -> Bits {
            let mut initials: Bits = 0;
            for (i, &k) in seq.iter().enumerate() {
                let rk = &self.steps[k as usize];
                if rk.task == CLOCK_SLOT {
                    continue;
                }
                let ck = self.clk(k);
                let has_pred = seq[..i].iter().any(|&m| {
                    let rm = &self.steps[m as usize];
                    rm.task == rk.task || ck.knows(rm.task, rm.local)
                });
                if !has_pred {
                    initials |= bit(rk.task);
                }
            }
            initials
        };
        let q_bit = if v.iter().any(|&m| before_q(m)) {
            0
        } else {
            bit(q)
        };
        // I(v·q): what source-DPOR needs one of in backtrack(pre(e)).
        let initials = initials_of(&v) | q_bit;
        // I(u·q) ⊆ I(v·q): an initial that starts the reversal itself (a step of v
        // that q does not need could be what leads away from it).
        let u_initials = initials_of(&u) | if u.is_empty() { bit(q) } else { 0 };
        if initials == 0 {
            return;
        }
        let steps = &self.steps;
        if let Node::Sched {
            backtrack,
            enabled,
            sleep,
            wakeup,
            ..
        } = &mut self.nodes[node]
        {
            let sleep_bits = task_bits(sleep);
            if *backtrack & initials != 0 || initials & sleep_bits != 0 {
                return;
            }
            if u.is_empty() && *enabled & bit(q) == 0 {
                // `q` needs no step of `v` yet could not run before `e`: what made it
                // runnable is `e` itself (a wait for a completion that `e`
                // completes; every step that enables another is dependent with it
                // or ordered before it), so the reversal cannot be scheduled.
                return;
            }
            let cand = if u_initials & *enabled != 0 {
                u_initials & *enabled
            } else {
                initials & *enabled
            };
            let pick = if cand & bit(q) != 0 {
                q
            } else if cand != 0 {
                cand.trailing_zeros() as TaskId
            } else {
                // No initial is enabled there (should not happen); fall back to all.
                *backtrack |= *enabled;
                return;
            };
            *backtrack |= bit(pick);
            // The wakeup sequence: the tasks of u·q in order, the initial moved first
            // (its first step has no predecessor in the sequence, so it may go first).
            let mut seq: Vec<TaskId> = u.iter().map(|&k| steps[k as usize].task).collect();
            seq.push(q);
            if let Some(i) = seq.iter().position(|&t| t == pick) {
                seq.remove(i);
                seq.insert(0, pick);
                wakeup.push((pick, seq));
            }
        }
    }

    /// At the end of an execution, the pending operations of blocked tasks race with
    /// the steps that blocked them (a lock acquisition that will never be followed
    /// by this task's acquisition in this execution): Flanagan–Godefroid's
    /// "next(s, p) for every p", disabled ones included.
    fn pending_races(&mut self, task: TaskId, a: Access) {
        if task >= MAX_TASKS || a.obj().is_none() {
            return;
        }
        let before = self.task_clock.get(task).copied().unwrap_or([0; SLOTS]);
        let mut clock = before;
        clock[task] = before[task] + 1;
        if self.obj_hist.len() <= a.obj().expect("object") as usize {
            return;
        }
        let mut cands: Vec<u32> = Vec::new();
        self.scan_conflicts(task, a, &before, &mut clock, Some(&mut cands));
        let races = self.maximal(&cands);
        let end = self.steps.len() as u32;
        for e in races {
            self.reverse_race(e, end, task, &clock);
        }
    }
}

impl Dfs {
    /// An execution that ends while some task can still run was cut short by its last
    /// step: a deadlock reported at once (a cycle of lock waits, a recursive
    /// acquisition) or a panic ends it whatever the others could still do. That step
    /// disables every other task, so it is dependent with every step of the others, a
    /// dependence its footprint does not show. Without it, what the tasks still
    /// runnable would have done later (and its races with earlier steps) is never
    /// explored: reversing the race runs such a task first, one step further each
    /// time (the cutting step wakes every sleeper), until its pending operation races
    /// with something of its own.
    fn cut_races(&mut self, unfinished: &[ksync::rt::TaskView]) {
        let Some(last) = self.steps.len().checked_sub(1) else {
            return;
        };
        let Some(node) = self.steps[last].node else {
            return; // a clock step: never decided, never reversed
        };
        let cut_by = self.steps[last].task;
        let runnable: Bits = unfinished
            .iter()
            .filter(|t| t.enabled && t.id != cut_by && t.id < MAX_TASKS)
            .fold(0, |a, t| a | bit(t.id));
        if runnable == 0 {
            return;
        }
        if let Node::Sched {
            backtrack,
            enabled,
            sleep,
            chosen_cuts,
            ..
        } = &mut self.nodes[node]
        {
            // Once explored, the cutting step keeps no other task asleep after it.
            *chosen_cuts = true;
            let sleep_bits = task_bits(sleep);
            // A task asleep here ran its step before the cutting one in an explored
            // sibling; one not enabled here was enabled by the cutting step itself,
            // so it cannot run before it.
            *backtrack |= runnable & *enabled & !sleep_bits;
        }
        // The cut is dependent with the earlier steps of the others too: each task's
        // last step that does not happen before it races with it (cutting there
        // leaves that step out, and with it what it did, a mechanism mark say).
        let cut = last as u32;
        let cclock: Clock = {
            let mut c = [0; SLOTS];
            c.copy_from_slice(self.clk(cut));
            c
        };
        let mut seen: Bits = bit(cut_by);
        let mut cands: Vec<u32> = Vec::new();
        for s in (0..cut).rev() {
            let r = &self.steps[s as usize];
            if r.task >= MAX_TASKS || seen & bit(r.task) != 0 {
                continue;
            }
            seen |= bit(r.task);
            if !cclock.knows(r.task, r.local) {
                cands.push(s);
            }
        }
        let races = self.maximal(&cands);
        for e in races {
            self.reverse_race(e, cut, cut_by, &cclock);
        }
    }
}

impl Scheduler for Dfs {
    fn next_task(&mut self, view: &SchedView) -> Option<TaskId> {
        let i = self.pos;
        self.pos += 1;
        let mut enabled: Bits = 0;
        for t in view.tasks.iter().filter(|t| t.enabled) {
            enabled |= bit(t.id);
        }
        if i < self.replay_len {
            // Replaying: follow the recorded decision.
            let chosen = match &mut self.nodes[i] {
                Node::Sched { chosen, step, .. } => {
                    *step = view.step;
                    *chosen
                }
                Node::Choice { .. } => {
                    panic!("replay diverged: expected a choose, got a scheduling point")
                }
            };
            debug_assert!(
                enabled & bit(chosen) != 0,
                "replay diverged: task not enabled"
            );
            if i + 1 == self.replay_len {
                // The node we backtracked to: its child's sleep set is computed after
                // the step, from the step's footprint.
                self.fresh_from_step = view.step;
            }
            self.set_node_of_next_step(i);
            return Some(chosen);
        }
        if self.fresh_from_step == u32::MAX {
            self.fresh_from_step = view.step;
        }
        let sleep = self.pending_sleep.take().unwrap_or_default();
        let sleep_bits = task_bits(&sleep);
        let avail = enabled & !sleep_bits;
        if avail == 0 {
            self.sleep_blocked += 1;
            return None;
        }
        let chosen = match self.guide.front() {
            Some(&t) if avail & bit(t) != 0 => {
                self.guide.pop_front();
                t
            }
            _ => {
                self.guide.clear();
                avail.trailing_zeros() as TaskId
            }
        };
        let backtrack = if self.reduce { bit(chosen) } else { avail };
        let pending = if self.reduce {
            pending_of(view)
        } else {
            [None; MAX_TASKS]
        };
        self.nodes.push(Node::Sched {
            enabled,
            chosen,
            backtrack,
            done: Vec::new(),
            sleep,
            pending,
            step: view.step,
            chosen_fp: self.fp_pool.pop().unwrap_or_default(),
            chosen_cuts: false,
            wakeup: Vec::new(),
            claimed: 0,
            lost: 0,
        });
        self.replay_len = self.nodes.len();
        self.set_node_of_next_step(i);
        Some(chosen)
    }

    fn choose(&mut self, _task: TaskId, n: usize, step: u32) -> usize {
        let i = self.pos;
        self.pos += 1;
        if i + 1 == self.replay_len {
            self.fresh_from_step = step;
        }
        if i < self.replay_len {
            return match &mut self.nodes[i] {
                Node::Choice { value, .. } => *value,
                Node::Sched { .. } => {
                    panic!("replay diverged: expected a scheduling point, got a choose")
                }
            };
        }
        self.nodes.push(Node::Choice { n, value: 0 });
        self.replay_len = self.nodes.len();
        0
    }

    fn execution_end(&mut self, unfinished: &[ksync::rt::TaskView]) {
        if !self.reduce {
            return;
        }
        for t in unfinished {
            if let Some(a) = t.access {
                self.pending_races(t.id, a);
            }
        }
        self.cut_races(unfinished);
    }

    fn step_done(&mut self, step: &Step) {
        if step.task == CLOCK_TASK {
            // A timer fired: a step of the clock, ordered by its footprint (the
            // arming step, what its callback touched) like any other step. It is
            // decided by no node, so no race is reversed at the point before it.
            if !self.reduce {
                return;
            }
            self.analyse(step.idx, CLOCK_SLOT, step.accesses);
            // Sleep sets do not carry across a timer firing.
            self.pending_sleep = Some(Vec::new());
            return;
        }
        let node = self.next_step_node.take();
        if !self.reduce {
            return; // plain DFS needs no happens-before
        }
        self.analyse(step.idx, step.task, step.accesses);
        if let Some(n) = node {
            self.steps[step.idx as usize].node = Some(n);
            self.record_done_footprint(n, step.accesses);
            // Only a fresh decision takes the child's sleep set (a replayed node keeps
            // its own): computing it for every replayed step showed in profiles.
            self.pending_sleep = (self.pos >= self.replay_len)
                .then(|| self.child_sleep(n, step.task, step.accesses));
        }
    }
}

impl Dfs {
    fn set_node_of_next_step(&mut self, node: usize) {
        self.next_step_node = Some(node);
    }

    /// Sleep set of the child of `node` after `task` ran a step with `accesses`:
    /// the node's sleepers and explored siblings whose next step is independent.
    fn child_sleep(&self, node: usize, task: TaskId, accesses: &[Access]) -> Vec<SleepEntry> {
        let Node::Sched { sleep, done, .. } = &self.nodes[node] else {
            return Vec::new();
        };
        // A step that cut the execution short disabled every other task: dependent
        // with any step, it sleeps through none.
        let indep = |e: &SleepEntry| {
            !e.cuts
                && !e
                    .footprint
                    .iter()
                    .any(|a| accesses.iter().any(|b| a.conflicts(*b)))
        };
        sleep
            .iter()
            .chain(done.iter())
            .filter(|e| e.task != task && indep(e))
            .cloned()
            .collect()
    }
}

/// The tasks of a sleep set, as bits.
fn task_bits(sleep: &[SleepEntry]) -> Bits {
    sleep.iter().fold(0, |a, s| a | bit(s.task))
}
