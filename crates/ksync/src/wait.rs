//! Wait queues (`wait_event*`, `wake_up`), with the kernel's
//! prepare-to-wait / re-check / sleep protocol so that a wake-up between the check and
//! the sleep is not lost. A wait queue's class is a node of the lock-order graph
//! (`W_inuse`, `W_shutdown`): waiting while holding locks adds edges to it, and code
//! that will make the condition true can declare itself a holder ([`WaitQueue::hold`]).

use crate::class::{intern, LockClass};
use crate::lock::{register, sched, NO_OBJ};
use crate::rt::{self, ObjKind, Op, OpResult, Wake};
use std::cell::RefCell;

/// How a wait ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitResult {
    /// The condition became true.
    Cond,
    /// The timeout expired with the condition still false.
    TimedOut,
    /// A signal ended an interruptible wait.
    Interrupted,
}

/// A wait queue head.
pub struct WaitQueue {
    obj: u32,
    class: LockClass,
    live: parking_lot::Mutex<u64>,
    cv: parking_lot::Condvar,
}

impl WaitQueue {
    pub fn new(class: LockClass) -> Self {
        WaitQueue {
            obj: register(ObjKind::WaitQueue, class, None),
            class,
            live: parking_lot::Mutex::new(0),
            cv: parking_lot::Condvar::new(),
        }
    }

    /// A queue of OS threads only, not an object of the checker.
    pub(crate) fn unchecked(class: LockClass) -> Self {
        WaitQueue {
            obj: NO_OBJ,
            class,
            live: parking_lot::Mutex::new(0),
            cv: parking_lot::Condvar::new(),
        }
    }

    pub fn labeled(class: LockClass, label: &str) -> Self {
        WaitQueue {
            obj: register(ObjKind::WaitQueue, class, Some(label)),
            ..WaitQueue::new(class)
        }
    }

    pub fn class(&self) -> LockClass {
        self.class
    }

    /// `wait_event`: sleeps until `cond` holds.
    pub fn wait_event(&self, cond: impl FnMut() -> bool) {
        self.wait_event_timeout(cond, None);
    }

    /// `wait_event_timeout` with a timeout in milliseconds (`None`: no timeout).
    pub fn wait_event_timeout(
        &self,
        cond: impl FnMut() -> bool,
        timeout_ms: Option<u64>,
    ) -> WaitResult {
        self.wait(cond, timeout_ms, false)
    }

    /// As the kernel's `wait_event_interruptible_timeout`: a signal sent to the task
    /// ([`crate::signal`]) ends the wait.
    pub fn wait_event_interruptible_timeout(
        &self,
        cond: impl FnMut() -> bool,
        timeout_ms: Option<u64>,
    ) -> WaitResult {
        self.wait(cond, timeout_ms, true)
    }

    /// Marks the calling daemon as idle while it waits (a worker waiting for work).
    /// Returns false when the execution is over and the daemon should exit.
    pub(crate) fn wait_idle(&self, cond: impl FnMut() -> bool) -> bool {
        let sh = sched(self.obj);
        if let Some(sh) = &sh {
            let mut st = sh.st.borrow_mut();
            let t = st.running.expect("task");
            st.tasks[t].idle = true;
        }
        let live = sh.is_none() && crate::lock::live_thread();
        if live {
            crate::live::set_idle(true);
        }
        let r = self.wait(cond, None, false);
        if live {
            crate::live::set_idle(false);
        }
        if let Some(sh) = &sh {
            let mut st = sh.st.borrow_mut();
            let t = st.running.expect("task");
            st.tasks[t].idle = false;
        }
        r != WaitResult::Interrupted
    }

    /// The prepare / re-check / sleep loop. While the task sleeps, the scheduler can
    /// evaluate `cond` (with no task running, so it must only read: ksync atomics,
    /// `Racy` or `peek`; it must not lock, wait or depend on how often it runs) to
    /// find wake-ups that were never sent.
    fn wait(&self, cond: impl FnMut() -> bool, timeout_ms: Option<u64>, intr: bool) -> WaitResult {
        let Some(sh) = sched(self.obj) else {
            return self.wait_live(cond, timeout_ms);
        };
        let cond = RefCell::new(cond);
        let cond = || (cond.borrow_mut())();
        if cond() {
            return WaitResult::Cond;
        }
        let t = sh.st.borrow().running.expect("task");
        let timer = timeout_ms.map(|ms| sh.add_timer_task(ms, "wait timeout", t));
        let cancel = |sh: &rt::Shared| {
            if let Some(id) = timer {
                sh.cancel_timer(id);
            }
        };
        sh.with_wait_cond(&cond, || loop {
            sh.op(Op::PrepareWait {
                obj: self.obj,
                intr,
            });
            if cond() {
                sh.st.borrow_mut().objs[self.obj as usize]
                    .waiters
                    .retain(|&w| w != t);
                cancel(&sh);
                return WaitResult::Cond;
            }
            let OpResult::Wake(wake) = sh.op(Op::Sleep {
                obj: self.obj,
                intr,
            }) else {
                unreachable!("a sleep ends with a wake reason");
            };
            // Every reason by name: a new one must say how the wait ends.
            match wake {
                Wake::Woken => continue,
                Wake::Signalled | Wake::ExecutionOver => {
                    cancel(&sh);
                    return WaitResult::Interrupted;
                }
                Wake::TimedOut => {
                    return if cond() {
                        WaitResult::Cond
                    } else {
                        WaitResult::TimedOut
                    };
                }
            }
        })
    }

    fn wait_live(&self, cond: impl FnMut() -> bool, timeout_ms: Option<u64>) -> WaitResult {
        if !crate::lock::live_thread() {
            return self.wait_os(cond, timeout_ms);
        }
        crate::live::blocking(crate::live::BlockedOn::Wait {
            addr: self as *const _ as usize,
            class: crate::lock::class_label(self.class),
            timeout_ms,
        });
        let r = self.wait_os(cond, timeout_ms);
        crate::live::unblocked();
        r
    }

    fn wait_os(&self, mut cond: impl FnMut() -> bool, timeout_ms: Option<u64>) -> WaitResult {
        let deadline = timeout_ms.map(|ms| std::time::Instant::now() + crate::live::real(ms));
        loop {
            let mut g = self.live.lock();
            let gen = *g;
            if cond() {
                return WaitResult::Cond;
            }
            while *g == gen {
                match deadline {
                    Some(d) => {
                        if self.cv.wait_until(&mut g, d).timed_out() {
                            drop(g);
                            return if cond() {
                                WaitResult::Cond
                            } else {
                                WaitResult::TimedOut
                            };
                        }
                    }
                    None => self.cv.wait(&mut g),
                }
            }
        }
    }

    /// `wake_up`: wakes every task sleeping on the queue.
    pub fn wake_up(&self) {
        if let Some(sh) = sched(self.obj) {
            sh.op(Op::Wake { obj: self.obj });
            return;
        }
        if self.obj != NO_OBJ {
            // Called from a timer callback or an end-of-execution hook of the checker.
            if let Some(sh) = rt::current() {
                let mut st = sh.st.borrow_mut();
                let step = st.step;
                st.wake_waiters(self.obj, step);
                drop(st);
                sh.clock_access(rt::Access::Write(self.obj));
                return;
            }
        }
        let mut g = self.live.lock();
        *g += 1;
        self.cv.notify_all();
    }

    /// Declares that the caller can make this queue's condition true until the guard
    /// drops: locks it takes meanwhile become lock-order edges from the queue's class
    /// (as lockdep does for work items and completions).
    pub fn hold(&self) -> HoldGuard {
        HoldGuard::new(self.obj, self.class, self as *const _ as usize)
    }
}

/// A lockdep "map" held by the caller; see [`WaitQueue::hold`].
pub struct HoldGuard {
    obj: u32,
    active: bool,
    /// live mode: the queue's identity in the thread's held set (the watchdog's
    /// waits-for edges from a sleeper to the holder)
    live: Option<usize>,
}

impl HoldGuard {
    pub(crate) fn new(obj: u32, class: LockClass, addr: usize) -> Self {
        let Some(sh) = sched(obj) else {
            let live = crate::lock::live_thread();
            if live {
                crate::live::acquired(addr, crate::lock::class_label(class), None);
            }
            return HoldGuard {
                obj,
                active: false,
                live: live.then_some(addr),
            };
        };
        let mut st = sh.st.borrow_mut();
        let t = st.running.expect("task");
        let cid = intern(class);
        st.lockdep_acquire(t, cid);
        let site = st.tasks[t].frames.last().copied().unwrap_or("?");
        st.tasks[t].held.push(crate::rt::task_held(obj, cid, site));
        HoldGuard {
            obj,
            active: true,
            live: None,
        }
    }
}

impl Drop for HoldGuard {
    fn drop(&mut self) {
        if let Some(addr) = self.live {
            crate::live::released(addr);
        }
        if !self.active {
            return;
        }
        if let Some(sh) = rt::current() {
            let mut st = sh.st.borrow_mut();
            if st.teardown {
                return;
            }
            if let Some(t) = st.running {
                let held = &mut st.tasks[t].held;
                if let Some(p) = held.iter().rposition(|h| h.obj == self.obj) {
                    held.remove(p);
                }
            }
        }
    }
}
