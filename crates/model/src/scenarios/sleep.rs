//! System sleep (g) beyond one cycle: two cycles in a row, a stream stopped during
//! one, and a suspend whose port suspend or interface callback fails.

use super::kit::{self, reacting, start_stream, Path, Reaction};
use super::{Expect, Scenario};
use crate::system::{Config, Fault};
use crate::usb::core::driver;
use crate::Design;

/// Two system suspend/resume cycles from the PM core, one after the other.
fn two_sleep_cycles(sys: &crate::system::Sys) -> kit::JoinHandle {
    let s = sys.clone();
    ksync::spawn("T_sys", move || {
        driver::system_sleep_cycle(&s);
        driver::system_sleep_cycle(&s);
    })
}

pub const SYSTEM_SLEEP_TWICE: Scenario = Scenario {
    name: "system-sleep-twice",
    description: "active stream; two system suspend/resume cycles in a row; the DSP answers each suspend's indication by choice (disable/never)",
    bound: None,
    max_executions: None,
    paths: "(g) (g) (b)",
    run: system_sleep_twice,
    expect: Expect {
        v0: "ACC-11 ACC-7 ACC-8 LK-2 LK-3 PM-4 RES-1 RES-3 RES-4 RES-7 SB-7 SB-8",
        v1: "ACC-11 ACC-7 ACC-8 LK-2 LK-3 PM-4 RES-1 RES-3 RES-4 RES-7 SB-7 SB-8",
        v2: "ACC-11 ACC-5 ACC-7 ACC-8 PM-4 RES-1 RES-3 RES-4 RES-7 SB-7 SB-8",
        typed: "",
    },
};

fn system_sleep_twice(design: Design) {
    let cfg = reacting(Config::new(design), &[Reaction::Disable, Reaction::Never]);
    kit::run(cfg, |sys| {
        start_stream(sys, 0);
        two_sleep_cycles(sys).join();
    });
}

pub const STOP_DURING_SLEEP: Scenario = Scenario {
    name: "stop-during-sleep",
    description: "active stream; the DSP disables it while the PM core runs a system suspend/resume cycle, then the next cycle runs on the stopped stream; the DSP does not answer indications",
    bound: None,
    max_executions: None,
    paths: "(b) (g), then (g)",
    run: stop_during_sleep,
    expect: Expect {
        v0: "LK-2 LK-3 PM-4",
        v1: "ACC-5 ACC-7 LK-2 LK-3 LK-4 LK-8 PM-3 PM-4 PM-9",
        v2: "ACC-5 ACC-7 LK-8 PM-4",
        typed: "",
    },
};

fn stop_during_sleep(design: Design) {
    kit::run(reacting(Config::new(design), &[Reaction::Never]), |sys| {
        start_stream(sys, 0);
        kit::race(sys, &[Path::SystemSleep, Path::Disable]);
        kit::race(sys, &[Path::SystemSleep]);
    });
}

pub const SYSTEM_SUSPEND_FAILS: Scenario = Scenario {
    name: "system-suspend-fails",
    description: "active stream; one system suspend/resume cycle in which the audio device's port suspend or interface 0's suspend callback fails (chosen; system sleep ignores both); the DSP answers by choice (disable/never)",
    bound: None,
    max_executions: None,
    paths: "(g) failing, (b)",
    run: system_suspend_fails,
    expect: Expect {
        v0: "ACC-11 ACC-7 ACC-8 LK-2 LK-3 PM-4 RES-1 RES-3 RES-4 RES-7 SB-7 SB-8",
        v1: "ACC-11 ACC-7 ACC-8 LK-2 LK-3 PM-4 RES-1 RES-3 RES-4 RES-7 SB-7 SB-8",
        v2: "ACC-11 ACC-5 ACC-7 ACC-8 PM-4 RES-1 RES-3 RES-4 RES-7 SB-7 SB-8",
        typed: "",
    },
};

fn system_suspend_fails(design: Design) {
    let cfg = reacting(Config::new(design), &[Reaction::Disable, Reaction::Never]);
    kit::run(cfg, |sys| {
        start_stream(sys, 0);
        let f = Fault::SUSPEND[ksync::choose(Fault::SUSPEND.len())];
        sys.fault.set(f as i64);
        ksync::note(|| format!("fault point: {f:?}"));
        kit::race(sys, &[Path::SystemSleep]);
    });
}
