//! `struct usb_device`, `struct usb_interface` and the device-state helpers of
//! `hub.c` (`usb_set_device_state`, `recursively_mark_NOTATTACHED`).

use crate::ptr::{Ghost, Ptr};
use crate::sound::usb::card::Chip;
use crate::system::System;
use crate::usb::core::pm::RuntimePm;
use ksync::{AtomicBool, AtomicI32, AtomicU32, LockClass, Mutex, Racy, SpinLock};

/// `enum usb_device_state`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum UsbState {
    NotAttached = 0,
    Attached,
    Powered,
    Reconnecting,
    Unauthenticated,
    Default,
    Address,
    Configured,
    Suspended,
}

impl UsbState {
    pub fn from_u32(v: u32) -> UsbState {
        use UsbState::*;
        [
            NotAttached,
            Attached,
            Powered,
            Reconnecting,
            Unauthenticated,
            Default,
            Address,
            Configured,
            Suspended,
        ][v as usize]
    }
}

/// `enum usb_interface_condition`.
pub mod cond {
    pub const UNBOUND: u32 = 0;
    pub const BINDING: u32 = 1;
    pub const BOUND: u32 = 2;
    pub const UNBINDING: u32 = 3;
}

/// Which driver an interface is bound to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IntfKind {
    /// The hub driver's interface (needs_remote_wakeup).
    Hub,
    /// Audio control interface: probed by snd-usb-audio (`usb_audio_probe`).
    AudioControl,
    /// Audio streaming interface: claimed by snd-usb-audio with the UNUSED sentinel.
    AudioStreaming,
}

/// Bits of the `usb_device` bit-field word `do_remote_wakeup:1, reset_resume:1,
/// port_is_suspended:1, offload_at_suspend:1` (v0, v1) / `offload_pm_locked:1` (v2)
/// (spec §1.1). Writing one bit is a read-modify-write of the whole word, so every
/// access is an access of the word ([`UsbDevice::pm_word`]).
pub mod bits {
    pub const DO_REMOTE_WAKEUP: u8 = 1 << 0;
    pub const RESET_RESUME: u8 = 1 << 1;
    pub const PORT_IS_SUSPENDED: u8 = 1 << 2;
    /// `offload_at_suspend` (v0, v1) or `offload_pm_locked` (v2).
    pub const OFFLOAD: u8 = 1 << 3;
}

/// `struct usb_interface`.
pub struct UsbInterface {
    pub num: usize,
    pub kind: IntfKind,
    /// intfL (`intf->dev.mutex`).
    pub dev_mutex: Mutex<()>,
    pub condition: AtomicU32,
    pub needs_binding: AtomicBool,
    pub needs_remote_wakeup: bool,
    /// `usb_get_intfdata`: the snd chip for an audio-control interface.
    pub intfdata: Ptr<Chip>,
}

/// `struct usb_device` (with its `xhci_virt_device` presence).
pub struct UsbDevice {
    pub idx: usize,
    pub name: String,
    pub depth: u8,
    pub parent: Option<usize>,
    pub children: Vec<usize>,
    pub is_hub: bool,
    /// `udev->state`; written under L_dsl via [`usb_set_device_state`], read without it.
    pub state: AtomicU32,
    /// udevL (`udev->dev.mutex`), subclass = depth in the tree.
    pub dev_mutex: Mutex<()>,
    /// L_port of the parent-hub port this device hangs on.
    pub port_lock: Mutex<()>,
    pub pm: RuntimePm,
    pub interfaces: Vec<UsbInterface>,
    /// `offload_usage` (all versions): a plain int, written under udevL (v0 by
    /// get/put, v1 by their callers) or `offload_lock` (v2), read by
    /// `usb_offload_check` without `offload_lock` (LK-8).
    pub offload_usage: Racy<i32>,
    /// The bit-field word of [`bits`]: `offload_at_suspend` (v0/v1) or
    /// `offload_pm_locked` (v2, written under `offload_lock`) shares it with
    /// `do_remote_wakeup`, `reset_resume` and `port_is_suspended`, which are written
    /// without that lock (LK-8).
    pub pm_word: Racy<u8>,
    /// v2 `offload_lock` (L_off); typed's too.
    pub offload_lock: SpinLock<()>,
    /// typed: `offload_pm_locked` in a word of its own, written under `offload_lock`.
    pub offload_pm_locked: Racy<bool>,
    /// typed: the system-suspend decision "stays powered for offload", kept until the
    /// resume that ends the bookkeeping (which does not decide again); written and read
    /// by the PM core's paths under the device lock.
    pub offload_at_suspend: Racy<bool>,
    /// typed: puts that landed while `offload_pm_locked` was set, applied when the
    /// bookkeeping ends (written under `offload_lock`; an atomic so that the PM-4
    /// check can read it in the decision's step).
    pub offload_deferred_puts: AtomicI32,
    pub reset_in_progress: AtomicBool,
    /// `port->child` of the parent hub still points at this device.
    pub port_child: AtomicBool,
    /// The parent hub's port reports a connection (`USB_PORT_STAT_CONNECTION`):
    /// false from the physical unplug on, whatever the kernel has noticed.
    pub port_connected: AtomicBool,
    pub slot_id: u32,
    /// `xhci->devs[slot_id] != NULL`.
    pub vdev_present: AtomicBool,
    pub ghost: DevGhost,
}

/// Checker bookkeeping per device (not kernel state).
#[derive(Default)]
pub struct DevGhost {
    /// gets that returned 0
    pub gets_ok: Ghost,
    /// puts that returned 0 and decremented
    pub puts_dec: Ghost,
    /// puts that hit the clamp at 0
    pub puts_on_zero: Ghost,
    /// puts that returned an error (count unchanged)
    pub puts_failed: Ghost,
    /// device suspend skipped because of offload at the last system suspend (PM-1)
    pub suspend_skipped: Ghost,
    /// device resume skipped because of offload at the last system resume (PM-1)
    pub resume_skipped: Ghost,
    /// a system-sleep suspend of this device has run and its resume has not
    pub in_system_sleep: Ghost,
}

impl UsbDevice {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        idx: usize,
        name: &str,
        depth: u8,
        parent: Option<usize>,
        is_hub: bool,
        interfaces: Vec<(IntfKind, bool)>,
        autosuspend_delay_ms: u64,
        slot_id: u32,
        pm_word: &'static str,
    ) -> Self {
        let n_intf = interfaces.len();
        UsbDevice {
            idx,
            name: name.to_string(),
            depth,
            parent,
            children: Vec::new(),
            is_hub,
            state: AtomicU32::new("udev->state", UsbState::Configured as u32),
            dev_mutex: Mutex::labeled(
                LockClass::with_subclass("&udev->dev.mutex", depth),
                name,
                (),
            ),
            port_lock: Mutex::labeled(LockClass::new("&port_dev->status_lock"), name, ()),
            pm: RuntimePm::new(name, n_intf, autosuspend_delay_ms),
            interfaces: interfaces
                .into_iter()
                .enumerate()
                .map(|(num, (kind, bound))| UsbInterface {
                    num,
                    kind,
                    dev_mutex: Mutex::labeled(LockClass::new("&intf->dev.mutex"), name, ()),
                    condition: AtomicU32::new(
                        "intf->condition",
                        if bound { cond::BOUND } else { cond::UNBOUND },
                    ),
                    needs_binding: AtomicBool::new("intf->needs_binding", false),
                    needs_remote_wakeup: kind == IntfKind::Hub,
                    intfdata: Ptr::new("intfdata", None),
                })
                .collect(),
            offload_usage: Racy::labeled("udev->offload_usage", name, 0),
            pm_word: Racy::labeled(pm_word, name, 0),
            offload_lock: SpinLock::labeled(LockClass::new("&udev->offload_lock"), name, ()),
            offload_pm_locked: Racy::labeled("udev->offload_pm_locked", name, false),
            offload_at_suspend: Racy::labeled("udev->offload_at_suspend", name, false),
            offload_deferred_puts: AtomicI32::new("udev->offload_deferred_puts", 0),
            reset_in_progress: AtomicBool::new("udev->reset_in_progress", false),
            port_child: AtomicBool::new("port->child", true),
            port_connected: AtomicBool::new("portstatus CONNECTION", true),
            slot_id,
            vdev_present: AtomicBool::new("xhci->devs[slot]", true),
            ghost: DevGhost::default(),
        }
    }

    pub fn state(&self) -> UsbState {
        UsbState::from_u32(self.state.load())
    }

    pub fn state_peek(&self) -> UsbState {
        UsbState::from_u32(self.state.peek())
    }

    pub fn is_root_hub(&self) -> bool {
        self.parent.is_none()
    }

    /// A plain read of bit `b` of [`Self::pm_word`] (the word is loaded).
    pub fn bit(&self, b: u8) -> bool {
        self.pm_word.read() & b != 0
    }

    /// A plain store of bit `b` (a read-modify-write of the word).
    pub fn set_bit(&self, b: u8, v: bool) {
        self.pm_word.update(|w| if v { w | b } else { w & !b });
    }

    /// Bit `b` without an access (end checks, reports).
    pub fn bit_peek(&self, b: u8) -> bool {
        self.pm_word.peek() & b != 0
    }
}

/// `usb_set_device_state`: under L_dsl; NOTATTACHED is absorbing.
pub fn usb_set_device_state(sys: &System, udev: &UsbDevice, new: UsbState) {
    let _f = ksync::frame("usb_set_device_state");
    let _dsl = sys.device_state_lock.lock();
    if udev.state() == UsbState::NotAttached {
        return;
    }
    if new == UsbState::NotAttached {
        drop(_dsl);
        recursively_mark_not_attached(sys, udev);
        return;
    }
    udev.state.store(new as u32);
}

/// `recursively_mark_NOTATTACHED` (the caller-side L_dsl is taken here).
pub fn recursively_mark_not_attached(sys: &System, udev: &UsbDevice) {
    let _f = ksync::frame("recursively_mark_NOTATTACHED");
    let _dsl = sys.device_state_lock.lock();
    mark_rec(sys, udev);
}

fn mark_rec(sys: &System, udev: &UsbDevice) {
    for &c in &udev.children {
        mark_rec(sys, &sys.devs[c]);
    }
    udev.state.store(UsbState::NotAttached as u32);
}
