//! Sessions without a concurrent teardown: the baseline, sessions in a row, connect,
//! the enable's error labels, two cards sharing the driver's globals.

use super::kit::{self, checked_session};
use super::{Expect, Scenario};
use crate::dsp::{self, StreamReq};
use crate::invariants;
use crate::sound::usb::qcom::offload as qc;
use crate::system::{self, Config, Fault, Sys, System};
use crate::Design;
use ksync::FindingKind;

pub const ENABLE_DISABLE: Scenario = Scenario {
    name: "enable-disable",
    description: "DSP enables then disables one stream; nothing else (baseline)",
    bound: None,
    max_executions: None,
    paths: "(a) (b) (k) (h: autosuspend timer after disable)",
    run: enable_disable,
    expect: Expect {
        v0: "LK-3",
        v1: "LK-3 LK-4",
        v2: "",
        typed: "",
    },
};

fn enable_disable(design: Design) {
    kit::run(Config::new(design), |sys| {
        let s = sys.clone();
        ksync::spawn("DSP", move || checked_session(&s, "baseline ")).join();
    });
}

pub const ENABLE_DISABLE_TWICE: Scenario = Scenario {
    name: "enable-disable-twice",
    description: "two enable/disable sessions in a row on one card (uaudio_dev_release leaves dev->info/udev/num_intf behind)",
    bound: None,
    max_executions: None,
    paths: "(a) (b) (a) (b)",
    run: enable_disable_twice,
    expect: Expect {
        v0: "LK-3 RES-11 RES-5",
        v1: "LK-3 LK-4 RES-11 RES-5",
        v2: "RES-11 RES-5",
        typed: "",
    },
};

fn enable_disable_twice(design: Design) {
    kit::run(Config::new(design), |sys| {
        let s = sys.clone();
        ksync::spawn("DSP", move || {
            for _ in 0..2 {
                checked_session(&s, "");
            }
        })
        .join();
    });
}

pub const CONNECT: Scenario = Scenario {
    name: "connect",
    description: "qc auxiliary probe races the USB probe of the audio device, then enable/disable",
    bound: None,
    max_executions: None,
    paths: "(k) (a) (b)",
    run: connect,
    expect: Expect {
        v0: "LK-3",
        v1: "LK-3 LK-4",
        v2: "",
        typed: "",
    },
};

fn connect(design: Design) {
    let mut cfg = Config::new(design);
    cfg.qc_loaded = false;
    let sys = System::new(cfg);
    invariants::register_end_checks(&sys);
    let s = sys.clone();
    let a = ksync::spawn("T_aux", move || qc::qc_usb_audio_probe(&s));
    let s = sys.clone();
    let udev = sys.udev_of(0);
    let h = ksync::spawn("T_hub", move || system::hub_event_connect(&s, udev));
    a.join();
    h.join();
    let s = sys.clone();
    let d = ksync::spawn("DSP", move || {
        let (e, _) = dsp::enable_then_disable(&s, 0);
        ksync::check(e.status == 0, "RES-6", || {
            format!("enable after connect failed: {e:?}")
        });
    });
    d.join();
}

pub const ENABLE_ERROR_PATHS: Scenario = Scenario {
    name: "enable-error-paths",
    description: "one enable with a chosen failure point (hw_params, endpoint buffer, ring map, event buffer, event-ring map, transfer buffer, info alloc, interrupter slot taken)",
    bound: None,
    max_executions: None,
    paths: "(a) error labels, (b)",
    run: enable_error_paths,
    expect: Expect {
        v0: "ACC-10 ACC-8 LK-3 RES-2 RES-3 RES-4 RES-5 RES-6 RES-7 RES-9",
        v1: "ACC-10 ACC-8 LK-3 LK-4 RES-2 RES-3 RES-4 RES-5 RES-6 RES-7 RES-9",
        v2: "ACC-10 ACC-8 RES-2 RES-3 RES-4 RES-5 RES-6 RES-7 RES-9",
        typed: "",
    },
};

fn enable_error_paths(design: Design) {
    kit::run(Config::new(design), |sys| {
        let n = Fault::ALL.len();
        let pick = ksync::choose(n + 1);
        if pick < n {
            sys.fault.set(Fault::ALL[pick] as i64);
        } else {
            // another user owns the platform interrupter slot → create fails with -ENOMEM
            sys.xhci.lock.lock().interrupters[sys.cfg.intr_num] = Some(u32::MAX - 1);
        }
        ksync::note(|| {
            format!(
                "fault point: {}",
                if pick < n {
                    format!("{:?}", Fault::ALL[pick])
                } else {
                    "interrupter slot taken".into()
                }
            )
        });
        let s = sys.clone();
        let d = ksync::spawn("DSP", move || {
            let (e, _) = dsp::enable_then_disable(&s, 0);
            if e.status != 0 {
                check_restored_after_failed_enable(&s, 0);
                // the DSP may still send a disable for the failed stream (ACC-12)
                check_disable_changes_nothing(&s, 0);
            }
        });
        d.join();
    });
}

/// ACC-12: a disable of a stream that is not active changes nothing.
pub(super) fn check_disable_changes_nothing(sys: &Sys, card: usize) {
    let before = snapshot(sys, card);
    dsp::request(sys, StreamReq::new(false, card));
    let after = snapshot(sys, card);
    ksync::check(before == after, "ACC-12", || {
        format!("disable of a stream that is not active changed state: {before:?} -> {after:?}")
    });
}

/// (chip->active, offload_usage, kref, in_use, card_slot, IOMMU maps, coherent buffers)
fn snapshot(sys: &Sys, card: usize) -> (i32, i32, u32, i32, u32, i64, i64) {
    let u = &sys.devs[sys.udev_of(card)];
    let active = sys.qc.uadev[card]
        .chip
        .peek()
        .map_or(-1, |c| c.active.peek());
    (
        active,
        u.offload_usage.peek(),
        sys.qc.uadev[card].kref.peek(),
        sys.qc.uadev[card].in_use.peek(),
        sys.qc.qdev_mutex.peek(|q| q.card_slot),
        sys.res.iommu_maps.get(),
        sys.res.coherent_bufs.get(),
    )
}

/// RES-6 / SB-7: a failed enable restores everything it changed.
fn check_restored_after_failed_enable(sys: &Sys, card: usize) {
    let u = &sys.devs[sys.udev_of(card)];
    let mut bad = Vec::new();
    if u.offload_usage.peek() != 0 {
        bad.push(format!("offload_usage {}", u.offload_usage.peek()));
    }
    if let Some(chip) = sys.qc.uadev[card].chip.peek() {
        if chip.active.peek() != 0 {
            bad.push(format!("chip->active {}", chip.active.peek()));
        }
        let subs = chip.mutex.peek(|c| c.subs.clone());
        if subs.opened || subs.hw_params {
            bad.push(format!(
                "subs opened {} hw_params {}",
                subs.opened, subs.hw_params
            ));
        }
    }
    if let Some(sb) = sys.qc.qdev_mutex.peek(|q| q.uadev[card].sb.clone()) {
        let (ir, eps) = sb.mutex.peek(|s| (s.ir, s.eps));
        if ir.is_some() || eps != 0 {
            bad.push(format!("sideband ir {ir:?} eps {eps:#x}"));
        }
    }
    let (er, ri, bi) = sys.qc.qdev_mutex.peek(|q| {
        (
            q.er_mapped,
            q.xfer_ring.at_initial(),
            q.xfer_buf.at_initial(),
        )
    });
    if er || !ri || !bi || sys.res.iommu_maps.get() != 0 {
        bad.push(format!(
            "er_mapped {er}, ring IOVAs returned {ri}, buffer IOVAs returned {bi}, IOMMU maps {}",
            sys.res.iommu_maps.get()
        ));
    }
    if !bad.is_empty() {
        ksync::report(
            FindingKind::Invariant,
            "RES-6",
            format!("after a failed enable: {}", bad.join("; ")),
        );
    }
}

pub const TWO_CARDS: Scenario = Scenario {
    name: "two-cards",
    description: "two audio devices share the global card_slot/er_mapped and one platform interrupter number; card 0 enables+disables while card 1 enables",
    bound: None,
    max_executions: None,
    paths: "(a) (b) multi-card",
    run: two_cards,
    expect: Expect {
        v0: "ACC-8 LK-3 RES-7",
        v1: "ACC-8 LK-3 LK-4 RES-7",
        v2: "ACC-8 RES-7",
        typed: "",
    },
};

fn two_cards(design: Design) {
    let mut cfg = Config::new(design);
    cfg.cards = 2;
    kit::run(cfg, |sys| {
        let s = sys.clone();
        let a = ksync::spawn("DSP", move || {
            dsp::enable_then_disable(&s, 0);
        });
        let s = sys.clone();
        let b = ksync::spawn("DSP1", move || {
            dsp::request(&s, StreamReq::new(true, 1));
        });
        a.join();
        b.join();
    });
}
