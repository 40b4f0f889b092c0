//! `drivers/usb/core/driver.c`: suspend/resume of a udev and its interfaces
//! (`usb_suspend_both`, `usb_resume_both`), runtime-PM callbacks, `autosuspend_check`,
//! interface bind/unbind (`usb_probe_interface`, `usb_unbind_interface`,
//! `usb_driver_release_interface`, `usb_forced_unbind_intf`) and the system-sleep
//! callbacks `usb_suspend`/`usb_resume` with the PM core's ordering (spec (g)).

use crate::errno::*;
use crate::kernel::freezer::FREEZE_TIMEOUT_MS;
use crate::sound::usb::card;
use crate::system::{Fault, Sys};
use crate::usb::core::device::{
    bits, cond, usb_set_device_state, IntfKind, UsbDevice, UsbInterface, UsbState,
};
use crate::usb::core::hub;
use crate::usb::core::offload::usb_offload_check;
use crate::usb::core::pm::{self, RPM_ACTIVE, RPM_SUSPENDED};

/// `pm_message_t` events the model uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PmMsg {
    Suspend,
    AutoSuspend,
    Resume,
    AutoResume,
}

impl PmMsg {
    pub fn is_auto(self) -> bool {
        matches!(self, PmMsg::AutoSuspend | PmMsg::AutoResume)
    }
}

/// `autosuspend_check`.
pub fn autosuspend_check(_sys: &Sys, udev: &UsbDevice) -> i32 {
    let _f = ksync::frame("autosuspend_check");
    if udev.state() == UsbState::NotAttached {
        return -ENODEV;
    }
    let mut w = false;
    {
        let d = udev.pm.lock.lock();
        for (i, u) in d.intf_usage.iter().enumerate() {
            if !d.intf_enabled[i] {
                continue;
            }
            if *u > 0 {
                return -EBUSY;
            }
            w |= udev.interfaces[i].needs_remote_wakeup;
        }
    }
    // udev->do_remote_wakeup = w: a plain store into the bit-field word, with no
    // lock (this runs from the PM worker and from any task whose put idles the udev)
    udev.set_bit(bits::DO_REMOTE_WAKEUP, w);
    0
}

/// `choose_wakeup(udev, msg)` for a system suspend (PM core holds udevL): the
/// remote-wakeup setting is the device's wakeup capability (the model's hubs have
/// it, its audio devices not). A suspended device whose setting must change would be
/// runtime-resumed first; the model's devices never need that.
fn choose_wakeup(udev: &UsbDevice) {
    let _f = ksync::frame("choose_wakeup");
    let w = udev.interfaces.iter().any(|i| i.needs_remote_wakeup);
    if udev.state() == UsbState::Suspended && w != udev.bit(bits::DO_REMOTE_WAKEUP) {
        ksync::note(|| {
            format!(
                "{}: remote-wakeup setting changes while suspended",
                udev.name
            )
        });
    }
    udev.set_bit(bits::DO_REMOTE_WAKEUP, w);
}

/// `usb_runtime_suspend` (PM worker, no udevL).
pub fn usb_runtime_suspend(sys: &Sys, udev: &UsbDevice) -> i32 {
    let _f = ksync::frame("usb_runtime_suspend");
    if autosuspend_check(sys, udev) != 0 {
        return -EAGAIN;
    }
    let r = usb_suspend_both(sys, udev, PmMsg::AutoSuspend);
    if r != 0 && !udev.is_root_hub() {
        return -EBUSY;
    }
    r
}

/// `usb_runtime_resume` (no udevL).
pub fn usb_runtime_resume(sys: &Sys, udev: &UsbDevice) -> i32 {
    let _f = ksync::frame("usb_runtime_resume");
    usb_resume_both(sys, udev, PmMsg::AutoResume)
}

/// The driver's `suspend` callback of one interface.
fn usb_suspend_interface(sys: &Sys, udev: &UsbDevice, intf: &UsbInterface, msg: PmMsg) -> i32 {
    let _f = ksync::frame("usb_suspend_interface");
    if intf.condition.load() != cond::BOUND {
        return 0;
    }
    // fault point: the driver's callback of interface 0 (the last one suspended) fails
    if intf.num == 0 && sys.fail(Fault::SuspendCallback) {
        return -EBUSY;
    }
    match intf.kind {
        IntfKind::Hub => 0,
        IntfKind::AudioControl | IntfKind::AudioStreaming => {
            card::usb_audio_suspend(sys, udev, intf, msg)
        }
    }
}

fn usb_resume_interface(sys: &Sys, udev: &UsbDevice, intf: &UsbInterface, _msg: PmMsg) -> i32 {
    let _f = ksync::frame("usb_resume_interface");
    if intf.condition.load() != cond::BOUND || intf.needs_binding.load() {
        return 0;
    }
    match intf.kind {
        IntfKind::Hub => 0,
        IntfKind::AudioControl | IntfKind::AudioStreaming => {
            card::usb_audio_resume(sys, udev, intf)
        }
    }
}

/// `usb_suspend_device` (generic_suspend → port suspend).
fn usb_suspend_device(sys: &Sys, udev: &UsbDevice, msg: PmMsg) -> i32 {
    let _f = ksync::frame("usb_port_suspend");
    // if (udev->do_remote_wakeup) usb_enable_remote_wakeup(udev): no model state
    let _ = udev.bit(bits::DO_REMOTE_WAKEUP);
    // fault point: SET_FEATURE(PORT_SUSPEND) fails; the port stays active, and
    // "system sleep transitions should never fail" (status 0 unless auto)
    if sys.fail(Fault::PortSuspend) {
        return if msg.is_auto() { -EBUSY } else { 0 };
    }
    // the port is suspended: udev->port_is_suspended = 1
    udev.set_bit(bits::PORT_IS_SUSPENDED, true);
    usb_set_device_state(sys, udev, UsbState::Suspended);
    0
}

/// `usb_resume_device` (port resume; a reset-resume does a port reset).
fn usb_resume_device(sys: &Sys, udev: &UsbDevice) -> i32 {
    let _f = ksync::frame("usb_port_resume");
    // SuspendCleared: udev->port_is_suspended = 0 (also for a port that lost its
    // device: it is no longer suspended)
    udev.set_bit(bits::PORT_IS_SUSPENDED, false);
    // wait_for_connected, check_port_resume_type: a port with no connection (the
    // device was unplugged while suspended) is -ENODEV, and the hub disconnects it
    // logically; hub_event, after the thaw, then runs usb_disconnect
    if !udev.port_connected.load() {
        hub::hub_port_logical_disconnect(sys, udev);
        return -ENODEV;
    }
    if udev.state() == UsbState::Suspended {
        usb_set_device_state(sys, udev, UsbState::Configured);
    }
    // finish_port_resume: if (udev->reset_resume) ... usb_reset_and_verify_device
    if udev.bit(bits::RESET_RESUME) {
        return hub::usb_reset_and_verify_device(sys, udev);
    }
    0
}

/// The interfaces `usb_suspend_both`'s failure path resumes: `while (++i < n)` after
/// the loop `for (i = n - 1; i >= 0; --i)` stopped at `i` (-1 when every interface
/// was suspended and the device suspend failed).
fn resumed_after_failure(i: isize, n: usize) -> std::ops::Range<usize> {
    (i + 1) as usize..n
}

/// `usb_suspend_both(udev, msg)` (spec (g)2, (h)2.3).
pub fn usb_suspend_both(sys: &Sys, udev: &UsbDevice, msg: PmMsg) -> i32 {
    let _f = ksync::frame("usb_suspend_both");
    let st = udev.state();
    if st == UsbState::NotAttached || st == UsbState::Suspended {
        return 0;
    }
    let contract = sys.contract();
    contract.suspend_begin(udev);
    let offload_active = msg == PmMsg::Suspend && usb_offload_check(sys, udev);
    if msg == PmMsg::Suspend {
        // PM-4: the decision is the live offload activity of the subtree now
        let live = crate::invariants::live_offload_in_subtree(sys, udev);
        let attached = UsbState::from_u32(udev.state.observe()) != UsbState::NotAttached;
        ksync::check(offload_active == live, "PM-4", || {
            // Why they differ, for the reader and for the cause rules.
            let why = if !attached {
                "the device is no longer attached"
            } else if offload_active {
                "no live session in the subtree while an offload_usage is still counted"
            } else {
                "a live session whose offload_usage is not counted"
            };
            format!(
                "{}: system-suspend offload decision {offload_active} but live offload activity in its subtree {live}: {why}",
                udev.name
            )
        });
    }
    contract.suspend_decided(udev, offload_active);
    let mut status = 0;
    let n = udev.interfaces.len();
    // `for (i = n - 1; i >= 0; --i)`: on a failure `i` is the failing interface; after
    // the loop (and a failed device suspend) it is -1
    let mut i = n as isize - 1;
    while i >= 0 {
        let intf = &udev.interfaces[i as usize];
        if !(offload_active && intf.needs_remote_wakeup) {
            let r = usb_suspend_interface(sys, udev, intf, msg);
            // errors are ignored during system sleep transitions
            if r != 0 && msg.is_auto() {
                status = r;
                break;
            }
        }
        i -= 1;
    }
    if status == 0 {
        if offload_active {
            udev.ghost.suspend_skipped.set(1);
            ksync::note(|| format!("{}: device suspend skipped (offload active)", udev.name));
        } else {
            udev.ghost.suspend_skipped.set(0);
            let r = usb_suspend_device(sys, udev, msg);
            if r != 0 && msg.is_auto() {
                status = r;
            }
        }
    }
    if status != 0 {
        // "resume interfaces that did get suspended": `while (++i < n)`, i.e. the
        // ones after the failing interface (all of them if the device failed)
        for intf in &udev.interfaces[resumed_after_failure(i, n)] {
            usb_resume_interface(sys, udev, intf, PmMsg::AutoResume);
        }
        contract.suspend_failed(udev);
    }
    status
}

/// `usb_resume_both(udev, msg)` (spec (g) resume 2, (h)3).
pub fn usb_resume_both(sys: &Sys, udev: &UsbDevice, msg: PmMsg) -> i32 {
    let _f = ksync::frame("usb_resume_both");
    let contract = sys.contract();
    let mut status = 0;
    let attached = udev.state() != UsbState::NotAttached;
    if !attached {
        status = -ENODEV;
    } else {
        let decision = contract.resume_decision(sys, udev, msg);
        if msg == PmMsg::Resume {
            udev.ghost.resume_skipped.set(decision as i64);
            let sk = udev.ghost.suspend_skipped.get() != 0;
            ksync::check(sk == decision, "PM-1", || {
                format!(
                    "{}: device suspend skipped for offload = {sk}, resume skipped = {decision}",
                    udev.name
                )
            });
        }
        if (udev.state() == UsbState::Suspended || udev.bit(bits::RESET_RESUME)) && !decision {
            status = usb_resume_device(sys, udev);
        }
        if status == 0 {
            for intf in udev.interfaces.iter() {
                if decision && intf.needs_remote_wakeup {
                    continue;
                }
                usb_resume_interface(sys, udev, intf, msg);
            }
        }
    }
    contract.resume_end(udev, attached);
    if status == 0 {
        udev.set_bit(bits::RESET_RESUME, false);
    }
    status
}

/// `usb_probe_interface` (caller holds udevL and intfL).
pub fn usb_probe_interface(sys: &Sys, udev: &UsbDevice, intf: &UsbInterface) -> i32 {
    let _f = ksync::frame("usb_probe_interface");
    intf.needs_binding.store(false);
    // the autoresume error is returned before anything else changes
    let ar = pm::usb_autoresume_device(sys, udev);
    if ar != 0 {
        return ar;
    }
    intf.condition.store(cond::BINDING);
    pm::intf_runtime_enable(udev, intf.num);
    let r = match intf.kind {
        IntfKind::AudioControl => card::usb_audio_probe(sys, udev, intf),
        _ => 0,
    };
    if r == 0 {
        intf.condition.store(cond::BOUND);
    } else {
        intf.intfdata.store(None);
        intf.condition.store(cond::UNBOUND);
        pm::intf_runtime_disable_suspended(udev, intf.num);
    }
    pm::usb_autosuspend_device(sys, udev);
    r
}

/// `usb_unbind_interface` (spec (d)2.4).
pub fn usb_unbind_interface(sys: &Sys, udev: &UsbDevice, intf: &UsbInterface) {
    let _f = ksync::frame("usb_unbind_interface");
    intf.condition.store(cond::UNBINDING);
    let ar = pm::usb_autoresume_device(sys, udev);
    // usb_disable_interface: kill URBs (no model state)
    match intf.kind {
        IntfKind::AudioControl | IntfKind::AudioStreaming => {
            card::usb_audio_disconnect(sys, udev, intf)
        }
        IntfKind::Hub => {}
    }
    intf.intfdata.store(None);
    intf.condition.store(cond::UNBOUND);
    pm::intf_runtime_disable_suspended(udev, intf.num);
    if ar == 0 {
        pm::usb_autosuspend_device(sys, udev);
    }
}

/// `device_release_driver(&intf->dev)`: takes intfL; the caller holds udevL (R2).
pub fn device_release_driver(sys: &Sys, udev: &UsbDevice, intf: &UsbInterface) {
    let _f = ksync::frame("device_release_driver");
    ksync::check(udev.dev_mutex.is_held(), "LK-4", || {
        format!(
            "device_release_driver on an interface of {} without udevL held",
            udev.name
        )
    });
    let _il = intf.dev_mutex.lock();
    let c = intf.condition.load();
    if c == cond::BOUND || c == cond::UNBINDING {
        usb_unbind_interface(sys, udev, intf);
    }
}

/// `usb_driver_release_interface`.
pub fn usb_driver_release_interface(sys: &Sys, udev: &UsbDevice, intf: &UsbInterface) {
    let _f = ksync::frame("usb_driver_release_interface");
    if intf.condition.load() != cond::BOUND {
        return;
    }
    intf.condition.store(cond::UNBINDING);
    device_release_driver(sys, udev, intf);
}

/// `usb_forced_unbind_intf`.
pub fn usb_forced_unbind_intf(sys: &Sys, udev: &UsbDevice, intf: &UsbInterface) {
    let _f = ksync::frame("usb_forced_unbind_intf");
    usb_driver_release_interface(sys, udev, intf);
    intf.needs_binding.store(true);
}

/// `usb_rebind_intf` → `device_attach` (+intfL) → `usb_probe_interface`.
pub fn usb_rebind_intf(sys: &Sys, udev: &UsbDevice, intf: &UsbInterface) {
    let _f = ksync::frame("usb_rebind_intf");
    let _il = intf.dev_mutex.lock();
    if intf.condition.load() == cond::UNBOUND {
        intf.needs_binding.store(false);
        usb_probe_interface(sys, udev, intf);
    }
}

/// `usb_suspend` (PM core holds udevL).
pub fn usb_suspend(sys: &Sys, udev: &UsbDevice) -> i32 {
    let _f = ksync::frame("usb_suspend");
    udev.ghost.in_system_sleep.set(1);
    choose_wakeup(udev);
    usb_suspend_both(sys, udev, PmMsg::Suspend);
    0 // errors of non-root devices are ignored in system sleep
}

/// `usb_resume` (PM core holds udevL): resume, then disable/set_active/enable.
pub fn usb_resume(sys: &Sys, udev: &UsbDevice) -> i32 {
    let _f = ksync::frame("usb_resume");
    let r = usb_resume_both(sys, udev, PmMsg::Resume);
    if r == 0 {
        pm::pm_runtime_disable(udev);
        pm::pm_runtime_set_active(udev);
        pm::pm_runtime_enable(udev);
    }
    udev.ghost.in_system_sleep.set(0);
    // PM-2: USB state and runtime status agree.
    let st = udev.state();
    let rs = udev.pm.status.load();
    ksync::check(
        !(st == UsbState::Suspended && rs == RPM_ACTIVE),
        "PM-2",
        || {
            format!(
                "after usb_resume({}): state SUSPENDED but runtime status ACTIVE",
                udev.name
            )
        },
    );
    let _ = RPM_SUSPENDED;
    if r == -ENODEV || r == -ESHUTDOWN {
        0
    } else {
        r
    }
}

/// One system-sleep cycle driven by the PM core (T_sys, spec (g)): the freezing of
/// user tasks and freezable workqueues, prepare (usage reference on every device), suspend children before parents (each under its
/// udevL), xhci-plat suspend (`xhci_sideband_check`), suspend_late (runtime PM
/// disabled), resume_early, resume parents before children, complete, the thaw.
pub fn system_sleep_cycle(sys: &Sys) {
    let _f = ksync::frame("dpm_suspend_resume");
    if !suspend_freeze_processes(sys) {
        return;
    }
    let n = sys.devs.len();
    for u in &sys.devs {
        pm::pm_runtime_get_noresume(u);
    }
    // PM-3 concerns the devices still attached when an ancestor decides: checker-side
    // snapshot (no scheduling point) of which devices are attached at each decision.
    let attached = |d: &UsbDevice| d.state.peek() != UsbState::NotAttached as u32;
    let mut attached_at_decision = vec![Vec::new(); n];
    for idx in (0..n).rev() {
        let u = &sys.devs[idx];
        if !u.port_child.load() {
            continue;
        }
        let _f = ksync::frame("device_suspend");
        // wait for runtime-PM callbacks in progress, then lock the device
        pm::pm_runtime_barrier(u);
        let _g = u.dev_mutex.lock();
        attached_at_decision[idx] = sys.devs.iter().map(attached).collect();
        usb_suspend(sys, u);
    }
    // xhci-plat suspend
    let sb_at_suspend = crate::usb::host::xhci_sideband::xhci_sideband_check(sys);
    let attached_at_controller: Vec<bool> = sys.devs.iter().map(attached).collect();
    // PM-3 / PM-9: ancestor closure and controller decision, over the devices still
    // attached when the ancestor (the controller) decided.
    for (ui, u) in sys.devs.iter().enumerate() {
        if u.ghost.suspend_skipped.get() != 0 {
            let mut p = u.parent;
            while let Some(pi) = p {
                let pd = &sys.devs[pi];
                let counts = attached_at_decision[pi].get(ui).copied().unwrap_or(false);
                ksync::check(
                    !counts || pd.ghost.suspend_skipped.get() != 0,
                    "PM-3",
                    || {
                        format!(
                            "{} skipped suspend for offload but ancestor {} did not",
                            u.name, pd.name
                        )
                    },
                );
                p = pd.parent;
            }
            ksync::check(!attached_at_controller[ui] || sb_at_suspend, "PM-9", || {
                format!(
                    "{} skipped suspend for offload but the controller suspends",
                    u.name
                )
            });
        }
    }
    for u in &sys.devs {
        pm::pm_runtime_disable(u);
    }
    for u in &sys.devs {
        pm::pm_runtime_enable(u);
    }
    for u in &sys.devs {
        if !u.port_child.load() {
            continue;
        }
        let _f = ksync::frame("device_resume");
        let _g = u.dev_mutex.lock();
        usb_resume(sys, u);
    }
    // complete, children before parents: `usb_resume_complete` under the device lock
    // rebinds the interfaces marked for it; then `device_complete`'s
    // `pm_runtime_put` drops prepare's reference with an idle notification (hubs:
    // no idle, they never runtime-suspend here)
    for u in sys.devs.iter().rev() {
        if u.port_child.load() {
            let _f = ksync::frame("device_complete");
            let _g = u.dev_mutex.lock();
            usb_resume_complete(sys, u);
        }
        if u.interfaces.iter().any(|i| i.kind == IntfKind::Hub) {
            pm::pm_runtime_put_noidle(u);
        } else {
            pm::pm_runtime_put(sys, u);
        }
    }
    thaw_processes(sys);
}

/// `suspend_freeze_processes`: `freeze_processes` (user tasks: usbfs and sysfs
/// callers), then `freeze_kernel_threads`, whose `freeze_workqueues_begin` freezes the
/// WQ_FREEZABLE queues `hub_wq` and `pm_wq` (the QMI handle's ordered queue and
/// `system_wq`, where the reset work runs, are not freezable) and waits for their
/// active items. Each wait gives up after 20 s: "Freezing of tasks failed", the
/// suspend is aborted and everything thawed.
fn suspend_freeze_processes(sys: &Sys) -> bool {
    if !sys.freezer.freeze_processes() {
        ksync::note(|| "Freezing of tasks failed: a user task, suspend aborted".into());
        sys.freezer.thaw_tasks();
        return false;
    }
    let _f = ksync::frame("freeze_kernel_threads");
    sys.hub_wq.freeze_begin();
    sys.pm_wq.freeze_begin();
    // one deadline for both (try_to_freeze_tasks' end_time)
    let start = ksync::now_ms();
    let left = || (FREEZE_TIMEOUT_MS - (ksync::now_ms() - start).min(FREEZE_TIMEOUT_MS)).max(1);
    let ok = sys.hub_wq.freeze_wait(left()) && sys.pm_wq.freeze_wait(left());
    if !ok {
        ksync::note(|| {
            "Freezing of tasks failed: a freezable workqueue busy, suspend aborted".into()
        });
        thaw_processes(sys);
    }
    ok
}

/// `thaw_processes`: `thaw_workqueues` (the items queued while frozen run now), then
/// the frozen tasks.
fn thaw_processes(sys: &Sys) {
    sys.hub_wq.thaw();
    sys.pm_wq.thaw();
    sys.freezer.thaw_tasks();
}

/// `usb_resume_complete` (PM core holds udevL): rebinds the interfaces whose
/// `needs_binding` is set, unless the device is gone.
fn usb_resume_complete(sys: &Sys, udev: &UsbDevice) {
    let _f = ksync::frame("usb_resume_complete");
    if udev.state() == UsbState::NotAttached {
        return;
    }
    for intf in &udev.interfaces {
        if intf.needs_binding.load() {
            usb_rebind_intf(sys, udev, intf);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::resumed_after_failure;

    #[test]
    fn suspend_failure_resumes_only_the_interfaces_already_suspended() {
        // interfaces suspend from the last to the first: a failure at 1 of 3 has
        // suspended only interface 2, and interface 1 itself did not suspend
        assert_eq!(resumed_after_failure(1, 3), 2..3);
        // the first interface to suspend (the last one) failed: nothing to resume
        assert_eq!(resumed_after_failure(2, 3), 3..3);
        // all interfaces suspended, then the device suspend failed
        assert_eq!(resumed_after_failure(-1, 3), 0..3);
    }
}
