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
