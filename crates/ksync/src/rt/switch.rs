//! The scheduler core: tasks as stackful coroutines, the switch back to the driver at
//! every scheduling point, task stacks reused across executions, panics caught per
//! task, and a sleeping task's wait condition evaluated on its own stack. The only
//! unsafe code of the runtime lives here.

#![warn(clippy::undocumented_unsafe_blocks)]

use super::exec::EndKind;
use super::op::{Op, OpResult};
use super::state::{ObjKind, Shared, NO_STEP};
use super::task::{Task, TaskId};
use super::vv::VersionVector;
use super::ObjId;
use crate::report::{Finding, RuntimeCheck};
use corosensei::stack::DefaultStack;
use corosensei::{Coroutine, Yielder};
use std::any::Any;
use std::cell::RefCell;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::rc::Rc;

thread_local! {
    static STACKS: RefCell<Vec<DefaultStack>> = const { RefCell::new(Vec::new()) };
    static PANIC_MSG: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Keeps a finished or unwound task's stack for a later task.
pub(super) fn recycle_stack(co: Coroutine<(), (), ()>) {
    STACKS.with(|s| s.borrow_mut().push(co.into_stack()));
}

pub(super) fn install_panic_hook() {
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
            let inline = match st.in_section(t, op) {
                Ok(inline) => inline,
                Err(broken) => {
                    drop(st);
                    panic!("{broken}");
                }
            };
            st.tasks[t].pending = op;
            if inline {
                // Inside a leaf spinlock's section: part of the same step.
                if st.record {
                    st.trace_step_start(t);
                }
                st.apply(t);
                return std::mem::replace(&mut st.tasks[t].result, OpResult::None);
            }
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
            None => Box::new(Task::new(name, daemon, spawn_step)),
        };
        {
            let class = self.st.borrow().signal_class;
            task.signal_obj = self.register_obj(ObjKind::Atomic, class, None);
            let mut st = self.st.borrow_mut();
            if let Some(p) = st.running {
                task.vc = st.tasks[p].vc.clone();
                st.tasks[p].vc.tick(p);
            }
            task.vc.tick(id);
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
        let mut f = Finding::of_check(
            RuntimeCheck::Panic,
            st.property_ids,
            format!("task panicked: {msg}"),
        );
        f.task = Some(st.tasks[id].name.clone());
        f.step = st.step;
        st.push_finding(f);
        st.abort.get_or_insert(EndKind::Panic);
    }

    /// Runs `f`, the registration, sleep and re-check loop of a wait of the running
    /// task, with `cond` registered as that task's wait condition, so that the
    /// scheduler can evaluate it while the task sleeps (lost wake-ups). The
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
    pub(super) fn observe_wait_cond(&self, t: TaskId) -> Option<(bool, Vec<ObjId>)> {
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
}
