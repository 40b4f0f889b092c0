//! `drivers/usb/core/offload.c`: `usb_offload_get/put/check` and the PM bookkeeping
//! around them, one module per design (spec §3.1–3.5). Each design's whole contract —
//! the USB core's get/put/check, what `usb_suspend_both`/`usb_resume_both` record, and
//! where the class driver calls in and which locks it holds — is one implementation of
//! [`Contract`]; the kernel paths call through [`Sys::contract`].

mod typed;
mod v0_core_locks;
mod v1_caller_locks;
mod v2_offload_spinlock;

pub use typed::{OffloadUsage, RpmRef, Typed};

use crate::errno::*;
use crate::system::Sys;
use crate::usb::core::device::{bits, UsbDevice};
use crate::usb::core::driver::PmMsg;
use crate::Design;
use ksync::{FindingKind, MutexGuard};

/// One design's offload contract.
pub trait Contract: Send + Sync + 'static {
    /// `usb_offload_get(udev)` as the design's USB core implements it.
    fn usb_offload_get(&self, sys: &Sys, udev: &UsbDevice) -> i32;
    /// `usb_offload_put(udev)`.
    fn usb_offload_put(&self, sys: &Sys, udev: &UsbDevice) -> i32;
    /// The body of `usb_offload_check(udev)` (its caller holds `udev`'s lock).
    fn offload_check_subtree(&self, sys: &Sys, udev: &UsbDevice) -> bool;

    /// `usb_suspend_both`, before the offload decision (v2: `offload_pm_locked`).
    fn suspend_begin(&self, _udev: &UsbDevice) {}
    /// `usb_suspend_both`, after the decision (v0/v1: `offload_at_suspend`).
    fn suspend_decided(&self, _udev: &UsbDevice, _offload_active: bool) {}
    /// `usb_suspend_both` failed and rolled back.
    fn suspend_failed(&self, _udev: &UsbDevice) {}
    /// `usb_resume_both` of an attached device: whether the device resume is skipped
    /// for offload.
    fn resume_decision(&self, sys: &Sys, udev: &UsbDevice, msg: PmMsg) -> bool;
    /// The end of `usb_resume_both`; `attached`: the device was not NOTATTACHED.
    fn resume_end(&self, udev: &UsbDevice, attached: bool);

    /// `usb_disconnect`, after the interfaces are unbound: the device goes away, and a
    /// bookkeeping window it is in (unplugged during system sleep) will not be ended by
    /// a resume.
    fn device_released(&self, _udev: &UsbDevice) {}

    /// `xhci_sideband_create_interrupter` / `__xhci_sideband_remove_interrupter` count
    /// the usage (v0) rather than the class driver (v1, v2).
    fn sideband_tracks_usage(&self) -> bool {
        false
    }
    /// `uaudio_event_ring_setup` and its unwinds count the usage with the int API.
    fn class_driver_tracks_usage(&self) -> bool {
        false
    }
    /// The device lock the class driver takes around its stream paths (v1:
    /// `guard(device)` in `handle_uaudio_stream_req` and `qmi_stop_session`).
    fn class_driver_device_lock<'a>(&self, _udev: &'a UsbDevice) -> Option<MutexGuard<'a, ()>> {
        None
    }
    /// `usb_audio_suspend` reads `platform_ops` under `register_mutex` (typed) rather
    /// than without it (the kernel).
    fn platform_ops_under_register_mutex(&self) -> bool {
        false
    }
}

/// The contract of `design`.
pub fn contract(design: Design) -> &'static dyn Contract {
    match design {
        Design::V0CoreLocks => &v0_core_locks::V0CoreLocks,
        Design::V1CallerLocks => &v1_caller_locks::V1CallerLocks,
        Design::V2OffloadSpinlock => &v2_offload_spinlock::V2OffloadSpinlock,
        Design::Typed => &Typed,
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Op {
    Get,
    Put,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Get => "get",
            Op::Put => "put",
        }
    }
}

/// `usb_offload_get(udev)`.
pub fn usb_offload_get(sys: &Sys, udev: &UsbDevice) -> i32 {
    let _f = ksync::frame("usb_offload_get");
    let r = sys.contract().usb_offload_get(sys, udev);
    mark_error(Op::Get, r);
    r
}

/// `usb_offload_put(udev)`.
pub fn usb_offload_put(sys: &Sys, udev: &UsbDevice) -> i32 {
    let _f = ksync::frame("usb_offload_put");
    let r = sys.contract().usb_offload_put(sys, udev);
    if r != 0 {
        udev.ghost.puts_failed.add(1);
    }
    mark_error(Op::Put, r);
    r
}

fn mark_error(op: Op, r: i32) {
    if r != 0 {
        ksync::mechanism(match (op, -r) {
            (Op::Get, ENODEV) => "usb_offload_get -ENODEV",
            (Op::Get, EBUSY) => "usb_offload_get -EBUSY",
            (Op::Get, EAGAIN) => "usb_offload_get -EAGAIN",
            (Op::Get, _) => "usb_offload_get error",
            (Op::Put, ENODEV) => "usb_offload_put -ENODEV",
            (Op::Put, EBUSY) => "usb_offload_put -EBUSY",
            (Op::Put, EAGAIN) => "usb_offload_put -EAGAIN",
            (Op::Put, _) => "usb_offload_put error",
        });
    }
}

/// Step 5: get +1; put −1 unless 0. With the ACC-1/2/3/6 checks. `pm_locked`: the
/// design's suspend-bookkeeping flag as the checker sees it.
fn change_count(udev: &UsbDevice, op: Op, pm_locked: bool) {
    let v = udev.offload_usage.read();
    match op {
        Op::Get => {
            ksync::check(!pm_locked, "ACC-6", || {
                format!(
                    "offload_usage({}) incremented while the suspend bookkeeping flag is set",
                    udev.name
                )
            });
            udev.offload_usage.write(v + 1);
            udev.ghost.gets_ok.add(1);
            ksync::note(|| format!("offload_usage({}) {} -> {}", udev.name, v, v + 1));
        }
        Op::Put => {
            if v > 0 {
                ksync::check(!pm_locked, "ACC-6", || {
                    format!(
                        "offload_usage({}) decremented while the suspend bookkeeping flag is set",
                        udev.name
                    )
                });
                udev.offload_usage.write(v - 1);
                udev.ghost.puts_dec.add(1);
                ksync::note(|| format!("offload_usage({}) {} -> {}", udev.name, v, v - 1));
            } else {
                udev.ghost.puts_on_zero.add(1);
                ksync::report(
                    FindingKind::Invariant,
                    "ACC-2",
                    format!(
                        "usb_offload_put on {} with offload_usage == 0 (clamp exercised)",
                        udev.name
                    ),
                );
            }
        }
    }
    let now = udev.offload_usage.peek();
    ksync::check(now >= 0, "ACC-1", || {
        format!("offload_usage({}) = {now}", udev.name)
    });
    let bal = udev.ghost.gets_ok.get() - udev.ghost.puts_dec.get();
    ksync::check(bal == now as i64, "ACC-3", || {
        format!("offload_usage({}) = {now} but gets-puts = {bal}", udev.name)
    });
}

/// `usb_offload_check(udev)`: caller holds udevL(udev); children locked in turn.
/// PM-8: the answer it returns is still the answer when it returns (checker-side
/// look at the counts of the subtree, no scheduling point).
pub fn usb_offload_check(sys: &Sys, udev: &UsbDevice) -> bool {
    let _f = ksync::frame("usb_offload_check");
    ksync::check(udev.dev_mutex.is_held(), "LK-4", || {
        format!(
            "usb_offload_check({}) without udevL held (__must_hold)",
            udev.name
        )
    });
    let r = sys.contract().offload_check_subtree(sys, udev);
    let now = counts_in_subtree(sys, udev);
    ksync::check(r == now, "PM-8", || {
        format!(
            "usb_offload_check({}) returns {r} but the offload counts of its subtree say {now} when it returns (a count changed during the call)",
            udev.name
        )
    });
    r
}

/// Any attached device of `udev`'s subtree with a non-zero offload count. `observe`
/// puts these reads in the caller's step, so the search explores PM-8's check against
/// both orders of a count's change (as PM-4's `live_offload_in_subtree`).
fn counts_in_subtree(sys: &Sys, udev: &UsbDevice) -> bool {
    udev.offload_usage.observe() != 0
        || udev.children.iter().any(|&c| {
            let child = &sys.devs[c];
            child.port_child.observe() && counts_in_subtree(sys, child)
        })
}

/// The children `usb_hub_for_each_child` visits (ports with a child), each checked
/// under its own device lock, in port order; the first that answers true ends the walk.
fn any_child_offloaded(sys: &Sys, udev: &UsbDevice) -> bool {
    for &c in &udev.children {
        let child = &sys.devs[c];
        if !child.port_child.load() {
            continue;
        }
        let _g = child.dev_mutex.lock();
        if usb_offload_check(sys, child) {
            return true;
        }
    }
    false
}

/// `usb_offload_set_pm_locked(udev, b)` (v2 only).
pub fn usb_offload_set_pm_locked(udev: &UsbDevice, b: bool) {
    let _f = ksync::frame("usb_offload_set_pm_locked");
    let _l = udev.offload_lock.lock();
    udev.set_bit(bits::OFFLOAD, b);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::system::{Config, System};
    use crate::testutil::{expect_ok, run_once, t_assert};
    use crate::usb::core::device::{usb_set_device_state, UsbState};
    use crate::usb::core::pm;

    #[test]
    fn v2_error_codes() {
        let f = expect_ok(run_once(|| {
            let sys = System::new(Config::new(Design::V2OffloadSpinlock));
            let u = &sys.devs[sys.udev_of(0)];
            t_assert!(usb_offload_get(&sys, u) == 0, "get on active");
            t_assert!(u.offload_usage.read() == 1, "count 1");
            usb_offload_set_pm_locked(u, true);
            t_assert!(usb_offload_put(&sys, u) == -EAGAIN, "pm_locked → -EAGAIN");
            usb_offload_set_pm_locked(u, false);
            pm::pm_runtime_disable(u);
            t_assert!(
                usb_offload_put(&sys, u) == -EBUSY,
                "runtime PM disabled → -EBUSY"
            );
            pm::pm_runtime_enable(u);
            usb_set_device_state(&sys, u, UsbState::NotAttached);
            t_assert!(
                usb_offload_put(&sys, u) == 0,
                "v2 does not reject NOTATTACHED"
            );
            t_assert!(usb_offload_put(&sys, u) == 0, "put on 0 returns 0 (clamp)");
            t_assert!(u.offload_usage.read() == 0, "count 0");
        }));
        assert!(
            f.iter().any(|x| x.property == "ACC-2"),
            "clamp not reported: {f:#?}"
        );
    }

    #[test]
    fn v0_v1_error_codes() {
        for d in [Design::V0CoreLocks, Design::V1CallerLocks] {
            let f = expect_ok(run_once(move || {
                let sys = System::new(Config::new(d));
                let u = &sys.devs[sys.udev_of(0)];
                let g = (d == Design::V1CallerLocks).then(|| u.dev_mutex.lock());
                t_assert!(usb_offload_get(&sys, u) == 0, "get");
                u.set_bit(bits::OFFLOAD, true);
                t_assert!(
                    usb_offload_put(&sys, u) == -EBUSY,
                    "offload_at_suspend → -EBUSY"
                );
                u.set_bit(bits::OFFLOAD, false);
                t_assert!(usb_offload_put(&sys, u) == 0, "put");
                t_assert!(u.offload_usage.read() == 0, "count 0");
                drop(g);
                usb_set_device_state(&sys, u, UsbState::NotAttached);
                t_assert!(usb_offload_get(&sys, u) == -ENODEV, "NOTATTACHED → -ENODEV");
            }));
            let lk4 = f.iter().filter(|x| x.property == "LK-4").count();
            // v1: only the last call runs without udevL (device_lock_assert warns)
            assert_eq!(lk4, (d == Design::V1CallerLocks) as usize, "{d}: {f:#?}");
        }
    }

    #[test]
    fn v0_recursive_udevl_is_reported() {
        let (_end, f) = run_once(|| {
            let sys = System::new(Config::new(Design::V0CoreLocks));
            let u = &sys.devs[sys.udev_of(0)];
            let _g = u.dev_mutex.lock();
            usb_offload_get(&sys, u);
        });
        assert!(f.iter().any(|x| x.property == "LK-1"), "{f:#?}");
        assert!(f.iter().any(|x| x.property == "LK-4"), "{f:#?}");
    }
}
