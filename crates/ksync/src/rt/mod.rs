//! The checker runtime: tasks as stackful coroutines, one running at a time, and a
//! scheduler callback that decides at every ksync operation which task goes next.
//!
//! Every ksync primitive asks [`current`] whether the calling thread is a checker task.
//! If it is, the operation becomes a scheduling point ([`op`]); if not, the primitive
//! runs directly on OS threads (live mode).

mod checks;
mod deadlock;
mod exec;
mod finding;
mod lockdep;
mod lost_wakeup;
mod op;
mod race;
mod scheduler;
mod state;
// The scheduler core: the coroutine switch and a sleeper's wait condition run on its
// stack need unsafe code.
#[allow(unsafe_code)]
mod switch;
mod task;
mod timer;
mod trace;

pub use exec::{EndKind, ExecConfig, ExecOutcome, Execution};
pub use lockdep::{LockDep, LockOrderCycle, OrderEdge};
pub use scheduler::{SchedView, Scheduler, Step, TaskView};
pub use task::{Access, TaskId};
pub use timer::CLOCK_TASK;
pub use trace::TraceEntry;

use std::cell::RefCell;
use std::rc::Rc;

pub(crate) use op::{Op, OpResult, Wake};
pub(crate) use state::{ObjKind, Shared};

/// Identifier of a synchronisation object inside one execution.
pub type ObjId = u32;

thread_local! {
    static CURRENT: RefCell<Option<Rc<Shared>>> = const { RefCell::new(None) };
}

/// The execution this OS thread is driving, if any.
pub(crate) fn current() -> Option<Rc<Shared>> {
    CURRENT.with(|c| c.borrow().clone())
}

pub(crate) fn set_current(s: Option<Rc<Shared>>) {
    CURRENT.with(|c| *c.borrow_mut() = s);
}

/// True when the caller runs as a checker task (its operations are scheduling points).
pub fn in_checker() -> bool {
    current().is_some_and(|s| s.in_task())
}

/// Panics if the scheduler is evaluating a sleeping task's wait condition (which must
/// only read): `what` the condition tried to do with checker object `obj`. The panic
/// is caught by the evaluation, which then ignores the condition.
pub(crate) fn forbid_while_observing(obj: ObjId, what: &str) {
    if obj == u32::MAX {
        return;
    }
    if let Some(sh) = current() {
        let observing = sh.st.try_borrow().is_ok_and(|st| st.observing);
        if observing {
            panic!("a wait condition {what}: conditions must only read");
        }
    }
}

pub(crate) fn task_held(
    obj: ObjId,
    class: crate::class::ClassId,
    site: &'static str,
) -> task::Held {
    task::Held {
        obj,
        class,
        site,
        spin: false,
    }
}
