//! Connect against other paths, requests repeated or racing the session's stop, a
//! second teardown of one interface, a non-offload PCM user, and the hub's warm
//! reset against an unplug.

use super::kit::{self, reacting, setup_unprobed, start_stream, Path, Reaction};
use super::session::check_disable_changes_nothing;
use super::{Expect, Scenario};
use crate::dsp::DSP_PORT;
use crate::system::Config;
use crate::Design;

pub const CONNECT_VS_ENABLE: Scenario = Scenario {
    name: "connect-vs-enable",
    description: "the qc driver (QMI service) is up; the USB probe of the audio device races the DSP's enable request",
    bound: None,
    max_executions: None,
    paths: "(k) (a)",
    run: connect_vs_enable,
    expect: Expect {
        v0: "LK-3",
        v1: "LK-3",
        v2: "",
        typed: "",
    },
};

fn connect_vs_enable(design: Design) {
    let sys = setup_unprobed(reacting(Config::new(design), &[Reaction::Never]));
    kit::race(&sys, &[Path::Probe, Path::Enable]);
}

pub const CONNECT_VS_REMOVE: Scenario = Scenario {
    name: "connect-vs-remove",
    description: "the qc driver is loaded; the USB probe of the audio device (connect_cb under register_mutex) races the qc driver remove",
    bound: None,
    max_executions: None,
    paths: "(k) (j)",
    run: connect_vs_remove,
    expect: Expect {
        v0: "LK-8",
        v1: "LK-8",
        v2: "LK-8",
        typed: "",
    },
};

fn connect_vs_remove(design: Design) {
    let sys = setup_unprobed(Config::new(design));
    kit::race(&sys, &[Path::Probe, Path::Remove]);
}

pub const DISABLE_TWICE: Scenario = Scenario {
    name: "disable-twice",
    description:
        "active stream; the DSP sends disable, then disable again for the stream it already stopped",
    bound: None,
    max_executions: None,
    paths: "(b) (b)",
    run: disable_twice,
    expect: Expect {
        v0: "ACC-12 ACC-8 LK-3",
        v1: "ACC-12 ACC-8 LK-3 LK-4",
        v2: "ACC-12 ACC-8",
        typed: "",
    },
};

fn disable_twice(design: Design) {
    kit::run(Config::new(design), |sys| {
        start_stream(sys, 0);
        let s = sys.clone();
        ksync::spawn("DSP", move || {
            Path::Disable.run(&s);
            check_disable_changes_nothing(&s, 0);
        })
        .join();
    });
}

pub const DISABLE_VS_STOP_SESSION: Scenario = Scenario {
    name: "disable-vs-stop-session",
    description: "active stream; the DSP's disable request and the name service's DEL_CLIENT for the DSP's port (qmi_stop_session) come from two senders, in either order, to the ordered QMI worker",
    bound: None,
    max_executions: None,
    paths: "(b) (c) via del_client",
    run: disable_vs_stop_session,
    expect: Expect {
        v0: "ACC-10 ACC-11 LK-3",
        v1: "ACC-10 ACC-11 LK-3 LK-4",
        v2: "ACC-10 ACC-11",
        typed: "",
    },
};

fn disable_vs_stop_session(design: Design) {
    kit::run(Config::new(design), |sys| {
        start_stream(sys, 0);
        let d = kit::spawn(sys, Path::Disable);
        let s = sys.clone();
        let ns = ksync::spawn("T_ns", move || s.qmi.send_del_client(&s, DSP_PORT));
        d.join();
        ns.join();
    });
}

pub const UNBIND_TWICE: Scenario = Scenario {
    name: "unbind-twice",
    description: "active stream; usbfs DISCONNECT and sysfs unbind of the same control interface race: a second teardown of one interface; the DSP does not answer indications",
    bound: None,
    max_executions: None,
    paths: "(f) (f)",
    run: unbind_twice,
    expect: Expect {
        v0: "LK-1 LK-3 LK-4",
        v1: "ACC-9 LK-3",
        v2: "ACC-9",
        typed: "",
    },
};

fn unbind_twice(design: Design) {
    kit::run(reacting(Config::new(design), &[Reaction::Never]), |sys| {
        start_stream(sys, 0);
        let a = kit::spawn(sys, Path::UsbfsDisconnect);
        let s = sys.clone();
        let b = ksync::spawn("T_usr2", move || Path::SysfsUnbind.run(&s));
        a.join();
        b.join();
    });
}

pub const PCM_USER_VS_UNPLUG: Scenario = Scenario {
    name: "pcm-user-vs-unplug",
    description: "a non-offload PCM user of the card (snd_usb_lock_shutdown, autoresume, snd_usb_unlock_shutdown) races a physical disconnect that waits for chip->usage_count",
    bound: None,
    max_executions: None,
    paths: "PCM (d)",
    run: |d| kit::run(Config::new(d), |sys| kit::race(sys, &[Path::PcmUser, Path::Unplug])),
    expect: Expect {
        v0: "",
        v1: "",
        v2: "",
        typed: "",
    },
};

pub const WARM_RESET_VS_UNPLUG: Scenario = Scenario {
    name: "warm-reset-vs-unplug",
    description: "active stream; the hub's warm-reset branch (port lock, then udevL) races a physical disconnect (udevL, then the interfaces); the DSP does not answer indications",
    bound: None,
    max_executions: None,
    paths: "(e) warm reset, (d)",
    run: warm_reset_vs_unplug,
    expect: Expect {
        v0: "LK-1 LK-3 LK-4",
        v1: "LK-3",
        v2: "",
        typed: "",
    },
};

fn warm_reset_vs_unplug(design: Design) {
    kit::run(reacting(Config::new(design), &[Reaction::Never]), |sys| {
        start_stream(sys, 0);
        let w = kit::spawn(sys, Path::WarmReset);
        let s = sys.clone();
        let u = ksync::spawn("T_hub2", move || Path::Unplug.run(&s));
        w.join();
        u.join();
    });
}
