//! v2 (merged in 7.0-rc7): a per-device `offload_lock` spinlock and
//! `pm_runtime_get_if_active`; `offload_pm_locked` is set for the whole of a
//! non-trivial `usb_suspend_both` and the next `usb_resume_both`, and get/put fail with
//! -EAGAIN while it is set. The qc driver calls get/put, as in v1, without the device
//! lock.

use super::{any_child_offloaded, change_count, usb_offload_set_pm_locked, Contract, Op};
use crate::errno::*;
use crate::system::Sys;
use crate::usb::core::device::{bits, UsbDevice};
use crate::usb::core::driver::PmMsg;
use crate::usb::core::offload::usb_offload_check;
use crate::usb::core::pm;

pub struct V2OffloadSpinlock;

impl Contract for V2OffloadSpinlock {
    fn usb_offload_get(&self, sys: &Sys, udev: &UsbDevice) -> i32 {
        spinlocked_op(sys, udev, Op::Get)
    }

    fn usb_offload_put(&self, sys: &Sys, udev: &UsbDevice) -> i32 {
        spinlocked_op(sys, udev, Op::Put)
    }

    /// The device's own count first (read without `offload_lock`), then the children.
    fn offload_check_subtree(&self, sys: &Sys, udev: &UsbDevice) -> bool {
        udev.offload_usage.read() != 0 || any_child_offloaded(sys, udev)
    }

    fn suspend_begin(&self, udev: &UsbDevice) {
        usb_offload_set_pm_locked(udev, true);
    }

    fn suspend_failed(&self, udev: &UsbDevice) {
        usb_offload_set_pm_locked(udev, false);
    }

    fn resume_decision(&self, sys: &Sys, udev: &UsbDevice, msg: PmMsg) -> bool {
        msg == PmMsg::Resume && usb_offload_check(sys, udev)
    }

    fn resume_end(&self, udev: &UsbDevice, _attached: bool) {
        usb_offload_set_pm_locked(udev, false);
    }

    fn class_driver_tracks_usage(&self) -> bool {
        true
    }
}

fn spinlocked_op(sys: &Sys, udev: &UsbDevice, op: Op) -> i32 {
    // usb_get_dev(udev) never fails for a non-NULL udev.
    let r = pm::pm_runtime_get_if_active(udev);
    if r != 1 {
        return -EBUSY;
    }
    let ret = {
        let _l = udev.offload_lock.lock();
        if udev.bit(bits::OFFLOAD) {
            -EAGAIN
        } else {
            change_count(udev, op, udev.bit_peek(bits::OFFLOAD));
            0
        }
    };
    pm::pm_runtime_put_autosuspend(sys, udev);
    ret
}
