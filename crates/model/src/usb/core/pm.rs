//! Runtime PM as far as USB devices need it (spec §1.3): status, usage count,
//! disable depth, child count, autosuspend timer as delayed work on `pm_wq`, and the
//! synchronous resume that sleeps on `W_rpm` while a transition is in flight.
//!
//! Simplifications (documented deviations): interfaces share their udev's `power.lock`
//! (both are leaf spinlocks); hubs never runtime-suspend (they are always ACTIVE, so a
//! child's resume never has to resume its parent); a suspend that fails with
//! -EAGAIN/-EBUSY is not retried by re-arming the timer.

use crate::errno::*;
use crate::ptr::Ghost;
use crate::system::Sys;
use crate::usb::core::device::UsbDevice;
use crate::usb::core::driver;
use ksync::{AtomicBool, AtomicU32, AtomicU64, LockClass, SpinLock, WaitQueue};

/// `usbcore.autosuspend`: the autosuspend delay a device is enumerated with.
pub const DEFAULT_AUTOSUSPEND_DELAY_MS: u64 = 2000;

pub const RPM_ACTIVE: u32 = 0;
pub const RPM_RESUMING: u32 = 1;
pub const RPM_SUSPENDED: u32 = 2;
pub const RPM_SUSPENDING: u32 = 3;

pub fn status_name(s: u32) -> &'static str {
    ["ACTIVE", "RESUMING", "SUSPENDED", "SUSPENDING"][s as usize]
}

/// Fields guarded by `power.lock` (L_rpm).
#[derive(Debug, Default)]
pub struct RpmData {
    pub usage_count: i32,
    pub disable_depth: i32,
    pub child_count: i32,
    /// an autosuspend request is queued (timer armed or work pending)
    pub request_pending: bool,
    /// the armed autosuspend timer (`power.suspend_timer`), if any
    pub suspend_timer: Option<u64>,
    /// per interface: usage count, runtime status active, runtime enabled (bound to a
    /// driver with supports_autosuspend)
    pub intf_usage: Vec<i32>,
    pub intf_active: Vec<bool>,
    pub intf_enabled: Vec<bool>,
}

/// `dev->power` of a udev (and of its interfaces).
pub struct RuntimePm {
    pub lock: SpinLock<RpmData>,
    /// `runtime_status`: written under L_rpm, read by waiters without it.
    pub status: AtomicU32,
    /// `W_rpm(udev)`: "a transition of udev is in flight" (`power.wait_queue`).
    pub w_rpm: WaitQueue,
    /// `power.idle_notification`: the idle callback (`usb_runtime_idle`) runs.
    /// Written under L_rpm; the barrier waits for it to clear.
    pub idle_notification: AtomicBool,
    /// `power.autosuspend_delay` (written once, by boot, before anything runs
    /// concurrently; read with `peek`)
    pub autosuspend_delay_ms: AtomicU64,
    /// Ghost: runtime-PM usage references taken on behalf of offload (v0/v1 get/put
    /// hold one only for their duration).
    pub ghost_offload_refs: Ghost,
}

impl RuntimePm {
    pub fn new(name: &str, n_intf: usize, delay: u64) -> Self {
        // A leaf lock: the PM core takes nothing and never sleeps under it.
        let lock = SpinLock::leaf(
            LockClass::new("&dev->power.lock"),
            name,
            RpmData {
                intf_usage: vec![0; n_intf],
                intf_active: vec![false; n_intf],
                intf_enabled: vec![true; n_intf],
                ..Default::default()
            },
        );
        RuntimePm {
            // written under power.lock, read without it by the waiters
            status: AtomicU32::guarded_by("power.runtime_status", RPM_ACTIVE, &lock),
            w_rpm: WaitQueue::labeled(LockClass::new("W_rpm"), name),
            idle_notification: AtomicBool::guarded_by("power.idle_notification", false, &lock),
            lock,
            autosuspend_delay_ms: AtomicU64::new("power.autosuspend_delay", delay),
            ghost_offload_refs: Ghost::default(),
        }
    }
}

fn transitional(s: u32) -> bool {
    s == RPM_RESUMING || s == RPM_SUSPENDING
}

/// Waits until no runtime transition of `udev` is in flight (`~W_rpm`).
fn wait_for_transition(udev: &UsbDevice) {
    let _f = ksync::frame("rpm_resume: wait for transition");
    udev.pm
        .w_rpm
        .wait_event(|| !transitional(udev.pm.status.load()));
}

/// `__pm_runtime_barrier`'s wait: until no transition and no idle notification of
/// `udev` is in progress (`~W_rpm`).
fn wait_for_callbacks(udev: &UsbDevice) {
    let _f = ksync::frame("__pm_runtime_barrier: wait for callbacks");
    udev.pm
        .w_rpm
        .wait_event(|| !transitional(udev.pm.status.load()) && !udev.pm.idle_notification.load());
}

/// Under L_rpm: a runtime-PM callback of `udev` is in progress.
fn callback_in_progress(udev: &UsbDevice) -> bool {
    transitional(udev.pm.status.load()) || udev.pm.idle_notification.load()
}

/// `pm_runtime_barrier(dev)` of a udev: waits for a runtime-PM callback in progress
/// (suspend, resume or idle notification). A pending request is not flushed (a
/// queued autosuspend that runs later finds the caller's usage reference, or the
/// device already gone, and does nothing). The kernel looks at the status and the
/// idle flag under `power.lock`; the model reads them as atomics that order as that
/// lock does (`AtomicX::ordered`), so the barrier adds no lock acquisition.
pub fn pm_runtime_barrier(udev: &UsbDevice) {
    let _f = ksync::frame("pm_runtime_barrier");
    wait_for_callbacks(udev);
}

/// `pm_runtime_get_if_active`: 1 (counter+1), 0 (not ACTIVE) or -EINVAL (disabled).
pub fn pm_runtime_get_if_active(udev: &UsbDevice) -> i32 {
    let _f = ksync::frame("pm_runtime_get_if_active");
    let mut d = udev.pm.lock.lock();
    if d.disable_depth > 0 {
        return -EINVAL;
    }
    if udev.pm.status.load() == RPM_ACTIVE {
        d.usage_count += 1;
        1
    } else {
        0
    }
}

/// `pm_runtime_put_autosuspend`: counter−1; at 0 `rpm_suspend(RPM_ASYNC | RPM_AUTO)`
/// (no idle callback): a suspend request on `pm_wq`, after the delay.
pub fn pm_runtime_put_autosuspend(sys: &Sys, udev: &UsbDevice) {
    let _f = ksync::frame("pm_runtime_put_autosuspend");
    let mut d = udev.pm.lock.lock();
    if rpm_drop_usage_count(&udev.name, &mut d.usage_count) == 0 {
        drop(d);
        rpm_suspend_auto(sys, udev, false);
    }
}

/// `rpm_suspend(dev, RPM_AUTO [| RPM_ASYNC])` as far as it decides before the
/// callback: nothing if suspending is not allowed now (disabled, in use, a child
/// active, not ACTIVE); with an autosuspend delay, the timer (a delayed request on
/// `pm_wq`); with delay 0 an asynchronous call queues the request, and a
/// synchronous one runs the suspend callback in the caller.
fn rpm_suspend_auto(sys: &Sys, udev: &UsbDevice, sync: bool) {
    let _f = ksync::frame("rpm_suspend");
    {
        let d = udev.pm.lock.lock();
        if d.disable_depth > 0
            || d.usage_count > 0
            || d.child_count > 0
            || udev.pm.status.load() != RPM_ACTIVE
        {
            return;
        }
    }
    if sync && udev.pm.autosuspend_delay_ms.peek() == 0 {
        rpm_suspend(sys, udev);
    } else {
        pm_request_autosuspend(sys, udev);
    }
}

/// `pm_runtime_resume_and_get`: counter+1 and a synchronous resume; on failure the
/// counter is dropped again.
pub fn pm_runtime_resume_and_get(sys: &Sys, udev: &UsbDevice) -> i32 {
    let _f = ksync::frame("pm_runtime_resume_and_get");
    {
        let mut d = udev.pm.lock.lock();
        d.usage_count += 1;
    }
    let r = rpm_resume(sys, udev);
    if r < 0 {
        let mut d = udev.pm.lock.lock();
        d.usage_count -= 1;
        return r;
    }
    0
}

/// `rpm_resume` (synchronous).
pub fn rpm_resume(sys: &Sys, udev: &UsbDevice) -> i32 {
    let _f = ksync::frame("rpm_resume");
    loop {
        let mut d = udev.pm.lock.lock();
        let s = udev.pm.status.load();
        if d.disable_depth > 0 {
            return if s == RPM_ACTIVE { 1 } else { -EACCES };
        }
        if s == RPM_ACTIVE {
            return 1;
        }
        if transitional(s) {
            drop(d);
            wait_for_transition(udev);
            continue;
        }
        // SUSPENDED: run the resume callback.
        udev.pm.status.store(RPM_RESUMING);
        d.request_pending = false;
        drop(d);
        let r = {
            let _w = udev.pm.w_rpm.hold();
            driver::usb_runtime_resume(sys, udev)
        };
        let _d = udev.pm.lock.lock();
        udev.pm
            .status
            .store(if r == 0 { RPM_ACTIVE } else { RPM_SUSPENDED });
        drop(_d);
        udev.pm.w_rpm.wake_up();
        return if r == 0 { 0 } else { r };
    }
}

/// `rpm_idle` for a udev: `usb_runtime_idle` → `autosuspend_check` → request an
/// autosuspend (asynchronous, honouring the delay).
pub fn rpm_idle(sys: &Sys, udev: &UsbDevice) {
    let _f = ksync::frame("rpm_idle");
    {
        let d = udev.pm.lock.lock();
        if d.usage_count > 0
            || d.child_count > 0
            || d.disable_depth > 0
            || udev.pm.status.load() != RPM_ACTIVE
            || udev.pm.idle_notification.load()
        {
            return;
        }
        udev.pm.idle_notification.store(true);
    }
    {
        let _f = ksync::frame("usb_runtime_idle");
        if driver::autosuspend_check(sys, udev) == 0 {
            pm_request_autosuspend(sys, udev);
        }
    }
    {
        let _d = udev.pm.lock.lock();
        udev.pm.idle_notification.store(false);
    }
    udev.pm.w_rpm.wake_up();
}

/// `pm_request_autosuspend`: arms the autosuspend timer (delayed work on `pm_wq`).
/// A request pending with an armed timer is replaced when the delay is now 0 (the
/// kernel's `rpm_suspend` cancels the timer and queues the request at once).
pub fn pm_request_autosuspend(sys: &Sys, udev: &UsbDevice) {
    let delay = udev.pm.autosuspend_delay_ms.peek();
    {
        let mut d = udev.pm.lock.lock();
        if d.request_pending {
            if delay != 0 || d.suspend_timer.is_none() {
                return;
            }
            sys.pm_wq.cancel_delayed(d.suspend_timer.take());
        }
        d.request_pending = true;
    }
    let s2 = sys.clone();
    let idx = udev.idx;
    let t = sys
        .pm_wq
        .queue_delayed_work("pm_runtime_work", delay, move || {
            rpm_suspend(&s2, &s2.devs[idx]);
        });
    if t.is_some() {
        udev.pm.lock.lock().suspend_timer = t;
    }
}

/// `rpm_suspend` run by the PM worker (T_rpm): the status is SUSPENDING (= W_rpm
/// held) for the whole callback. The model runs the udev's idle callback in the task
/// whose put idled it (the kernel queues it as a request on the device's one
/// `power.work`, so an idle callback and a suspend request never overlap): the
/// suspend request first waits for an idle notification in progress.
pub fn rpm_suspend(sys: &Sys, udev: &UsbDevice) -> i32 {
    let _f = ksync::frame("rpm_suspend");
    let mut d = udev.pm.lock.lock();
    while udev.pm.idle_notification.load() {
        drop(d);
        wait_for_callbacks(udev);
        d = udev.pm.lock.lock();
    }
    d.request_pending = false;
    d.suspend_timer = None;
    if d.disable_depth > 0 {
        return -EACCES;
    }
    if d.usage_count > 0 || d.child_count > 0 {
        return -EAGAIN;
    }
    if udev.pm.status.load() != RPM_ACTIVE {
        return -EAGAIN;
    }
    udev.pm.status.store(RPM_SUSPENDING);
    drop(d);
    let r = {
        let _w = udev.pm.w_rpm.hold();
        driver::usb_runtime_suspend(sys, udev)
    };
    d = udev.pm.lock.lock();
    udev.pm
        .status
        .store(if r == 0 { RPM_SUSPENDED } else { RPM_ACTIVE });
    drop(d);
    udev.pm.w_rpm.wake_up();
    r
}

/// `pm_runtime_disable` (with the barrier: waits for a callback in progress).
pub fn pm_runtime_disable(udev: &UsbDevice) {
    let _f = ksync::frame("pm_runtime_disable");
    loop {
        let mut d = udev.pm.lock.lock();
        if callback_in_progress(udev) {
            drop(d);
            wait_for_callbacks(udev);
            continue;
        }
        d.disable_depth += 1;
        return;
    }
}

/// `pm_runtime_enable`.
pub fn pm_runtime_enable(udev: &UsbDevice) {
    let _f = ksync::frame("pm_runtime_enable");
    let mut d = udev.pm.lock.lock();
    d.disable_depth -= 1;
}

/// `pm_runtime_set_active` (runtime PM disabled).
pub fn pm_runtime_set_active(udev: &UsbDevice) {
    let _d = udev.pm.lock.lock();
    udev.pm.status.store(RPM_ACTIVE);
}

/// `pm_runtime_get_noresume` / `pm_runtime_put_noidle`.
pub fn pm_runtime_get_noresume(udev: &UsbDevice) {
    udev.pm.lock.lock().usage_count += 1;
}

/// `pm_runtime_put_noidle`: `atomic_add_unless(&usage_count, -1, 0)`; a put on 0 is
/// ignored by the kernel and reported here (ACC-9).
pub fn pm_runtime_put_noidle(udev: &UsbDevice) {
    let mut d = udev.pm.lock.lock();
    rpm_drop_usage_count(&udev.name, &mut d.usage_count);
}

/// `rpm_drop_usage_count`: a put on a count of 0 leaves it at 0 (the kernel warns
/// "Runtime PM usage count underflow!"); the model reports that put (ACC-9).
/// Returns the new count, or -1 for the underflow.
fn rpm_drop_usage_count(name: &str, count: &mut i32) -> i32 {
    if *count <= 0 {
        ksync::report(
            ksync::FindingKind::Invariant,
            "ACC-9",
            format!("{name}: runtime usage_count put below zero (rpm_drop_usage_count underflow; the kernel warns and keeps 0)"),
        );
        return -1;
    }
    *count -= 1;
    *count
}

/// `usb_autoresume_device`.
pub fn usb_autoresume_device(sys: &Sys, udev: &UsbDevice) -> i32 {
    let _f = ksync::frame("usb_autoresume_device");
    pm_runtime_resume_and_get(sys, udev)
}

/// `usb_autosuspend_device` = `pm_runtime_put_sync_autosuspend`: counter−1; at 0
/// `rpm_suspend(RPM_AUTO)` with no idle callback: the autosuspend timer, or with
/// delay 0 the suspend itself, run by the caller (with whatever locks it holds).
pub fn usb_autosuspend_device(sys: &Sys, udev: &UsbDevice) {
    let _f = ksync::frame("usb_autosuspend_device");
    let zero = {
        let mut d = udev.pm.lock.lock();
        rpm_drop_usage_count(&udev.name, &mut d.usage_count) == 0
    };
    if zero {
        rpm_suspend_auto(sys, udev, true);
    }
}

/// `pm_runtime_put` (`device_complete`): counter−1; at 0 an idle notification
/// (the model runs it in the caller, see [`rpm_idle`]).
pub fn pm_runtime_put(sys: &Sys, udev: &UsbDevice) {
    let _f = ksync::frame("pm_runtime_put");
    let zero = {
        let mut d = udev.pm.lock.lock();
        rpm_drop_usage_count(&udev.name, &mut d.usage_count) == 0
    };
    if zero {
        rpm_idle(sys, udev);
    }
}

/// `usb_autopm_get_interface`: resumes the parent udev first (may sleep on W_rpm).
pub fn usb_autopm_get_interface(sys: &Sys, udev: &UsbDevice, ifnum: usize) -> i32 {
    let _f = ksync::frame("usb_autopm_get_interface");
    {
        let mut d = udev.pm.lock.lock();
        d.intf_usage[ifnum] += 1;
        if !d.intf_enabled[ifnum] {
            if d.intf_active[ifnum] {
                return 0;
            }
            d.intf_usage[ifnum] -= 1;
            return -EACCES;
        }
        if d.intf_active[ifnum] {
            return 0;
        }
        // rpm_resume of the interface pins its parent for the whole resume
        // (pm_runtime_get_noresume(parent) … child_count++ … pm_runtime_put(parent)),
        // so the parent cannot start suspending between its resume and child_count++.
        d.usage_count += 1;
    }
    let r = rpm_resume(sys, udev);
    let idle = {
        let mut d = udev.pm.lock.lock();
        if r < 0 {
            d.intf_usage[ifnum] -= 1;
        } else if !d.intf_active[ifnum] {
            d.intf_active[ifnum] = true;
            d.child_count += 1;
        }
        d.usage_count -= 1;
        d.usage_count == 0
    };
    if idle {
        rpm_idle(sys, udev);
    }
    r.min(0)
}

/// `usb_autopm_put_interface`: intf usage−1; at 0 the interface suspends (no
/// callback) and an idle request goes to the parent udev.
pub fn usb_autopm_put_interface(sys: &Sys, udev: &UsbDevice, ifnum: usize) {
    let _f = ksync::frame("usb_autopm_put_interface");
    let idle_parent = {
        let mut d = udev.pm.lock.lock();
        let name = format!("{} intf {ifnum}", udev.name);
        if rpm_drop_usage_count(&name, &mut d.intf_usage[ifnum]) < 0 {
            return;
        }
        if d.intf_usage[ifnum] <= 0 && d.intf_enabled[ifnum] && d.intf_active[ifnum] {
            d.intf_active[ifnum] = false;
            d.child_count -= 1;
            d.child_count == 0
        } else {
            false
        }
    };
    if idle_parent {
        rpm_idle(sys, udev);
    }
}

/// The unbound interface is runtime-disabled and marked suspended
/// (`pm_runtime_disable` + `pm_runtime_set_suspended`). Its usage count stays as it
/// is: since `intf->pm_usage_cnt` went away, `usb_unbind_interface` no longer undoes
/// residual `usb_autopm_get_interface` references, so they survive into a rebind.
pub fn intf_runtime_disable_suspended(udev: &UsbDevice, ifnum: usize) {
    let mut d = udev.pm.lock.lock();
    d.intf_enabled[ifnum] = false;
    if d.intf_active[ifnum] {
        d.intf_active[ifnum] = false;
        d.child_count -= 1;
    }
}

/// Binding a driver with supports_autosuspend: runtime-enabled. (The interface is
/// idle after probe, so it is runtime-suspended until someone takes a reference.)
pub fn intf_runtime_enable(udev: &UsbDevice, ifnum: usize) {
    let mut d = udev.pm.lock.lock();
    d.intf_enabled[ifnum] = true;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::system::{Config, System};
    use crate::testutil::{expect_ok, run_once, t_assert};
    use crate::usb::core::device::UsbState;
    use crate::Design;

    #[test]
    fn autosuspend_resume_cycle() {
        let f = expect_ok(run_once(|| {
            let mut cfg = Config::new(Design::V2OffloadSpinlock);
            cfg.autosuspend_delay_ms = 0;
            let sys = System::new(cfg);
            crate::system::boot(&sys);
            let u = &sys.devs[sys.udev_of(0)];
            t_assert!(u.pm.status.load() == RPM_ACTIVE, "starts active");
            t_assert!(pm_runtime_get_if_active(u) == 1, "get_if_active on ACTIVE");
            pm_runtime_put_autosuspend(&sys, u); // usage 0 → idle → autosuspend queued
            sys.pm_wq.flush();
            t_assert!(
                u.pm.status.load() == RPM_SUSPENDED,
                "suspended after idle: {}",
                status_name(u.pm.status.load())
            );
            t_assert!(u.state() == UsbState::Suspended, "USB state SUSPENDED");
            t_assert!(
                u.bit_peek(crate::usb::core::device::bits::OFFLOAD),
                "v2: pm_locked set by the runtime suspend"
            );
            t_assert!(
                pm_runtime_get_if_active(u) == 0,
                "get_if_active on SUSPENDED"
            );
            t_assert!(
                usb_autopm_get_interface(&sys, u, 0) == 0,
                "autopm get resumes"
            );
            t_assert!(u.pm.status.load() == RPM_ACTIVE, "active after resume");
            t_assert!(u.state() == UsbState::Configured, "configured after resume");
            t_assert!(
                !u.bit_peek(crate::usb::core::device::bits::OFFLOAD),
                "v2: pm_locked cleared by resume"
            );
            t_assert!(
                u.pm.lock.lock().child_count == 1,
                "interface active counts as a child"
            );
            t_assert!(
                rpm_suspend(&sys, u) == -EAGAIN,
                "no suspend while a child is active"
            );
            usb_autopm_put_interface(&sys, u, 0);
            sys.pm_wq.flush();
            t_assert!(u.pm.status.load() == RPM_SUSPENDED, "suspended again");
            pm_runtime_disable(u);
            t_assert!(pm_runtime_get_if_active(u) == -EINVAL, "disabled → -EINVAL");
            t_assert!(
                rpm_resume(&sys, u) == -EACCES,
                "resume while disabled and suspended"
            );
            pm_runtime_enable(u);
            t_assert!(usb_autoresume_device(&sys, u) == 0, "autoresume");
            usb_autosuspend_device(&sys, u);
        }));
        assert!(f.iter().all(|x| x.property == "LK-3"), "{f:#?}");
    }

    /// `usb_autosuspend_device` with delay 0 suspends in the caller, with no work on
    /// `pm_wq`; with a delay it only arms the timer.
    #[test]
    fn sync_autosuspend_runs_in_the_caller_with_delay_0() {
        let f = expect_ok(run_once(|| {
            let mut cfg = Config::new(Design::V1CallerLocks);
            cfg.autosuspend_delay_ms = 0;
            let sys = System::new(cfg);
            crate::system::boot(&sys);
            let u = &sys.devs[sys.udev_of(0)];
            t_assert!(
                u.pm.status.load() == RPM_ACTIVE,
                "enumerated with the default delay: still active after boot"
            );
            t_assert!(usb_autoresume_device(&sys, u) == 0, "autoresume");
            usb_autosuspend_device(&sys, u);
            t_assert!(
                u.pm.status.load() == RPM_SUSPENDED,
                "delay 0: suspended by the caller, got {}",
                status_name(u.pm.status.load())
            );
            t_assert!(usb_autoresume_device(&sys, u) == 0, "autoresume again");
            u.pm.autosuspend_delay_ms.store(2000);
            usb_autosuspend_device(&sys, u);
            t_assert!(
                u.pm.status.load() == RPM_ACTIVE,
                "delay 2000: only the timer is armed"
            );
            t_assert!(
                u.pm.lock.lock().suspend_timer.is_some(),
                "the autosuspend timer is armed"
            );
        }));
        assert!(f.iter().all(|x| x.property == "LK-3"), "{f:#?}");
    }
}
