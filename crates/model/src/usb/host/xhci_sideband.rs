//! `drivers/usb/host/xhci-sideband.c` (spec §1.6, §3.6) plus the two xHCI hooks the
//! model needs: `xhci_discover_or_reset_device` (ring-free notifications, spec (i))
//! and the freeing of the virt device at disconnect.
//!
//! v0's `usb_offload_get/put` calls inside create/remove interrupter live here.

use crate::errno::*;
use crate::ptr::{Ghost, Ptr};
use crate::system::{Fault, Sys};
use crate::usb::core::device::{UsbDevice, UsbState};
use crate::usb::core::offload;
use ksync::{FindingKind, LockClass, Mutex, Racy, SpinLock};
use std::sync::Arc;

/// Fields under `xhci->lock` (L_xhci).
pub struct XhciState {
    /// `xhci->interrupters[]`: owner sb id per slot; slot 0 is the primary.
    pub interrupters: Vec<Option<u32>>,
    /// `xhci->devs[slot]->sideband` (by udev index).
    pub vdev_sideband: Vec<Option<u32>>,
}

/// `struct xhci_hcd` (the part the model needs).
pub struct Xhci {
    pub lock: SpinLock<XhciState>,
    /// Per udev: the endpoint contexts that have a ring, with `ep->sideband`
    /// (written under `sb->mutex`, read without it by `xhci_sideband_stop_endpoint`,
    /// `get_endpoint_buffer` and the reset hook: a plain pointer, LK-8).
    pub vdev_eps: Vec<Vec<(usize, Ptr<Sideband>)>>,
    pub next_sb_id: Ghost,
}

impl Xhci {
    pub fn new(n_devs: usize, max_interrupters: usize, eps: Vec<Vec<usize>>) -> Self {
        let mut interrupters = vec![None; max_interrupters];
        interrupters[0] = Some(u32::MAX); // primary, never a sideband's
        Xhci {
            lock: SpinLock::new(
                LockClass::new("&xhci->lock"),
                XhciState {
                    interrupters,
                    vdev_sideband: vec![None; n_devs],
                },
            ),
            vdev_eps: eps
                .into_iter()
                .enumerate()
                .map(|(d, v)| {
                    v.into_iter()
                        .map(|i| (i, Ptr::racy("ep->sideband", &format!("dev{d} ep{i}"), None)))
                        .collect()
                })
                .collect(),
            next_sb_id: Ghost::default(),
        }
    }
}

/// Fields under `sb->mutex` (L_sb).
#[derive(Debug, Default)]
pub struct SbState {
    /// `sb->vdev` (the udev index) while registered.
    pub vdev: Option<usize>,
    /// `sb->eps[]` as a bitmask of endpoint-context indices.
    pub eps: u32,
    /// `sb->ir`: the interrupter slot.
    pub ir: Option<usize>,
}

/// `struct xhci_sideband`.
pub struct Sideband {
    pub id: u32,
    pub mutex: Mutex<SbState>,
    /// `sb->xhci != NULL`: written under `xhci->lock`, read without a lock by
    /// `xhci_sideband_create_interrupter` (LK-8).
    pub xhci_set: Racy<bool>,
    /// `sb->ir != NULL` as seen by lock-free readers (`get_event_buffer`): written
    /// under L_sb together with `SbState::ir` (LK-8).
    pub ir_set: Racy<bool>,
    pub udev: usize,
    /// `sb->intf` (the interface number given at register time).
    pub intf: usize,
    /// Ghost: kfree(sb) happened.
    pub freed: Ghost,
}

fn check_live(sb: &Sideband, what: &str) -> bool {
    if sb.freed.get() != 0 {
        ksync::report(
            FindingKind::Invariant,
            "RES-9",
            format!("{what} on freed xhci_sideband #{} (use after free)", sb.id),
        );
        return false;
    }
    true
}

/// `xhci_sideband_register(intf, XHCI_SIDEBAND_VENDOR, notify)`.
pub fn xhci_sideband_register(sys: &Sys, udev: &UsbDevice, intf: usize) -> Option<Arc<Sideband>> {
    let _f = ksync::frame("xhci_sideband_register");
    if udev.slot_id == 0 {
        return None;
    }
    let id = sys.xhci.next_sb_id.add(1) as u32;
    let sb = Arc::new(Sideband {
        id,
        // sb->vdev is filled before the sideband is published (under xhci->lock in
        // the kernel; nobody else can see sb yet), so no sb->mutex section here.
        mutex: Mutex::labeled(
            LockClass::new("&sb->mutex"),
            &udev.name,
            SbState {
                vdev: Some(udev.idx),
                ..SbState::default()
            },
        ),
        xhci_set: Racy::labeled("sb->xhci", &udev.name, false),
        ir_set: Racy::labeled("sb->ir", &udev.name, false),
        udev: udev.idx,
        intf,
        freed: Ghost::default(),
    });
    let mut x = sys.xhci.lock.lock();
    if !udev.vdev_present.load() || x.vdev_sideband[udev.idx].is_some() {
        drop(x);
        sb.freed.set(1);
        return None;
    }
    // fill sb (xhci, vdev, intf, type, notify)
    sb.xhci_set.write(true);
    x.vdev_sideband[udev.idx] = Some(id);
    drop(x);
    sys.res.sb_alloc.add(1);
    Some(sb)
}

/// `xhci_sideband_unregister(sb)`.
pub fn xhci_sideband_unregister(sys: &Sys, sb: &Arc<Sideband>) {
    let _f = ksync::frame("xhci_sideband_unregister");
    if !check_live(sb, "xhci_sideband_unregister") {
        return;
    }
    let mut s = sb.mutex.lock();
    let Some(vdev) = s.vdev else {
        return;
    };
    for (i, _) in &sys.xhci.vdev_eps[vdev] {
        if s.eps & (1 << i) != 0 {
            __xhci_sideband_remove_endpoint(sys, sb, &mut s, *i);
        }
    }
    __xhci_sideband_remove_interrupter(sys, sb, &mut s);
    // SB-4: nothing is left on sb when vdev->sideband is cleared and sb freed
    ksync::check(s.eps == 0 && s.ir.is_none(), "SB-4", || {
        format!(
            "xhci_sideband_unregister: endpoints {:#x} / interrupter {} still on sb when it is freed",
            s.eps,
            s.ir.is_some()
        )
    });
    s.vdev = None;
    drop(s);
    {
        let mut x = sys.xhci.lock.lock();
        sb.xhci_set.write(false);
        if x.vdev_sideband[vdev] == Some(sb.id) {
            x.vdev_sideband[vdev] = None;
        }
    }
    sb.freed.set(1);
    sys.res.sb_alloc.add(-1);
}

fn ep_ptr(sys: &Sys, vdev: usize, ep_index: usize) -> Option<&Ptr<Sideband>> {
    sys.xhci.vdev_eps[vdev]
        .iter()
        .find(|(i, _)| *i == ep_index)
        .map(|(_, p)| p)
}

/// `xhci_sideband_add_endpoint(sb, ep)`.
pub fn xhci_sideband_add_endpoint(sys: &Sys, sb: &Arc<Sideband>, ep_index: usize) -> i32 {
    let _f = ksync::frame("xhci_sideband_add_endpoint");
    if !check_live(sb, "xhci_sideband_add_endpoint") {
        return -ENODEV;
    }
    let mut s = sb.mutex.lock();
    let Some(vdev) = s.vdev else { return -ENODEV };
    let Some(p) = ep_ptr(sys, vdev, ep_index) else {
        return -ENODEV;
    };
    if s.eps & (1 << ep_index) != 0 || p.load().is_some() {
        return -EBUSY;
    }
    s.eps |= 1 << ep_index;
    p.store(Some(sb.clone()));
    0
}

fn __xhci_sideband_remove_endpoint(sys: &Sys, sb: &Sideband, s: &mut SbState, ep_index: usize) {
    let _f = ksync::frame("__xhci_sideband_remove_endpoint");
    ksync::check(sb.mutex.is_held(), "LK-4", || {
        "__xhci_sideband_remove_endpoint without sb->mutex".into()
    });
    // synchronous Stop Endpoint command (no model state)
    if let Some(vdev) = s.vdev {
        if let Some(p) = ep_ptr(sys, vdev, ep_index) {
            p.store(None);
        }
    }
    s.eps &= !(1 << ep_index);
}

/// `xhci_sideband_remove_endpoint(sb, ep)`.
pub fn xhci_sideband_remove_endpoint(sys: &Sys, sb: &Arc<Sideband>, ep_index: usize) -> i32 {
    let _f = ksync::frame("xhci_sideband_remove_endpoint");
    if !check_live(sb, "xhci_sideband_remove_endpoint") {
        return -ENODEV;
    }
    let mut s = sb.mutex.lock();
    if s.eps & (1 << ep_index) == 0 {
        // -ENODEV, which the qc driver's callers ignore
        ksync::report(
            FindingKind::Invariant,
            "SB-9",
            format!(
                "xhci_sideband_remove_endpoint: endpoint context {ep_index} is not owned by xhci_sideband #{} (returns -ENODEV)",
                sb.id
            ),
        );
        return -ENODEV;
    }
    __xhci_sideband_remove_endpoint(sys, sb, &mut s, ep_index);
    0
}

/// `xhci_sideband_stop_endpoint(sb, ep)`: no L_sb; ownership read from `ep->sideband`.
pub fn xhci_sideband_stop_endpoint(sys: &Sys, sb: &Arc<Sideband>, ep_index: usize) -> i32 {
    let _f = ksync::frame("xhci_sideband_stop_endpoint");
    if !check_live(sb, "xhci_sideband_stop_endpoint") {
        return -EINVAL;
    }
    match ep_ptr(sys, sb.udev, ep_index).and_then(|p| p.load()) {
        Some(o) if o.id == sb.id => 0,
        _ => -EINVAL,
    }
}

/// `xhci_sideband_get_endpoint_buffer`: NULL if not owned.
pub fn xhci_sideband_get_endpoint_buffer(sys: &Sys, sb: &Arc<Sideband>, ep_index: usize) -> bool {
    if sys.fail(Fault::GetEndpointBuffer) {
        return false;
    }
    matches!(ep_ptr(sys, sb.udev, ep_index).and_then(|p| p.load()), Some(o) if o.id == sb.id)
}

/// `xhci_sideband_get_event_buffer`: NULL if there is no interrupter (no lock).
pub fn xhci_sideband_get_event_buffer(sys: &Sys, sb: &Arc<Sideband>) -> bool {
    if sys.fail(Fault::GetEventBuffer) {
        return false;
    }
    sb.ir_set.read()
}

/// `xhci_sideband_create_interrupter(sb, 1, false, 0, intr_num)`.
pub fn xhci_sideband_create_interrupter(sys: &Sys, sb: &Arc<Sideband>, intr_num: usize) -> i32 {
    let _f = ksync::frame("xhci_sideband_create_interrupter");
    if !check_live(sb, "xhci_sideband_create_interrupter") || !sb.xhci_set.read() {
        return -ENODEV;
    }
    let mut s = sb.mutex.lock();
    let Some(vdev) = s.vdev else { return -ENODEV };
    if s.ir.is_some() {
        return -EBUSY;
    }
    // xhci_create_secondary_interrupter: slot claim under L_xhci
    let slot = {
        let mut x = sys.xhci.lock.lock();
        let max = x.interrupters.len();
        let pick = if intr_num >= max {
            None
        } else if intr_num > 0 {
            x.interrupters[intr_num].is_none().then_some(intr_num)
        } else {
            (1..max).find(|&i| x.interrupters[i].is_none())
        };
        if let Some(i) = pick {
            x.interrupters[i] = Some(sb.id);
        }
        pick
    };
    let Some(slot) = slot else { return -ENOMEM };
    s.ir = Some(slot);
    sb.ir_set.write(true);
    sys.res.interrupters.add(1);
    if sys.contract().sideband_tracks_usage() {
        // v0: get under L_sb; its result is returned, the interrupter stays on failure
        let r = offload::usb_offload_get(sys, &sys.devs[vdev]);
        return r;
    }
    0
}

/// `__xhci_sideband_remove_interrupter(sb)`: caller holds L_sb.
pub fn __xhci_sideband_remove_interrupter(sys: &Sys, sb: &Sideband, s: &mut SbState) {
    let _f = ksync::frame("__xhci_sideband_remove_interrupter");
    ksync::check(sb.mutex.is_held(), "LK-4", || {
        "__xhci_sideband_remove_interrupter without sb->mutex".into()
    });
    let Some(slot) = s.ir else { return };
    {
        let mut x = sys.xhci.lock.lock();
        if x.interrupters[slot] == Some(sb.id) {
            x.interrupters[slot] = None;
        } else {
            let owner = x.interrupters[slot];
            ksync::report(
                FindingKind::Invariant,
                "SB-9",
                format!(
                    "xhci_remove_secondary_interrupter: slot {slot} released by xhci_sideband #{} but owned by {owner:?}",
                    sb.id
                ),
            );
        }
    }
    s.ir = None;
    sb.ir_set.write(false);
    sys.res.interrupters.add(-1);
    if sys.contract().sideband_tracks_usage() {
        if let Some(vdev) = s.vdev {
            let udev = &sys.devs[vdev];
            if udev.state() != UsbState::NotAttached {
                let _ = offload::usb_offload_put(sys, udev); // return value ignored
            }
        }
    }
}

/// `xhci_sideband_remove_interrupter(sb)`.
pub fn xhci_sideband_remove_interrupter(sys: &Sys, sb: &Arc<Sideband>) {
    let _f = ksync::frame("xhci_sideband_remove_interrupter");
    if !check_live(sb, "xhci_sideband_remove_interrupter") {
        return;
    }
    let mut s = sb.mutex.lock();
    if s.ir.is_none() {
        // __xhci_sideband_remove_interrupter returns quietly
        ksync::report(
            FindingKind::Invariant,
            "SB-9",
            format!(
                "xhci_sideband_remove_interrupter: xhci_sideband #{} has no interrupter to remove",
                sb.id
            ),
        );
    }
    __xhci_sideband_remove_interrupter(sys, sb, &mut s);
}

/// `xhci_sideband_check(hcd)`: +udevL(root hub), `usb_offload_check`, −udevL.
pub fn xhci_sideband_check(sys: &Sys) -> bool {
    let _f = ksync::frame("xhci_sideband_check");
    let root = &sys.devs[0];
    let _g = root.dev_mutex.lock();
    offload::usb_offload_check(sys, root)
}

/// `xhci_sideband_notify_ep_ring_free(sb, i)`: synchronous call of the client.
pub fn xhci_sideband_notify_ep_ring_free(sys: &Sys, sb: &Arc<Sideband>, ep_index: usize) {
    let _f = ksync::frame("xhci_sideband_notify_ep_ring_free");
    if !check_live(sb, "xhci_sideband_notify_ep_ring_free") {
        return;
    }
    (sys.qc_ops().notify_ep_ring_free)(sys, sb, ep_index);
}

/// `xhci_discover_or_reset_device` (the `reset_device` hook): for every ring owned by
/// a sideband, notify before freeing it.
pub fn xhci_discover_or_reset_device(sys: &Sys, udev: &UsbDevice) {
    let _f = ksync::frame("xhci_discover_or_reset_device");
    for (i, p) in &sys.xhci.vdev_eps[udev.idx] {
        if let Some(sb) = p.load() {
            sys.ghost_ring_free_notified.add(1);
            xhci_sideband_notify_ep_ring_free(sys, &sb, *i);
        }
        // xhci_free_endpoint_ring
    }
}

/// `xhci_free_dev`: the HCD slot and its virt device go away at disconnect.
pub fn xhci_free_dev(sys: &Sys, udev: &UsbDevice) {
    let _f = ksync::frame("xhci_free_dev");
    let _x = sys.xhci.lock.lock();
    // xhci_free_virt_device frees every transfer ring; only the reset path
    // (xhci_discover_or_reset_device) notifies a sideband first (SB-5)
    for (i, p) in &sys.xhci.vdev_eps[udev.idx] {
        if let Some(sb) = p.peek() {
            ksync::report(
                FindingKind::Invariant,
                "SB-5",
                format!(
                    "xhci_free_dev({}): transfer ring {i} is freed while lent to sideband {} (ep->sideband set) and no ring-free notification was sent",
                    udev.name, sb.id
                ),
            );
        }
    }
    udev.vdev_present.store(false);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::system::{Config, System};
    use crate::testutil::{expect_ok, run_once, t_assert};
    use crate::Design;

    #[test]
    fn ownership_rules() {
        for d in Design::ALL {
            let f = expect_ok(run_once(move || {
                let mut cfg = Config::new(d);
                cfg.cards = 2;
                cfg.qc_loaded = false;
                let sys = System::new(cfg);
                let u0 = &sys.devs[sys.udev_of(0)];
                let u1 = &sys.devs[sys.udev_of(1)];
                let sb = xhci_sideband_register(&sys, u0, 0).expect("register");
                t_assert!(
                    xhci_sideband_register(&sys, u0, 0).is_none(),
                    "one sb per vdev (SB-1)"
                );
                let sb1 = xhci_sideband_register(&sys, u1, 0).expect("register second device");
                t_assert!(xhci_sideband_add_endpoint(&sys, &sb, 1) == 0, "add ep");
                t_assert!(
                    xhci_sideband_add_endpoint(&sys, &sb, 1) == -EBUSY,
                    "add ep twice"
                );
                t_assert!(
                    xhci_sideband_stop_endpoint(&sys, &sb, 1) == 0,
                    "stop owned ep"
                );
                t_assert!(
                    xhci_sideband_remove_endpoint(&sys, &sb, 4) == -ENODEV,
                    "remove unowned ep"
                );
                t_assert!(
                    xhci_sideband_stop_endpoint(&sys, &sb, 4) == -EINVAL,
                    "stop unowned ep"
                );
                let r = xhci_sideband_create_interrupter(&sys, &sb, 1);
                // v0: the get inside succeeds on an active, attached device
                t_assert!(r == 0, "create interrupter: {r}");
                t_assert!(
                    xhci_sideband_create_interrupter(&sys, &sb, 1) == -EBUSY,
                    "one ir per sb (SB-2)"
                );
                t_assert!(
                    xhci_sideband_create_interrupter(&sys, &sb1, 1) == -ENOMEM,
                    "slot 1 taken (SB-2)"
                );
                let expect_usage = if d == Design::V0CoreLocks { 1 } else { 0 };
                t_assert!(
                    u0.offload_usage.read() == expect_usage,
                    "v0 counts inside the sideband"
                );
                xhci_sideband_unregister(&sys, &sb);
                t_assert!(sb.freed.get() == 1, "freed");
                t_assert!(
                    sys.xhci.lock.lock().interrupters[1].is_none(),
                    "slot released"
                );
                t_assert!(
                    sys.xhci.vdev_eps[u0.idx][0].1.load().is_none(),
                    "ep->sideband cleared"
                );
                t_assert!(
                    u0.offload_usage.read() == 0,
                    "v0 put in __remove_interrupter"
                );
                // use after free is reported (RES-9)
                xhci_sideband_add_endpoint(&sys, &sb, 1);
                xhci_sideband_unregister(&sys, &sb1);
                t_assert!(sys.res.sb_alloc.get() == 0, "all sidebands freed");
            }));
            assert!(
                f.iter().any(|x| x.property == "RES-9"),
                "{d}: use after free not reported: {f:#?}"
            );
        }
    }
}
