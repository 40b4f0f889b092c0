//! `typed`: this project's offload contract for the USB core.
//!
//! * Usage is a value: [`OffloadUsage::get`] returns a token and dropping it is the
//!   put, so a session cannot forget its put and no caller sees a put fail.
//! * `get` needs proof that the device is runtime-active and stays so — the session's
//!   runtime-PM reference ([`RpmRef`]) — instead of `pm_runtime_get_if_active`, and a
//!   lock context from which `offload_lock`, the innermost level, may be taken.
//! * The system-suspend decision is kept with the bookkeeping and used by the resume
//!   that ends it, so suspend and resume agree even if the subtree changed in between.
//! * The PM core's bookkeeping window (`offload_pm_locked`, in a word of its own) runs
//!   from the start of a non-trivial `usb_suspend_both` to the end of the next
//!   `usb_resume_both` (or the suspend's failure). Inside it the count does not move:
//!   a get fails with -EAGAIN (the session does not start) and a put is *deferred*,
//!   counted in `offload_deferred_puts` and applied when the window ends. The count
//!   therefore always says what the PM core decided from.
//! * The class driver changes its own session state in the same `offload_lock` section
//!   as the count ([`OffloadUsage::get`]'s and [`OffloadUsage::put_with`]'s closure), so
//!   "a session is live" and "it is counted" never disagree at a PM decision.

use super::{any_child_offloaded, change_count, Contract, Op};
use crate::errno::*;
use crate::lock_order::OffloadLock;
use crate::system::Sys;
use crate::usb::core::device::{UsbDevice, UsbState};
use crate::usb::core::driver::PmMsg;
use ksync::order::{LockBefore, Locked};

/// The typed contract (its USB core half).
pub struct Typed;

impl Contract for Typed {
    /// The int API is not part of `typed`: usage is an [`OffloadUsage`].
    fn usb_offload_get(&self, _sys: &Sys, udev: &UsbDevice) -> i32 {
        ksync::report(
            ksync::FindingKind::Invariant,
            "LK-4",
            format!(
                "usb_offload_get({}) called through the int API under typed",
                udev.name
            ),
        );
        -EINVAL
    }

    fn usb_offload_put(&self, _sys: &Sys, udev: &UsbDevice) -> i32 {
        ksync::report(
            ksync::FindingKind::Invariant,
            "LK-4",
            format!(
                "usb_offload_put({}) called through the int API under typed",
                udev.name
            ),
        );
        -EINVAL
    }

    /// The device's own count under `offload_lock`, then the children under their
    /// device locks.
    fn offload_check_subtree(&self, sys: &Sys, udev: &UsbDevice) -> bool {
        let own = {
            let _l = udev.offload_lock.lock();
            udev.offload_usage.read() != 0
        };
        own || any_child_offloaded(sys, udev)
    }

    fn suspend_begin(&self, udev: &UsbDevice) {
        let _f = ksync::frame("usb_offload_pm_lock");
        let _l = udev.offload_lock.lock();
        udev.offload_pm_locked.write(true);
    }

    /// The decision is kept for the resume: the subtree may change during the sleep (a
    /// child unplugged), but the device was left powered and must not be resumed as if
    /// it had been suspended.
    fn suspend_decided(&self, udev: &UsbDevice, offload_active: bool) {
        // only the PM core's paths touch it, each under the device lock
        udev.offload_at_suspend.write(offload_active);
    }

    fn suspend_failed(&self, udev: &UsbDevice) {
        usb_offload_pm_unlock(udev);
    }

    fn resume_decision(&self, _sys: &Sys, udev: &UsbDevice, msg: PmMsg) -> bool {
        msg == PmMsg::Resume && udev.offload_at_suspend.read()
    }

    fn resume_end(&self, udev: &UsbDevice, _attached: bool) {
        usb_offload_pm_unlock(udev);
    }

    fn device_released(&self, udev: &UsbDevice) {
        usb_offload_pm_unlock(udev);
    }

    fn platform_ops_under_register_mutex(&self) -> bool {
        true
    }
}

/// Ends the bookkeeping window: the puts deferred inside it take effect.
fn usb_offload_pm_unlock(udev: &UsbDevice) {
    let _f = ksync::frame("usb_offload_pm_unlock");
    let _l = udev.offload_lock.lock();
    udev.offload_pm_locked.write(false);
    udev.offload_at_suspend.write(false);
    let deferred = udev.offload_deferred_puts.load();
    if deferred > 0 {
        for _ in 0..deferred {
            change_count(udev, Op::Put, false);
        }
        udev.offload_deferred_puts.store(0);
        ksync::note(|| format!("{}: {deferred} deferred put(s) applied", udev.name));
    }
}

/// Proof that a device is runtime-active and held so by its owner: the class driver's
/// autopm reference (`snd_usb_autoresume` succeeded). Only the class driver mints it.
pub struct RpmRef {
    pub(crate) udev: usize,
}

/// One counted offload usage of a device. Dropping it is the put.
#[must_use = "dropping the usage is the put"]
pub struct OffloadUsage {
    /// `None` once the put ran (by [`OffloadUsage::put_with`]).
    sys: Option<Sys>,
    udev: usize,
}

impl OffloadUsage {
    /// `usb_offload_get(udev)`: counts one usage of `udev`, whose runtime-PM reference
    /// `rpm` the caller holds, and runs `on_counted` in the same `offload_lock` section
    /// (it must not sleep). -ENODEV for a detached device, -EAGAIN inside the PM
    /// core's bookkeeping window.
    pub fn get<L: LockBefore<OffloadLock>>(
        _ctx: &mut Locked<'_, L>,
        sys: &Sys,
        rpm: &RpmRef,
        on_counted: impl FnOnce(),
    ) -> Result<OffloadUsage, i32> {
        let _f = ksync::frame("usb_offload_get");
        let udev = &sys.devs[rpm.udev];
        let _l = udev.offload_lock.lock();
        if udev.state() == UsbState::NotAttached {
            ksync::mechanism("usb_offload_get -ENODEV");
            return Err(-ENODEV);
        }
        if udev.offload_pm_locked.read() {
            ksync::mechanism("usb_offload_get -EAGAIN");
            return Err(-EAGAIN);
        }
        change_count(udev, Op::Get, false);
        on_counted();
        Ok(OffloadUsage {
            sys: Some(sys.clone()),
            udev: rpm.udev,
        })
    }

    /// The put, running `on_uncounted` in the same `offload_lock` section. Inside the
    /// bookkeeping window the decrement is deferred to the window's end.
    pub fn put_with(mut self, on_uncounted: impl FnOnce()) {
        if let Some(sys) = self.sys.take() {
            put(&sys, self.udev, on_uncounted);
        }
    }

    /// The device counted.
    pub fn udev(&self) -> usize {
        self.udev
    }
}

impl Drop for OffloadUsage {
    fn drop(&mut self) {
        if let Some(sys) = self.sys.take() {
            put(&sys, self.udev, || {});
        }
    }
}

fn put(sys: &Sys, udev: usize, on_uncounted: impl FnOnce()) {
    let _f = ksync::frame("usb_offload_put");
    let udev = &sys.devs[udev];
    let _l = udev.offload_lock.lock();
    if udev.offload_pm_locked.read() {
        udev.offload_deferred_puts
            .store(udev.offload_deferred_puts.load() + 1);
        ksync::mechanism("usb_offload_put deferred");
    } else {
        change_count(udev, Op::Put, false);
    }
    on_uncounted();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::system::{Config, System};
    use crate::testutil::{expect_ok, run_once, t_assert};
    use crate::usb::core::device::usb_set_device_state;
    use crate::Design;

    fn typed_device() -> (Sys, RpmRef) {
        let sys = System::new(Config::new(Design::Typed));
        let udev = sys.udev_of(0);
        (sys, RpmRef { udev })
    }

    #[test]
    fn a_put_inside_the_bookkeeping_window_is_deferred_and_applied_at_its_end() {
        let f = expect_ok(run_once(|| {
            let (sys, rpm) = typed_device();
            let u = &sys.devs[rpm.udev];
            let usage = OffloadUsage::get(&mut Locked::entry(), &sys, &rpm, || {});
            t_assert!(usage.is_ok() && u.offload_usage.read() == 1, "get counts");
            Typed.suspend_begin(u);
            drop(usage);
            t_assert!(
                u.offload_usage.read() == 1,
                "the count does not move in the window"
            );
            t_assert!(u.offload_deferred_puts.load() == 1, "the put is deferred");
            Typed.resume_end(u, true);
            t_assert!(u.offload_usage.read() == 0, "applied when the window ends");
            t_assert!(u.offload_deferred_puts.load() == 0, "nothing left deferred");
        }));
        assert!(f.is_empty(), "{f:#?}");
    }

    #[test]
    fn a_get_fails_inside_the_window_and_on_a_detached_device() {
        let f = expect_ok(run_once(|| {
            let (sys, rpm) = typed_device();
            let u = &sys.devs[rpm.udev];
            Typed.suspend_begin(u);
            let r = OffloadUsage::get(&mut Locked::entry(), &sys, &rpm, || {});
            t_assert!(matches!(r, Err(e) if e == -EAGAIN), "-EAGAIN in the window");
            Typed.suspend_failed(u);
            usb_set_device_state(&sys, u, UsbState::NotAttached);
            let r = OffloadUsage::get(&mut Locked::entry(), &sys, &rpm, || {});
            t_assert!(matches!(r, Err(e) if e == -ENODEV), "-ENODEV when detached");
            t_assert!(u.offload_usage.read() == 0, "no count taken");
        }));
        assert!(f.is_empty(), "{f:#?}");
    }

    #[test]
    fn the_closures_run_with_the_count_change() {
        let f = expect_ok(run_once(|| {
            let (sys, rpm) = typed_device();
            let u = &sys.devs[rpm.udev];
            let s2 = sys.clone();
            let usage = OffloadUsage::get(&mut Locked::entry(), &sys, &rpm, move || {
                t_assert!(
                    s2.devs[s2.udev_of(0)].offload_usage.peek() == 1,
                    "on_counted runs after the increment"
                );
            })
            .ok();
            let s3 = sys.clone();
            if let Some(usage) = usage {
                usage.put_with(move || {
                    t_assert!(
                        s3.devs[s3.udev_of(0)].offload_usage.peek() == 0,
                        "on_uncounted runs after the decrement"
                    );
                });
            }
            t_assert!(u.offload_usage.read() == 0, "put_with puts once");
            t_assert!(u.ghost.puts_dec.get() == 1, "one decrement");
        }));
        assert!(f.is_empty(), "{f:#?}");
    }

    #[test]
    fn the_suspend_decision_is_kept_for_the_resume() {
        let f = expect_ok(run_once(|| {
            let (sys, rpm) = typed_device();
            let u = &sys.devs[rpm.udev];
            Typed.suspend_begin(u);
            Typed.suspend_decided(u, true);
            t_assert!(
                Typed.resume_decision(&sys, u, PmMsg::Resume),
                "resume skipped as suspend was"
            );
            Typed.resume_end(u, true);
            t_assert!(!u.offload_at_suspend.read(), "cleared at the end");
            t_assert!(!u.offload_pm_locked.read(), "window closed");
        }));
        assert!(f.is_empty(), "{f:#?}");
    }
}
