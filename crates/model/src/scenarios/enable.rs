//! An enable request (a) against a runtime suspend or a teardown path.

use super::kit::{self, reacting, Path, Reaction};
use super::{Expect, Scenario};
use crate::system::Config;
use crate::usb::core::pm;
use crate::Design;

pub const ENABLE_VS_UNPLUG: Scenario = Scenario {
    name: "enable-vs-unplug",
    description: "enable request races a physical disconnect; DSP answers the indication by choice (disable/never/late/bye)",
    bound: None,
    max_executions: None,
    paths: "(a) (b) (c) (d)",
    run: enable_vs_unplug,
    expect: Expect {
        v0: "ACC-10 LK-2 LK-3 LK-9 RES-12 RES-4 SB-9",
        v1: "LK-2 LK-3 LK-9",
        v2: "ACC-10 ACC-2 LK-9 RES-12 RES-4 SB-9",
        typed: "",
    },
};

fn enable_vs_unplug(design: Design) {
    let cfg = reacting(
        Config::new(design),
        &[
            Reaction::Disable,
            Reaction::Never,
            Reaction::Late,
            Reaction::Bye,
        ],
    );
    kit::run(cfg, |sys| kit::race(sys, &[Path::Enable, Path::Unplug]));
}

pub const ENABLE_VS_RUNTIME_SUSPEND: Scenario = Scenario {
    name: "enable-vs-runtime-suspend",
    description: "enable races a runtime autosuspend (delay 0) whose suspend_cb takes qdev_mutex while the enable sleeps on W_rpm",
    bound: None,
    max_executions: None,
    paths: "(a) (h) (b)",
    run: enable_vs_runtime_suspend,
    expect: Expect {
        v0: "LK-2 LK-3",
        v1: "LK-2 LK-3",
        v2: "LK-2 LK-3",
        typed: "",
    },
};

fn enable_vs_runtime_suspend(design: Design) {
    let mut cfg = Config::new(design);
    cfg.autosuspend_delay_ms = 0;
    // the DSP ignores the indication (the W_inuse wait then times out): keeps the
    // scenario about the enable-vs-suspend race itself
    kit::run(reacting(cfg, &[Reaction::Never]), |sys| {
        // the device is idle: the runtime-PM core queues an autosuspend (delay 0)
        pm::rpm_idle(sys, &sys.devs[sys.udev_of(0)]);
        kit::race(sys, &[Path::Enable]);
    });
}

/// The DSP sends one enable request (a) while `other` runs a teardown path. The DSP
/// does not answer the indication: the race is the enable against the teardown
/// (answers are explored in enable-vs-unplug).
fn enable_vs(design: Design, other: Path) {
    let cfg = reacting(Config::new(design), &[Reaction::Never]);
    kit::run(cfg, |sys| kit::race(sys, &[Path::Enable, other]));
}

pub const ENABLE_VS_USBFS_DISCONNECT: Scenario = Scenario {
    name: "enable-vs-usbfs-disconnect",
    description: "enable request races usbfs USBDEVFS_DISCONNECT of the control interface (udevL held by T_usr)",
    bound: None,
    max_executions: None,
    paths: "(a) (f) (b)",
    run: |d| enable_vs(d, Path::UsbfsDisconnect),
    expect: Expect {
        v0: "LK-1 LK-2 LK-3 LK-4",
        v1: "ACC-9 LK-2 LK-3",
        v2: "ACC-9",
        typed: "",
    },
};

pub const ENABLE_VS_SYSTEM_SUSPEND: Scenario = Scenario {
    name: "enable-vs-system-suspend",
    description: "enable request races a system suspend/resume cycle (suspend_cb takes qdev_mutex under the PM core's udevL)",
    bound: None,
    max_executions: None,
    paths: "(a) (g) (b)",
    run: |d| enable_vs(d, Path::SystemSleep),
    expect: Expect {
        v0: "ACC-11 ACC-7 ACC-8 LK-2 LK-3 LK-8 PM-4 RES-1 RES-3 RES-4 RES-7 SB-7 SB-8",
        v1: "ACC-11 ACC-7 ACC-8 LK-2 LK-3 LK-8 PM-4 RES-1 RES-3 RES-4 RES-7 SB-7 SB-8",
        v2: "ACC-11 ACC-7 ACC-8 LK-8 PM-4 RES-1 RES-3 RES-4 RES-7 SB-7 SB-8",
        typed: "",
    },
};

pub const ENABLE_VS_DRIVER_REMOVE: Scenario = Scenario {
    name: "enable-vs-driver-remove",
    description: "enable request races the qc auxiliary driver remove (T_aux, no udevL)",
    bound: None,
    max_executions: None,
    paths: "(a) (j) (b)",
    run: |d| enable_vs(d, Path::Remove),
    expect: Expect {
        v0: "ACC-11 ACC-8 LK-3 LK-8 RES-7",
        v1: "ACC-11 ACC-8 LK-3 LK-4 LK-8 RES-7",
        v2: "ACC-11 ACC-8 LK-8 RES-7",
        typed: "",
    },
};
