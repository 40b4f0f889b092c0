//! Deadlocks: a cycle of lock waits when it closes, or no task able to run
//! with none pending a timer; and the waits-for descriptions their reports print.

use super::exec::EndKind;
use super::op::Op;
use super::state::{Shared, State};
use super::task::TaskId;
use super::ObjId;
use crate::class::class_name;
use crate::report::{Finding, RuntimeCheck};

impl Shared {
    /// No task can run and no timer is pending: the execution is over. Sleepers whose
    /// condition holds lost their wake-up; if any task that should have
    /// finished is blocked, that is a deadlock, summarised by what each
    /// blocked task waits for.
    pub(super) fn no_task_can_run(&self) -> EndKind {
        let sleepers: Vec<TaskId> = {
            let st = self.st.borrow();
            (0..st.tasks.len())
                .filter(|&t| {
                    let task = &st.tasks[t];
                    !task.finished && task.wait_cond.is_some()
                })
                .collect()
        };
        let lost: Vec<TaskId> = sleepers
            .into_iter()
            .filter(|&t| {
                self.lost_wakeup_check(
                    t,
                    "nothing else can run and no timer is pending: it sleeps forever",
                    false,
                )
            })
            .collect();
        let mut st = self.st.borrow_mut();
        if !st.tasks.iter().any(|t| t.is_blocking()) {
            return EndKind::Done;
        }
        let sites: Vec<(String, String)> = (0..st.tasks.len())
            .filter(|&t| st.tasks[t].is_blocking())
            .filter_map(|t| st.wait_site(t, lost.contains(&t)))
            .collect();
        let summary = if sites.is_empty() {
            "deadlock: no task can run and no timer is pending".to_string()
        } else {
            let parts: Vec<&str> = sites.iter().map(|s| s.0.as_str()).collect();
            format!("deadlock: {}", parts.join("; "))
        };
        let mut f = Finding::of_check(RuntimeCheck::Deadlock, st.property_ids, summary);
        f.detail = format!(
            "no task can run and no timer is pending\n{}",
            st.waits_for_description()
        );
        f.step = st.step;
        f.locks = sites.into_iter().map(|s| s.1).collect();
        st.push_finding(f);
        EndKind::Deadlock
    }
}

impl State {
    /// If `t` blocking on `obj` closes a cycle of lock waits, the tasks in it.
    pub(super) fn lock_wait_cycle(&self, t: TaskId, obj: ObjId) -> Option<Vec<(TaskId, ObjId)>> {
        // Walked twice: the chain is built only for a cycle, since this runs at
        // every lock acquisition.
        let next = |cur: ObjId| -> Option<(TaskId, ObjId)> {
            let owner = self.objs[cur as usize].owner?;
            if owner == t {
                return Some((t, obj));
            }
            match self.tasks[owner].pending {
                Op::Lock { obj } if !self.tasks[owner].finished => Some((owner, obj)),
                _ => None,
            }
        };
        let mut cur = obj;
        let mut len = 1;
        loop {
            if len > self.tasks.len() + 1 {
                return None;
            }
            let (owner, o) = next(cur)?;
            if owner == t {
                break;
            }
            cur = o;
            len += 1;
        }
        let mut chain = Vec::with_capacity(len);
        chain.push((t, obj));
        cur = obj;
        while chain.len() < len {
            let step = next(cur).expect("the chain walked above");
            chain.push(step);
            cur = step.1;
        }
        Some(chain)
    }

    pub(super) fn report_wait_cycle(&mut self, t: TaskId, cycle: Vec<(TaskId, ObjId)>) {
        // `t` is still running: its acquisition, which closes the cycle, is not its
        // pending operation yet, so each member is described by its pair.
        let sites: Vec<(String, String)> = cycle
            .iter()
            .map(|&(w, o)| self.lock_wait_site(w, o))
            .collect();
        let parts: Vec<&str> = sites.iter().map(|s| s.0.as_str()).collect();
        let mut f = self.check_finding(
            t,
            RuntimeCheck::Deadlock,
            format!("deadlock: {}", parts.join("; ")),
        );
        f.detail = cycle
            .iter()
            .zip(&parts)
            .map(|(&(w, _), p)| {
                let held = self.held_lock_names(w);
                if held.is_empty() {
                    format!("  {p}\n")
                } else {
                    format!("  {p} [holds {}]\n", held.join(", "))
                }
            })
            .collect();
        f.locks = sites.into_iter().map(|s| s.1).collect();
        self.push_finding(f);
        self.abort.get_or_insert(EndKind::Deadlock);
    }

    /// `t` waits for lock `obj`: the summary clause and the key of [`Self::wait_site`].
    fn lock_wait_site(&self, t: TaskId, obj: ObjId) -> (String, String) {
        let fr = self.site_of(t);
        let owner = match self.objs[obj as usize].owner {
            Some(o) if self.tasks[o].finished => format!("{} (exited)", self.tasks[o].name),
            Some(o) => self.tasks[o].name.clone(),
            None => "nobody".into(),
        };
        let class = class_name(self.objs[obj as usize].class);
        (
            format!(
                "{} in {fr} waits for {} held by {owner}",
                self.tasks[t].name,
                self.obj_name(obj)
            ),
            format!("{class} in {fr}"),
        )
    }

    /// Tasks that declared they can end waits on queue `obj` (`WaitQueue::hold`:
    /// the PM worker running a transition for `W_rpm`).
    fn wait_holders(&self, obj: ObjId) -> Vec<String> {
        self.tasks
            .iter()
            .filter(|x| !x.finished && x.held.iter().any(|h| h.obj == obj))
            .map(|x| x.name.clone())
            .collect()
    }

    /// `before`, the tasks that declared they can end waits on `obj`, `after`; empty
    /// if none did.
    fn holders_clause(&self, obj: ObjId, before: &str, after: &str) -> String {
        let holders = self.wait_holders(obj);
        if holders.is_empty() {
            return String::new();
        }
        format!("{before}{}{after}", holders.join(", "))
    }

    /// What task `t` waits for, as a clause of a deadlock summary
    /// (`T_hub in usb_disconnect waits for &udev->dev.mutex/2(1-1.1) held by T_sys`,
    /// `T_sys in uaudio_send_disconnect_ind sleeps on W_inuse(card0)`), with the key
    /// that tells deadlocks apart: the lock class or wait queue and the function that
    /// waits. `lost`: the sleeper's condition holds (a lost wake-up). `None` for a
    /// task that waits for another task to exit (a consequence, not a cause).
    pub(super) fn wait_site(&self, t: TaskId, lost: bool) -> Option<(String, String)> {
        let task = &self.tasks[t];
        let fr = self.site_of(t);
        match task.pending {
            Op::Lock { obj } | Op::TryLock { obj } => Some(self.lock_wait_site(t, obj)),
            Op::Sleep { obj, .. } | Op::WaitCompletion { obj, .. } => {
                let class = class_name(self.objs[obj as usize].class);
                let (waits, ended, _) = wait_words(task.pending);
                let note = if lost {
                    " (its condition holds: the wake-up was lost)".to_string()
                } else {
                    self.holders_clause(obj, &format!(" (to be {ended} by "), ")")
                };
                Some((
                    format!("{} in {fr} {waits} {}{note}", task.name, self.obj_name(obj)),
                    format!("{class} in {fr}"),
                ))
            }
            _ => None,
        }
    }

    /// Describes what every blocked task waits for.
    pub fn waits_for_description(&self) -> String {
        self.waits_for_description_of(0..self.tasks.len())
    }

    fn waits_for_description_of(&self, tasks: impl Iterator<Item = TaskId>) -> String {
        let mut out = String::new();
        for i in tasks {
            let task = &self.tasks[i];
            if !task.is_blocking() {
                continue;
            }
            let what = match task.pending {
                Op::Lock { obj } | Op::TryLock { obj } => {
                    let owner = self.objs[obj as usize]
                        .owner
                        .map(|o| self.tasks[o].name.clone())
                        .unwrap_or_else(|| "nobody".into());
                    format!("waits for {} held by {owner}", self.obj_name(obj))
                }
                op @ (Op::Sleep { obj, .. } | Op::WaitCompletion { obj, .. }) => {
                    let (waits, ended, never) = wait_words(op);
                    let by = self.holders_clause(obj, &format!("; to be {ended} by "), "");
                    format!("{waits} {} (no timeout, {never}{by})", self.obj_name(obj))
                }
                Op::Join { task } => format!("waits for task {} to exit", self.tasks[task].name),
                op => format!("blocked at {}", self.op_name(op)),
            };
            // Locks held, and (separately) the waits this task has declared it can end.
            let locks = self.held_lock_names(i);
            let ends: Vec<String> = task
                .held
                .iter()
                .filter(|h| self.objs[h.obj as usize].kind.is_wait())
                .map(|h| self.obj_name(h.obj))
                .collect();
            let mut extra = String::new();
            if !locks.is_empty() {
                extra.push_str(&format!(" [holds {}]", locks.join(", ")));
            }
            if !ends.is_empty() {
                extra.push_str(&format!(" [can end waits on {}]", ends.join(", ")));
            }
            // A task outside any kernel function (the scenario's main) has no "in".
            let fr = task
                .frames
                .last()
                .map(|f| format!(" in {f}"))
                .unwrap_or_default();
            out.push_str(&format!("  {}{fr}: {what}{extra}\n", task.name));
        }
        out
    }
}

/// How a summary says that a task waits on a queue or a completion, what ends the
/// wait, and that nothing did.
fn wait_words(op: Op) -> (&'static str, &'static str, &'static str) {
    match op {
        Op::WaitCompletion { .. } => ("waits for completion", "completed", "never completed"),
        _ => ("sleeps on", "ended", "no wake-up"),
    }
}
