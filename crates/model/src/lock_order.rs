//! The lock hierarchy of the `typed` design, declared once as types.
//!
//! Each edge `A => B` says "B may be acquired while A is the innermost level held";
//! the order is the chain below. Waits are levels too: `W_rpm` (a runtime-PM
//! transition's end) and `W_inuse` (a session's end) sit before every lock their
//! wakers take, so waiting for a runtime resume under `qdev_mutex`, or for a session's
//! end under `&chip->mutex`, does not compile. The USB core's device and interface
//! locks come first: the core holds them around the driver callbacks it runs, and
//! hands the callbacks a context at the level it holds ("`Device<Core>`"). The
//! declaration covers every lock class the modelled kernel paths take, so the graph
//! the checker observes can be compared with it edge by edge.
//!
//! `usb-offload locks --design typed` checks the lock graph every scenario produces
//! against this declaration; `docs/typed-design.md` prints it as a table.

use crate::sound::usb::card::{Chip, ChipState, RegState};
use crate::sound::usb::qcom::offload::QdevState;
use crate::system::System;
use crate::usb::core::device::UsbDevice;
use ksync::order::{MutexAt, Unlocked, WaitAt};

ksync::lock_level!(
    /// `&udev->dev.mutex` of the root hub (lockdep subclass 0).
    pub RootHubLock = "&udev->dev.mutex"
);
ksync::lock_level!(
    /// `&udev->dev.mutex` of the external hub (subclass 1, its depth).
    pub HubLock = "&udev->dev.mutex/1"
);
ksync::lock_level!(
    /// `&udev->dev.mutex` of the audio device (subclass 2): the core holds it around
    /// probe, disconnect, reset and system-sleep callbacks.
    pub UdevLock = "&udev->dev.mutex/2"
);
ksync::lock_level!(
    /// `&intf->dev.mutex` (held with the device lock around bind and unbind).
    pub IntfLock = "&intf->dev.mutex"
);
ksync::lock_level!(
    /// `&port_dev->status_lock` (a reset holds it around the device's re-enumeration).
    pub PortStatusLock = "&port_dev->status_lock"
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
    /// `hcd->bandwidth_mutex`.
    pub BandwidthMutex = "hcd->bandwidth_mutex"
);
ksync::lock_level!(
    /// snd-usb-audio's `register_mutex` (held around `connect_cb`/`disconnect_cb`).
    pub RegisterMutex = "register_mutex"
);
ksync::lock_level!(
    /// `W_shutdown`: the disconnect waiting for `chip->usage_count` to drop to 0.
    pub ShutdownWait = "W_shutdown"
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
    /// `&udev->offload_lock`.
    pub OffloadLock = "&udev->offload_lock"
);
ksync::lock_level!(
    /// `&dev->power.lock` (the runtime-PM core's spinlock).
    pub PowerLock = "&dev->power.lock"
);
ksync::lock_level!(
    /// `device_state_lock`: the innermost level.
    pub DeviceStateLock = "device_state_lock"
);

ksync::lock_hierarchy! {
    pub static TYPED_ORDER;
    Unlocked => RootHubLock;
    RootHubLock => HubLock;
    HubLock => UdevLock;
    UdevLock => IntfLock;
    IntfLock => PortStatusLock;
    PortStatusLock => RpmWait;
    RpmWait => Address0Mutex;
    Address0Mutex => BandwidthMutex;
    BandwidthMutex => RegisterMutex;
    RegisterMutex => ShutdownWait;
    ShutdownWait => InUseWait;
    InUseWait => QdevMutex;
    QdevMutex => ChipMutex;
    ChipMutex => SbMutex;
    SbMutex => XhciLock;
    XhciLock => OffloadLock;
    OffloadLock => PowerLock;
    PowerLock => DeviceStateLock;
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

/// The declaration as a Markdown table in acquisition order (docs/typed-design.md
/// carries it; a test keeps the two in step).
pub fn markdown_table() -> String {
    let mut s = String::from("| order | lock class | waits for / guards |\n|---|---|---|\n");
    for (i, &(_, class)) in TYPED_ORDER.iter().enumerate() {
        s.push_str(&format!("| {} | `{class}` | {} |\n", i + 1, meaning(class)));
    }
    s
}

fn meaning(class: &str) -> &'static str {
    match class {
        "&udev->dev.mutex" => "root hub's device lock",
        "&udev->dev.mutex/1" => "hub's device lock",
        "&udev->dev.mutex/2" => "audio device's lock (the core holds it around driver callbacks)",
        "&intf->dev.mutex" => "interface lock (bind/unbind)",
        "&port_dev->status_lock" => "hub port (reset)",
        "W_rpm" => "wait: a runtime-PM transition ends",
        "hcd->address0_mutex" => "re-enumeration (reset)",
        "hcd->bandwidth_mutex" => "xHCI bandwidth",
        "register_mutex" => "snd-usb-audio chips and platform ops",
        "W_shutdown" => "wait: `chip->usage_count` reaches 0",
        "W_inuse" => "wait: a card's offload session ends",
        "qdev_mutex" => "qc driver state (sessions, IOVA, event ring)",
        "&chip->mutex" => "ALSA stream state",
        "&sb->mutex" => "xHCI sideband",
        "&xhci->lock" => "xHCI interrupters and rings",
        "&udev->offload_lock" => "offload usage count and PM bookkeeping flag",
        "&dev->power.lock" => "runtime-PM counters",
        "device_state_lock" => "USB device state",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_declaration_is_one_chain_from_the_root() {
        let h = ksync::order::Hierarchy::new(TYPED_ORDER);
        for w in TYPED_ORDER.windows(2) {
            assert_eq!(w[0].1, w[1].0, "each level's parent is the previous level");
            assert!(h.before(w[0].1, w[1].1));
            assert!(!h.before(w[1].1, w[0].1));
        }
        assert_eq!(TYPED_ORDER[0].0, "unlocked");
    }

    #[test]
    fn typed_design_md_carries_the_table() {
        let doc = include_str!("../../../docs/typed-design.md");
        assert!(
            doc.contains(&markdown_table()),
            "docs/typed-design.md is out of step with crates/model/src/lock_order.rs; the table is:\n{}",
            markdown_table()
        );
    }
}
