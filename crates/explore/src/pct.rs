//! Randomised strategies: uniform random walk and PCT (Burckhardt et al., ASPLOS
//! 2010): random distinct task priorities, d−1 random priority change points, always
//! run the highest-priority enabled task.

use crate::{Config, Limits, Program, Recording, Strategy};
use ksync::rt::{EndKind, Execution, SchedView, Scheduler, TaskId};
use std::time::Instant;

use ksync::rng::Rng;

/// Uniform random scheduling.
pub struct RandomSched {
    pub rng: Rng,
}

impl Scheduler for RandomSched {
    fn next_task(&mut self, view: &SchedView) -> Option<TaskId> {
        let n = view.enabled().count();
        let k = self.rng.below(n);
        view.enabled().nth(k)
    }
    fn choose(&mut self, _t: TaskId, n: usize, _s: u32) -> usize {
        self.rng.below(n)
    }
    fn execution_end(&mut self, _unfinished: &[ksync::rt::TaskView]) {}
}

/// PCT scheduler for one execution.
pub struct PctSched {
    rng: Rng,
    prio: Vec<u64>,
    change_points: Vec<u32>,
    low: u64,
}

impl PctSched {
    /// `k`: expected number of steps (estimated from earlier runs); `d`: depth.
    pub fn new(seed: u64, k: u32, d: usize) -> Self {
        let mut rng = Rng::new(seed);
        let change_points = (1..d)
            .map(|_| rng.below(k.max(1) as usize) as u32)
            .collect();
        PctSched {
            rng,
            prio: Vec::new(),
            change_points,
            low: 0,
        }
    }
    fn prio(&mut self, t: TaskId) -> u64 {
        while self.prio.len() <= t {
            // New tasks get a random high priority (above every lowered one).
            let p = 1_000_000 + self.rng.below(1_000_000) as u64;
            self.prio.push(p);
        }
        self.prio[t]
    }
}

impl Scheduler for PctSched {
    fn next_task(&mut self, view: &SchedView) -> Option<TaskId> {
        let enabled: Vec<TaskId> = view.enabled().collect();
        let best = *enabled.iter().max_by_key(|&&t| (self.prio(t), t))?;
        if self.change_points.contains(&view.step) {
            self.low += 1;
            self.prio[best] = self.low;
            return enabled.into_iter().max_by_key(|&t| (self.prio(t), t));
        }
        Some(best)
    }
    fn choose(&mut self, _t: TaskId, n: usize, _s: u32) -> usize {
        self.rng.below(n)
    }
    fn execution_end(&mut self, _unfinished: &[ksync::rt::TaskView]) {}
}

pub(crate) fn random_worker(
    program: &Program,
    cfg: &Config,
    lim: &Limits,
    start: Instant,
) -> crate::WorkerResult {
    let mut exec = Execution::new(crate::exec_config(program, cfg, false));
    let mut col = crate::Collector::default();
    let (mut execs, mut steps, mut bound) = (0u64, 0u64, 0u64);
    let mut seed_rng = Rng::new(cfg.seed);
    let mut avg_steps: u32 = 100;
    let limit = cfg.max_executions.unwrap_or(10_000);
    let stopped_by = loop {
        if execs >= limit {
            break crate::Stop::MaxExecutions;
        }
        if let Some(stop) = lim.hit(cfg, start) {
            break stop;
        }
        let seed = seed_rng.next_u64();
        let out;
        let decisions;
        if cfg.strategy == Strategy::Pct {
            let mut s = Recording {
                inner: PctSched::new(seed, avg_steps, cfg.pct_depth),
                decisions: Vec::new(),
            };
            let before = exec.lockdep.len();
            out = crate::run_one(&mut exec, program, &mut s);
            decisions = s.decisions;
            col.note_edges(&exec.lockdep, before, &decisions);
        } else {
            let mut s = Recording {
                inner: RandomSched {
                    rng: Rng::new(seed),
                },
                decisions: Vec::new(),
            };
            let before = exec.lockdep.len();
            out = crate::run_one(&mut exec, program, &mut s);
            decisions = s.decisions;
            col.note_edges(&exec.lockdep, before, &decisions);
        }
        execs += 1;
        let n = lim.count();
        if n.is_multiple_of(1024) {
            if let Some(p) = &cfg.progress {
                p(n);
            }
        }
        steps += out.steps as u64;
        avg_steps = ((avg_steps as u64 * 7 + out.steps as u64) / 8).max(1) as u32;
        if out.end == EndKind::StepBound {
            bound += 1;
        }
        if !out.findings.is_empty() {
            for f in out.findings {
                col.add(&program.name, f, &decisions);
            }
            if cfg.stop_at_first {
                lim.stop();
            }
        }
    };
    let lockdep = std::mem::take(&mut exec.lockdep);
    crate::WorkerResult {
        collector: col,
        executions: execs,
        steps,
        pruned: 0,
        bound_hits: bound,
        exhausted: false,
        stopped_by: Some(stopped_by),
        lockdep,
    }
}
