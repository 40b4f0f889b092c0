//! Virtual time and timers: arming and cancelling, the clock and timer-queue objects
//! that order them, and the accesses of a timer callback inside its clock step.

use super::scheduler::{Scheduler, Step};
use super::state::{ObjKind, Shared, State, NO_STEP};
use super::task::{Access, TaskId};
use super::ObjId;

/// Pseudo task id of a clock step (a timer firing while no task was enabled).
pub const CLOCK_TASK: TaskId = usize::MAX;

/// Objects standing for the timer queue, by deadline: two timers with one deadline
/// fire in arming order, so their armings (and a cancel against the firing) do not
/// commute. Deadlines share these few objects; a shared one only adds dependence.
const TIMER_OBJS: u64 = 8;

enum TimerAction {
    Task(TaskId),
    Callback(Box<dyn FnOnce()>),
}

pub(super) struct Timer {
    id: u64,
    deadline: u64,
    /// Step that armed it (its firing happens after that step), or `NO_STEP`.
    armed_at: u32,
    what: &'static str,
    action: TimerAction,
}

impl Shared {
    /// The clock and timer-queue objects, registered first in every execution.
    pub(super) fn register_clock_objs(&self) {
        let time = crate::class::intern(crate::LockClass::new("jiffies"));
        let timers = crate::class::intern(crate::LockClass::new("timer queue"));
        let t = self.register_obj(ObjKind::Atomic, time, None);
        for _ in 0..TIMER_OBJS {
            self.register_obj(ObjKind::Atomic, timers, None);
        }
        self.st.borrow_mut().time_obj = t;
    }

    /// No task can run and a timer is pending: time passes and the earliest timer
    /// fires (ties: first armed), as a clock step of its own.
    pub(super) fn clock_step(&self, sched: &mut dyn Scheduler) {
        let mut st = self.st.borrow_mut();
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
                self.lost_wakeup_check(t, "only its timeout ends the wait", true);
                st = self.st.borrow_mut();
                st.tasks[t].timed_out = true;
                st.tasks[t].timeout_step = idx;
            }
            TimerAction::Callback(f) => {
                st.clock_cb = true;
                drop(st);
                f();
                st = self.st.borrow_mut();
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
        self.st.borrow_mut().accesses = accesses;
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
}

impl State {
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
}
