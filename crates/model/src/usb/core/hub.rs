//! `drivers/usb/core/hub.c` (and the parts of `usb.c`/`message.c` it needs):
//! `hub_event` → `usb_disconnect` (spec (d)), `usb_reset_device` with forced unbind
//! and rebind (spec (e)), `usb_lock_device_for_reset`, `usb_reset_and_verify_device`
//! with the xHCI `reset_device` hook that sends ring-free notifications (spec (i)).

use crate::errno::*;
use crate::system::Sys;
use crate::usb::core::device::{
    cond, recursively_mark_not_attached, usb_set_device_state, UsbDevice, UsbState,
};
use crate::usb::core::driver;
use crate::usb::core::pm;
use crate::usb::host::xhci_sideband;

/// The device `udev_idx` is pulled out (T_hub): its port reports no connection from
/// now on, and the port status change (`hub_irq`, or `hub_activate` when the hub
/// resumes) kicks `hub_wq`, whose `hub_event` this task then runs; while `hub_wq` is
/// frozen for system sleep it runs only after the thaw.
pub fn unplug(sys: &Sys, udev_idx: usize) {
    sys.devs[udev_idx].port_connected.store(false);
    sys.hub_wq
        .run_work("hub_event", || hub_event_disconnect(sys, udev_idx));
}

/// `hub_port_logical_disconnect` from a failed port resume: `hub_port_disable(hub,
/// port1, 1)` marks the device NOTATTACHED; the `kick_hub_wq` that follows finds the
/// hub's `hub_event` already queued by the unplug ([`unplug`]).
pub fn hub_port_logical_disconnect(sys: &Sys, udev: &UsbDevice) {
    let _f = ksync::frame("hub_port_logical_disconnect");
    usb_set_device_state(sys, udev, UsbState::NotAttached);
}

/// `hub_event` for a port whose device `udev_idx` went away.
pub fn hub_event_disconnect(sys: &Sys, udev_idx: usize) {
    let _f = ksync::frame("hub_event");
    let udev = &sys.devs[udev_idx];
    let hub = &sys.devs[udev.parent.expect("not a root hub")];
    let _hl = hub.dev_mutex.lock();
    // autoresume of the hub interface: hubs stay active in this model
    {
        let _f = ksync::frame("port_event");
        let _pl = udev.port_lock.lock();
        // hub_port_connect_change releases the port lock before usb_disconnect
    }
    {
        let _f = ksync::frame("hub_port_connect");
        usb_disconnect(sys, udev);
    }
}

/// `usb_disconnect(&port->child)`.
pub fn usb_disconnect(sys: &Sys, udev: &UsbDevice) {
    let _f = ksync::frame("usb_disconnect");
    recursively_mark_not_attached(sys, udev);
    pm::pm_runtime_barrier(udev);
    let ul = udev.dev_mutex.lock();
    for &c in &udev.children {
        usb_disconnect(sys, &sys.devs[c]);
    }
    usb_disable_device(sys, udev);
    sys.contract().device_released(udev);
    drop(ul);
    // device_del, release devnum, clear port->child under L_dsl, free the HCD slot
    {
        let _dsl = sys.device_state_lock.lock();
        udev.port_child.store(false);
    }
    xhci_sideband::xhci_free_dev(sys, udev);
}

/// `usb_disable_device`: unbind every interface (caller holds udevL).
pub fn usb_disable_device(sys: &Sys, udev: &UsbDevice) {
    let _f = ksync::frame("usb_disable_device");
    for intf in &udev.interfaces {
        // device_del(&intf->dev) → device_release_driver
        driver::device_release_driver(sys, udev, intf);
    }
}

/// The `port_event` "warm reset, full device" branch of `hub_event` on `hub_wq`
/// (T_hub): −L_port, +udevL (blocking), `usb_reset_device`, −udevL.
pub fn hub_port_warm_reset(sys: &Sys, udev_idx: usize) -> i32 {
    let mut ret = 0;
    sys.hub_wq.run_work("hub_event", || {
        ret = hub_port_warm_reset_event(sys, udev_idx)
    });
    ret
}

fn hub_port_warm_reset_event(sys: &Sys, udev_idx: usize) -> i32 {
    let _f = ksync::frame("hub_event");
    let udev = &sys.devs[udev_idx];
    let hub = &sys.devs[udev.parent.expect("not a root hub")];
    let _hl = hub.dev_mutex.lock();
    let _f2 = ksync::frame("port_event");
    {
        let _pl = udev.port_lock.lock();
    }
    let _ul = udev.dev_mutex.lock();
    usb_reset_device(sys, udev)
}

/// `usb_lock_device_for_reset`: trylock polled every 15 ms for up to 1 s.
pub fn usb_lock_device_for_reset<'a>(
    udev: &'a UsbDevice,
    intf_num: Option<usize>,
) -> Result<ksync::MutexGuard<'a, ()>, i32> {
    let _f = ksync::frame("usb_lock_device_for_reset");
    let st = udev.state();
    if st == UsbState::NotAttached {
        return Err(-ENODEV);
    }
    if st == UsbState::Suspended {
        return Err(-EHOSTUNREACH);
    }
    if let Some(i) = intf_num {
        let c = udev.interfaces[i].condition.load();
        if c == cond::UNBINDING || c == cond::UNBOUND {
            return Err(-EINTR);
        }
    }
    let start = ksync::now_ms();
    loop {
        if let Some(g) = udev.dev_mutex.try_lock() {
            return Ok(g);
        }
        if ksync::now_ms() - start >= 1000 {
            return Err(-EBUSY);
        }
        ksync::msleep(15);
        if let Some(i) = intf_num {
            let c = udev.interfaces[i].condition.load();
            if c == cond::UNBINDING || c == cond::UNBOUND {
                return Err(-EINTR);
            }
        }
    }
}

/// `__usb_queue_reset_device` work (T_reset).
pub fn usb_queue_reset_work(sys: &Sys, udev_idx: usize, intf_num: usize) -> i32 {
    let _f = ksync::frame("__usb_queue_reset_device");
    let udev = &sys.devs[udev_idx];
    match usb_lock_device_for_reset(udev, Some(intf_num)) {
        Ok(g) => {
            let r = usb_reset_device(sys, udev);
            drop(g);
            r
        }
        Err(e) => e,
    }
}

/// `usb_reset_device(udev)`: the caller holds udevL (spec (e)).
pub fn usb_reset_device(sys: &Sys, udev: &UsbDevice) -> i32 {
    let _f = ksync::frame("usb_reset_device");
    ksync::check(udev.dev_mutex.is_held(), "LK-4", || {
        format!("usb_reset_device({}) without udevL", udev.name)
    });
    if udev.state() == UsbState::NotAttached {
        return -EINVAL;
    }
    if udev.is_root_hub() {
        return -EISDIR;
    }
    if udev.reset_in_progress.load() {
        return -EINPROGRESS;
    }
    udev.reset_in_progress.store(true);
    // "Prevent autosuspend during the reset": the result is not looked at, and the
    // autosuspend at the end is unconditional (a failed autoresume has already
    // dropped its reference, so that put underflows)
    let _ = pm::usb_autoresume_device(sys, udev);
    // snd-usb-audio has no pre_reset/post_reset: every bound interface is unbound.
    for intf in &udev.interfaces {
        if intf.condition.load() == cond::BOUND {
            driver::usb_forced_unbind_intf(sys, udev, intf);
        }
    }
    let ret = {
        let _pl = udev.port_lock.lock();
        usb_reset_and_verify_device(sys, udev)
    };
    if ret == 0 {
        // usb_unbind_and_rebind_marked_interfaces
        for intf in &udev.interfaces {
            if intf.needs_binding.load() {
                driver::usb_rebind_intf(sys, udev, intf);
            }
        }
    }
    pm::usb_autosuspend_device(sys, udev);
    udev.reset_in_progress.store(false);
    ret
}

/// `usb_reset_and_verify_device`: +L_addr0, port reset → xHCI `reset_device` (ring
/// free notifications), −L_addr0, +L_bw −L_bw.
pub fn usb_reset_and_verify_device(sys: &Sys, udev: &UsbDevice) -> i32 {
    let _f = ksync::frame("usb_reset_and_verify_device");
    let st = udev.state();
    if st == UsbState::NotAttached || st == UsbState::Suspended {
        return -EINVAL;
    }
    {
        let _a0 = sys.address0_mutex.lock();
        let _f = ksync::frame("hub_port_init");
        xhci_sideband::xhci_discover_or_reset_device(sys, udev);
    }
    {
        let _bw = sys.bandwidth_mutex.lock();
    }
    if udev.state() == UsbState::NotAttached {
        return -ENODEV;
    }
    0
}
