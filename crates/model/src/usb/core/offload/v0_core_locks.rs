//! v0 (v6.18-rc1 … 7.0-rc7): `usb_offload_get/put` take the device lock themselves,
//! and the xHCI sideband calls them when it creates and removes the interrupter;
//! system suspend records its decision in `offload_at_suspend`.

use super::{any_child_offloaded, change_count, Contract, Op};
use crate::errno::*;
use crate::system::Sys;
use crate::usb::core::device::{bits, UsbDevice, UsbState};
use crate::usb::core::driver::PmMsg;
use crate::usb::core::pm;

/// The part of the contract v0 and v1 share: the children-first check, and the
/// `offload_at_suspend` bit set by a system suspend that found offload active, read by
/// the next resume and cleared at its end (for a device still attached).
macro_rules! offload_at_suspend_bookkeeping {
    () => {
        fn offload_check_subtree(&self, sys: &Sys, udev: &UsbDevice) -> bool {
            $crate::usb::core::offload::v0_core_locks::offload_check_children_first(sys, udev)
        }

        fn suspend_decided(&self, udev: &UsbDevice, offload_active: bool) {
            if offload_active {
                udev.set_bit(bits::OFFLOAD, true);
            }
        }

        fn resume_decision(&self, _sys: &Sys, udev: &UsbDevice, _msg: PmMsg) -> bool {
            udev.bit(bits::OFFLOAD)
        }

        fn resume_end(&self, udev: &UsbDevice, attached: bool) {
            if attached {
                udev.set_bit(bits::OFFLOAD, false);
            }
        }
    };
}
pub(super) use offload_at_suspend_bookkeeping;

pub struct V0CoreLocks;

impl Contract for V0CoreLocks {
    fn usb_offload_get(&self, sys: &Sys, udev: &UsbDevice) -> i32 {
        locked_op(sys, udev, Op::Get)
    }

    fn usb_offload_put(&self, sys: &Sys, udev: &UsbDevice) -> i32 {
        locked_op(sys, udev, Op::Put)
    }

    offload_at_suspend_bookkeeping!();

    fn sideband_tracks_usage(&self) -> bool {
        true
    }
}

fn locked_op(sys: &Sys, udev: &UsbDevice, op: Op) -> i32 {
    // LK-4: "the caller must not hold udevL". Acquiring it again is LK-1.
    ksync::check(!udev.dev_mutex.is_held(), "LK-4", || {
        format!(
            "usb_offload_{} (v0) called with udevL({}) held; it takes udevL itself",
            op.name(),
            udev.name
        )
    });
    let _g = udev.dev_mutex.lock();
    state_checks_and_change(sys, udev, op)
}

/// Steps 2–6 of §3.1/§3.2 (v0 with udevL held by itself, v1 by the caller).
pub(super) fn state_checks_and_change(sys: &Sys, udev: &UsbDevice, op: Op) -> i32 {
    let st = udev.state();
    if st == UsbState::NotAttached {
        return -ENODEV;
    }
    if st == UsbState::Suspended || udev.bit(bits::OFFLOAD) {
        return -EBUSY;
    }
    let r = pm::usb_autoresume_device(sys, udev);
    if r < 0 {
        return r;
    }
    change_count(udev, op, udev.bit_peek(bits::OFFLOAD));
    pm::usb_autosuspend_device(sys, udev);
    0
}

/// v0/v1 `usb_offload_check`: the children first, then the device's own count.
pub(super) fn offload_check_children_first(sys: &Sys, udev: &UsbDevice) -> bool {
    any_child_offloaded(sys, udev) || udev.offload_usage.read() != 0
}
