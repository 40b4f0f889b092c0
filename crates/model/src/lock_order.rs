//! The lock hierarchy of the `typed` design, declared once as types.
//!
//! Each edge `A => B` says "B may be acquired while A is the innermost level held";
//! the order is the chain below. Waits are levels too: `W_rpm` (a runtime-PM
//! transition's end) and `W_inuse` (a session's end) sit before every lock their
//! wakers take, so waiting for a runtime resume under `qdev_mutex`, or for a session's
//! end under `&chip->mutex`, does not compile. The USB core's device and interface
//! locks come first: the core holds them around the driver callbacks it runs, and
//! hands the callbacks a context at the level it holds ("`Device<Core>`").
//!
//! `usb-offload locks --design typed` checks the lock graph every scenario produces
//! against this declaration; `docs/typed-design.md` prints it as a table.

use crate::sound::usb::card::{Chip, ChipState, RegState};
use crate::sound::usb::qcom::offload::QdevState;
use crate::system::System;
use crate::usb::core::device::UsbDevice;
use ksync::order::{MutexAt, Unlocked, WaitAt};

ksync::lock_level!(
    /// `&udev->dev.mutex` of the audio device (the core holds it around probe,
    /// disconnect, reset and system-sleep callbacks).
    pub UdevLock = "&udev->dev.mutex"
);
ksync::lock_level!(
    /// `&intf->dev.mutex` (held with the device lock around bind and unbind).
    pub IntfLock = "&intf->dev.mutex"
);
ksync::lock_level!(
    /// `W_rpm`: waiting for a runtime-PM transition of the device to end.
    pub RpmWait = "W_rpm"
);
ksync::lock_level!(
    /// `hcd->address0_mutex` (held by a reset around the xHCI ring-free notification).
    pub Address0Mutex = "hcd->address0_mutex"
);
ksync::lock_level!(
    /// snd-usb-audio's `register_mutex` (held around `connect_cb`/`disconnect_cb`).
    pub RegisterMutex = "register_mutex"
);
ksync::lock_level!(
    /// `W_inuse`: waiting for a card's offload session to end.
    pub InUseWait = "W_inuse"
);
ksync::lock_level!(
    /// The qc driver's `qdev_mutex`.
    pub QdevMutex = "qdev_mutex"
);
ksync::lock_level!(
    /// `&chip->mutex`.
    pub ChipMutex = "&chip->mutex"
);
ksync::lock_level!(
    /// `&sb->mutex` of the xHCI sideband.
    pub SbMutex = "&sb->mutex"
);
ksync::lock_level!(
    /// `&xhci->lock`.
    pub XhciLock = "&xhci->lock"
);
ksync::lock_level!(
    /// `&udev->offload_lock`: the innermost level.
    pub OffloadLock = "&udev->offload_lock"
);

ksync::lock_hierarchy! {
    pub static TYPED_ORDER;
    Unlocked => UdevLock;
    UdevLock => IntfLock;
    IntfLock => RpmWait;
    RpmWait => Address0Mutex;
    Address0Mutex => RegisterMutex;
    RegisterMutex => InUseWait;
    InUseWait => QdevMutex;
    QdevMutex => ChipMutex;
    ChipMutex => SbMutex;
    SbMutex => XhciLock;
    XhciLock => OffloadLock;
}

// The kernel's locks bound to their levels: the one place that says which lock is at
// which level.

/// `qdev_mutex`.
pub fn qdev_mutex(sys: &System) -> MutexAt<'_, QdevMutex, QdevState> {
    MutexAt::bind(&sys.qc.qdev_mutex)
}

/// `&chip->mutex`.
pub fn chip_mutex(chip: &Chip) -> MutexAt<'_, ChipMutex, ChipState> {
    MutexAt::bind(&chip.mutex)
}

/// `register_mutex`.
pub fn register_mutex(sys: &System) -> MutexAt<'_, RegisterMutex, RegState> {
    MutexAt::bind(&sys.snd.register_mutex)
}

/// `&udev->dev.mutex`.
pub fn udev_lock(udev: &UsbDevice) -> MutexAt<'_, UdevLock, ()> {
    MutexAt::bind(&udev.dev_mutex)
}

/// `W_inuse` of `card` (`uadev[card].disconnect_wq`).
pub fn disconnect_wq(sys: &System, card: usize) -> WaitAt<'_, InUseWait> {
    WaitAt::bind(&sys.qc.uadev[card].disconnect_wq)
}

/// `W_rpm` of the chip's device.
pub fn rpm_wait<'s>(sys: &'s System, chip: &Chip) -> WaitAt<'s, RpmWait> {
    WaitAt::bind(&sys.devs[chip.udev].pm.w_rpm)
}
