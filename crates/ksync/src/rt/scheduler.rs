//! The interface between the runtime and a search strategy: what a strategy sees at
//! a decision and what it is told after each step.

use super::task::{Access, TaskId};

/// A task as the scheduler sees it before a decision.
#[derive(Clone, Copy, Debug)]
pub struct TaskView {
    pub id: TaskId,
    pub enabled: bool,
    /// Conservative footprint of the task's next step (what it is about to do).
    pub access: Option<Access>,
}

/// The decision point: every unfinished task and whether it can run.
pub struct SchedView<'a> {
    pub step: u32,
    pub tasks: &'a [TaskView],
}

impl SchedView<'_> {
    pub fn enabled(&self) -> impl Iterator<Item = TaskId> + '_ {
        self.tasks.iter().filter(|t| t.enabled).map(|t| t.id)
    }
}

/// A completed step.
pub struct Step<'a> {
    pub idx: u32,
    pub task: TaskId,
    pub accesses: &'a [Access],
}

/// A strategy: decides which task runs next and which value a `choose` takes.
pub trait Scheduler {
    /// The task to run, or `None` to abandon the execution (a redundant branch).
    fn next_task(&mut self, view: &SchedView) -> Option<TaskId>;
    fn choose(&mut self, task: TaskId, n: usize, step: u32) -> usize;
    fn step_done(&mut self, _step: &Step) {}
    /// The execution ended (not pruned): the tasks that did not finish, with the
    /// operation each was blocked at. Required, so that a wrapper around a
    /// reducing scheduler cannot silently drop it (DPOR analyses these operations).
    fn execution_end(&mut self, unfinished: &[TaskView]);
}
