//! The readable trace of a counterexample (record mode), and the names of tasks'
//! sites, objects and operations that traces and findings print.

use super::op::Op;
use super::state::{ObjKind, State};
use super::task::TaskId;
use super::ObjId;
use crate::class::class_name;

/// One recorded line of a counterexample.
#[derive(Clone, Debug, serde::Serialize)]
pub struct TraceEntry {
    pub step: u32,
    pub task: String,
    pub frames: Vec<&'static str>,
    pub what: String,
    /// Locks the task holds at this event.
    pub held: Vec<String>,
    /// Wait queues the task has declared it can end (`WaitQueue::hold`): conditions,
    /// not locks, so kept apart from `held`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ends: Vec<String>,
    /// The task cannot run after this event (a contended lock, a sleep, a join):
    /// recorded once per blocking, so a report shows the wait as an event of its own.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub blocked: bool,
    pub time_ms: u64,
}

impl State {
    /// Records the operation task `t` is about to perform as its step begins.
    pub(super) fn trace_step_start(&mut self, t: TaskId) {
        let op = self.tasks[t].pending;
        let what = self.op_name(op);
        let frames = self.tasks[t].frames.clone();
        let held = self.held_lock_names(t);
        let ends = self.ends_names(t);
        let name = self.tasks[t].name.clone();
        self.trace_line_ends(name, frames, what, held, ends);
    }

    pub fn obj_name(&self, obj: ObjId) -> String {
        let o = &self.objs[obj as usize];
        match &o.label {
            Some(l) => format!("{}({})", class_name(o.class), l),
            None => class_name(o.class),
        }
    }

    /// The wait queues `t` has declared it can end (see [`TraceEntry::ends`]).
    fn ends_names(&self, t: TaskId) -> Vec<String> {
        self.tasks[t]
            .held
            .iter()
            .filter(|h| self.objs[h.obj as usize].kind.is_wait())
            .map(|h| self.obj_name(h.obj))
            .collect()
    }

    /// Records, once per blocking, each task that cannot run now (record mode):
    /// `noted[t]` says whether its current blocking is already in the trace.
    pub(super) fn note_blocked(&mut self, noted: &mut Vec<bool>) {
        noted.resize(self.tasks.len(), false);
        for (t, seen) in noted.iter_mut().enumerate() {
            let task = &self.tasks[t];
            if !task.is_blocking() || self.is_enabled(task) {
                *seen = false;
                continue;
            }
            if *seen {
                continue;
            }
            *seen = true;
            // The clause without "T in f ": the trace shows the task and its frames.
            let what = match self.wait_site(t, false) {
                Some((clause, _)) => clause
                    .strip_prefix(&format!("{} in {} ", task.name, self.site_of(t)))
                    .map_or(clause.clone(), str::to_string),
                None => format!("blocked at {}", self.op_name(task.pending)),
            };
            let entry = TraceEntry {
                // It blocked in the step that just ended.
                step: self.step.saturating_sub(1),
                task: task.name.clone(),
                frames: task.frames.clone(),
                what,
                held: self.held_lock_names(t),
                ends: self.ends_names(t),
                blocked: true,
                time_ms: self.now,
            };
            self.trace.push(entry);
        }
    }

    pub fn held_names(&self, t: TaskId) -> Vec<String> {
        self.tasks[t]
            .held
            .iter()
            .map(|h| self.obj_name(h.obj))
            .collect()
    }

    pub(super) fn trace_line(
        &mut self,
        task: String,
        frames: Vec<&'static str>,
        what: String,
        held: Vec<String>,
    ) {
        self.trace_line_ends(task, frames, what, held, Vec::new());
    }

    fn trace_line_ends(
        &mut self,
        task: String,
        frames: Vec<&'static str>,
        what: String,
        held: Vec<String>,
        ends: Vec<String>,
    ) {
        let step = self.step;
        let time_ms = self.now;
        self.trace.push(TraceEntry {
            step,
            task,
            frames,
            what,
            held,
            ends,
            blocked: false,
            time_ms,
        });
    }

    /// Records an inline event of the running task in the trace (record mode only).
    pub fn note(&mut self, what: impl FnOnce(&State) -> String) {
        if !self.record {
            return;
        }
        let Some(t) = self.running else { return };
        let w = what(self);
        let frames = self.tasks[t].frames.clone();
        let held = self.held_lock_names(t);
        let ends = self.ends_names(t);
        let name = self.tasks[t].name.clone();
        self.trace_line_ends(name, frames, w, held, ends);
    }

    /// The function a task is in (its top frame).
    pub(super) fn site_of(&self, t: TaskId) -> &'static str {
        self.tasks[t].frames.last().copied().unwrap_or("?")
    }

    /// The locks `t` holds, without the waits it declared it can end (those are not
    /// locks: `W_rpm` held by the PM worker means it runs the transition).
    pub(super) fn held_lock_names(&self, t: TaskId) -> Vec<String> {
        self.tasks[t]
            .held
            .iter()
            .filter(|h| !self.objs[h.obj as usize].kind.is_wait())
            .map(|h| self.obj_name(h.obj))
            .collect()
    }

    pub fn op_name(&self, op: Op) -> String {
        match op {
            Op::Start => "start".into(),
            Op::Yield => "yield".into(),
            Op::Atomic { obj, write } => {
                format!(
                    "{} {}",
                    if write { "write" } else { "read" },
                    self.obj_name(obj)
                )
            }
            Op::Lock { obj } => match self.objs[obj as usize].kind {
                ObjKind::Spin => format!("spin_lock({})", self.obj_name(obj)),
                _ => format!("mutex_lock({})", self.obj_name(obj)),
            },
            Op::TryLock { obj } => format!("trylock({})", self.obj_name(obj)),
            Op::PrepareWait { obj, .. } => format!("prepare_to_wait({})", self.obj_name(obj)),
            Op::Sleep { obj, .. } => format!("schedule() on {}", self.obj_name(obj)),
            Op::Wake { obj } => format!("wake_up({})", self.obj_name(obj)),
            Op::Complete { obj, all: false } => format!("complete({})", self.obj_name(obj)),
            Op::Complete { obj, all: true } => format!("complete_all({})", self.obj_name(obj)),
            Op::WaitCompletion { obj, .. } => {
                format!("wait_for_completion({})", self.obj_name(obj))
            }
            Op::Join { task } => format!("join({})", self.tasks[task].name),
            Op::Msleep => "msleep".into(),
            Op::Choose { n } => format!("choose({n})"),
        }
    }
}
