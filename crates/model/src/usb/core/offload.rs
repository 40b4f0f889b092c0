//! `drivers/usb/core/offload.c`: `usb_offload_get/put/check` and
//! `usb_offload_set_pm_locked`, per design version (spec §3.1–3.5). The design
//! differences of the USB core live here.

use crate::errno::*;
use crate::system::Sys;
use crate::usb::core::device::{bits, UsbDevice, UsbState};
use crate::usb::core::pm;
use crate::Design;
use ksync::FindingKind;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Op {
    Get,
    Put,
}

/// `usb_offload_get(udev)`.
pub fn usb_offload_get(sys: &Sys, udev: &UsbDevice) -> i32 {
    let _f = ksync::frame("usb_offload_get");
    offload_op(sys, udev, Op::Get)
}

/// `usb_offload_put(udev)`.
pub fn usb_offload_put(sys: &Sys, udev: &UsbDevice) -> i32 {
    let _f = ksync::frame("usb_offload_put");
    offload_op(sys, udev, Op::Put)
}

fn offload_op(sys: &Sys, udev: &UsbDevice, op: Op) -> i32 {
    let r = match sys.design {
        Design::V0CoreLocks => {
            // LK-4: "the caller must not hold udevL". Acquiring it again is LK-1.
            ksync::check(!udev.dev_mutex.is_held(), "LK-4", || {
                format!(
                    "usb_offload_{} (v0) called with udevL({}) held; it takes udevL itself",
                    if op == Op::Get { "get" } else { "put" },
                    udev.name
                )
            });
            let _g = udev.dev_mutex.lock();
            state_checks_and_change(sys, udev, op)
        }
        Design::V1CallerLocks => {
            // device_lock_assert: lockdep warns and continues.
            if !udev.dev_mutex.is_held() {
                ksync::report(
                    FindingKind::Invariant,
                    "LK-4",
                    format!(
                        "device_lock_assert failed in usb_offload_{} (v1): udevL({}) not held by caller",
                        if op == Op::Get { "get" } else { "put" },
                        udev.name
                    ),
                );
            }
            state_checks_and_change(sys, udev, op)
        }
        Design::V2OffloadSpinlock => v2_op(sys, udev, op),
    };
    if op == Op::Put && r != 0 {
        udev.ghost.puts_failed.add(1);
    }
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
    r
}

/// Steps 2–6 of §3.1/§3.2 (v0 with udevL held by itself, v1 by the caller).
fn state_checks_and_change(sys: &Sys, udev: &UsbDevice, op: Op) -> i32 {
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
    change_count(udev, op);
    pm::usb_autosuspend_device(sys, udev);
    0
}

fn v2_op(sys: &Sys, udev: &UsbDevice, op: Op) -> i32 {
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
            change_count(udev, op);
            0
        }
    };
    pm::pm_runtime_put_autosuspend(sys, udev);
    ret
}

/// Step 5: get +1; put −1 unless 0. With the ACC-1/2/3/6 checks.
fn change_count(udev: &UsbDevice, op: Op) {
    // checker-side read of the flags (no scheduling point)
    let flag = udev.bit_peek(bits::OFFLOAD);
    let v = udev.offload_usage.read();
    match op {
        Op::Get => {
            ksync::check(!flag, "ACC-6", || {
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
                ksync::check(!flag, "ACC-6", || {
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
    let r = offload_check_subtree(sys, udev);
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

fn offload_check_subtree(sys: &Sys, udev: &UsbDevice) -> bool {
    let v2 = sys.design == Design::V2OffloadSpinlock;
    if v2 && udev.offload_usage.read() != 0 {
        return true;
    }
    for &c in &udev.children {
        let child = &sys.devs[c];
        if !child.port_child.load() {
            // usb_hub_for_each_child visits only ports with a child
            continue;
        }
        let _g = child.dev_mutex.lock();
        if usb_offload_check(sys, child) {
            return true;
        }
    }
    if !v2 {
        return udev.offload_usage.read() != 0;
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
    use crate::usb::core::device::usb_set_device_state;

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
