//! `kernel/freezer.c` and `kernel/power/process.c`: the freezing of user tasks across
//! system sleep (`freeze_processes` … `thaw_processes`); the freezable workqueues
//! (`freeze_kernel_threads`) are [`ksync::WorkQueue::freeze_begin`].
//!
//! `freeze_processes` sets `pm_freezing` and calls `freeze_task` on every user task
//! until each is frozen: one inside a system call gets a fake signal
//! (`fake_signal_wake_up`) and runs on; it enters the refrigerator on its way back to
//! user space (`get_signal` → `try_to_freeze`), so it is frozen with no lock held.
//! The freezer gives up after `freeze_timeout_msecs` (20 s): "Freezing of tasks
//! failed", and the suspend is aborted.
//!
//! The model's user tasks (a usbfs ioctl caller, a sysfs writer) make one system call
//! each, bracketed by [`Freezer::syscall`]: a task that has not entered it while
//! processes are frozen waits in the refrigerator until the thaw, then makes it; one
//! inside it keeps running to its return (the task ends there, as good as frozen for
//! the freezer). The paths modelled inside those calls have no freezable sleep: udevL
//! and intfL are taken with `mutex_lock` (uninterruptible, not `TASK_FREEZABLE`), and
//! their one interruptible sleep, the W_inuse wait of `uaudio_send_disconnect_ind`,
//! is ended by the fake signal as by any signal.

use ksync::{AtomicUsize, LockClass, WaitQueue};

/// `freeze_timeout_msecs`.
pub const FREEZE_TIMEOUT_MS: u64 = 20_000;

/// Bit 0 of [`Freezer::state`]: `pm_freezing`.
const FREEZING: usize = 1;
/// One user task inside a system call, not frozen.
const IN_KERNEL: usize = 2;

/// The freezer's view of the user tasks.
pub struct Freezer {
    /// `pm_freezing` (bit 0) and the number of user tasks inside a system call: one
    /// word, so that a task entering its call and the freezer starting order as
    /// `freezer_lock` orders `freeze_task` and the task's freezing check.
    state: AtomicUsize,
    /// The tasks inside a system call (the targets of the fake signal); changed in
    /// the step of the `state` write that counts them.
    in_kernel: parking_lot::Mutex<Vec<ksync::rt::TaskId>>,
    /// The refrigerator and the freezer's wait for the tasks.
    wq: WaitQueue,
}

impl Default for Freezer {
    fn default() -> Self {
        Self::new()
    }
}

impl Freezer {
    pub fn new() -> Self {
        Freezer {
            state: AtomicUsize::ordered("pm_freezing", 0),
            in_kernel: parking_lot::Mutex::new(Vec::new()),
            wq: WaitQueue::new(LockClass::new("refrigerator")),
        }
    }

    /// One system call of a user task: frozen before it while processes are frozen
    /// (`__refrigerator` until `thaw_processes`), then `f`, then back to user space.
    pub fn syscall<R>(&self, f: impl FnOnce() -> R) -> R {
        self.enter();
        let r = f();
        self.exit();
        r
    }

    fn enter(&self) {
        loop {
            let old = self.state.fetch_add(IN_KERNEL);
            if old & FREEZING == 0 {
                if let Some(t) = ksync::current_task_id() {
                    self.in_kernel.lock().push(t);
                }
                return;
            }
            // freezing: the task does not get into its call; it goes back and is
            // frozen in the refrigerator
            self.state.fetch_sub(IN_KERNEL);
            self.wq.wake_up();
            let _f = ksync::frame("__refrigerator");
            ksync::note(|| "user task frozen".into());
            self.wq.wait_event(|| self.state.load() & FREEZING == 0);
            // recalc_sigpending: the fake signal is dropped
            ksync::clear_own_signal();
        }
    }

    fn exit(&self) {
        self.state.fetch_sub(IN_KERNEL);
        if let Some(t) = ksync::current_task_id() {
            let mut v = self.in_kernel.lock();
            if let Some(p) = v.iter().position(|&x| x == t) {
                v.remove(p);
            }
        }
        self.wq.wake_up();
    }

    /// `freeze_processes`: `pm_freezing`, a fake signal to every user task inside a
    /// system call, then the wait until none is left (`try_to_freeze_tasks(true)`).
    /// False after [`FREEZE_TIMEOUT_MS`] with a task still inside; the caller thaws.
    pub fn freeze_processes(&self) -> bool {
        let _f = ksync::frame("freeze_processes");
        self.state.fetch_add(FREEZING);
        for &t in self.in_kernel.lock().iter() {
            ksync::signal_task(t);
        }
        self.wq
            .wait_event_timeout(|| self.state.load() < IN_KERNEL, Some(FREEZE_TIMEOUT_MS))
            == ksync::WaitResult::Cond
    }

    /// The user-task part of `thaw_processes` (`__thaw_task`): frozen tasks run again.
    pub fn thaw_tasks(&self) {
        self.state.fetch_sub(FREEZING);
        self.wq.wake_up();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{expect_ok, run_once, t_assert};
    use ksync::{AtomicU32, WaitResult, WorkQueue};
    use std::sync::Arc;

    #[test]
    fn a_user_task_starting_its_call_while_frozen_waits_for_the_thaw() {
        expect_ok(run_once(|| {
            let fr = Arc::new(Freezer::new());
            let done = Arc::new(AtomicU32::new("done", 0));
            t_assert!(fr.freeze_processes(), "nothing to wait for");
            let (f2, d2) = (fr.clone(), done.clone());
            let h = ksync::spawn("T_usr", move || f2.syscall(|| d2.store(1)));
            ksync::msleep(100);
            t_assert!(done.load() == 0, "the call ran while processes were frozen");
            fr.thaw_tasks();
            h.join();
            t_assert!(done.load() == 1, "the call ran after the thaw");
        }));
    }

    #[test]
    fn the_freezer_waits_for_a_task_inside_its_call_and_its_signal_ends_an_interruptible_wait() {
        expect_ok(run_once(|| {
            let fr = Arc::new(Freezer::new());
            let how = Arc::new(AtomicU32::new("how", 0));
            let (f2, h2) = (fr.clone(), how.clone());
            let h = ksync::spawn("T_usr", move || {
                f2.syscall(|| {
                    let wq = WaitQueue::new(LockClass::new("W_test"));
                    let r = wq.wait_event_interruptible_timeout(|| false, Some(10_000));
                    h2.store(if r == WaitResult::Interrupted { 1 } else { 2 });
                })
            });
            ksync::msleep(10); // T_usr is asleep inside its call
            t_assert!(
                fr.freeze_processes(),
                "the task returned within the timeout"
            );
            t_assert!(
                how.load() == 1,
                "the fake signal ended the wait (got {})",
                how.load()
            );
            fr.thaw_tasks();
            h.join();
        }));
    }

    #[test]
    fn a_frozen_queue_runs_earlier_items_and_defers_later_ones_to_the_thaw() {
        expect_ok(run_once(|| {
            let q = WorkQueue::new_ordered("test_wq");
            let ran = Arc::new(AtomicU32::new("ran", 0));
            let r1 = ran.clone();
            q.queue_work("before", move || {
                r1.fetch_add(1);
            });
            q.freeze_begin();
            t_assert!(q.freeze_wait(FREEZE_TIMEOUT_MS), "the active item finished");
            t_assert!(ran.load() == 1, "the item queued before the freeze ran");
            let r2 = ran.clone();
            q.queue_work("after", move || {
                r2.fetch_add(1);
            });
            ksync::msleep(100);
            t_assert!(ran.load() == 1, "an item queued while frozen ran");
            q.thaw();
            q.flush();
            t_assert!(ran.load() == 2, "the deferred item ran after the thaw");
        }));
    }

    #[test]
    fn work_run_by_its_caller_waits_for_the_thaw() {
        expect_ok(run_once(|| {
            let q = WorkQueue::new_run_by_caller("hub_wq");
            let ran = Arc::new(AtomicU32::new("ran", 0));
            q.freeze_begin();
            let (q2, r2) = (q.clone(), ran.clone());
            let h = ksync::spawn("T_hub", move || q2.run_work("hub_event", || r2.store(1)));
            ksync::msleep(100);
            t_assert!(ran.load() == 0, "hub_event started while hub_wq was frozen");
            t_assert!(
                q.freeze_wait(FREEZE_TIMEOUT_MS),
                "an inactive item is not waited for"
            );
            q.thaw();
            h.join();
            t_assert!(ran.load() == 1, "hub_event ran after the thaw");
        }));
    }
}
