//! v1 (posted Feb/Mar 2026, never merged): the caller of `usb_offload_get/put` holds
//! the device lock (`device_lock_assert`), and the qc driver calls them from its
//! event-ring setup and cleanup, taking the device lock around its stream paths;
//! system suspend records its decision in `offload_at_suspend`, as in v0.

use super::v0_core_locks::{offload_at_suspend_bookkeeping, state_checks_and_change};
use super::{Contract, Op};
use crate::system::Sys;
use crate::usb::core::device::{bits, UsbDevice};
use crate::usb::core::driver::PmMsg;
use ksync::{FindingKind, MutexGuard};

pub struct V1CallerLocks;

impl Contract for V1CallerLocks {
    fn usb_offload_get(&self, sys: &Sys, udev: &UsbDevice) -> i32 {
        caller_locked_op(sys, udev, Op::Get)
    }

    fn usb_offload_put(&self, sys: &Sys, udev: &UsbDevice) -> i32 {
        caller_locked_op(sys, udev, Op::Put)
    }

    offload_at_suspend_bookkeeping!();

    fn class_driver_tracks_usage(&self) -> bool {
        true
    }

    fn class_driver_device_lock<'a>(&self, udev: &'a UsbDevice) -> Option<MutexGuard<'a, ()>> {
        Some(udev.dev_mutex.lock())
    }
}

fn caller_locked_op(sys: &Sys, udev: &UsbDevice, op: Op) -> i32 {
    // device_lock_assert: lockdep warns and continues.
    if !udev.dev_mutex.is_held() {
        ksync::report(
            FindingKind::Invariant,
            "LK-4",
            format!(
                "device_lock_assert failed in usb_offload_{} (v1): udevL({}) not held by caller",
                op.name(),
                udev.name
            ),
        );
    }
    state_checks_and_change(sys, udev, op)
}
