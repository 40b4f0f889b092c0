//! The checker runtime: tasks as stackful coroutines, one running at a time, and a
//! scheduler callback that decides at every ksync operation which task goes next.
//!
//! Every ksync primitive asks [`current`] whether the calling thread is a checker task.
//! If it is, the operation becomes a scheduling point ([`op`]); if not, the primitive
//! runs directly on OS threads (live mode).
//!
//! Layout, one concern per module:
//!
//! * `exec`: the execution loop ([`Execution`]): ask the strategy, run a step, end.
//! * `scheduler`: what a strategy sees and implements ([`Scheduler`]).
//! * `switch`: the scheduler core (coroutines, task stacks, panics); the only
//!   unsafe code.
//! * `state`: the tasks and objects of one execution, recycled across executions.
//! * `op`: the operations of a scheduling point: enabledness, footprint, effect.
//! * `timer`: virtual time, timers and the clock step that fires them.
//! * `section`: sections of leaf spinlocks, run as one step (Lipton's reduction).
//! * `checks`, `deadlock`, `lost_wakeup`, `race`, `lockdep`: the runtime's own
//!   checks ([`crate::RuntimeCheck`]).
//! * `finding`: findings as the runtime collects them; `trace`: the recorded trace
//!   and the names it prints.
//! * `task`: per-task bookkeeping and the access footprint of a step.
//! * `vv`: version vectors, shared with the DPOR search.

mod checks;
mod deadlock;
mod exec;
mod finding;
mod lockdep;
mod lost_wakeup;
mod op;
mod race;
mod scheduler;
mod section;
mod state;
// The scheduler core: the coroutine switch and a sleeper's wait condition run on its
// stack need unsafe code.
#[allow(unsafe_code)]
mod switch;
mod task;
mod timer;
mod trace;
pub mod vv;

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
