//! The state of one execution: its tasks and synchronisation objects, shared between
//! the driver and the tasks, and the containers recycled from one execution to the
//! next.

use super::exec::EndKind;
use super::finding::MechanismMark;
use super::lockdep::LockDep;
use super::task::{Access, Task, TaskId};
use super::timer::Timer;
use super::trace::TraceEntry;
use super::ObjId;
use crate::class::ClassId;
use crate::report::{Finding, PropertyIds};
use std::cell::RefCell;
use std::rc::Rc;

pub(super) const NO_STEP: u32 = u32::MAX;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ObjKind {
    Mutex,
    Spin,
    Atomic,
    /// An atomic that orders like the lock-protected state it stands for (a
    /// completion's count, a work queue's item count): for data-race detection a
    /// write releases and every access acquires.
    SyncAtomic,
    WaitQueue,
    /// `struct completion`: a count that `complete` raises and a waiter takes one
    /// from, in one step each (the kernel does both under the completion's
    /// `wait.lock`).
    Completion,
}

impl ObjKind {
    /// Something a task waits on, which code can declare it will end
    /// ([`crate::WaitQueue::hold`], [`crate::Completion::hold`]).
    pub fn is_wait(self) -> bool {
        matches!(self, ObjKind::WaitQueue | ObjKind::Completion)
    }
}

pub(crate) struct Obj {
    pub kind: ObjKind,
    pub class: ClassId,
    pub label: Option<Rc<str>>,
    pub owner: Option<TaskId>,
    pub last_unlock: u32,
    pub waiters: Vec<TaskId>,
    /// Race detection: clock of the last release (locks).
    pub rel_vc: Vec<u32>,
    /// Race detection on plain fields: last write (task, epoch, function) and the
    /// reads since.
    pub last_write: Option<(TaskId, u32, &'static str)>,
    pub reads: Vec<(TaskId, u32, &'static str)>,
    /// Atomics: the task (or `CLOCK_TASK`) and function of the last write, named
    /// when a wait condition that reads the object is found true with no wake-up.
    pub last_writer: Option<(TaskId, &'static str)>,
    /// A leaf spinlock: its sections run as one step (see `section`).
    pub leaf: bool,
    /// An atomic written only under this leaf spinlock (see `section`).
    pub guard: Option<ObjId>,
    /// A completion's `done`.
    pub done: u32,
}

impl Obj {
    fn new(kind: ObjKind, class: ClassId, label: Option<Rc<str>>) -> Self {
        Obj {
            kind,
            class,
            label,
            owner: None,
            last_unlock: NO_STEP,
            waiters: Vec::new(),
            rel_vc: Vec::new(),
            last_write: None,
            reads: Vec::new(),
            last_writer: None,
            leaf: false,
            guard: None,
            done: 0,
        }
    }

    /// A fresh object in a recycled slot: the vectors keep their capacity.
    fn reset(&mut self, kind: ObjKind, class: ClassId, label: Option<Rc<str>>) {
        let mut waiters = std::mem::take(&mut self.waiters);
        let mut rel_vc = std::mem::take(&mut self.rel_vc);
        let mut reads = std::mem::take(&mut self.reads);
        waiters.clear();
        rel_vc.clear();
        reads.clear();
        *self = Obj {
            waiters,
            rel_vc,
            reads,
            ..Obj::new(kind, class, label)
        };
    }
}

// Tasks are boxed so that taking one from the spare list and pushing it moves a
// pointer, not the task (measured in `bench explore`).
#[allow(clippy::vec_box)]
pub(crate) struct State {
    pub tasks: Vec<Box<Task>>,
    pub running: Option<TaskId>,
    /// The objects of this execution, `..live_objs`, by id; the slots after them are
    /// a previous execution's, reset when registration reaches them.
    pub objs: Vec<Obj>,
    pub(super) live_objs: usize,
    pub now: u64,
    pub(super) timers: Vec<Timer>,
    pub(super) timer_seq: u64,
    pub step: u32,
    pub accesses: Vec<Access>,
    pub findings: Vec<Finding>,
    pub abort: Option<EndKind>,
    pub teardown: bool,
    pub record: bool,
    pub trace: Vec<TraceEntry>,
    pub(super) quiesce_hooks: Vec<Box<dyn FnOnce()>>,
    pub lockdep: LockDep,
    pub(super) stack_size: usize,
    /// The property ids of the runtime's checks, as the program names them.
    pub(super) property_ids: PropertyIds,
    /// A timer callback is running (inside a clock step): the accesses of the ksync
    /// operations it makes belong to that step.
    pub clock_cb: bool,
    /// Class of the per-task signal objects.
    pub(super) signal_class: ClassId,
    /// The virtual clock as an object: clock steps write it, readers of the time
    /// (`now_ms`, arming a timer) read it. The timer-queue objects follow it.
    pub(super) time_obj: ObjId,
    /// Deadline of every timer armed in this execution, by id − 1.
    pub(super) timer_deadlines: Vec<u64>,
    /// Data-race detection is on once a plain racy field exists.
    pub race_on: bool,
    /// Mechanism marks set so far ([`crate::mechanism`]), sorted and distinct.
    pub tags: Vec<MechanismMark>,
    /// The scheduler is evaluating a sleeping task's wait condition (no task runs):
    /// ksync objects read meanwhile are collected in `observed`.
    pub observing: bool,
    pub observed: Vec<ObjId>,
    /// Lost wake-ups found when a timer ended the wait: the queue, the tasks that
    /// were blocked at a lock acquisition then, the finding. Reported at the end of
    /// the execution unless one of those tasks wakes the queue meanwhile: that
    /// wake-up was on its way, late (its sender was stuck behind a lock, e.g. one the
    /// waiter held), not lost.
    pub(super) pending_lost: Vec<(ObjId, Vec<TaskId>, Finding)>,
    /// Tasks and objects of the previous execution, reused so that an execution does
    /// not allocate their vectors again (most executions are a few dozen steps).
    pub(super) spare_tasks: Vec<Box<Task>>,
}

/// The containers an execution leaves behind for the next one.
#[derive(Default)]
#[allow(clippy::vec_box)]
pub(super) struct Pool {
    pub(super) tasks: Vec<Box<Task>>,
    pub(super) objs: Vec<Obj>,
    pub(super) spare_tasks: Vec<Box<Task>>,
    pub(super) timers: Vec<Timer>,
    pub(super) accesses: Vec<Access>,
    pub(super) observed: Vec<ObjId>,
    pub(super) timer_deadlines: Vec<u64>,
    pub(super) tags: Vec<MechanismMark>,
}

/// Execution state shared between the driver and the tasks (one OS thread).
pub(crate) struct Shared {
    pub st: RefCell<State>,
}

impl Shared {
    pub fn in_task(&self) -> bool {
        let st = self.st.borrow();
        st.running.is_some() && !st.teardown
    }

    pub fn register_obj(&self, kind: ObjKind, class: ClassId, label: Option<Rc<str>>) -> ObjId {
        let mut st = self.st.borrow_mut();
        let id = st.live_objs;
        st.live_objs += 1;
        // The previous execution's slot is reset where it lies: an object is too
        // large to move in and out of a spare list at every registration.
        match st.objs.get_mut(id) {
            Some(o) => o.reset(kind, class, label),
            None => st.objs.push(Obj::new(kind, class, label)),
        }
        id as ObjId
    }
}

impl State {
    /// The state of a new execution, in the containers the previous one left.
    pub(super) fn new(
        pool: Pool,
        record: bool,
        stack_size: usize,
        property_ids: PropertyIds,
        lockdep: LockDep,
    ) -> Self {
        State {
            tasks: pool.tasks,
            running: None,
            objs: pool.objs,
            live_objs: 0,
            now: 0,
            timers: pool.timers,
            timer_seq: 0,
            step: 0,
            accesses: pool.accesses,
            findings: Vec::new(),
            abort: None,
            teardown: false,
            record,
            trace: Vec::new(),
            quiesce_hooks: Vec::new(),
            lockdep,
            stack_size,
            property_ids,
            race_on: false,
            observing: false,
            observed: pool.observed,
            pending_lost: Vec::new(),
            clock_cb: false,
            tags: pool.tags,
            signal_class: crate::class::intern(crate::LockClass::new("signal")),
            time_obj: 0,
            timer_deadlines: pool.timer_deadlines,
            spare_tasks: pool.spare_tasks,
        }
    }

    /// Empties the state into a pool for the next execution. Tasks move to the spare
    /// list with their vectors, objects stay in their slots; the others are cleared.
    pub(super) fn recycle(&mut self) -> Pool {
        let mut spare_tasks = std::mem::take(&mut self.spare_tasks);
        spare_tasks.append(&mut self.tasks);
        fn clear<T>(v: &mut Vec<T>) -> Vec<T> {
            let mut v = std::mem::take(v);
            v.clear();
            v
        }
        Pool {
            tasks: std::mem::take(&mut self.tasks),
            objs: std::mem::take(&mut self.objs),
            spare_tasks,
            timers: clear(&mut self.timers),
            accesses: clear(&mut self.accesses),
            observed: clear(&mut self.observed),
            timer_deadlines: clear(&mut self.timer_deadlines),
            tags: clear(&mut self.tags),
        }
    }
}
