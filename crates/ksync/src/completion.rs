//! `struct completion`: `complete`, `complete_all`, `wait_for_completion[_timeout]`.
//!
//! Under the checker a completion is one object with a count: `complete` raises it
//! and a waiter takes one from it, each in one step, as the kernel does each under
//! the completion's `wait.lock`. A waiter cannot run before the count is positive, so
//! the search has no order of a waiter's look at the count against the completer's
//! write to explore, where a count read by `wait_event` has three. On OS threads, a
//! count and a wait queue; [`Completion::stepwise`] runs that count and queue under
//! the checker, every operation a step (the reference the self-test compares with).

use crate::class::LockClass;
use crate::lock::{register, sched, NO_OBJ};
use crate::rt::{ObjKind, Op, OpResult};
use crate::wait::{HoldGuard, WaitQueue, WaitResult};
use crate::AtomicU32;

/// `struct completion` (see the module).
pub struct Completion {
    obj: u32,
    class: LockClass,
    done: AtomicU32,
    wq: WaitQueue,
}

impl Completion {
    pub fn new(class: LockClass) -> Self {
        Completion {
            obj: register(ObjKind::Completion, class, None),
            class,
            done: AtomicU32::unchecked(0),
            wq: WaitQueue::unchecked(class),
        }
    }

    /// A completion built, under the checker too, from a count and a wait queue that
    /// the checker steps one operation at a time: the look at the count, the
    /// registration and the sleep separately. The unreduced reference of the
    /// one-step completion, for the self-test.
    pub fn stepwise(class: LockClass) -> Self {
        Completion {
            obj: NO_OBJ,
            class,
            // x->wait.lock orders complete() and the waiter in the kernel
            done: AtomicU32::ordered(class.name, 0),
            wq: WaitQueue::new(class),
        }
    }

    pub fn complete(&self) {
        self.complete_op(false);
    }

    pub fn complete_all(&self) {
        self.complete_op(true);
    }

    fn complete_op(&self, all: bool) {
        if let Some(sh) = sched(self.obj) {
            sh.op(Op::Complete { obj: self.obj, all });
            return;
        }
        if all {
            self.done.store(u32::MAX);
        } else {
            self.done.fetch_add(1);
        }
        self.wq.wake_up();
    }

    pub fn wait_for_completion(&self) {
        self.wait_for_completion_timeout(None);
    }

    /// Returns false on timeout.
    pub fn wait_for_completion_timeout(&self, timeout_ms: Option<u64>) -> bool {
        if let Some(sh) = sched(self.obj) {
            let take = |blocking| {
                let OpResult::Bool(got) = sh.op(Op::WaitCompletion {
                    obj: self.obj,
                    blocking,
                }) else {
                    unreachable!("a completion wait ends with whether it got one");
                };
                got
            };
            let Some(ms) = timeout_ms else {
                return take(true);
            };
            // A timed wait looks first, as the kernel's does under `wait.lock`: a
            // wait that ends by its timer happens after the clock step, and the search
            // could not move it before another taker; its first look it can.
            if take(false) {
                return true;
            }
            let t = sh.st.borrow().running.expect("task");
            let timer = sh.add_timer_task(ms, "wait timeout", t);
            let got = take(true);
            sh.cancel_timer(timer);
            return got;
        }
        loop {
            if self
                .wq
                .wait_event_timeout(|| self.done.load() > 0, timeout_ms)
                != WaitResult::Cond
            {
                return false;
            }
            let d = self.done.load();
            let taken = if d == u32::MAX { d } else { d.wrapping_sub(1) };
            if d > 0 && self.done.compare_exchange(d, taken).is_ok() {
                return true;
            }
        }
    }

    /// Declares that the caller will complete this completion until the guard drops
    /// (see [`WaitQueue::hold`]).
    pub fn hold(&self) -> HoldGuard {
        if self.obj == NO_OBJ {
            return self.wq.hold();
        }
        HoldGuard::new(self.obj, self.class, self as *const _ as usize)
    }
}
