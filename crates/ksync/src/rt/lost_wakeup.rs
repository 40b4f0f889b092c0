//! Lost wake-ups: a sleeper whose wait condition holds although no wake-up
//! reached it.

use super::op::Op;
use super::state::{Shared, State};
use super::task::TaskId;
use super::timer::CLOCK_TASK;
use super::ObjId;
use crate::class::class_name;
use crate::report::RuntimeCheck;

impl Shared {
    /// Something other than a wake-up is about to end task `t`'s wait (`how`): if
    /// its condition already holds and no wake-up reached it, the wake-up was lost.
    /// `deferred`: the wait goes on (a timer ends it), so the report waits for the
    /// end of the execution in case the wake-up is only late.
    pub(super) fn lost_wakeup_check(&self, t: TaskId, how: &str, deferred: bool) -> bool {
        if self.st.borrow().tasks[t].woken {
            return false;
        }
        match self.observe_wait_cond(t) {
            Some((true, objs)) => {
                self.st
                    .borrow_mut()
                    .report_lost_wakeup(t, &objs, how, deferred);
                true
            }
            _ => false,
        }
    }
}

impl State {
    /// At the end of an execution: the lost wake-ups that no later wake-up of their
    /// queue excused.
    pub(super) fn report_pending_lost_wakeups(&mut self) {
        for (_, _, f) in std::mem::take(&mut self.pending_lost) {
            self.push_finding(f);
        }
    }

    /// A lost wake-up: task `t` sleeps on a queue although its wait condition
    /// holds (it read `objs`), and no wake-up reached it since it registered; `how`
    /// says what ends the wait instead.
    fn report_lost_wakeup(&mut self, t: TaskId, objs: &[ObjId], how: &str, deferred: bool) {
        let Op::Sleep { obj, .. } = self.tasks[t].pending else {
            return;
        };
        let mut seen: Vec<ObjId> = Vec::new();
        let mut writers = Vec::new();
        for &o in objs {
            if seen.contains(&o) {
                continue;
            }
            seen.push(o);
            if let Some((w, f)) = self.objs[o as usize].last_writer {
                let who = if w == CLOCK_TASK {
                    "[clock]".to_string()
                } else {
                    self.tasks[w].name.clone()
                };
                writers.push(format!("{} last written by {who} in {f}", self.obj_name(o)));
            }
        }
        let cause = if writers.is_empty() {
            String::new()
        } else {
            format!(" ({})", writers.join(", "))
        };
        let summary = format!(
            "lost wake-up: {} in {} sleeps on {}; its condition holds{cause} but no wake-up was sent to it, and {how}",
            self.tasks[t].name,
            self.site_of(t),
            self.obj_name(obj),
        );
        let mut f = self.check_finding(t, RuntimeCheck::LostWakeup, summary);
        f.locks = vec![class_name(self.objs[obj as usize].class)];
        f.detail = format!(
            "  {} in {}\n",
            self.tasks[t].name,
            self.tasks[t].frames.join(" > ")
        );
        if deferred {
            if self.record {
                let what = format!(
                    "{}'s wait condition holds but no wake-up came ({} unless a task blocked now wakes {} later)",
                    self.tasks[t].name,
                    self.property_id(RuntimeCheck::LostWakeup),
                    self.obj_name(obj)
                );
                self.trace_line("[clock]".into(), Vec::new(), what, Vec::new());
            }
            let blocked = (0..self.tasks.len())
                .filter(|&u| {
                    u != t
                        && !self.tasks[u].finished
                        && matches!(self.tasks[u].pending, Op::Lock { .. })
                })
                .collect();
            self.pending_lost.push((obj, blocked, f));
        } else {
            self.push_finding(f);
        }
    }
}
