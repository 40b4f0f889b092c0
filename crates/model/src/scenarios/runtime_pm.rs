//! Runtime PM (h) beyond the enable and the disable: an autosuspend against each
//! teardown of a live session, an autosuspend after a session ended, a suspend that
//! fails, and a runtime resume of a device that was unplugged while suspended.

use super::kit::{self, checked_session, reacting, start_stream, Path, Reaction};
use super::{Expect, Scenario};
use crate::system::{Config, Fault};
use crate::usb::core::pm;
use crate::Design;

/// A live session, then `teardown` against the runtime-PM worker's `rpm_suspend`; the
/// DSP does not answer indications. The autosuspend timer keeps running while the
/// device is in use (`rpm_resume` leaves it armed), so the worker's attempt can come
/// at any point of the teardown. (The teardown's own last put arms the timer again,
/// with the default 2 s delay: that one fires once everything else is done.)
fn runtime_suspend_vs(design: Design, teardown: Path) {
    kit::run(reacting(Config::new(design), &[Reaction::Never]), |sys| {
        start_stream(sys, 0);
        kit::race(sys, &[teardown, Path::RuntimeSuspend]);
    });
}

pub const RUNTIME_SUSPEND_VS_BYE: Scenario = Scenario {
    name: "runtime-suspend-vs-bye",
    description: "active stream; the QMI client's bye (qmi_stop_session drops the stream's PM reference) races the runtime-PM worker's rpm_suspend",
    bound: None,
    max_executions: None,
    paths: "(c) (h)",
    run: |d| runtime_suspend_vs(d, Path::Bye),
    expect: Expect {
        v0: "ACC-10 ACC-11 LK-2 LK-3 LK-8",
        v1: "ACC-10 ACC-11 LK-2 LK-3 LK-8",
        v2: "ACC-10 ACC-11 ACC-5 ACC-7",
        typed: "",
    },
};

pub const RUNTIME_SUSPEND_VS_UNPLUG: Scenario = Scenario {
    name: "runtime-suspend-vs-unplug",
    description: "active stream; a physical disconnect races the runtime-PM worker's rpm_suspend",
    bound: None,
    max_executions: None,
    paths: "(d) (h)",
    run: |d| runtime_suspend_vs(d, Path::Unplug),
    expect: Expect {
        v0: "LK-3",
        v1: "LK-3",
        v2: "",
        typed: "",
    },
};

pub const RUNTIME_SUSPEND_VS_RESET: Scenario = Scenario {
    name: "runtime-suspend-vs-reset",
    description: "active stream; a queued reset (forced unbind, rebind) races the runtime-PM worker's rpm_suspend",
    bound: None,
    max_executions: None,
    paths: "(e) (h) (k)",
    run: |d| runtime_suspend_vs(d, Path::Reset),
    expect: Expect {
        v0: "LK-1 LK-3 LK-4",
        v1: "ACC-9 LK-3",
        v2: "ACC-9",
        typed: "",
    },
};

pub const RUNTIME_SUSPEND_VS_USBFS: Scenario = Scenario {
    name: "runtime-suspend-vs-usbfs",
    description: "active stream; usbfs DISCONNECT of the control interface races the runtime-PM worker's rpm_suspend",
    bound: None,
    max_executions: None,
    paths: "(f) (h)",
    run: |d| runtime_suspend_vs(d, Path::UsbfsDisconnect),
    expect: Expect {
        v0: "LK-1 LK-3 LK-4",
        v1: "ACC-9 LK-3",
        v2: "ACC-9",
        typed: "",
    },
};

pub const RUNTIME_SUSPEND_VS_REMOVE: Scenario = Scenario {
    name: "runtime-suspend-vs-remove",
    description: "active stream; the qc driver remove races the runtime-PM worker's rpm_suspend",
    bound: None,
    max_executions: None,
    paths: "(j) (h)",
    run: |d| runtime_suspend_vs(d, Path::Remove),
    expect: Expect {
        v0: "ACC-11 ACC-8 LK-3 RES-7",
        v1: "ACC-11 ACC-8 LK-3 LK-4 RES-7",
        v2: "ACC-11 ACC-8 RES-7",
        typed: "",
    },
};

pub const AUTOSUSPEND_AFTER_SESSION: Scenario = Scenario {
    name: "autosuspend-after-session",
    description: "a session ends and its last put arms the autosuspend timer (2 s); the DSP enables again after 1 s (the device still active) or after 3 s (the timer fired and the device runtime-suspended, so the enable resumes it)",
    bound: None,
    max_executions: None,
    paths: "(a) (b) (h), then (a)",
    run: autosuspend_after_session,
    expect: Expect {
        v0: "LK-3 RES-11 RES-5",
        v1: "LK-3 LK-4 RES-11 RES-5",
        v2: "LK-3 RES-11 RES-5",
        typed: "",
    },
};

fn autosuspend_after_session(design: Design) {
    kit::run(reacting(Config::new(design), &[Reaction::Never]), |sys| {
        let pause_ms = [1000, 3000][ksync::choose(2)];
        let s = sys.clone();
        ksync::spawn("DSP", move || {
            checked_session(&s, "first session: ");
            ksync::msleep(pause_ms);
            Path::Enable.run(&s);
        })
        .join();
    });
}

pub const RESUME_AFTER_UNPLUG: Scenario = Scenario {
    name: "resume-after-unplug",
    description: "the idle device is runtime-suspended; a physical disconnect races an enable whose runtime resume (usb_resume_both on a NOTATTACHED device) fails",
    bound: Some("the first 20 000 DPOR executions (the whole space is over 3.2 M for v0 and 99.3 M for typed, which passes it: --no-declared-bound)"),
    max_executions: Some(20_000),
    paths: "(h) (d) (a)",
    run: resume_after_unplug,
    expect: Expect {
        v0: "ACC-8 LK-3",
        v1: "ACC-8 LK-2 LK-3",
        v2: "ACC-8 LK-3",
        typed: "",
    },
};

fn resume_after_unplug(design: Design) {
    let mut cfg = Config::new(design);
    cfg.autosuspend_delay_ms = 0;
    kit::run(reacting(cfg, &[Reaction::Never]), |sys| {
        // idle after boot: the autosuspend runs to its end before the race
        pm::rpm_idle(sys, &sys.devs[sys.udev_of(0)]);
        sys.pm_wq.flush();
        kit::race(sys, &[Path::Unplug, Path::Enable]);
    });
}

pub const RUNTIME_SUSPEND_FAILS: Scenario = Scenario {
    name: "runtime-suspend-fails",
    description: "the runtime-PM worker's suspend of the idle device fails (chosen: the port suspend, or interface 0's suspend callback after interface 1 suspended), then the DSP runs a session",
    bound: None,
    max_executions: None,
    paths: "(h) failing, then (a) (b)",
    run: runtime_suspend_fails,
    expect: Expect {
        v0: "LK-3",
        v1: "LK-3 LK-4",
        v2: "",
        typed: "",
    },
};

fn runtime_suspend_fails(design: Design) {
    kit::run(Config::new(design), |sys| {
        let f = Fault::SUSPEND[ksync::choose(Fault::SUSPEND.len())];
        sys.fault.set(f as i64);
        ksync::note(|| format!("fault point: {f:?}"));
        kit::spawn(sys, Path::RuntimeSuspend).join();
        let s = sys.clone();
        ksync::spawn("DSP", move || {
            checked_session(&s, "after a failed suspend: ")
        })
        .join();
    });
}

pub const PORT_SUSPEND_FAILS_VS_ENABLE: Scenario = Scenario {
    name: "port-suspend-fails-vs-enable",
    description: "the runtime-PM worker's suspend of the idle device fails in the port suspend, so usb_suspend_both resumes the suspended interfaces, while the DSP's enable arrives",
    bound: None,
    max_executions: None,
    paths: "(h) failing, (a)",
    run: port_suspend_fails_vs_enable,
    expect: Expect {
        v0: "ACC-11 ACC-7 ACC-8 LK-2 LK-3 RES-1 RES-3 RES-4 RES-7 SB-7 SB-8",
        v1: "ACC-11 ACC-7 ACC-8 LK-2 LK-3 RES-1 RES-3 RES-4 RES-7 SB-7 SB-8",
        v2: "ACC-11 ACC-7 ACC-8 LK-2 LK-3 RES-1 RES-3 RES-4 RES-7 SB-7 SB-8",
        typed: "",
    },
};

fn port_suspend_fails_vs_enable(design: Design) {
    kit::run(reacting(Config::new(design), &[Reaction::Never]), |sys| {
        sys.fault.set(Fault::PortSuspend as i64);
        kit::race(sys, &[Path::RuntimeSuspend, Path::Enable]);
    });
}
