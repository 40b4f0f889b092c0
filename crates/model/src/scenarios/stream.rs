//! An active stream against one teardown or PM path (with the DSP's answers to the
//! disconnect indication explored), and the paths that only a stream reaches.

use super::kit::{self, reacting, start_stream, stream_then, Path, Reaction};
use super::{Expect, Scenario};
use crate::dsp::{self, StreamReq};
use crate::sound::usb::card::EpDesc;
use crate::system::Config;
use crate::usb::core::{devio, hub};
use crate::Design;

pub const STREAM_VS_RESET: Scenario = Scenario {
    name: "stream-vs-reset",
    description: "active stream, usb_reset_device with forced unbind and rebind; caller chosen: queued reset, usbfs RESET, hub warm reset",
    bound: None,
    max_executions: None,
    paths: "(e) via T_reset / usbfs RESET (f) / hub warm reset, (k) rebind, (b)",
    run: stream_vs_reset,
    expect: Expect {
        v0: "LK-1 LK-2 LK-3 LK-4",
        v1: "ACC-9 LK-2 LK-3",
        v2: "ACC-2 ACC-9 RES-12 RES-4 SB-9",
        typed: "",
    },
};

fn stream_vs_reset(design: Design) {
    let cfg = reacting(
        Config::new(design),
        &[Reaction::Disable, Reaction::Never, Reaction::Enable],
    );
    kit::run(cfg, |sys| {
        start_stream(sys, 0);
        // the caller of usb_reset_device: queued reset work, usbfs USBDEVFS_RESET, or
        // the hub's warm-reset branch (all hold udevL around the reset)
        let r = match ksync::choose(3) {
            0 => kit::spawn(sys, Path::Reset),
            1 => {
                let s = sys.clone();
                let udev = sys.udev_of(0);
                ksync::spawn("T_usr", move || {
                    let ret = devio::usbfs_ioctl_reset(&s, udev);
                    ksync::note(|| format!("USBDEVFS_RESET: {ret}"));
                })
            }
            _ => kit::spawn(sys, Path::WarmReset),
        };
        r.join();
    });
}

pub const STREAM_VS_USBFS_DISCONNECT: Scenario = Scenario {
    name: "stream-vs-usbfs-disconnect",
    description: "active stream, usbfs USBDEVFS_DISCONNECT or sysfs unbind of the control interface; optional signal to T_usr",
    bound: None,
    max_executions: None,
    paths: "(f) (b)",
    run: stream_vs_usbfs_disconnect,
    expect: Expect {
        v0: "LK-1 LK-2 LK-3 LK-4",
        v1: "ACC-9 LK-2 LK-3",
        v2: "ACC-2 ACC-9 RES-12 RES-4 SB-9",
        typed: "",
    },
};

fn stream_vs_usbfs_disconnect(design: Design) {
    let cfg = reacting(Config::new(design), &[Reaction::Disable, Reaction::Never]);
    kit::run(cfg, |sys| {
        start_stream(sys, 0);
        let sysfs = ksync::choose(2) == 1;
        let u = kit::spawn(
            sys,
            if sysfs {
                Path::SysfsUnbind
            } else {
                Path::UsbfsDisconnect
            },
        );
        if ksync::choose(2) == 1 {
            ksync::signal(&u);
        }
        u.join();
    });
}

pub const STREAM_VS_SYSTEM_SUSPEND: Scenario = Scenario {
    name: "stream-vs-system-suspend",
    description: "active stream, one system suspend/resume cycle; suspend_cb sends the indication",
    bound: None,
    max_executions: None,
    paths: "(g) (b)",
    run: |d| {
        let cfg = reacting(Config::new(d), &[Reaction::Disable, Reaction::Never]);
        stream_then(cfg, &[Path::SystemSleep]);
    },
    expect: Expect {
        v0: "ACC-11 ACC-7 ACC-8 LK-2 LK-3 PM-4 RES-1 RES-3 RES-4 RES-7 SB-7 SB-8",
        v1: "ACC-11 ACC-7 ACC-8 LK-2 LK-3 PM-4 RES-1 RES-3 RES-4 RES-7 SB-7 SB-8",
        v2: "ACC-11 ACC-5 ACC-7 ACC-8 PM-4 RES-1 RES-3 RES-4 RES-7 SB-7 SB-8",
        typed: "",
    },
};

pub const BYE_VS_UNPLUG: Scenario = Scenario {
    name: "bye-vs-unplug",
    description: "active stream, QMI client bye races a physical disconnect",
    bound: None,
    max_executions: None,
    paths: "(c) (d)",
    run: |d| {
        let cfg = reacting(Config::new(d), &[Reaction::Never, Reaction::Disable]);
        stream_then(cfg, &[Path::Bye, Path::Unplug]);
    },
    expect: Expect {
        v0: "ACC-10 LK-2 LK-3 LK-8 LK-9 RES-10 RES-12 RES-4 RES-9 SB-9",
        v1: "ACC-10 LK-2 LK-3 LK-9",
        v2: "ACC-10 ACC-2 LK-8 LK-9 RES-10 RES-12 RES-4 RES-9 SB-9",
        typed: "",
    },
};

pub const DRIVER_REMOVE_VS_STREAM: Scenario = Scenario {
    name: "driver-remove-vs-stream",
    description: "active stream, qc auxiliary driver remove (T_aux) while the DSP reacts",
    bound: None,
    max_executions: None,
    paths: "(j) (b)",
    run: |d| {
        let cfg = reacting(Config::new(d), &[Reaction::Disable, Reaction::Never]);
        stream_then(cfg, &[Path::Remove]);
    },
    expect: Expect {
        v0: "ACC-11 ACC-8 LK-3 RES-12 RES-4 RES-7 SB-9",
        v1: "ACC-11 ACC-2 ACC-8 LK-3 LK-4 RES-12 RES-4 RES-7 SB-9",
        v2: "ACC-11 ACC-2 ACC-8 RES-12 RES-4 RES-7 SB-9",
        typed: "",
    },
};

pub const RING_FREE_NOTIFY: Scenario = Scenario {
    name: "ring-free-notify",
    description:
        "active stream with a sync endpoint; reset-resume port reset sends ring-free notifications",
    bound: None,
    max_executions: None,
    paths: "(i) (b)",
    run: ring_free_notify,
    expect: Expect {
        v0: "ACC-11 ACC-7 ACC-8 LK-2 LK-3 RES-1 RES-3 RES-4 RES-7 SB-6 SB-7 SB-8",
        v1: "ACC-11 ACC-7 ACC-8 LK-2 LK-3 RES-1 RES-3 RES-4 RES-7 SB-6 SB-7 SB-8",
        v2: "ACC-11 ACC-7 ACC-8 RES-1 RES-3 RES-4 RES-7 SB-6 SB-7 SB-8",
        typed: "",
    },
};

fn ring_free_notify(design: Design) {
    let mut cfg = Config::new(design);
    cfg.sync_ep = Some(EpDesc {
        ep_num: 2,
        is_in: true,
    });
    kit::run(
        reacting(cfg, &[Reaction::Disable, Reaction::Never]),
        |sys| {
            start_stream(sys, 0);
            let s = sys.clone();
            let udev = sys.udev_of(0);
            // reset-resume inside system resume: the PM core holds udevL; usb_port_resume
            // → port reset (L_port, L_addr0) → xHCI reset_device → ring-free notifications
            let t = ksync::spawn("T_sys", move || {
                let _f = ksync::frame("usb_resume_both");
                let u = &s.devs[udev];
                let _g = u.dev_mutex.lock();
                let _f2 = ksync::frame("usb_port_resume");
                let _p = u.port_lock.lock();
                hub::usb_reset_and_verify_device(&s, u);
            });
            t.join();
        },
    );
}

pub const REMOVE_VS_UNPLUG: Scenario = Scenario {
    name: "remove-vs-unplug",
    description:
        "active stream; qc driver remove races a physical disconnect: two teardowns of one session",
    bound: None,
    max_executions: None,
    paths: "(j) (d) (b)",
    // The DSP does not answer: both teardowns run to their own end (the W_inuse
    // waits time out), which keeps the space exhaustible.
    run: |d| {
        let cfg = reacting(Config::new(d), &[Reaction::Never]);
        stream_then(cfg, &[Path::Remove, Path::Unplug]);
    },
    expect: Expect {
        v0: "LK-3 RES-8 SB-5 SB-8",
        v1: "LK-3 LK-4 RES-8 SB-5 SB-8",
        v2: "RES-8 SB-5 SB-8",
        typed: "",
    },
};

pub const BYE_VS_RESET: Scenario = Scenario {
    name: "bye-vs-reset",
    description:
        "active stream; QMI client bye (qmi_stop_session) races a queued reset with forced unbind",
    bound: None,
    max_executions: None,
    paths: "(c) (e) (k)",
    run: |d| {
        let cfg = reacting(Config::new(d), &[Reaction::Never]);
        stream_then(cfg, &[Path::Bye, Path::Reset]);
    },
    expect: Expect {
        v0: "ACC-10 LK-2 LK-3 LK-9",
        v1: "ACC-10 LK-2 LK-3 LK-9",
        v2: "ACC-10 LK-8 LK-9 RES-10 RES-9",
        typed: "",
    },
};

pub const DISABLE_VS_RUNTIME_SUSPEND: Scenario = Scenario {
    name: "disable-vs-runtime-suspend",
    description: "autosuspend delay 0: the disable drops the stream's PM reference (step 11) before its put (step 12), so the runtime suspend races the put",
    bound: Some("the first 50 000 DPOR executions (v0 and v1 do not end within them; v2 ends at 30 144, typed at 1 536)"),
    max_executions: Some(50_000),
    paths: "(b) (h)",
    run: disable_vs_runtime_suspend,
    expect: Expect {
        v0: "LK-1 LK-2 LK-3 LK-8",
        v1: "LK-1 LK-2 LK-3 LK-4 LK-8",
        v2: "ACC-5 ACC-7",
        typed: "",
    },
};

/// Autosuspend delay 0: the disable's snd_usb_autosuspend (step 11) lets the device
/// runtime-suspend while the response section's put (step 12) still has to run.
fn disable_vs_runtime_suspend(design: Design) {
    let mut cfg = Config::new(design);
    cfg.autosuspend_delay_ms = 0;
    kit::run(reacting(cfg, &[Reaction::Never]), |sys| {
        start_stream(sys, 0);
        let s = sys.clone();
        ksync::spawn("DSP", move || {
            dsp::request(&s, StreamReq::new(false, 0));
        })
        .join();
    });
}
