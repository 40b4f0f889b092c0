//! The properties of `invariants.md` that the model can observe. Cheap ones are
//! checked inline at the step where they can break (ACC-1/2/3/6 in
//! `usb::core::offload`, ACC-8 in `snd_usb_autosuspend`, ACC-9 in the PM helpers,
//! LK-4 at documented preconditions, PM-1/2/3/9 in the PM paths, SB-6 in the
//! notifier, RES-9 on use of freed objects). The rest run at quiescence.

use crate::system::{Sys, System};
use crate::usb::core::device::{bits, UsbState};
use crate::usb::core::pm::{status_name, RPM_ACTIVE, RPM_SUSPENDED};
use crate::Design;
use ksync::FindingKind::{Invariant, Leak};
use ksync::RuntimeCheck;

/// The property of `invariants.md` each of the checker runtime's own checks
/// verifies: the ids its findings are reported under.
pub fn runtime_check_property(check: RuntimeCheck) -> &'static str {
    match check {
        RuntimeCheck::RecursiveLock => "LK-1",
        RuntimeCheck::Deadlock => "LK-2",
        RuntimeCheck::LockOrder => "LK-3",
        RuntimeCheck::SleepInAtomic => "LK-5",
        RuntimeCheck::DataRace => "LK-8",
        RuntimeCheck::LostWakeup => "LK-9",
        RuntimeCheck::Panic => "panic",
    }
}

/// Registers the end-of-execution checks for `sys`.
pub fn register_end_checks(sys: &Sys) {
    let s = sys.clone();
    ksync::on_quiescence(move || check_quiescent(&s));
}

/// Per card: (in_use, kref, infos in use, card_slot bit).
fn card_view(sys: &System, card: usize) -> (i32, u32, usize, bool) {
    let d = &sys.qc.uadev[card];
    let (n, bit) = sys.qc.qdev_mutex.peek(|q| {
        (
            q.uadev[card]
                .info
                .as_ref()
                .map_or(0, |v| v.iter().filter(|e| e.in_use).count()),
            q.card_slot & (1 << card) != 0,
        )
    });
    (d.in_use.peek(), d.kref.peek(), n, bit)
}

/// A live session on `card`: in_use and at least one info entry in use.
pub fn live_session(sys: &System, card: usize) -> bool {
    let (in_use, _, n, _) = card_view(sys, card);
    in_use == 1 && n > 0
}

/// Live offload activity in `u`'s subtree (devices still attached): a session
/// (`in_use`, set once its event-ring setup succeeded) on a card of the device or
/// of a device below it. Checker-side and usable while other tasks hold locks: it
/// reads no lock (a `peek` of a mutex another task holds would block).
pub fn live_offload_in_subtree(sys: &System, u: &crate::usb::core::device::UsbDevice) -> bool {
    // Called from T_sys's decision step: `observe` puts these reads in that step, so the
    // search explores the decision against both orders of each session's start and end.
    // typed: a session that ended inside the device's bookkeeping window stays an
    // activity until its deferred put takes effect (the device stayed powered for it).
    (UsbState::from_u32(u.state.observe()) != UsbState::NotAttached
        && sys.card_of(u.idx).is_some_and(|c| {
            sys.qc.uadev[c].in_use.observe() != 0
                || (sys.design == Design::Typed && u.offload_deferred_puts.observe() > 0)
        }))
        || u.children.iter().any(|&c| {
            let child = &sys.devs[c];
            child.port_child.observe() && live_offload_in_subtree(sys, child)
        })
}

/// All end checks.
pub fn check_quiescent(sys: &System) {
    let cards = sys.cfg.cards;
    let mut any_live = false;
    let mut live_infos_total = 0usize;
    for card in 0..cards {
        let (in_use, kref, n, bit) = card_view(sys, card);
        let live = in_use == 1 && n > 0;
        any_live |= live;
        live_infos_total += n;
        let forced = sys.qc.uadev[card].forced_clear.get() != 0;
        if (in_use == 1) != (kref > 0) && !forced {
            ksync::report(
                Invariant,
                "ACC-10",
                format!("card {card}: in_use = {in_use} but kref = {kref}"),
            );
        }
        if bit != live {
            ksync::report(
                if bit { Leak } else { Invariant },
                "RES-1",
                format!("card {card}: card_slot bit = {bit} but live session = {live} (in_use {in_use}, infos in use {n})"),
            );
        }
        // sideband state of the card (SB-7, SB-3)
        let sb = sys.qc.qdev_mutex.peek(|q| q.uadev[card].sb.clone());
        if let Some(sb) = sb.filter(|s| s.freed.get() == 0) {
            let (ir, eps) = sb.mutex.peek(|s| (s.ir.is_some(), s.eps));
            if ir != live {
                ksync::report(
                    if ir { Leak } else { Invariant },
                    "SB-7",
                    format!("card {card}: sideband interrupter present = {ir} but live session = {live}"),
                );
            }
            let mut ptr_mask = 0u32;
            for (i, p) in &sys.xhci.vdev_eps[sb.udev] {
                if p.peek().is_some_and(|o| o.id == sb.id) {
                    ptr_mask |= 1 << i;
                }
            }
            ksync::check(eps == ptr_mask, "SB-3", || {
                format!("card {card}: sb->eps = {eps:#x} but ep->sideband mask = {ptr_mask:#x}")
            });
            if !live && eps != 0 {
                ksync::report(Leak, "SB-8", format!("card {card}: endpoints {eps:#x} still owned by the sideband with no session"));
            }
        }
        // chip-side (ACC-8, ACC-11, RES-7)
        let chip = sys.snd.register_mutex.peek(|r| r.chips[card].clone());
        if let Some(chip) = chip.filter(|c| c.shutdown.peek() == 0) {
            let subs = chip.mutex.peek(|c| c.subs.clone());
            let active = chip.active.peek();
            if subs.opened && !live {
                ksync::report(
                    Invariant,
                    "ACC-11",
                    format!("card {card}: subs->opened = 1 with no active stream"),
                );
            }
            let expect = (subs.opened && live) as i32;
            if active != expect {
                ksync::report(
                    if active > expect { Leak } else { Invariant },
                    "ACC-8",
                    format!(
                        "card {card}: chip->active = {active} at quiescence, expected {expect}"
                    ),
                );
            }
            if !live && (subs.hw_params || subs.ep_open != 0) {
                ksync::report(
                    Leak,
                    "RES-7",
                    format!(
                        "card {card}: no stream but hw_params = {}, endpoint opens = {}",
                        subs.hw_params, subs.ep_open
                    ),
                );
            }
        }
    }
    // per audio udev
    for card in 0..cards {
        let u = &sys.devs[sys.udev_of(card)];
        let attached = u.state_peek() != UsbState::NotAttached;
        let live = if live_session(sys, card) {
            card_view(sys, card).2 as i32
        } else {
            0
        };
        let usage = u.offload_usage.peek();
        if attached && usage != live {
            let kind = if usage > live { Leak } else { Invariant };
            let prop = if live == 0 { "ACC-7" } else { "ACC-4" };
            ksync::report(
                kind,
                prop,
                format!(
                    "{}: offload_usage = {usage} but live offload activities = {live}",
                    u.name
                ),
            );
            if u.ghost.puts_failed.get() > 0 && usage > live {
                ksync::report(
                    Leak,
                    "ACC-5",
                    format!(
                        "{}: {} usb_offload_put call(s) returned an error and were not retried",
                        u.name,
                        u.ghost.puts_failed.get()
                    ),
                );
            }
        }
        let (usage_count, child, intf_usage) =
            u.pm.lock
                .peek(|d| (d.usage_count, d.child_count, d.intf_usage.clone()));
        let status = u.pm.status.peek();
        if attached && usage_count != 0 {
            ksync::report(
                Leak,
                "ACC-9",
                format!(
                    "{}: runtime usage_count = {usage_count} at quiescence",
                    u.name
                ),
            );
        }
        // While the chip holds its autopm reference (chip->active > 0: a live stream,
        // or a leak that ACC-8 reports), its interfaces are legitimately in use once.
        let chip_active = sys
            .snd
            .register_mutex
            .peek(|r| r.chips[card].clone())
            .is_some_and(|c| c.active.peek() > 0);
        let unexpected = if chip_active {
            intf_usage.iter().any(|&x| !(0..=1).contains(&x))
        } else {
            intf_usage.iter().any(|&x| x != 0)
        };
        if attached && unexpected {
            ksync::report(
                if intf_usage.iter().any(|&x| x < 0) {
                    Invariant
                } else {
                    Leak
                },
                "ACC-9",
                format!(
                    "{}: interface usage counts {intf_usage:?} at quiescence",
                    u.name
                ),
            );
        }
        // runtime status against what is in use: a device with a user or an active
        // interface is not suspended, and its child count is its active interfaces.
        // (Whether an interface with a user is active is not asked: probe leaves the
        // interface suspended where the kernel marks it active, see MODEL.md.)
        let (disabled, intf_active) =
            u.pm.lock
                .peek(|d| (d.disable_depth > 0, d.intf_active.clone()));
        let n_active = intf_active.iter().filter(|&&a| a).count() as i32;
        if attached && !disabled {
            if status == RPM_SUSPENDED && (usage_count > 0 || child > 0) {
                ksync::report(
                    Invariant,
                    "ACC-9",
                    format!("{}: runtime SUSPENDED at quiescence with usage_count {usage_count}, {child} active interface(s)", u.name),
                );
            }
            if child != n_active {
                ksync::report(
                    Invariant,
                    "ACC-9",
                    format!(
                        "{}: child_count {child} but {n_active} active interface(s) at quiescence",
                        u.name
                    ),
                );
            }
        }
        if attached && live > 0 && (status != RPM_ACTIVE || (child == 0 && usage_count == 0)) {
            ksync::report(
                Invariant,
                "PM-7",
                format!(
                    "{}: live offload activity but runtime status {} with no reference",
                    u.name,
                    status_name(status)
                ),
            );
        }
        match sys.design {
            Design::V2OffloadSpinlock | Design::Typed => {
                let locked = if sys.design == Design::Typed {
                    u.offload_pm_locked.peek()
                } else {
                    u.bit_peek(bits::OFFLOAD)
                };
                if attached && locked != (status == RPM_SUSPENDED) {
                    ksync::report(
                        Invariant,
                        "PM-5",
                        format!(
                            "{}: offload_pm_locked = {locked} with runtime status {}",
                            u.name,
                            status_name(status)
                        ),
                    );
                }
            }
            _ => {}
        }
        let at_suspend = match sys.design {
            Design::Typed => u.offload_at_suspend.peek(),
            Design::V2OffloadSpinlock => false,
            _ => u.bit_peek(bits::OFFLOAD),
        };
        if at_suspend {
            ksync::report(
                Invariant,
                "PM-6",
                format!(
                    "{}: offload_at_suspend still set after the sleep cycle",
                    u.name
                ),
            );
        }
        if !attached {
            let sbp = sys.xhci.lock.peek(|x| x.vdev_sideband[u.idx]);
            if sbp.is_some() {
                ksync::report(
                    Leak,
                    "RES-8",
                    format!(
                        "{}: disconnected but a sideband is still registered",
                        u.name
                    ),
                );
            }
        }
    }
    // global resources
    let (er_mapped, ring_initial, buf_initial) = sys.qc.qdev_mutex.peek(|q| {
        (
            q.er_mapped,
            q.xfer_ring.at_initial(),
            q.xfer_buf.at_initial(),
        )
    });
    let er_maps = sys.res.er_mappings.get();
    let irs = sys.res.interrupters.get();
    if er_mapped != (er_maps == 1) || (er_maps == 1) != (irs > 0) {
        ksync::report(
            if er_maps > 0 { Leak } else { Invariant },
            "RES-2",
            format!(
                "er_mapped = {er_mapped}, event-ring mappings = {er_maps}, interrupters = {irs}"
            ),
        );
    }
    if !any_live {
        if !ring_initial || !buf_initial {
            ksync::report(
                Leak,
                "RES-3",
                format!("no session but IOVA allocators not at initial size (rings ok = {ring_initial}, buffers ok = {buf_initial})"),
            );
        }
        let maps = sys.res.iommu_maps.get();
        if maps != 0 {
            ksync::report(
                Leak,
                "RES-4",
                format!("no session but {maps} IOMMU mapping(s) remain"),
            );
        }
    }
    let bufs = sys.res.coherent_bufs.get();
    if bufs != live_infos_total as i64 && bufs > 0 && !any_live {
        ksync::report(
            Leak,
            "RES-5",
            format!("{bufs} coherent transfer buffer(s) remain with no session"),
        );
    }
    if sys.qc.removed.get() != 0 {
        if irs != 0 || sys.res.sb_alloc.get() != 0 {
            ksync::report(
                Leak,
                "RES-8",
                format!(
                    "after qc driver remove: {} sideband(s), {irs} interrupter(s) remain",
                    sys.res.sb_alloc.get()
                ),
            );
        }
        for card in 0..cards {
            let u = &sys.devs[sys.udev_of(card)];
            if u.state_peek() != UsbState::NotAttached && u.offload_usage.peek() != 0 {
                ksync::report(
                    Leak,
                    "RES-8",
                    format!(
                        "after qc driver remove: offload_usage({}) = {}",
                        u.name,
                        u.offload_usage.peek()
                    ),
                );
            }
        }
    }
    let (rq, rs) = (sys.qmi.requests.get(), sys.qmi.responses.get());
    ksync::check(rq == rs, "RES-10", || {
        format!("{rq} QMI requests but {rs} responses")
    });
}

#[cfg(test)]
mod tests {
    use super::runtime_check_property;
    use ksync::RuntimeCheck;

    #[test]
    fn each_runtime_check_verifies_its_own_property() {
        let mut ids: Vec<&str> = RuntimeCheck::ALL
            .iter()
            .map(|&c| runtime_check_property(c))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), RuntimeCheck::ALL.len());
    }
}
