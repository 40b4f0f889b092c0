//! `drivers/usb/core/devio.c` (usbfs ioctls, T_usr) and the sysfs `unbind` attribute
//! (spec (f)). `usbdev_do_ioctl` holds udevL for the whole ioctl. Each is one system
//! call of a user task, frozen across system sleep before it starts
//! ([`crate::kernel::freezer::Freezer::syscall`]).

use crate::errno::*;
use crate::system::Sys;
use crate::usb::core::device::{cond, UsbState};
use crate::usb::core::{driver, hub};

/// `USBDEVFS_IOCTL` with `USBDEVFS_DISCONNECT` for interface `ifnum`.
pub fn usbfs_ioctl_disconnect(sys: &Sys, udev_idx: usize, ifnum: usize) -> i32 {
    sys.freezer
        .syscall(|| usbdev_ioctl_disconnect(sys, udev_idx, ifnum))
}

fn usbdev_ioctl_disconnect(sys: &Sys, udev_idx: usize, ifnum: usize) -> i32 {
    let _f = ksync::frame("usbdev_do_ioctl");
    let udev = &sys.devs[udev_idx];
    let _ul = udev.dev_mutex.lock();
    if udev.state() == UsbState::NotAttached {
        return -ENODEV;
    }
    let _f2 = ksync::frame("proc_ioctl");
    if udev.state() != UsbState::Configured {
        return -EHOSTUNREACH;
    }
    let intf = &udev.interfaces[ifnum];
    // if (intf->dev.driver) usb_driver_release_interface(...) else -ENODATA
    if intf.condition.load() == cond::UNBOUND {
        return -ENODATA;
    }
    driver::usb_driver_release_interface(sys, udev, intf);
    0
}

/// `USBDEVFS_RESET` → `proc_resetdevice` → `usb_reset_device`.
pub fn usbfs_ioctl_reset(sys: &Sys, udev_idx: usize) -> i32 {
    sys.freezer.syscall(|| usbdev_ioctl_reset(sys, udev_idx))
}

fn usbdev_ioctl_reset(sys: &Sys, udev_idx: usize) -> i32 {
    let _f = ksync::frame("usbdev_do_ioctl");
    let udev = &sys.devs[udev_idx];
    let _ul = udev.dev_mutex.lock();
    if udev.state() == UsbState::NotAttached {
        return -ENODEV;
    }
    let _f2 = ksync::frame("proc_resetdevice");
    hub::usb_reset_device(sys, udev)
}

/// sysfs `unbind` (`device_driver_detach`): parent lock, then interface lock.
pub fn sysfs_unbind(sys: &Sys, udev_idx: usize, ifnum: usize) {
    sys.freezer.syscall(|| {
        let _f = ksync::frame("unbind_store");
        let udev = &sys.devs[udev_idx];
        let _ul = udev.dev_mutex.lock();
        driver::device_release_driver(sys, udev, &udev.interfaces[ifnum]);
    })
}
