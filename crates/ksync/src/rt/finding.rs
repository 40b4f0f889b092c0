//! Findings as the runtime collects them: the step, task, site and mechanism marks
//! each carries.

use super::state::State;
use super::task::TaskId;
use super::vv::VersionVector;
use crate::report::{Finding, FindingKind, RuntimeCheck};

/// A mechanism mark ([`crate::mechanism`]): its name, and the task and that task's
/// own clock when it was set (`None`: set outside a task, or without clocks).
#[derive(Clone, Copy, Debug)]
pub(crate) struct MechanismMark {
    pub name: &'static str,
    pub at: Option<(TaskId, u32)>,
}

impl State {
    /// Records a mechanism mark for the running task (or the clock step).
    pub fn mark(&mut self, name: &'static str) {
        let at = match self.running {
            Some(t) if self.race_on => Some((t, self.tasks[t].vc.count(t))),
            _ => None,
        };
        // The earliest mark of a name per task is the one most steps come after.
        if !self
            .tags
            .iter()
            .any(|m| m.name == name && m.at.map(|a| a.0) == at.map(|a| a.0))
        {
            self.tags.push(MechanismMark { name, at });
        }
    }

    /// The names of a finding's marks. `causal`: only those that happen before the
    /// running task's step (all of them when no task runs, at the end of an execution).
    /// A mark of an independent task that merely ran earlier is not part of a model
    /// check's mechanism, and with it the same finding would get another signature in
    /// another order of independent steps.
    fn finding_marks(&self, causal: bool) -> Vec<&'static str> {
        let seen = |m: &MechanismMark| match (causal, m.at, self.running) {
            (true, Some((u, c)), Some(t)) => u == t || self.tasks[t].vc.knows(u, c),
            _ => true,
        };
        let mut names: Vec<&'static str> = self
            .tags
            .iter()
            .filter(|m| seen(m))
            .map(|m| m.name)
            .collect();
        names.sort_unstable();
        names.dedup();
        names
    }

    pub fn push_finding(&mut self, mut f: Finding) {
        if f.site.is_none() {
            if let Some(t) = self.running {
                f.site = self.tasks[t].frames.last().copied();
            }
        }
        // A model check fires in the task that made it: its mechanism is what happens
        // before that step. Deadlocks and lock-order cycles are found by whichever task
        // closes them, so they keep every mark of the execution.
        f.tags = self.finding_marks(f.kind == FindingKind::Invariant);
        if self.record {
            let task = f.task.clone().unwrap_or_default();
            let what = format!("!! {} {}: {}", f.kind.as_str(), f.property, f.summary);
            self.trace_line(task, Vec::new(), what, Vec::new());
        }
        self.findings.push(f);
    }

    /// A finding of runtime check `check` in task `t`'s step, under the property id
    /// the program gives it.
    pub(super) fn check_finding(&self, t: TaskId, check: RuntimeCheck, summary: String) -> Finding {
        let mut f = Finding::of_check(check, self.property_ids, summary);
        f.task = Some(self.tasks[t].name.clone());
        f.step = self.step;
        f
    }

    /// The property id the program gives runtime check `check`.
    pub(super) fn property_id(&self, check: RuntimeCheck) -> &'static str {
        (self.property_ids)(check)
    }
}
