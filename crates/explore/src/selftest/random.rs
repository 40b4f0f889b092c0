//! Random small programs for differential testing of the search against brute
//! force: locks, atomics, wait queues with and without timeouts, wake-ups, `msleep`,
//! delayed work on an ordered worker that sleeps when idle, `choose`, and a set-up
//! phase in the main task before the concurrent part. A second family adds sections
//! of a leaf spinlock (run as one step by the checker), lockless reads of the atomic
//! it guards, and completions (whose complete and wait are one step each); each of
//! those is also run with a plain spinlock and a completion built from a wait queue
//! and a count, whose brute force must reach the same final states. Every execution that ends
//! reports its final state (shared values and what each task observed) as a finding,
//! so "DPOR reaches every finding brute force reaches" means it reaches every final
//! state and every deadlock.

use crate::Program;
use ksync::rng::Rng;
use ksync::{
    choose, msleep, spawn, AtomicU32, Completion, FindingKind, LockClass, Mutex, PropertyIds,
    SpinLock, WaitQueue, WaitResult, WorkQueue,
};
use std::fmt::Write as _;
use std::sync::Arc;

const LOCKS: [&str; 2] = ["rnd.L0", "rnd.L1"];
const VARS: [&str; 2] = ["rnd.x0", "rnd.x1"];
const FLAGS: [&str; 2] = ["rnd.f0", "rnd.f1"];
const QUEUES: [&str; 2] = ["rnd.W0", "rnd.W1"];

/// One statement of a random program.
#[derive(Clone, Debug)]
pub enum Stmt {
    /// `lock(L_i) { body }`.
    Locked(usize, Vec<Stmt>),
    /// `x_j = v`.
    Write(usize, u32),
    /// `x_j = x_j * 3 + 1` (a load and a store: two scheduling points).
    Bump(usize),
    /// The task observes `x_j`.
    Observe(usize),
    /// `wait_event_timeout(W_k, f_k != 0, ms)`; the task observes how it ended.
    TimedWait(usize, u64),
    /// `f_k = 1; wake_up(W_k)`.
    Post(usize),
    /// `msleep(ms)`.
    Msleep(u64),
    /// `if choose(2) == 0 { a } else { b }`.
    Choose(Box<Stmt>, Box<Stmt>),
    /// Queue `body` on the ordered worker after `delay` ms (0: at once).
    Queue(u64, Box<Stmt>),
    /// A section of the leaf spinlock S, which protects a count and guards `g`.
    Section(SectionOp),
    /// The task observes `g` without S (as a waiter reads a status).
    ObserveGuarded,
    /// `complete(&C_k)`, or `complete_all` (`true`).
    Complete(usize, bool),
    /// `wait_for_completion[_timeout](&C_k)`; the task observes how it ended.
    WaitCompletion(usize, Option<u64>),
}

/// What a [`Stmt::Section`] does under S.
#[derive(Clone, Copy, Debug)]
pub enum SectionOp {
    /// `count += 1`.
    Count,
    /// The task observes the count.
    ReadCount,
    /// `if g != v { g = v }`: reads `g` (invisible under S), writes it.
    SetGuarded(u32),
    /// `count += 1; if count == 1 { g = 1 }`.
    CountAndSet,
}

/// A random program: set-up statements in main, then the concurrent tasks.
#[derive(Clone, Debug)]
pub struct Spec {
    pub seed: u64,
    pub setup: Vec<Stmt>,
    pub tasks: Vec<Vec<Stmt>>,
    /// Generated with leaf-spinlock sections.
    pub sections: bool,
    /// The unreduced reference: S a plain spinlock (every operation a step), the
    /// completions a count and a wait queue (the check, the registration and the
    /// sleep separate steps).
    pub plain: bool,
}

impl Spec {
    /// A random program from `seed`: 2 tasks (sometimes 3) of 1 or 2 statements,
    /// small enough for brute force.
    pub fn generate(seed: u64) -> Spec {
        Self::generate_family(seed, false)
    }

    /// Like [`Spec::generate`], in the family with leaf-spinlock sections.
    pub fn generate_with_sections(seed: u64) -> Spec {
        Self::generate_family(seed, true)
    }

    fn generate_family(seed: u64, sections: bool) -> Spec {
        let mut rng = Rng::new(seed.wrapping_mul(0x2545_F491_4F6C_DD1D) ^ 0x00C0_FFEE);
        let ntasks = if rng.below(4) == 0 { 3 } else { 2 };
        let g: fn(&mut Rng) -> Stmt = if sections {
            gen_section_stmt
        } else {
            |rng| gen_stmt(rng, 1)
        };
        let setup = (0..rng.below(2)).map(|_| g(&mut rng)).collect();
        let tasks = (0..ntasks)
            .map(|_| {
                let n = 1 + rng.below(2);
                (0..n).map(|_| g(&mut rng)).collect()
            })
            .collect();
        Spec {
            seed,
            setup,
            tasks,
            sections,
            plain: false,
        }
    }

    /// The program: runs the set-up, spawns the tasks, joins them, lets the queued
    /// work run, and reports the final state.
    pub fn program(&self) -> Program {
        let spec = self.clone();
        let family = match (self.sections, self.plain) {
            (false, _) => "random",
            (true, false) => "random-sections",
            (true, true) => "random-sections-plain",
        };
        Program::new(format!("{family}-{}", self.seed), move || run(&spec))
    }

    /// The same program with S a plain spinlock and reference completions.
    pub fn unreduced(&self) -> Spec {
        Spec {
            plain: true,
            ..self.clone()
        }
    }
}

/// A statement of the sections family: mostly sections and lockless reads of `g`,
/// with the other statements among them.
fn gen_section_stmt(rng: &mut Rng) -> Stmt {
    match rng.below(10) {
        0 => Stmt::Section(SectionOp::Count),
        1 => Stmt::Section(SectionOp::ReadCount),
        2 => Stmt::Section(SectionOp::SetGuarded(1 + rng.below(2) as u32)),
        3 => Stmt::Section(SectionOp::CountAndSet),
        4 => Stmt::ObserveGuarded,
        5 => Stmt::Locked(rng.below(2), vec![Stmt::Section(SectionOp::Count)]),
        6 => Stmt::Complete(rng.below(2), rng.below(4) == 0),
        7 => Stmt::WaitCompletion(rng.below(2), [None, Some(10), Some(30)][rng.below(3)]),
        _ => gen_stmt(rng, 1),
    }
}

fn gen_stmt(rng: &mut Rng, depth: usize) -> Stmt {
    let k = rng.below(if depth > 0 { 10 } else { 7 });
    match k {
        0 => Stmt::Write(rng.below(2), 1 + rng.below(3) as u32),
        1 => Stmt::Bump(rng.below(2)),
        2 => Stmt::Observe(rng.below(2)),
        3 => Stmt::TimedWait(rng.below(2), [10, 30][rng.below(2)]),
        4 => Stmt::Post(rng.below(2)),
        5 => Stmt::Msleep([5, 20][rng.below(2)]),
        6 => Stmt::Observe(rng.below(2)),
        7 => {
            let n = 1 + rng.below(2);
            Stmt::Locked(
                rng.below(2),
                (0..n).map(|_| gen_stmt(rng, depth - 1)).collect(),
            )
        }
        8 => Stmt::Choose(
            Box::new(gen_stmt(rng, depth - 1)),
            Box::new(gen_stmt(rng, depth - 1)),
        ),
        _ => Stmt::Queue([0, 15][rng.below(2)], Box::new(gen_stmt(rng, 0))),
    }
}

struct World {
    locks: Vec<Mutex<()>>,
    vars: Vec<AtomicU32>,
    flags: Vec<AtomicU32>,
    queues: Vec<WaitQueue>,
    /// Only when the program queues work (an idle worker multiplies the schedules).
    wq: Option<WorkQueue>,
    /// S: a leaf spinlock over a count (a plain one in the unreduced reference).
    section: SpinLock<u32>,
    /// `g`: written only under S.
    guarded: AtomicU32,
    /// The one-step completions (stepwise ones in the unreduced reference).
    completions: Vec<Completion>,
}

fn queues_work(stmts: &[Stmt]) -> bool {
    stmts.iter().any(|s| match s {
        Stmt::Queue(..) => true,
        Stmt::Locked(_, body) => queues_work(body),
        Stmt::Section(_) | Stmt::ObserveGuarded | Stmt::Complete(..) | Stmt::WaitCompletion(..) => {
            false
        }
        Stmt::Choose(a, b) => {
            queues_work(std::slice::from_ref(a)) || queues_work(std::slice::from_ref(b))
        }
        _ => false,
    })
}

/// What one task saw, in order.
type Seen = String;

fn exec(w: &Arc<World>, s: &Stmt, seen: &mut Seen, held: &mut Vec<usize>) {
    match s {
        Stmt::Locked(i, body) => {
            if held.contains(i) {
                // Not a recursion test: a nested acquisition of a held lock is skipped.
                for b in body {
                    exec(w, b, seen, held);
                }
                return;
            }
            let _g = w.locks[*i].lock();
            held.push(*i);
            for b in body {
                exec(w, b, seen, held);
            }
            held.pop();
        }
        Stmt::Write(j, v) => w.vars[*j].store(*v),
        Stmt::Bump(j) => {
            let v = w.vars[*j].load();
            w.vars[*j].store(v * 3 + 1);
        }
        Stmt::Observe(j) => {
            let _ = write!(seen, "x{j}={} ", w.vars[*j].load());
        }
        Stmt::TimedWait(k, ms) => {
            let f = &w.flags[*k];
            let r = w.queues[*k].wait_event_timeout(|| f.load() != 0, Some(*ms));
            let _ = write!(
                seen,
                "W{k}:{} ",
                if r == WaitResult::Cond {
                    "cond"
                } else {
                    "timeout"
                }
            );
        }
        Stmt::Post(k) => {
            w.flags[*k].store(1);
            w.queues[*k].wake_up();
        }
        Stmt::Msleep(ms) => msleep(*ms),
        Stmt::Choose(a, b) => {
            let c = choose(2);
            let _ = write!(seen, "c{c} ");
            exec(w, if c == 0 { a } else { b }, seen, held);
        }
        Stmt::Section(op) => {
            let mut d = w.section.lock();
            match op {
                SectionOp::Count => *d += 1,
                SectionOp::ReadCount => {
                    let _ = write!(seen, "n={} ", *d);
                }
                SectionOp::SetGuarded(v) => {
                    if w.guarded.load() != *v {
                        w.guarded.store(*v);
                    }
                }
                SectionOp::CountAndSet => {
                    *d += 1;
                    if *d == 1 {
                        w.guarded.store(1);
                    }
                }
            }
        }
        Stmt::ObserveGuarded => {
            let _ = write!(seen, "g={} ", w.guarded.load());
        }
        Stmt::Complete(k, true) => w.completions[*k].complete_all(),
        Stmt::Complete(k, false) => w.completions[*k].complete(),
        Stmt::WaitCompletion(k, ms) => {
            let got = w.completions[*k].wait_for_completion_timeout(*ms);
            let _ = write!(seen, "C{k}:{} ", if got { "done" } else { "timeout" });
        }
        Stmt::Queue(delay, body) => {
            let (w2, body) = (w.clone(), (**body).clone());
            let item = move || {
                let mut ignored = String::new();
                exec(&w2, &body, &mut ignored, &mut Vec::new());
            };
            let wq = w.wq.as_ref().expect("the program queues work");
            if *delay == 0 {
                wq.queue_work("rnd_item", item);
            } else {
                wq.queue_delayed_work("rnd_item", *delay, item);
            }
        }
    }
}

fn run(spec: &Spec) {
    let class = LockClass::new("rnd.S");
    let section = if spec.plain {
        SpinLock::labeled(class, "s", 0)
    } else {
        SpinLock::leaf(class, "s", 0)
    };
    let guarded = if spec.plain {
        AtomicU32::ordered("rnd.g", 0)
    } else {
        AtomicU32::guarded_by("rnd.g", 0, &section)
    };
    let world = Arc::new(World {
        section,
        guarded,
        completions: ["rnd.C0", "rnd.C1"]
            .iter()
            .map(|n| {
                let class = LockClass::new(n);
                if spec.plain {
                    Completion::stepwise(class)
                } else {
                    Completion::new(class)
                }
            })
            .collect(),
        locks: LOCKS
            .iter()
            .map(|n| Mutex::new(LockClass::new(n), ()))
            .collect(),
        vars: VARS.iter().map(|n| AtomicU32::new(n, 0)).collect(),
        flags: FLAGS.iter().map(|n| AtomicU32::new(n, 0)).collect(),
        queues: QUEUES
            .iter()
            .map(|n| WaitQueue::new(LockClass::new(n)))
            .collect(),
        wq: (queues_work(&spec.setup) || spec.tasks.iter().any(|t| queues_work(t)))
            .then(|| WorkQueue::new_ordered("rnd.wq")),
    });
    let mut seen_main = String::new();
    for s in &spec.setup {
        exec(&world, s, &mut seen_main, &mut Vec::new());
    }
    let results: Vec<Arc<std::sync::Mutex<Seen>>> = (0..spec.tasks.len())
        .map(|_| Arc::new(std::sync::Mutex::new(String::new())))
        .collect();
    let hs: Vec<_> = spec
        .tasks
        .iter()
        .enumerate()
        .map(|(i, body)| {
            let (w, body, out) = (world.clone(), body.clone(), results[i].clone());
            spawn(&format!("t{i}"), move || {
                let mut seen = String::new();
                for s in &body {
                    exec(&w, s, &mut seen, &mut Vec::new());
                }
                *out.lock().expect("result") = seen;
            })
        })
        .collect();
    for h in hs {
        h.join();
    }
    // Long after every timer of the program: queued work has run.
    msleep(1000);
    if let Some(wq) = &world.wq {
        wq.flush();
    }
    let mut state = format!("setup[{seen_main}]");
    for (i, r) in results.iter().enumerate() {
        let _ = write!(state, " t{i}[{}]", r.lock().expect("result"));
    }
    for (j, v) in world.vars.iter().enumerate() {
        let _ = write!(state, " x{j}={}", v.load());
    }
    if spec.sections {
        let _ = write!(
            state,
            " n={} g={}",
            world.section.peek(|n| *n),
            world.guarded.peek()
        );
    }
    ksync::report(
        FindingKind::Invariant,
        &format!("END {state}"),
        state.clone(),
    );
}

/// What the differential check of [`check_seeds`] saw.
#[derive(Debug, Default, serde::Serialize)]
pub struct Differential {
    /// Programs whose brute force finished and that were compared.
    pub tested: u64,
    /// Of those, programs in which some timer fired.
    pub with_timers: u64,
    /// Programs skipped because brute force would run more than the limit.
    pub too_large: u64,
    /// Of the compared programs, those of the leaf-spinlock family, each also
    /// compared with its plain-spinlock reference.
    pub with_sections: u64,
    /// One line per program on which DPOR missed a trace or a finding.
    pub unsound: Vec<String>,
    /// Executions of the serial search and of the simulated parallel one over the
    /// compared programs (what sharing the tree costs).
    pub serial_executions: u64,
    pub parallel_executions: u64,
    /// Executions of the shards of the split searches, in 2 and in 3 shards (every
    /// shard runs the two executions before the split).
    pub shard_executions: u64,
}

/// Generates the programs of `seeds`, brute-forces each (skipping those with more
/// than `max_schedules` schedules) and compares DPOR with it: every trace, final
/// state and deadlock brute force reaches, DPOR must reach. The findings a report of
/// unsoundness names are under the property ids `property_ids` gives.
pub fn check_seeds(
    seeds: std::ops::Range<u64>,
    max_schedules: u64,
    property_ids: PropertyIds,
) -> Differential {
    use super::brute::{brute_force, observe_dfs, observe_parallel, Limits};
    let mut d = Differential::default();
    let limits = Limits {
        max_executions: Some(max_schedules),
        ..Limits::default()
    };
    let specs = seeds
        .clone()
        .map(Spec::generate)
        .chain(seeds.map(Spec::generate_with_sections));
    for spec in specs {
        let seed = spec.seed;
        let p = spec.program().with_property_ids(property_ids);
        let bf = brute_force(&p, &limits);
        if let Some(why) = &bf.diverged {
            d.unsound
                .push(format!("seed {seed}: brute force diverged: {why}"));
            continue;
        }
        if !bf.complete {
            d.too_large += 1;
            continue;
        }
        if spec.sections {
            // One-step sections must reach exactly the plain spinlock's final states.
            // Every operation of a section is a step there: many more schedules.
            let plain = brute_force(
                &spec.unreduced().program().with_property_ids(property_ids),
                &Limits {
                    max_executions: Some(max_schedules * 20),
                    ..Limits::default()
                },
            );
            if !plain.complete {
                d.too_large += 1;
                continue;
            }
            // A deadlock names a task blocked in a completion wait as such, and the
            // reference's as asleep on its queue: the same wait.
            let reduced: std::collections::BTreeSet<String> = bf
                .finding_keys
                .iter()
                .map(|k| k.replace("waits for completion ", "sleeps on "))
                .collect();
            if plain.finding_keys != reduced {
                let lost: Vec<_> = plain.finding_keys.difference(&reduced).collect();
                let gained: Vec<_> = reduced.difference(&plain.finding_keys).collect();
                d.unsound.push(format!(
                    "seed {seed} (sections): one-step sections lost {lost:?} and gained {gained:?}: {spec:?}"
                ));
                continue;
            }
            d.with_sections += 1;
        }
        let obs = observe_dfs(&p, true, &Limits::default());
        d.tested += 1;
        d.with_timers += bf.forms.iter().any(|f| f.clock_steps > 0) as u64;
        // The parallel search must reach the same, however its work is shared.
        let par = observe_parallel(&p, super::PARALLEL_WORKERS, &Limits::default());
        for (search, o) in [("DPOR", &obs), ("parallel DPOR", &par)] {
            let missing: Vec<_> = bf.finding_keys.difference(&o.finding_keys).collect();
            let traces = bf.forms.iter().filter(|f| !o.forms.contains(*f)).count();
            if !o.exhausted || !missing.is_empty() || traces > 0 {
                d.unsound.push(format!(
                    "seed {seed}: {search} missed {traces} trace(s) and {} finding(s) ({:?}): {spec:?}",
                    missing.len(),
                    missing.first()
                ));
            }
        }
        d.parallel_executions += par.executions;
        d.serial_executions += obs.executions;
        // And so must the shards of a split search, together: split after two
        // executions, so that small trees are split (and split again) too; dealt
        // from the shard the name hashes to or from one a plan names, or given
        // whole to one shard.
        use crate::ShardPlacement::{Hashed, Split, Whole};
        let first = (seed % 3) as usize;
        for (n, placement) in [
            (2, Hashed),
            (3, Hashed),
            (3, Split { first }),
            (2, Whole { on: 1 }),
        ] {
            let mut found = std::collections::BTreeSet::new();
            for k in 0..n {
                let r = crate::explore(
                    &p,
                    &crate::Config {
                        shard: Some((k, n)),
                        shard_placement: placement,
                        shard_common_executions: 2,
                        ..crate::Config::default()
                    },
                );
                found.extend(r.findings.iter().map(|f| f.finding.signature()));
                d.shard_executions += r.executions;
            }
            let missing: Vec<_> = bf.finding_keys.difference(&found).collect();
            if !missing.is_empty() {
                d.unsound.push(format!(
                    "seed {seed}: {n} shards ({placement:?}) missed {} finding(s) ({:?}): {spec:?}",
                    missing.len(),
                    missing.first()
                ));
            }
        }
    }
    d
}
