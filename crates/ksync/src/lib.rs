//! Kernel-like primitives for the usb-offload model.
//!
//! Every primitive decides at run time whether the caller is a checker task (the
//! operation becomes a scheduling point of the deterministic checker in
//! [`rt`]) or an ordinary OS thread (a thin wrapper over parking_lot / std, with the
//! timers, scaled time, per-thread lock tracking and quiescence of [`live`]). Model
//! code uses only these, never `std::sync` directly.

// Unsafe code is confined to the checker's scheduler core (`rt::switch`).
#![deny(unsafe_code)]

pub mod atomic;
pub mod class;
pub mod completion;
pub mod kref;
pub mod live;
pub mod lock;
pub mod lockdep_report;
pub mod order;
pub mod racy;
pub mod report;
pub mod rng;
pub mod rt;
pub mod thread;
pub mod wait;
pub mod work;

pub use atomic::{AtomicBool, AtomicI32, AtomicI64, AtomicU32, AtomicU64, AtomicUsize};
pub use class::LockClass;
pub use completion::Completion;
pub use kref::Kref;
pub use lock::{Held, Mutex, MutexGuard, SpinGuard, SpinLock};
pub use racy::Racy;
pub use report::{Finding, FindingKind, PropertyIds, RuntimeCheck};
pub use thread::{spawn, spawn_daemon, JoinHandle};
pub use wait::{HoldGuard, WaitQueue, WaitResult};
pub use work::WorkQueue;

use rt::{Op, OpResult};
use std::cell::RefCell;

/// A named frame of the task-local call stack that reports print; pops on drop.
#[must_use = "the frame is popped when this guard drops"]
pub struct Frame {
    pushed: bool,
    live: bool,
}

/// Pushes `name` (a kernel function name) on the calling task's call stack.
#[inline]
pub fn frame(name: &'static str) -> Frame {
    match rt::current() {
        Some(sh) => {
            let mut st = sh.st.borrow_mut();
            match st.running {
                Some(t) if !st.teardown => {
                    st.tasks[t].frames.push(name);
                    Frame {
                        pushed: true,
                        live: false,
                    }
                }
                _ => Frame {
                    pushed: false,
                    live: false,
                },
            }
        }
        None => {
            // live mode: the watchdog prints the stack of a blocked thread
            live::push_frame(name);
            Frame {
                pushed: false,
                live: true,
            }
        }
    }
}

impl Drop for Frame {
    fn drop(&mut self) {
        if self.live {
            live::pop_frame();
        }
        if !self.pushed {
            return;
        }
        if let Some(sh) = rt::current() {
            let mut st = sh.st.borrow_mut();
            if let (Some(t), false) = (st.running, st.teardown) {
                st.tasks[t].frames.pop();
            }
        }
    }
}

thread_local! {
    static RNG: RefCell<Option<rng::Rng>> = const { RefCell::new(None) };
}

/// A nondeterministic choice among `n` values (`0..n`). The checker explores every
/// value; on OS threads it is pseudo-random.
pub fn choose(n: usize) -> usize {
    assert!(n > 0, "choose(0)");
    if n == 1 {
        return 0;
    }
    if let Some(sh) = rt::current().filter(|s| s.in_task()) {
        if let OpResult::Usize(v) = sh.op(Op::Choose { n }) {
            return v;
        }
        unreachable!("choose without a value");
    }
    RNG.with(|r| {
        r.borrow_mut()
            .get_or_insert_with(|| rng::Rng::new(live::thread_seed()))
            .below(n)
    })
}

/// A plain scheduling point (`cond_resched`): lets other tasks run here.
pub fn yield_now() {
    if let Some(sh) = rt::current().filter(|s| s.in_task()) {
        sh.op(Op::Yield);
    }
}

/// Virtual time in milliseconds under the checker; on OS threads, model milliseconds
/// of the wall clock since the first call ([`live::set_time_scale`]).
pub fn now_ms() -> u64 {
    if let Some(sh) = rt::current() {
        return sh.now();
    }
    live::now_ms()
}

/// `msleep`: under the checker the wake-up fires only when no task is otherwise
/// enabled (time is long relative to CPU work).
pub fn msleep(ms: u64) {
    if let Some(sh) = rt::current().filter(|s| s.in_task()) {
        let t = sh.st.borrow().running.expect("task");
        sh.add_timer_task(ms, "msleep", t);
        sh.op(Op::Msleep);
        return;
    }
    std::thread::sleep(live::real(ms));
}

static LIVE_FINDINGS: parking_lot::Mutex<Vec<Finding>> = parking_lot::Mutex::new(Vec::new());

/// Reports a finding (an invariant violation, a leak, a lock assertion) from model
/// code. Under the checker it is attached to the execution; on OS threads it is kept
/// for [`take_live_findings`].
pub fn report(kind: FindingKind, property: &str, summary: impl Into<String>) {
    let mut f = Finding::new(kind, property, summary);
    if let Some(sh) = rt::current() {
        let mut st = sh.st.borrow_mut();
        if st.teardown {
            return;
        }
        if let Some(t) = st.running {
            f.task = Some(st.tasks[t].name.clone());
            f.locks = st.held_names(t);
        }
        f.step = st.step;
        st.push_finding(f);
        return;
    }
    f.task = Some(current_task_name());
    f.locks = live::held_names();
    LIVE_FINDINGS.lock().push(f);
}

/// Reports `property` violated unless `cond` holds.
#[inline]
pub fn check(cond: bool, property: &str, summary: impl FnOnce() -> String) {
    if !cond {
        report(FindingKind::Invariant, property, summary());
    }
}

/// Findings reported by model code running on OS threads.
pub fn take_live_findings() -> Vec<Finding> {
    std::mem::take(&mut *LIVE_FINDINGS.lock())
}

/// Registers a check that runs when an execution ends with every task finished: the
/// model's look at what was left behind (leaks, balances).
pub fn on_quiescence(f: impl FnOnce() + 'static) {
    match rt::current() {
        Some(sh) => sh.on_quiescence(Box::new(f)),
        // live mode: run by whoever ends the live run ([`live::run_quiescence_hooks`])
        None => live::add_quiescence_hook(Box::new(f)),
    }
}

/// Name of the calling task (checker) or thread.
pub fn current_task_name() -> String {
    if let Some(sh) = rt::current() {
        let st = sh.st.borrow();
        if let Some(t) = st.running {
            return st.tasks[t].name.clone();
        }
    }
    std::thread::current().name().unwrap_or("?").to_string()
}

/// Marks the mechanism the execution takes here (an error return, a wait ended by
/// its timeout, an injected fault): findings reported from now on carry the mark in
/// their signature, so one property reached by different mechanisms is told apart.
/// Not a scheduling point; nothing on OS threads.
pub fn mechanism(tag: &'static str) {
    if let Some(sh) = rt::current() {
        let mut st = sh.st.borrow_mut();
        if st.teardown {
            return;
        }
        st.mark(tag);
        st.note(|_| format!("mechanism: {tag}"));
    }
}

/// Records a note in the counterexample trace (no scheduling point).
pub fn note(what: impl FnOnce() -> String) {
    if let Some(sh) = rt::current() {
        sh.st.borrow_mut().note(|_| what());
    }
}

/// Sends a signal to a task: its next (or current) interruptible wait ends with
/// [`WaitResult::Interrupted`].
pub fn signal(h: &JoinHandle) {
    if let JoinHandle::Task(t) = h {
        signal_task(*t);
    }
}

/// The calling checker task, for [`signal_task`] (`None` outside the checker).
pub fn current_task_id() -> Option<rt::TaskId> {
    let sh = rt::current()?;
    let st = sh.st.borrow();
    st.running
}

/// [`signal`] by task id (the freezer's fake signal to the tasks it freezes).
pub fn signal_task(t: rt::TaskId) {
    if let Some(sh) = rt::current() {
        let mut st = sh.st.borrow_mut();
        st.tasks[t].signal_pending = true;
        // The sender's step writes the signal; the target's interruptible waits read
        // it, so the reduction orders them.
        let obj = st.tasks[t].signal_obj;
        if st.running.is_some() {
            st.accesses.push(rt::Access::Write(obj));
        }
    }
}

/// Drops a signal still pending for the calling task (the refrigerator's
/// `recalc_sigpending` after the freezer's fake signal).
pub fn clear_own_signal() {
    if let Some(sh) = rt::current() {
        let mut st = sh.st.borrow_mut();
        if let Some(t) = st.running {
            let obj = st.tasks[t].signal_obj;
            st.tasks[t].signal_pending = false;
            st.accesses.push(rt::Access::Write(obj));
        }
    }
}
