//! A tiny random-schedule driver over `ksync::rt` for tests and quick smoke runs
//! (the real checker lives in the `explore` crate).

use super::Scenario;
use crate::Design;
use ksync::rng::Rng;
use ksync::rt::{EndKind, ExecConfig, Execution, SchedView, Scheduler, TaskId};
use ksync::Finding;
use std::collections::BTreeMap;

struct RandomSched(Rng);

impl Scheduler for RandomSched {
    fn next_task(&mut self, view: &SchedView) -> Option<TaskId> {
        let en: Vec<TaskId> = view.enabled().collect();
        Some(en[self.0.below(en.len())])
    }
    fn choose(&mut self, _task: TaskId, n: usize, _step: u32) -> usize {
        self.0.below(n)
    }
    fn execution_end(&mut self, _unfinished: &[ksync::rt::TaskView]) {}
}

/// Result of [`run_random`]: findings by dedup key (first instance), end kinds.
#[derive(Default, Debug)]
pub struct Summary {
    pub findings: BTreeMap<String, (Finding, usize)>,
    pub ends: BTreeMap<String, usize>,
    pub max_steps: u32,
}

impl Summary {
    pub fn properties(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .findings
            .values()
            .map(|(f, _)| f.property.clone())
            .collect();
        v.sort();
        v.dedup();
        v
    }
}

/// Runs `runs` random executions of `sc` under `design`.
pub fn run_random(sc: &Scenario, design: Design, runs: u64, seed: u64) -> Summary {
    let mut ex = Execution::new(ExecConfig {
        max_steps: 20_000,
        property_ids: crate::invariants::runtime_check_property,
        ..ExecConfig::default()
    });
    let mut sum = Summary::default();
    for i in 0..runs {
        let mut s = RandomSched(Rng::new(
            seed.wrapping_mul(6364136223846793005).wrapping_add(i),
        ));
        let f = sc.run;
        let out = ex.run(Box::new(move || f(design)), &mut s);
        *sum.ends.entry(format!("{:?}", out.end)).or_default() += 1;
        sum.max_steps = sum.max_steps.max(out.steps);
        for f in out.findings {
            let e = sum.findings.entry(f.dedup_key()).or_insert((f, 0));
            e.1 += 1;
        }
        if out.end == EndKind::Panic {
            break;
        }
    }
    sum
}
