//! One execution of a program under a scheduler.

use super::lockdep::{LockDep, LockOrderCycle, OrderEdge};
use super::task::{Access, Held, Task, TaskId};
use super::{set_current, ObjId};
use crate::class::{class_name, ClassId};
use crate::report::{Finding, FindingKind};
use corosensei::stack::DefaultStack;
use corosensei::{Coroutine, CoroutineResult, Yielder};
use std::any::Any;
use std::cell::RefCell;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::rc::Rc;

/// Pseudo task id of a clock step (a timer firing while no task was enabled).
pub const CLOCK_TASK: TaskId = usize::MAX;
const NO_STEP: u32 = u32::MAX;
/// Objects standing for the timer queue, by deadline: two timers with one deadline
/// fire in arming order, so their armings (and a cancel against the firing) do not
/// commute. Deadlines share these few objects; a shared one only adds dependence.
const TIMER_OBJS: u64 = 8;

/// The operation a task waits to perform at its scheduling point.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    Start,
    Yield,
    Atomic {
        obj: ObjId,
        write: bool,
    },
    Lock {
        obj: ObjId,
    },
    TryLock {
        obj: ObjId,
    },
    /// `intr`: an interruptible wait (a pending signal ends it).
    PrepareWait {
        obj: ObjId,
        intr: bool,
    },
    Sleep {
        obj: ObjId,
        intr: bool,
    },
    Wake {
        obj: ObjId,
    },
    Join {
        task: TaskId,
    },
    Msleep,
    Choose {
        n: usize,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OpResult {
    None,
    Bool(bool),
    Usize(usize),
    Wake(Wake),
}

/// Why a `Sleep` ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Wake {
    /// A wake-up of the queue.
    Woken,
    /// The wait's timer fired.
    TimedOut,
    /// A signal ended an interruptible sleep.
    Signalled,
    /// The execution is over and an idle daemon should exit.
    ExecutionOver,
}

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
}

impl Obj {
    /// A fresh object in a recycled slot: the vectors keep their capacity.
    fn reset(&mut self, kind: ObjKind, class: ClassId, label: Option<Rc<str>>) {
        self.kind = kind;
        self.class = class;
        self.label = label;
        self.owner = None;
        self.last_unlock = NO_STEP;
        self.waiters.clear();
        self.rel_vc.clear();
        self.last_write = None;
        self.reads.clear();
        self.last_writer = None;
    }
}

fn vc_join(a: &mut Vec<u32>, b: &[u32]) {
    if a.len() < b.len() {
        a.resize(b.len(), 0);
    }
    for (x, y) in a.iter_mut().zip(b) {
        *x = (*x).max(*y);
    }
}

fn vc_tick(v: &mut Vec<u32>, t: TaskId) {
    if v.len() <= t {
        v.resize(t + 1, 0);
    }
    v[t] += 1;
}

enum TimerAction {
    Task(TaskId),
    Callback(Box<dyn FnOnce()>),
}

struct Timer {
    id: u64,
    deadline: u64,
    /// Step that armed it (its firing happens after that step), or `NO_STEP`.
    armed_at: u32,
    what: &'static str,
    action: TimerAction,
}

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

/// How an execution ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EndKind {
    /// Every task finished (daemons idle).
    Done,
    /// A deadlock (cycle of lock waits, or no task can ever run again).
    Deadlock,
    /// The step bound was hit: the execution is incomplete.
    StepBound,
    /// A task panicked or the model aborted.
    Panic,
    /// The strategy abandoned the execution (already covered elsewhere).
    Pruned,
}

/// Bounds and recording options of one execution.
#[derive(Clone, Debug)]
pub struct ExecConfig {
    pub max_steps: u32,
    /// Record a readable trace (for counterexamples).
    pub record: bool,
    pub stack_size: usize,
    pub main_name: String,
}

impl Default for ExecConfig {
    fn default() -> Self {
        ExecConfig {
            max_steps: 20_000,
            record: false,
            stack_size: 256 * 1024,
            main_name: "main".into(),
        }
    }
}

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

/// Result of one execution.
pub struct ExecOutcome {
    pub end: EndKind,
    pub steps: u32,
    pub findings: Vec<Finding>,
    pub trace: Vec<TraceEntry>,
    pub virtual_ms: u64,
}

pub(crate) struct State {
    pub tasks: Vec<Task>,
    pub running: Option<TaskId>,
    pub objs: Vec<Obj>,
    pub now: u64,
    timers: Vec<Timer>,
    timer_seq: u64,
    pub step: u32,
    pub accesses: Vec<Access>,
    pub findings: Vec<Finding>,
    pub abort: Option<EndKind>,
    pub teardown: bool,
    pub record: bool,
    pub trace: Vec<TraceEntry>,
    quiesce_hooks: Vec<Box<dyn FnOnce()>>,
    pub lockdep: LockDep,
    stack_size: usize,
    /// A timer callback is running (inside a clock step): the accesses of the ksync
    /// operations it makes belong to that step.
    pub clock_cb: bool,
    /// Class of the per-task signal objects.
    signal_class: ClassId,
    /// The virtual clock as an object: clock steps write it, readers of the time
    /// (`now_ms`, arming a timer) read it. The timer-queue objects follow it.
    time_obj: ObjId,
    /// Deadline of every timer armed in this execution, by id − 1.
    timer_deadlines: Vec<u64>,
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
    pending_lost: Vec<(ObjId, Vec<TaskId>, Finding)>,
    /// Tasks and objects of the previous execution, reused so that an execution does
    /// not allocate their vectors again (most executions are a few dozen steps).
    spare_tasks: Vec<Task>,
    spare_objs: Vec<Obj>,
}

/// A mechanism mark ([`crate::mechanism`]): its name, and the task and that task's
/// own clock when it was set (`None`: set outside a task, or without clocks).
#[derive(Clone, Copy, Debug)]
pub(crate) struct MechanismMark {
    pub name: &'static str,
    pub at: Option<(TaskId, u32)>,
}

/// The containers an execution leaves behind for the next one.
#[derive(Default)]
struct Pool {
    tasks: Vec<Task>,
    objs: Vec<Obj>,
    spare_tasks: Vec<Task>,
    spare_objs: Vec<Obj>,
    timers: Vec<Timer>,
    accesses: Vec<Access>,
    observed: Vec<ObjId>,
    timer_deadlines: Vec<u64>,
    tags: Vec<MechanismMark>,
}

/// Execution state shared between the driver and the tasks (one OS thread).
pub(crate) struct Shared {
    pub st: RefCell<State>,
}

thread_local! {
    static STACKS: RefCell<Vec<DefaultStack>> = const { RefCell::new(Vec::new()) };
    static PANIC_MSG: RefCell<Option<String>> = const { RefCell::new(None) };
}

fn install_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let prev = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if super::in_checker() {
                let msg = match info.payload().downcast_ref::<&str>() {
                    Some(s) => s.to_string(),
                    None => info
                        .payload()
                        .downcast_ref::<String>()
                        .cloned()
                        .unwrap_or_else(|| "panic".into()),
                };
                let loc = info
                    .location()
                    .map(|l| format!(" at {}:{}", l.file(), l.line()))
                    .unwrap_or_default();
                PANIC_MSG.with(|p| *p.borrow_mut() = Some(format!("{msg}{loc}")));
            } else {
                prev(info)
            }
        }));
    });
}

/// Payload used to unwind a task whose execution is being torn down.
struct Teardown;

impl Shared {
    pub fn in_task(&self) -> bool {
        let st = self.st.borrow();
        st.running.is_some() && !st.teardown
    }

    pub fn register_obj(&self, kind: ObjKind, class: ClassId, label: Option<Rc<str>>) -> ObjId {
        let mut st = self.st.borrow_mut();
        let id = st.objs.len() as ObjId;
        let obj = match st.spare_objs.pop() {
            Some(mut o) => {
                o.reset(kind, class, label);
                o
            }
            None => Obj {
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
            },
        };
        st.objs.push(obj);
        id
    }

    /// Performs a scheduling point of the running task.
    pub fn op(&self, op: Op) -> OpResult {
        let y = {
            let mut st = self.st.borrow_mut();
            if st.teardown {
                drop(st);
                resume_unwind(Box::new(Teardown));
            }
            let t = st.running.expect("ksync op outside a task");
            st.pre_checks(t, op);
            st.tasks[t].pending = op;
            st.tasks[t].yielder
        };
        // SAFETY: `y` was stored by this task's coroutine body and points to the
        // yielder of the coroutine we are running on; it lives as long as the body.
        unsafe { (*y).suspend(()) };
        let mut st = self.st.borrow_mut();
        let t = st.running.expect("resumed outside a task");
        std::mem::replace(&mut st.tasks[t].result, OpResult::None)
    }

    pub fn spawn(self: &Rc<Self>, name: String, daemon: bool, f: Box<dyn FnOnce()>) -> TaskId {
        let (id, stack_size, step) = {
            let st = self.st.borrow();
            (st.tasks.len(), st.stack_size, st.step)
        };
        let stack = STACKS
            .with(|s| s.borrow_mut().pop())
            .unwrap_or_else(|| DefaultStack::new(stack_size).expect("task stack"));
        let sh = self.clone();
        let co = Coroutine::with_stack(stack, move |y: &Yielder<(), ()>, ()| {
            sh.st.borrow_mut().tasks[id].yielder = y as *const _;
            let r = catch_unwind(AssertUnwindSafe(f));
            if let Err(p) = r {
                if sh.st.borrow().teardown || p.is::<Teardown>() {
                    resume_unwind(p);
                }
                sh.task_panicked(id, p);
            }
            let mut st = sh.st.borrow_mut();
            let step = st.step;
            let task = &mut st.tasks[id];
            task.finished = true;
            task.last_step = step;
        });
        let spawn_step = if self.in_task() { step } else { NO_STEP };
        let spare = self.st.borrow_mut().spare_tasks.pop();
        let mut task = match spare {
            Some(mut t) => {
                t.reset(name, daemon, spawn_step);
                t
            }
            None => Task::new(name, daemon, spawn_step),
        };
        {
            let class = self.st.borrow().signal_class;
            task.signal_obj = self.register_obj(ObjKind::Atomic, class, None);
            let mut st = self.st.borrow_mut();
            if let Some(p) = st.running {
                task.vc = st.tasks[p].vc.clone();
                vc_tick(&mut st.tasks[p].vc, p);
            }
            vc_tick(&mut task.vc, id);
        }
        task.co = Some(co);
        self.st.borrow_mut().tasks.push(task);
        id
    }

    fn task_panicked(&self, id: TaskId, _p: Box<dyn Any + Send>) {
        let msg = PANIC_MSG
            .with(|m| m.borrow_mut().take())
            .unwrap_or_else(|| "panic".into());
        let mut st = self.st.borrow_mut();
        let mut f = Finding::new(FindingKind::Panic, "panic", format!("task panicked: {msg}"));
        f.task = Some(st.tasks[id].name.clone());
        f.step = st.step;
        st.push_finding(f);
        st.abort.get_or_insert(EndKind::Panic);
    }

    pub fn add_timer_callback(&self, delay: u64, what: &'static str, f: Box<dyn FnOnce()>) -> u64 {
        let mut st = self.st.borrow_mut();
        let deadline = st.now + delay;
        st.add_timer(deadline, what, TimerAction::Callback(f))
    }

    pub fn add_timer_task(&self, delay: u64, what: &'static str, t: TaskId) -> u64 {
        let mut st = self.st.borrow_mut();
        let deadline = st.now + delay;
        st.add_timer(deadline, what, TimerAction::Task(t))
    }

    pub fn cancel_timer(&self, id: u64) -> bool {
        let mut st = self.st.borrow_mut();
        let n = st.timers.len();
        st.timers.retain(|t| t.id != id);
        if let Some(&d) = st.timer_deadlines.get(id as usize - 1) {
            st.timer_access(d);
        }
        n != st.timers.len()
    }

    /// Virtual time, as a read of the clock by the running step.
    pub fn now(&self) -> u64 {
        let mut st = self.st.borrow_mut();
        if st.running.is_some() || st.clock_cb {
            let o = st.time_obj;
            st.accesses.push(Access::Read(o));
        }
        st.now
    }

    /// Records an access made by a timer callback (inside a clock step); outside
    /// one (set-up, end-of-execution hooks) nothing runs concurrently to order.
    pub fn clock_access(&self, a: Access) {
        let mut st = self.st.borrow_mut();
        if st.clock_cb {
            if let Access::Write(o) = a {
                st.objs[o as usize].last_writer = Some((CLOCK_TASK, "timer callback"));
            }
            st.accesses.push(a);
        } else if st.observing {
            if let Some(o) = a.obj() {
                st.observed.push(o);
            }
        }
    }

    /// A read that a model check makes inside the running task's step, without a
    /// scheduling point: it joins the step's footprint, so the search orders the check
    /// against the writes it depends on (a check that read unrecorded would see one
    /// order of them and miss the others).
    pub fn step_read(&self, obj: ObjId) {
        let mut st = self.st.borrow_mut();
        if st.running.is_some() || st.clock_cb {
            st.accesses.push(Access::Read(obj));
        }
    }

    pub fn on_quiescence(&self, f: Box<dyn FnOnce()>) {
        self.st.borrow_mut().quiesce_hooks.push(f);
    }

    /// Runs `f`, the registration, sleep and re-check loop of a wait of the running
    /// task, with `cond` registered as that task's wait condition, so that the
    /// scheduler can evaluate it while the task sleeps (lost wake-ups, LK-9). The
    /// registration ends when `f` returns or unwinds.
    pub(crate) fn with_wait_cond<R>(&self, cond: &dyn Fn() -> bool, f: impl FnOnce() -> R) -> R {
        struct Registered<'a> {
            sh: &'a Shared,
            t: TaskId,
        }
        impl Drop for Registered<'_> {
            fn drop(&mut self) {
                self.sh.st.borrow_mut().tasks[self.t].wait_cond = None;
            }
        }
        let t = self.st.borrow().running.expect("wait outside a task");
        let p: *const (dyn Fn() -> bool + '_) = cond;
        // SAFETY: only the trait object's lifetime bound changes (same layout). The
        // pointer is cleared by `Registered` before this function returns or unwinds,
        // that is while `cond` is still borrowed, and `observe_wait_cond` is its only
        // user.
        let p: *const (dyn Fn() -> bool + 'static) = unsafe { std::mem::transmute(p) };
        self.st.borrow_mut().tasks[t].wait_cond = Some(p);
        let _reg = Registered { sh: self, t };
        f()
    }

    /// Evaluates the wait condition of task `t`, which sleeps at its `Sleep`
    /// operation, from the scheduler (no task running, so ksync atomics read without
    /// a scheduling point and leave no footprint). The value, and the ksync objects
    /// it read; `None` if `t` registered no condition or evaluating it panicked.
    fn observe_wait_cond(&self, t: TaskId) -> Option<(bool, Vec<ObjId>)> {
        let p = {
            let mut st = self.st.borrow_mut();
            debug_assert!(st.running.is_none() && !st.clock_cb);
            if !matches!(st.tasks[t].pending, Op::Sleep { .. }) {
                return None;
            }
            let p = st.tasks[t].wait_cond?;
            st.observing = true;
            st.observed.clear();
            p
        };
        // SAFETY: `p` was registered by `with_wait_cond` on task `t`'s stack and is
        // cleared before that call returns; `t` is suspended at its Sleep operation
        // inside it, so the closure and what it borrows are alive, and no task runs,
        // so nothing else uses them meanwhile. The closure is a shared `Fn`.
        let r = catch_unwind(AssertUnwindSafe(|| unsafe { (*p)() }));
        let mut st = self.st.borrow_mut();
        st.observing = false;
        let objs = std::mem::take(&mut st.observed);
        r.ok().map(|v| (v, objs))
    }

    /// Something other than a wake-up is about to end task `t`'s wait (`how`): if
    /// its condition already holds and no wake-up reached it, the wake-up was lost
    /// (LK-9). `deferred`: the wait goes on (a timer ends it), so the report waits
    /// for the end of the execution in case the wake-up is only late.
    fn lost_wakeup_check(&self, t: TaskId, how: &str, deferred: bool) -> bool {
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

    /// No task can run and no timer is pending: the execution is over. Sleepers whose
    /// condition holds lost their wake-up (LK-9); if any task that should have
    /// finished is blocked, that is a deadlock (LK-2), summarised by what each
    /// blocked task waits for.
    fn no_task_can_run(&self) -> EndKind {
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
        let mut f = Finding::new(FindingKind::Deadlock, "LK-2", summary);
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
    /// Empties the state into a pool for the next execution. Tasks and objects move
    /// to the spare lists with their vectors; the others are cleared.
    fn recycle(&mut self) -> Pool {
        let mut spare_tasks = std::mem::take(&mut self.spare_tasks);
        spare_tasks.append(&mut self.tasks);
        let mut spare_objs = std::mem::take(&mut self.spare_objs);
        spare_objs.append(&mut self.objs);
        fn clear<T>(v: &mut Vec<T>) -> Vec<T> {
            let mut v = std::mem::take(v);
            v.clear();
            v
        }
        Pool {
            tasks: std::mem::take(&mut self.tasks),
            objs: std::mem::take(&mut self.objs),
            spare_tasks,
            spare_objs,
            timers: clear(&mut self.timers),
            accesses: clear(&mut self.accesses),
            observed: clear(&mut self.observed),
            timer_deadlines: clear(&mut self.timer_deadlines),
            tags: clear(&mut self.tags),
        }
    }

    fn add_timer(&mut self, deadline: u64, what: &'static str, action: TimerAction) -> u64 {
        self.timer_seq += 1;
        let id = self.timer_seq;
        let armed_at = if self.running.is_some() || self.clock_cb {
            self.step
        } else {
            NO_STEP
        };
        self.timer_deadlines.push(deadline);
        self.timer_access(deadline);
        if armed_at != NO_STEP {
            let o = self.time_obj;
            self.accesses.push(Access::Read(o));
        }
        self.timers.push(Timer {
            id,
            deadline,
            armed_at,
            what,
            action,
        });
        id
    }

    /// The running step (or clock step) touches the timer queue at `deadline`.
    fn timer_access(&mut self, deadline: u64) {
        if self.running.is_some() || self.clock_cb {
            let o = self.time_obj + 1 + (deadline % TIMER_OBJS) as ObjId;
            self.accesses.push(Access::Write(o));
        }
    }

    /// Records a mechanism mark for the running task (or the clock step).
    pub fn mark(&mut self, name: &'static str) {
        let at = match self.running {
            Some(t) if self.race_on => Some((t, self.tasks[t].vc.get(t).copied().unwrap_or(0))),
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
            (true, Some((u, c)), Some(t)) => {
                u == t || self.tasks[t].vc.get(u).is_some_and(|&v| v >= c)
            }
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
            .filter(|h| self.objs[h.obj as usize].kind == ObjKind::WaitQueue)
            .map(|h| self.obj_name(h.obj))
            .collect()
    }

    /// Records, once per blocking, each task that cannot run now (record mode):
    /// `noted[t]` says whether its current blocking is already in the trace.
    fn note_blocked(&mut self, noted: &mut Vec<bool>) {
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

    fn trace_line(
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

    fn finding_here(&self, t: TaskId, kind: FindingKind, prop: &str, summary: String) -> Finding {
        let mut f = Finding::new(kind, prop, summary);
        f.task = Some(self.tasks[t].name.clone());
        f.step = self.step;
        f
    }

    /// Lockdep, recursion, sleeping-in-atomic and lock-cycle checks made when a task
    /// issues an operation.
    fn pre_checks(&mut self, t: TaskId, op: Op) {
        let sleeps = match op {
            Op::Lock { obj } => self.objs[obj as usize].kind == ObjKind::Mutex,
            Op::Sleep { .. } | Op::Msleep | Op::Join { .. } => true,
            _ => false,
        };
        if sleeps && self.tasks[t].spin_held() {
            let spins: Vec<String> = self.tasks[t]
                .held
                .iter()
                .filter(|h| h.spin)
                .map(|h| class_name(h.class))
                .collect();
            let what = self.op_name(op);
            let mut f = self.finding_here(
                t,
                FindingKind::SleepInAtomic,
                "LK-5",
                format!(
                    "{} sleeps ({what}) while holding spinlock {}",
                    self.tasks[t].name,
                    spins.join(", ")
                ),
            );
            f.locks = spins;
            self.push_finding(f);
        }
        match op {
            Op::Lock { obj } => {
                if self.tasks[t].held.iter().any(|h| h.obj == obj) {
                    let name = self.obj_name(obj);
                    let mut f = self.finding_here(
                        t,
                        FindingKind::RecursiveLock,
                        "LK-1",
                        format!(
                            "{} acquires {name} which it already holds",
                            self.tasks[t].name
                        ),
                    );
                    f.locks = vec![class_name(self.objs[obj as usize].class)];
                    f.detail = self.waits_for_description();
                    self.push_finding(f);
                    self.abort.get_or_insert(EndKind::Deadlock);
                    return;
                }
                let class = self.objs[obj as usize].class;
                self.lockdep_acquire(t, class);
                if let Some(cycle) = self.lock_wait_cycle(t, obj) {
                    self.report_wait_cycle(t, cycle);
                }
            }
            Op::Sleep { obj, .. } => {
                let class = self.objs[obj as usize].class;
                if !self.tasks[t].daemon || !self.tasks[t].idle {
                    self.lockdep_acquire(t, class);
                }
            }
            _ => {}
        }
    }

    /// Adds `held → class` edges to the persistent lock-order graph.
    pub fn lockdep_acquire(&mut self, t: TaskId, class: ClassId) {
        let n = self.tasks[t].held.len();
        for i in 0..n {
            let h = self.tasks[t].held[i];
            if h.class == class || self.lockdep.has_edge(h.class, class) {
                continue;
            }
            let edge = OrderEdge {
                from: h.class,
                to: class,
                task: self.tasks[t].name.clone(),
                from_site: h.site,
                stack: self.tasks[t].frames.clone(),
            };
            if let Some(cycle) = self.lockdep.add(edge) {
                self.report_order_cycle(t, cycle);
            }
        }
    }

    fn report_order_cycle(&mut self, t: TaskId, cycle: LockOrderCycle) {
        let classes = cycle.classes();
        let mut f = self.finding_here(
            t,
            FindingKind::LockOrder,
            "LK-3",
            format!("possible circular locking dependency: {}", {
                let mut c = classes.clone();
                c.push(classes[0].clone());
                c.join(" --> ")
            }),
        );
        f.locks = classes;
        f.detail = crate::lockdep_report::format_cycle(
            &cycle,
            &self.tasks[t].name,
            &self.held_names(t),
            &self.tasks[t].frames,
        );
        self.push_finding(f);
    }

    /// If `t` blocking on `obj` closes a cycle of lock waits, the tasks in it.
    fn lock_wait_cycle(&self, t: TaskId, obj: ObjId) -> Option<Vec<(TaskId, ObjId)>> {
        let mut chain = vec![(t, obj)];
        let mut cur = obj;
        for _ in 0..self.tasks.len() + 1 {
            let owner = self.objs[cur as usize].owner?;
            if owner == t {
                return Some(chain);
            }
            match self.tasks[owner].pending {
                Op::Lock { obj } if !self.tasks[owner].finished => {
                    chain.push((owner, obj));
                    cur = obj;
                }
                _ => return None,
            }
        }
        None
    }

    fn report_wait_cycle(&mut self, t: TaskId, cycle: Vec<(TaskId, ObjId)>) {
        // `t` is still running: its acquisition, which closes the cycle, is not its
        // pending operation yet, so each member is described by its pair.
        let sites: Vec<(String, String)> = cycle
            .iter()
            .map(|&(w, o)| self.lock_wait_site(w, o))
            .collect();
        let parts: Vec<&str> = sites.iter().map(|s| s.0.as_str()).collect();
        let mut f = self.finding_here(
            t,
            FindingKind::Deadlock,
            "LK-2",
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

    /// The function a task is in (its top frame).
    fn site_of(&self, t: TaskId) -> &'static str {
        self.tasks[t].frames.last().copied().unwrap_or("?")
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

    /// The locks `t` holds, without the waits it declared it can end (those are not
    /// locks: `W_rpm` held by the PM worker means it runs the transition).
    fn held_lock_names(&self, t: TaskId) -> Vec<String> {
        self.tasks[t]
            .held
            .iter()
            .filter(|h| self.objs[h.obj as usize].kind != ObjKind::WaitQueue)
            .map(|h| self.obj_name(h.obj))
            .collect()
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

    /// What task `t` waits for, as a clause of a deadlock summary
    /// (`T_hub in usb_disconnect waits for &udev->dev.mutex/2(1-1.1) held by T_sys`,
    /// `T_sys in uaudio_send_disconnect_ind sleeps on W_inuse(card0)`), with the key
    /// that tells deadlocks apart: the lock class or wait queue and the function that
    /// waits. `lost`: the sleeper's condition holds (a lost wake-up). `None` for a
    /// task that waits for another task to exit (a consequence, not a cause).
    fn wait_site(&self, t: TaskId, lost: bool) -> Option<(String, String)> {
        let task = &self.tasks[t];
        let fr = self.site_of(t);
        match task.pending {
            Op::Lock { obj } | Op::TryLock { obj } => Some(self.lock_wait_site(t, obj)),
            Op::Sleep { obj, .. } => {
                let class = class_name(self.objs[obj as usize].class);
                let holders = self.wait_holders(obj);
                let note = if lost {
                    " (its condition holds: the wake-up was lost)".to_string()
                } else if !holders.is_empty() {
                    format!(" (to be ended by {})", holders.join(", "))
                } else {
                    String::new()
                };
                Some((
                    format!(
                        "{} in {fr} sleeps on {}{note}",
                        task.name,
                        self.obj_name(obj)
                    ),
                    format!("{class} in {fr}"),
                ))
            }
            _ => None,
        }
    }

    /// A lost wake-up (LK-9): task `t` sleeps on a queue although its wait condition
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
        let mut f = self.finding_here(t, FindingKind::Invariant, "LK-9", summary);
        f.locks = vec![class_name(self.objs[obj as usize].class)];
        f.detail = format!(
            "  {} in {}\n",
            self.tasks[t].name,
            self.tasks[t].frames.join(" > ")
        );
        if deferred {
            if self.record {
                let what = format!(
                    "{}'s wait condition holds but no wake-up came (LK-9 unless a task blocked now wakes {} later)",
                    self.tasks[t].name,
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
                Op::Sleep { obj, .. } => {
                    let holders = self.wait_holders(obj);
                    let by = if holders.is_empty() {
                        String::new()
                    } else {
                        format!("; to be ended by {}", holders.join(", "))
                    };
                    format!(
                        "sleeps on {} (no timeout, no wake-up{by})",
                        self.obj_name(obj)
                    )
                }
                Op::Join { task } => format!("waits for task {} to exit", self.tasks[task].name),
                op => format!("blocked at {}", self.op_name(op)),
            };
            // Locks held, and (separately) the waits this task has declared it can end.
            let locks = self.held_lock_names(i);
            let ends: Vec<String> = task
                .held
                .iter()
                .filter(|h| self.objs[h.obj as usize].kind == ObjKind::WaitQueue)
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
            Op::Join { task } => format!("join({})", self.tasks[task].name),
            Op::Msleep => "msleep".into(),
            Op::Choose { n } => format!("choose({n})"),
        }
    }

    /// The unfinished tasks as a scheduler sees them; true if any can run.
    fn task_views(&self, out: &mut Vec<TaskView>) -> bool {
        out.clear();
        let mut any = false;
        for (i, t) in self.tasks.iter().enumerate() {
            if t.finished {
                continue;
            }
            let enabled = self.is_enabled(t);
            any |= enabled;
            out.push(TaskView {
                id: i,
                enabled,
                access: self.pending_access(t),
            });
        }
        any
    }

    fn is_enabled(&self, t: &Task) -> bool {
        match t.pending {
            Op::Lock { obj } => self.objs[obj as usize].owner.is_none(),
            Op::Sleep { intr, .. } => t.woken || t.timed_out || (intr && t.signal_pending),
            Op::Join { task } => self.tasks[task].finished,
            Op::Msleep => t.timed_out,
            _ => true,
        }
    }

    fn pending_access(&self, t: &Task) -> Option<Access> {
        match t.pending {
            Op::Atomic { obj, write: true } | Op::PrepareWait { obj, .. } | Op::Wake { obj } => {
                Some(Access::Write(obj))
            }
            // A sleep that can end without a wake-up (timed out, or interruptible with
            // a signal pending) ends differently before and after one: it reads the
            // queue.
            Op::Sleep { obj, intr } if t.timed_out || (intr && t.signal_pending) => {
                Some(Access::Read(obj))
            }
            Op::Atomic { obj, write: false } => Some(Access::Read(obj)),
            Op::Lock { obj } => Some(Access::Lock(obj)),
            Op::TryLock { obj } => Some(Access::TryLock(obj)),
            _ => None,
        }
    }

    fn push_held(&mut self, t: TaskId, obj: ObjId) {
        let o = &self.objs[obj as usize];
        let h = Held {
            obj,
            class: o.class,
            site: self.tasks[t].frames.last().copied().unwrap_or("?"),
            spin: o.kind == ObjKind::Spin,
        };
        self.tasks[t].held.push(h);
    }

    /// The scheduler-side effect of `t`'s pending operation, at the start of its step.
    fn apply(&mut self, t: TaskId) {
        let op = self.tasks[t].pending;
        let step = self.step;
        self.tasks[t].pending = Op::Yield;
        match op {
            Op::Start => {
                let s = self.tasks[t].spawn_step;
                if s != NO_STEP {
                    self.accesses.push(Access::SyncWith(s));
                }
            }
            Op::Yield | Op::Choose { .. } => {}
            Op::Msleep => {
                let task = &mut self.tasks[t];
                task.timed_out = false;
                self.accesses.push(Access::SyncWith(task.timeout_step));
            }
            Op::Atomic { obj, write } => {
                self.accesses.push(if write {
                    let site = self.tasks[t].frames.last().copied().unwrap_or("?");
                    self.objs[obj as usize].last_writer = Some((t, site));
                    Access::Write(obj)
                } else {
                    Access::Read(obj)
                });
                if self.race_on && self.objs[obj as usize].kind == ObjKind::SyncAtomic {
                    self.race_acquire(t, obj);
                    if write {
                        let vc = std::mem::take(&mut self.tasks[t].vc);
                        vc_join(&mut self.objs[obj as usize].rel_vc, &vc);
                        self.tasks[t].vc = vc;
                        vc_tick(&mut self.tasks[t].vc, t);
                    }
                }
            }
            Op::Lock { obj } => {
                let o = &mut self.objs[obj as usize];
                debug_assert!(o.owner.is_none());
                o.owner = Some(t);
                let lu = o.last_unlock;
                self.accesses.push(Access::Lock(obj));
                if lu != NO_STEP {
                    self.accesses.push(Access::SyncWith(lu));
                }
                self.push_held(t, obj);
                self.race_acquire(t, obj);
            }
            Op::TryLock { obj } => {
                let o = &mut self.objs[obj as usize];
                if o.owner.is_none() {
                    o.owner = Some(t);
                    let lu = o.last_unlock;
                    self.accesses.push(Access::TryLock(obj));
                    if lu != NO_STEP {
                        self.accesses.push(Access::SyncWith(lu));
                    }
                    self.push_held(t, obj);
                    self.race_acquire(t, obj);
                    self.tasks[t].result = OpResult::Bool(true);
                } else {
                    self.accesses.push(Access::TryFail(obj));
                    self.tasks[t].result = OpResult::Bool(false);
                }
            }
            Op::PrepareWait { obj, intr } => {
                let o = &mut self.objs[obj as usize];
                if !o.waiters.contains(&t) {
                    o.waiters.push(t);
                }
                let task = &mut self.tasks[t];
                task.woken = false;
                task.timed_out = false;
                task.wake_vc.clear();
                self.accesses.push(Access::Write(obj));
                if intr {
                    self.accesses.push(Access::Read(task.signal_obj));
                }
            }
            Op::Sleep { obj, intr } => {
                let task = &mut self.tasks[t];
                if task.timed_out || (intr && task.signal_pending) {
                    // Ends differently before and after a wake-up of the queue.
                    self.accesses.push(Access::Read(obj));
                }
                let r = if task.woken {
                    Wake::Woken
                } else if intr && task.signal_pending {
                    task.signal_pending = false;
                    Wake::Signalled
                } else {
                    Wake::TimedOut
                };
                if intr {
                    self.accesses.push(Access::Read(task.signal_obj));
                }
                if task.woken {
                    let ws = task.wake_step;
                    self.accesses.push(Access::SyncWith(ws));
                    if self.race_on {
                        let w = std::mem::take(&mut task.wake_vc);
                        vc_join(&mut task.vc, &w);
                    }
                } else if task.timed_out {
                    // Ended by the timer: after the clock step that fired it.
                    self.accesses.push(Access::SyncWith(task.timeout_step));
                }
                task.woken = false;
                task.timed_out = false;
                task.result = OpResult::Wake(r);
                self.objs[obj as usize].waiters.retain(|&w| w != t);
            }
            Op::Wake { obj } => {
                if !self.pending_lost.is_empty() {
                    // A late wake-up from a task that was stuck behind a lock.
                    self.pending_lost
                        .retain(|(o, blocked, _)| *o != obj || !blocked.contains(&t));
                }
                self.wake_waiters(obj, step);
                self.accesses.push(Access::Write(obj));
            }
            Op::Join { task } => {
                let ls = self.tasks[task].last_step;
                self.accesses.push(Access::SyncWith(ls));
                if self.race_on {
                    let c = self.tasks[task].vc.clone();
                    vc_join(&mut self.tasks[t].vc, &c);
                }
            }
        }
    }

    fn race_acquire(&mut self, t: TaskId, obj: ObjId) {
        if self.race_on {
            let rel = std::mem::take(&mut self.objs[obj as usize].rel_vc);
            vc_join(&mut self.tasks[t].vc, &rel);
            self.objs[obj as usize].rel_vc = rel;
        }
    }

    /// Checks an access to a plain racy field against the last conflicting ones: two
    /// accesses race if one writes and neither happens before the other through
    /// locks, wake-ups, spawn or join (LK-8).
    pub fn race_access(&mut self, obj: ObjId, write: bool) {
        let Some(t) = self.running else { return };
        let site = self.tasks[t].frames.last().copied().unwrap_or("?");
        let vc = &self.tasks[t].vc;
        let epoch = vc.get(t).copied().unwrap_or(0);
        let hb = |u: TaskId, e: u32| vc.get(u).copied().unwrap_or(0) >= e;
        let o = &self.objs[obj as usize];
        let mut racing: Option<(TaskId, &'static str, bool)> = None;
        if let Some((u, e, s)) = o.last_write {
            if u != t && !hb(u, e) {
                racing = Some((u, s, true));
            }
        }
        if write && racing.is_none() {
            if let Some(&(u, _, s)) = o.reads.iter().find(|&&(u, e, _)| u != t && !hb(u, e)) {
                racing = Some((u, s, false));
            }
        }
        let o = &mut self.objs[obj as usize];
        if write {
            o.last_write = Some((t, epoch, site));
            o.reads.clear();
        } else {
            o.reads.retain(|r| r.0 != t);
            o.reads.push((t, epoch, site));
        }
        if let Some((u, other_site, other_wrote)) = racing {
            let name = self.obj_name(obj);
            let summary = format!(
                "data race on {name}: {} {} it in {site} while {} {} it in {other_site}, with no common lock or other ordering",
                self.tasks[t].name,
                if write { "writes" } else { "reads" },
                self.tasks[u].name,
                if other_wrote { "wrote" } else { "read" },
            );
            let mut f = self.finding_here(t, FindingKind::DataRace, "LK-8", summary);
            f.locks = vec![class_name(self.objs[obj as usize].class)];
            let rw = |w: bool| if w { "write" } else { "read" };
            let mut sides = [
                format!("{} {} in {site}", self.tasks[t].name, rw(write)),
                format!("{} {} in {other_site}", self.tasks[u].name, rw(other_wrote)),
            ];
            sides.sort();
            f.detail = sides.join("; ");
            self.push_finding(f);
        }
    }

    pub fn wake_waiters(&mut self, obj: ObjId, step: u32) {
        let waiters = std::mem::take(&mut self.objs[obj as usize].waiters);
        let waker_vc = match (self.race_on, self.running) {
            (true, Some(r)) => {
                let c = self.tasks[r].vc.clone();
                vc_tick(&mut self.tasks[r].vc, r);
                Some(c)
            }
            _ => None,
        };
        for &w in &waiters {
            let task = &mut self.tasks[w];
            if task.woken {
                // Already woken since it registered: this wake-up changes nothing
                // for it, and the first one is what its resumption happens after.
                continue;
            }
            task.woken = true;
            task.wake_step = step;
            if let Some(c) = &waker_vc {
                vc_join(&mut task.wake_vc, c);
            }
        }
        self.objs[obj as usize].waiters = waiters;
    }

    /// Inline release of a lock by the running task (not a scheduling point).
    pub fn unlock(&mut self, obj: ObjId) {
        if self.teardown {
            return;
        }
        let t = match self.running {
            Some(t) => t,
            None => {
                self.objs[obj as usize].owner = None;
                return;
            }
        };
        let o = &mut self.objs[obj as usize];
        o.owner = None;
        o.last_unlock = self.step;
        if self.race_on {
            o.rel_vc.clone_from(&self.tasks[t].vc);
            vc_tick(&mut self.tasks[t].vc, t);
        }
        self.accesses.push(Access::Unlock(obj));
        let held = &mut self.tasks[t].held;
        if let Some(pos) = held.iter().rposition(|h| h.obj == obj) {
            held.remove(pos);
        }
        self.note(|s| format!("unlock({})", s.obj_name(obj)));
    }
}

/// Drives executions; keeps the lock-order graph across them.
pub struct Execution {
    pub config: ExecConfig,
    pub lockdep: LockDep,
    views: Vec<TaskView>,
    pool: Pool,
}

impl Execution {
    pub fn new(config: ExecConfig) -> Self {
        install_panic_hook();
        Execution {
            config,
            lockdep: LockDep::default(),
            views: Vec::new(),
            pool: Pool::default(),
        }
    }

    /// Runs `main` as task 0 to the end of one execution.
    pub fn run(&mut self, main: Box<dyn FnOnce()>, sched: &mut dyn Scheduler) -> ExecOutcome {
        let pool = std::mem::take(&mut self.pool);
        let shared = Rc::new(Shared {
            st: RefCell::new(State {
                tasks: pool.tasks,
                running: None,
                objs: pool.objs,
                now: 0,
                timers: pool.timers,
                timer_seq: 0,
                step: 0,
                accesses: pool.accesses,
                findings: Vec::new(),
                abort: None,
                teardown: false,
                record: self.config.record,
                trace: Vec::new(),
                quiesce_hooks: Vec::new(),
                lockdep: std::mem::take(&mut self.lockdep),
                stack_size: self.config.stack_size,
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
                spare_objs: pool.spare_objs,
            }),
        });
        set_current(Some(shared.clone()));
        {
            let time = crate::class::intern(crate::LockClass::new("jiffies"));
            let timers = crate::class::intern(crate::LockClass::new("timer queue"));
            let t = shared.register_obj(ObjKind::Atomic, time, None);
            for _ in 0..TIMER_OBJS {
                shared.register_obj(ObjKind::Atomic, timers, None);
            }
            shared.st.borrow_mut().time_obj = t;
        }
        shared.spawn(self.config.main_name.clone(), false, main);
        let end = self.drive(&shared, sched);
        if matches!(end, EndKind::Done | EndKind::Deadlock | EndKind::Panic) {
            // Lost wake-ups that no later wake-up of their queue excused.
            let mut st = shared.st.borrow_mut();
            for (_, _, f) in std::mem::take(&mut st.pending_lost) {
                st.push_finding(f);
            }
            drop(st);
            shared.st.borrow().task_views(&mut self.views);
            sched.execution_end(&self.views);
        }
        let mut findings;
        if end == EndKind::Done {
            let hooks = std::mem::take(&mut shared.st.borrow_mut().quiesce_hooks);
            for h in hooks {
                h();
            }
            Self::stop_idle_daemons(&shared);
        }
        // Tear down tasks that did not finish; their guards must not schedule.
        let cos: Vec<_> = {
            let mut st = shared.st.borrow_mut();
            st.teardown = true;
            st.tasks.iter_mut().filter_map(|t| t.co.take()).collect()
        };
        for mut co in cos {
            if !co.done() {
                co.force_unwind();
            }
            STACKS.with(|s| s.borrow_mut().push(co.into_stack()));
        }
        let mut st = shared.st.borrow_mut();
        st.quiesce_hooks.clear();
        self.lockdep = std::mem::take(&mut st.lockdep);
        findings = std::mem::take(&mut st.findings);
        for f in &mut findings {
            if f.step == 0 {
                f.step = st.step;
            }
        }
        let out = ExecOutcome {
            end,
            steps: st.step,
            findings,
            trace: std::mem::take(&mut st.trace),
            virtual_ms: st.now,
        };
        self.pool = st.recycle();
        drop(st);
        set_current(None);
        out
    }

    /// Lets idle daemons (workers waiting for work) return normally, which is much
    /// cheaper than unwinding their stacks.
    fn stop_idle_daemons(sh: &Rc<Shared>) {
        let n = sh.st.borrow().tasks.len();
        for t in 0..n {
            let mut st = sh.st.borrow_mut();
            let task = &mut st.tasks[t];
            if task.finished
                || !task.daemon
                || !task.idle
                || !matches!(task.pending, Op::Sleep { .. })
            {
                continue;
            }
            task.result = OpResult::Wake(Wake::ExecutionOver);
            task.pending = Op::Yield;
            let Some(mut co) = task.co.take() else {
                continue;
            };
            st.running = Some(t);
            drop(st);
            let r = co.resume(());
            let mut st = sh.st.borrow_mut();
            st.running = None;
            match r {
                CoroutineResult::Return(()) => {
                    STACKS.with(|s| s.borrow_mut().push(co.into_stack()))
                }
                CoroutineResult::Yield(()) => st.tasks[t].co = Some(co),
            }
        }
    }

    fn drive(&mut self, sh: &Rc<Shared>, sched: &mut dyn Scheduler) -> EndKind {
        let mut blocked_noted = Vec::new();
        loop {
            let mut st = sh.st.borrow_mut();
            if let Some(a) = st.abort {
                // A deadlock ends the execution as its last wait begins: record it.
                if st.record {
                    st.note_blocked(&mut blocked_noted);
                }
                return a;
            }
            if st.step >= self.config.max_steps {
                return EndKind::StepBound;
            }
            let any = st.task_views(&mut self.views);
            if st.record {
                st.note_blocked(&mut blocked_noted);
            }
            if !any {
                if st.timers.is_empty() {
                    drop(st);
                    return sh.no_task_can_run();
                }
                // Time passes: fire the earliest timer (ties: first armed).
                let i = (0..st.timers.len())
                    .min_by_key(|&i| (st.timers[i].deadline, st.timers[i].id))
                    .expect("timer");
                let timer = st.timers.remove(i);
                st.now = st.now.max(timer.deadline);
                if st.record {
                    let w = format!("timer fires: {}", timer.what);
                    st.trace_line("[clock]".into(), Vec::new(), w, Vec::new());
                }
                // The clock step: it happens after the step that armed the timer, and
                // what it does (a timeout, a callback's ksync operations) is its
                // footprint, so the reduction orders it against exactly those.
                let idx = st.step;
                st.accesses.clear();
                if timer.armed_at != NO_STEP {
                    st.accesses.push(Access::SyncWith(timer.armed_at));
                }
                let time = st.time_obj;
                st.accesses.push(Access::Write(time));
                st.clock_cb = true;
                st.timer_access(timer.deadline);
                st.clock_cb = false;
                match timer.action {
                    TimerAction::Task(t) => {
                        drop(st);
                        sh.lost_wakeup_check(t, "only its timeout ends the wait", true);
                        st = sh.st.borrow_mut();
                        st.tasks[t].timed_out = true;
                        st.tasks[t].timeout_step = idx;
                    }
                    TimerAction::Callback(f) => {
                        st.clock_cb = true;
                        drop(st);
                        f();
                        st = sh.st.borrow_mut();
                        st.clock_cb = false;
                    }
                }
                st.step += 1;
                let accesses = std::mem::take(&mut st.accesses);
                drop(st);
                sched.step_done(&Step {
                    idx,
                    task: CLOCK_TASK,
                    accesses: &accesses,
                });
                sh.st.borrow_mut().accesses = accesses;
                continue;
            }
            let step = st.step;
            let view = SchedView {
                step,
                tasks: &self.views,
            };
            drop(st);
            let Some(t) = sched.next_task(&view) else {
                return EndKind::Pruned;
            };
            let mut st = sh.st.borrow_mut();
            st.accesses.clear();
            if st.record {
                let op = st.tasks[t].pending;
                let what = st.op_name(op);
                let frames = st.tasks[t].frames.clone();
                let held = st.held_lock_names(t);
                let ends = st.ends_names(t);
                let name = st.tasks[t].name.clone();
                st.trace_line_ends(name, frames, what, held, ends);
            }
            st.apply(t);
            st.running = Some(t);
            loop {
                let mut co = st.tasks[t].co.take().expect("coroutine");
                drop(st);
                let r = co.resume(());
                st = sh.st.borrow_mut();
                match r {
                    CoroutineResult::Yield(()) => {
                        st.tasks[t].co = Some(co);
                        if let Op::Choose { n } = st.tasks[t].pending {
                            drop(st);
                            let v = sched.choose(t, n, step);
                            st = sh.st.borrow_mut();
                            st.tasks[t].result = OpResult::Usize(v);
                            st.tasks[t].pending = Op::Yield;
                            st.note(|_| format!("choose({n}) = {v}"));
                            continue;
                        }
                    }
                    CoroutineResult::Return(()) => {
                        STACKS.with(|s| s.borrow_mut().push(co.into_stack()));
                    }
                }
                break;
            }
            st.running = None;
            st.tasks[t].last_step = step;
            st.step += 1;
            let accesses = std::mem::take(&mut st.accesses);
            drop(st);
            sched.step_done(&Step {
                idx: step,
                task: t,
                accesses: &accesses,
            });
            sh.st.borrow_mut().accesses = accesses;
        }
    }
}
