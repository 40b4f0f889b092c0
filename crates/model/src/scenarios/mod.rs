//! Scenarios: small concurrent situations composed from the spec's paths (a)–(k).
//! `Scenario::run(design)` is the main function of one execution: it builds the
//! system, spawns the actors as tasks, joins them and registers the end checks.

use crate::dsp::{self, Reaction, StreamReq, DSP_ADDR, DSP_PORT};
use crate::invariants;
use crate::sound::usb::card::EpDesc;
use crate::sound::usb::qcom::offload as qc;
use crate::system::{self, Config, Fault, Sys, System};
use crate::usb::core::{devio, driver, hub, pm};
use crate::Design;
use ksync::FindingKind;

/// One scenario.
#[derive(Clone, Copy)]
pub struct Scenario {
    pub name: &'static str,
    pub description: &'static str,
    /// The bound the scenario declares, in words; `None` = explored exhaustively.
    pub bound: Option<&'static str>,
    /// Executions `check` explores when the user gives no bound (`None`: all).
    pub max_executions: Option<u64>,
    /// Spec paths exercised.
    pub paths: &'static str,
    pub run: fn(Design),
}

impl std::fmt::Debug for Scenario {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scenario")
            .field("name", &self.name)
            .finish()
    }
}

/// All scenarios, in priority order.
pub fn all() -> Vec<Scenario> {
    vec![
        Scenario {
            name: "enable-disable",
            description: "DSP enables then disables one stream; nothing else (baseline)",
            bound: None,
            max_executions: None,
            paths: "(a) (b) (k) (h: autosuspend timer after disable)",
            run: enable_disable,
        },
        Scenario {
            name: "enable-disable-twice",
            description: "two enable/disable sessions in a row on one card (uaudio_dev_release leaves dev->info/udev/num_intf behind)",
            bound: None,
            max_executions: None,
            paths: "(a) (b) (a) (b)",
            run: enable_disable_twice,
        },
        Scenario {
            name: "enable-vs-unplug",
            description: "enable request races a physical disconnect; DSP answers the indication by choice (disable/never/late/bye)",
            bound: None,
            max_executions: None,
            paths: "(a) (b) (c) (d)",
            run: enable_vs_unplug,
        },
        Scenario {
            name: "stream-vs-reset",
            description: "active stream, usb_reset_device with forced unbind and rebind; caller chosen: queued reset, usbfs RESET, hub warm reset",
            bound: None,
            max_executions: None,
            paths: "(e) via T_reset / usbfs RESET (f) / hub warm reset, (k) rebind, (b)",
            run: stream_vs_reset,
        },
        Scenario {
            name: "stream-vs-usbfs-disconnect",
            description: "active stream, usbfs USBDEVFS_DISCONNECT or sysfs unbind of the control interface; optional signal to T_usr",
            bound: None,
            max_executions: None,
            paths: "(f) (b)",
            run: stream_vs_usbfs_disconnect,
        },
        Scenario {
            name: "enable-vs-runtime-suspend",
            description: "enable races a runtime autosuspend (delay 0) whose suspend_cb takes qdev_mutex while the enable sleeps on W_rpm",
            // the largest space: ~290k DPOR executions (v0/v1), ~130k (v2)
            bound: None,
            max_executions: None,
            paths: "(a) (h) (b)",
            run: enable_vs_runtime_suspend,
        },
        Scenario {
            name: "stream-vs-system-suspend",
            description: "active stream, one system suspend/resume cycle; suspend_cb sends the indication",
            bound: None,
            max_executions: None,
            paths: "(g) (b)",
            run: stream_vs_system_suspend,
        },
        Scenario {
            name: "bye-vs-unplug",
            description: "active stream, QMI client bye races a physical disconnect",
            bound: None,
            max_executions: None,
            paths: "(c) (d)",
            run: bye_vs_unplug,
        },
        Scenario {
            name: "disable-vs-bye",
            description: "active stream, disable and bye queued in either order on the ordered QMI worker",
            bound: None,
            max_executions: None,
            paths: "(b) (c)",
            run: disable_vs_bye,
        },
        Scenario {
            name: "driver-remove-vs-stream",
            description: "active stream, qc auxiliary driver remove (T_aux) while the DSP reacts",
            bound: None,
            max_executions: None,
            paths: "(j) (b)",
            run: driver_remove_vs_stream,
        },
        Scenario {
            name: "ring-free-notify",
            description: "active stream with a sync endpoint; reset-resume port reset sends ring-free notifications",
            bound: None,
            max_executions: None,
            paths: "(i) (b)",
            run: ring_free_notify,
        },
        Scenario {
            name: "connect",
            description: "qc auxiliary probe races the USB probe of the audio device, then enable/disable",
            bound: None,
            max_executions: None,
            paths: "(k) (a) (b)",
            run: connect,
        },
        Scenario {
            name: "enable-error-paths",
            description: "one enable with a chosen failure point (hw_params, endpoint buffer, ring map, event buffer, event-ring map, transfer buffer, info alloc, interrupter slot taken)",
            bound: None,
            max_executions: None,
            paths: "(a) error labels, (b)",
            run: enable_error_paths,
        },
        Scenario {
            name: "malformed-request",
            description: "the DSP sends one malformed datagram (short, unknown mandatory TLV, empty payload, wrong msg id) and waits for a response with the QMI client timeout, then enables and disables",
            bound: None,
            max_executions: None,
            paths: "(a) (b) QMI rx: short drop, decode error, D5 -> S5, no handler",
            run: malformed_request,
        },
        Scenario {
            name: "del-client",
            description: "active stream; the name service reports DEL_CLIENT for another port of the DSP node (ignored), then for the client's port (session stopped, client forgotten)",
            bound: None,
            max_executions: None,
            paths: "(c) via del_client",
            run: del_client,
        },
        Scenario {
            name: "enable-vs-usbfs-disconnect",
            description: "enable request races usbfs USBDEVFS_DISCONNECT of the control interface (udevL held by T_usr)",
            bound: None,
            max_executions: None,
            paths: "(a) (f) (b)",
            run: enable_vs_usbfs_disconnect,
        },
        Scenario {
            name: "enable-vs-system-suspend",
            description: "enable request races a system suspend/resume cycle (suspend_cb takes qdev_mutex under the PM core's udevL)",
            bound: None,
            max_executions: None,
            paths: "(a) (g) (b)",
            run: enable_vs_system_suspend,
        },
        Scenario {
            name: "enable-vs-driver-remove",
            description: "enable request races the qc auxiliary driver remove (T_aux, no udevL)",
            bound: None,
            max_executions: None,
            paths: "(a) (j) (b)",
            run: enable_vs_driver_remove,
        },
        Scenario {
            name: "remove-vs-unplug",
            description: "active stream; qc driver remove races a physical disconnect: two teardowns of one session",
            bound: None,
            max_executions: None,
            paths: "(j) (d) (b)",
            run: remove_vs_unplug,
        },
        Scenario {
            name: "bye-vs-reset",
            description: "active stream; QMI client bye (qmi_stop_session) races a queued reset with forced unbind",
            bound: None,
            max_executions: None,
            paths: "(c) (e) (k)",
            run: bye_vs_reset,
        },
        Scenario {
            name: "disable-vs-runtime-suspend",
            description: "autosuspend delay 0: the disable drops the stream's PM reference (step 11) before its put (step 12), so the runtime suspend races the put",
            bound: Some("the first 50 000 DPOR executions (the whole space is over 1 M)"),
            max_executions: Some(50_000),
            paths: "(b) (h)",
            run: disable_vs_runtime_suspend,
        },
        Scenario {
            name: "bye-vs-usbfs",
            description: "active stream; QMI client bye races usbfs DISCONNECT; the DSP does not answer indications",
            bound: None,
            max_executions: None,
            paths: "(c) (f)",
            run: bye_vs_usbfs,
        },
        Scenario {
            name: "bye-vs-suspend",
            description: "active stream; QMI client bye races system suspend/resume; the DSP does not answer indications",
            bound: None,
            max_executions: None,
            paths: "(c) (g)",
            run: bye_vs_suspend,
        },
        Scenario {
            name: "bye-vs-remove",
            description: "active stream; QMI client bye races qc driver remove; the DSP does not answer indications",
            bound: None,
            max_executions: None,
            paths: "(c) (j)",
            run: bye_vs_remove,
        },
        Scenario {
            name: "unplug-vs-reset",
            description: "active stream; physical unplug races queued reset; the DSP does not answer indications",
            bound: None,
            max_executions: None,
            paths: "(d) (e)",
            run: unplug_vs_reset,
        },
        Scenario {
            name: "unplug-vs-usbfs",
            description: "active stream; physical unplug races usbfs DISCONNECT; the DSP does not answer indications",
            bound: None,
            max_executions: None,
            paths: "(d) (f)",
            run: unplug_vs_usbfs,
        },
        Scenario {
            name: "unplug-vs-suspend",
            description: "active stream; physical unplug races system suspend/resume; the DSP does not answer indications",
            bound: None,
            max_executions: None,
            paths: "(d) (g)",
            run: unplug_vs_suspend,
        },
        Scenario {
            name: "reset-vs-usbfs",
            description: "active stream; queued reset races usbfs DISCONNECT; the DSP does not answer indications",
            bound: None,
            max_executions: None,
            paths: "(e) (f)",
            run: reset_vs_usbfs,
        },
        Scenario {
            name: "reset-vs-suspend",
            description: "active stream; queued reset races system suspend/resume; the DSP does not answer indications",
            bound: None,
            max_executions: None,
            paths: "(e) (g)",
            run: reset_vs_suspend,
        },
        Scenario {
            name: "reset-vs-remove",
            description: "active stream; queued reset races qc driver remove; the DSP does not answer indications",
            bound: None,
            max_executions: None,
            paths: "(e) (j)",
            run: reset_vs_remove,
        },
        Scenario {
            name: "usbfs-vs-suspend",
            description: "active stream; usbfs DISCONNECT races system suspend/resume; the DSP does not answer indications",
            bound: None,
            max_executions: None,
            paths: "(f) (g)",
            run: usbfs_vs_suspend,
        },
        Scenario {
            name: "usbfs-vs-remove",
            description: "active stream; usbfs DISCONNECT races qc driver remove; the DSP does not answer indications",
            bound: None,
            max_executions: None,
            paths: "(f) (j)",
            run: usbfs_vs_remove,
        },
        Scenario {
            name: "suspend-vs-remove",
            description: "active stream; system suspend/resume races qc driver remove; the DSP does not answer indications",
            bound: None,
            max_executions: None,
            paths: "(g) (j)",
            run: suspend_vs_remove,
        },
        Scenario {
            name: "two-cards",
            description: "two audio devices share the global card_slot/er_mapped and one platform interrupter number; card 0 enables+disables while card 1 enables",
            bound: None,
            max_executions: None,
            paths: "(a) (b) multi-card",
            run: two_cards,
        },
    ]
}

/// Looks a scenario up by name.
pub fn find(name: &str) -> Option<Scenario> {
    all().into_iter().find(|s| s.name == name)
}

fn setup(cfg: Config) -> Sys {
    let sys = System::new(cfg);
    system::boot(&sys);
    invariants::register_end_checks(&sys);
    sys
}

/// Enables a stream from the main task (the "active stream" precondition).
fn start_stream(sys: &Sys, card: usize) -> bool {
    let r = dsp::request(sys, StreamReq::new(true, card));
    ksync::note(|| format!("setup enable: {r:?}"));
    r.status == 0
}

/// One enable/disable session from the DSP, expected to succeed: a failure of
/// either request is reported (RES-6 for the enable, RES-7 for the disable).
fn checked_session(sys: &Sys, what: &str) {
    let (e, d) = dsp::enable_then_disable(sys, 0);
    ksync::check(e.status == 0, "RES-6", || {
        format!("{what}enable failed: {e:?}")
    });
    if let Some(d) = d {
        ksync::check(d.status == 0, "RES-7", || {
            format!("{what}disable failed: {d:?}")
        });
    }
}

fn enable_disable(design: Design) {
    let sys = setup(Config::new(design));
    let s = sys.clone();
    let h = ksync::spawn("DSP", move || checked_session(&s, "baseline "));
    h.join();
}

fn enable_vs_unplug(design: Design) {
    let mut cfg = Config::new(design);
    cfg.dsp_reactions = vec![
        Reaction::Disable,
        Reaction::Never,
        Reaction::Late,
        Reaction::Bye,
    ];
    let sys = setup(cfg);
    let s = sys.clone();
    let d = ksync::spawn("DSP", move || {
        dsp::request(&s, StreamReq::new(true, 0));
    });
    let s = sys.clone();
    let udev = sys.udev_of(0);
    let h = ksync::spawn("T_hub", move || hub::hub_event_disconnect(&s, udev));
    d.join();
    h.join();
}

fn enable_disable_twice(design: Design) {
    let sys = setup(Config::new(design));
    let s = sys.clone();
    let h = ksync::spawn("DSP", move || {
        for _ in 0..2 {
            checked_session(&s, "");
        }
    });
    h.join();
}

fn stream_vs_reset(design: Design) {
    let mut cfg = Config::new(design);
    cfg.dsp_reactions = vec![Reaction::Disable, Reaction::Never, Reaction::Enable];
    let sys = setup(cfg);
    start_stream(&sys, 0);
    let s = sys.clone();
    let udev = sys.udev_of(0);
    // the caller of usb_reset_device: queued reset work, usbfs USBDEVFS_RESET, or the
    // hub's warm-reset branch (all hold udevL around the reset)
    let r = match ksync::choose(3) {
        0 => ksync::spawn("T_reset", move || {
            let ret = hub::usb_queue_reset_work(&s, udev, 0);
            ksync::note(|| format!("usb_reset_device: {ret}"));
        }),
        1 => ksync::spawn("T_usr", move || {
            let ret = devio::usbfs_ioctl_reset(&s, udev);
            ksync::note(|| format!("USBDEVFS_RESET: {ret}"));
        }),
        _ => ksync::spawn("T_hub", move || {
            let ret = hub::hub_port_warm_reset(&s, udev);
            ksync::note(|| format!("warm reset: {ret}"));
        }),
    };
    r.join();
}

fn stream_vs_usbfs_disconnect(design: Design) {
    let mut cfg = Config::new(design);
    cfg.dsp_reactions = vec![Reaction::Disable, Reaction::Never];
    let sys = setup(cfg);
    start_stream(&sys, 0);
    let s = sys.clone();
    let udev = sys.udev_of(0);
    let sysfs = ksync::choose(2) == 1;
    let u = ksync::spawn("T_usr", move || {
        if sysfs {
            devio::sysfs_unbind(&s, udev, 0);
        } else {
            devio::usbfs_ioctl_disconnect(&s, udev, 0);
        }
    });
    if ksync::choose(2) == 1 {
        ksync::signal(&u);
    }
    u.join();
}

fn enable_vs_runtime_suspend(design: Design) {
    let mut cfg = Config::new(design);
    cfg.autosuspend_delay_ms = 0;
    // the DSP ignores the indication (the W_inuse wait then times out): keeps the
    // scenario about the enable-vs-suspend race itself
    cfg.dsp_reactions = vec![Reaction::Never];
    let sys = setup(cfg);
    // the device is idle: the runtime-PM core queues an autosuspend (delay 0)
    pm::rpm_idle(&sys, &sys.devs[sys.udev_of(0)]);
    let s = sys.clone();
    let d = ksync::spawn("DSP", move || {
        dsp::request(&s, StreamReq::new(true, 0));
    });
    d.join();
}

fn stream_vs_system_suspend(design: Design) {
    stream_then(
        design,
        vec![Reaction::Disable, Reaction::Never],
        &[Path::Suspend],
    );
}

fn bye_vs_unplug(design: Design) {
    stream_then(
        design,
        vec![Reaction::Never, Reaction::Disable],
        &[Path::Bye, Path::Unplug],
    );
}

fn disable_vs_bye(design: Design) {
    let sys = setup(Config::new(design));
    start_stream(&sys, 0);
    let s = sys.clone();
    let d = ksync::spawn("DSP", move || {
        if ksync::choose(2) == 0 {
            let p = s.qmi.send_request(&s, StreamReq::new(false, 0));
            s.qmi.send_bye(&s);
            p.done.wait_for_completion();
        } else {
            s.qmi.send_bye(&s);
            let p = s.qmi.send_request(&s, StreamReq::new(false, 0));
            p.done.wait_for_completion();
        }
    });
    d.join();
}

fn driver_remove_vs_stream(design: Design) {
    stream_then(
        design,
        vec![Reaction::Disable, Reaction::Never],
        &[Path::Remove],
    );
}

fn ring_free_notify(design: Design) {
    let mut cfg = Config::new(design);
    cfg.sync_ep = Some(EpDesc {
        ep_num: 2,
        is_in: true,
    });
    cfg.dsp_reactions = vec![Reaction::Disable, Reaction::Never];
    let sys = setup(cfg);
    start_stream(&sys, 0);
    let s = sys.clone();
    let udev = sys.udev_of(0);
    // reset-resume inside system resume: the PM core holds udevL; usb_port_resume →
    // port reset (L_port, L_addr0) → xHCI reset_device → ring-free notifications
    let t = ksync::spawn("T_sys", move || {
        let _f = ksync::frame("usb_resume_both");
        let u = &s.devs[udev];
        let _g = u.dev_mutex.lock();
        let _f2 = ksync::frame("usb_port_resume");
        let _p = u.port_lock.lock();
        hub::usb_reset_and_verify_device(&s, u);
    });
    t.join();
}

fn connect(design: Design) {
    let mut cfg = Config::new(design);
    cfg.qc_loaded = false;
    let sys = System::new(cfg);
    invariants::register_end_checks(&sys);
    let s = sys.clone();
    let a = ksync::spawn("T_aux", move || qc::qc_usb_audio_probe(&s));
    let s = sys.clone();
    let udev = sys.udev_of(0);
    let h = ksync::spawn("T_hub", move || system::probe_audio_device(&s, udev));
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

fn enable_error_paths(design: Design) {
    let sys = setup(Config::new(design));
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
            let before = snapshot(&s, 0);
            dsp::request(&s, StreamReq::new(false, 0));
            let after = snapshot(&s, 0);
            ksync::check(before == after, "ACC-12", || {
                format!(
                    "disable of a stream that is not active changed state: {before:?} -> {after:?}"
                )
            });
        }
    });
    d.join();
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

/// Spec §4.4 D2: unknown mandatory TLV type 0x03 (kernel decoder: -EINVAL, dropped).
pub const D2: &[u8] = &[
    0x00, 0x05, 0x00, 0x01, 0x00, 0x0F, 0x00, 0x01, 0x01, 0x00, 0x01, 0x02, 0x04, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x03, 0x01, 0x00, 0x00,
];
/// Spec §4.4 D5: empty payload, txn 0x0B (kernel decoder: all fields zero).
pub const D5: &[u8] = &[0x00, 0x0B, 0x00, 0x01, 0x00, 0x00, 0x00];
/// Spec §4.4 S5: the service's reply to D5 (-EINVAL, token 0).
pub const S5: &[u8] = &[
    0x02, 0x0B, 0x00, 0x01, 0x00, 0x1C, 0x00, 0x02, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x04,
    0x00, 0x01, 0x00, 0x00, 0x00, 0x11, 0x04, 0x00, 0xEA, 0xFF, 0xFF, 0xFF, 0x13, 0x04, 0x00, 0x00,
    0x00, 0x00, 0x00,
];

/// The malformed datagrams of `malformed-request`: (name, txn, bytes, answered).
pub fn malformed_datagrams(txn: u16) -> [(&'static str, u16, Vec<u8>, bool); 4] {
    let mut wrong_id = qmi::encode_req(txn, &StreamReq::new(true, 0).to_qmi());
    wrong_id[3..5].copy_from_slice(&0x0002u16.to_le_bytes());
    [
        (
            "short datagram",
            txn,
            vec![0x00, txn as u8, (txn >> 8) as u8],
            false,
        ),
        ("D2 unknown mandatory TLV", 0x0005, D2.to_vec(), false),
        ("D5 empty payload", 0x000B, D5.to_vec(), true),
        ("valid request with msg_id 0x0002", txn, wrong_id, false),
    ]
}

fn malformed_request(design: Design) {
    let sys = setup(Config::new(design));
    let s = sys.clone();
    let pick = ksync::choose(4);
    let h = ksync::spawn("DSP", move || {
        let txn = s.qmi.alloc_txn();
        let (what, txn, bytes, answered) = malformed_datagrams(txn)
            .into_iter()
            .nth(pick)
            .expect("pick");
        ksync::note(|| format!("DSP sends {what}"));
        let dropped = s.qc.svc_hdl.dropped.get();
        let r = dsp::request_raw_timeout(&s, txn, bytes, answered);
        if answered {
            ksync::check(r.as_ref().is_some_and(|r| r.bytes == S5), "RES-10", || {
                format!(
                    "{what}: expected the S5 response {}, got {:?}",
                    dsp::hex(S5),
                    r.as_ref().map(|r| dsp::hex(&r.bytes))
                )
            });
        } else {
            ksync::check(r.is_none(), "RES-10", || {
                format!(
                    "{what}: the service must not answer, got {:?}",
                    r.as_ref().map(|r| dsp::hex(&r.bytes))
                )
            });
            ksync::check(s.qc.svc_hdl.dropped.get() == dropped + 1, "RES-10", || {
                format!("{what}: the service did not drop the datagram")
            });
        }
        checked_session(&s, &format!("after {what}: "));
    });
    h.join();
}

fn del_client(design: Design) {
    let sys = setup(Config::new(design));
    start_stream(&sys, 0);
    let s = sys.clone();
    let d = ksync::spawn("DSP", move || {
        let active = |s: &Sys| s.qc.uadev[0].in_use.peek() != 0;
        // another port of the client's node closes: not the client, ignored
        s.qmi.send_del_client(&s, DSP_PORT + 1);
        s.qmi.qmi_wq.flush();
        ksync::check(
            active(&s) && s.qc.client_peek() == Some(DSP_ADDR),
            "RES-10",
            || {
                format!(
                    "DEL_CLIENT for a port that is not the client acted: in_use {}, client {:?}",
                    s.qc.uadev[0].in_use.peek(),
                    s.qc.client_peek()
                )
            },
        );
        // the client's port closes: session stopped, client forgotten
        s.qmi.send_del_client(&s, DSP_PORT);
        s.qmi.qmi_wq.flush();
        ksync::check(!active(&s) && s.qc.client_peek().is_none(), "RES-7", || {
            format!(
                "DEL_CLIENT for the client left in_use {}, client {:?}",
                s.qc.uadev[0].in_use.peek(),
                s.qc.client_peek()
            )
        });
    });
    d.join();
}

/// The DSP sends one enable request (a) while `other` runs a teardown path.
fn enable_vs(design: Design, name: &str, other: fn(&Sys)) {
    let mut cfg = Config::new(design);
    // The DSP does not answer the indication: the race is the enable against the
    // teardown (answers are explored in enable-vs-unplug).
    cfg.dsp_reactions = vec![Reaction::Never];
    let sys = setup(cfg);
    let s = sys.clone();
    let d = ksync::spawn("DSP", move || {
        dsp::request(&s, StreamReq::new(true, 0));
    });
    let s = sys.clone();
    let t = ksync::spawn(name, move || other(&s));
    d.join();
    t.join();
}

fn enable_vs_usbfs_disconnect(design: Design) {
    enable_vs(design, "T_usr", |s| {
        devio::usbfs_ioctl_disconnect(s, s.udev_of(0), 0);
    });
}

fn enable_vs_system_suspend(design: Design) {
    enable_vs(design, "T_sys", driver::system_sleep_cycle);
}

fn enable_vs_driver_remove(design: Design) {
    enable_vs(design, "T_aux", qc::qc_usb_audio_remove);
}

fn remove_vs_unplug(design: Design) {
    // The DSP does not answer: both teardowns run to their own end (the W_inuse
    // waits time out), which keeps the space exhaustible.
    stream_then(design, vec![Reaction::Never], &[Path::Remove, Path::Unplug]);
}

fn bye_vs_reset(design: Design) {
    stream_then(design, vec![Reaction::Never], &[Path::Bye, Path::Reset]);
}

/// The teardown and PM paths that can overlap while a stream is active.
#[derive(Clone, Copy)]
enum Path {
    /// (c) QMI client bye → qmi_stop_session.
    Bye,
    /// (d) physical disconnect from the hub worker.
    Unplug,
    /// (e) queued reset with forced unbind and rebind.
    Reset,
    /// (f) usbfs USBDEVFS_DISCONNECT of the control interface.
    Usbfs,
    /// (g) one system suspend/resume cycle.
    Suspend,
    /// (j) qc auxiliary driver remove.
    Remove,
}

fn spawn_path(sys: &Sys, p: Path) -> ksync::JoinHandle {
    let s = sys.clone();
    let udev = sys.udev_of(0);
    match p {
        Path::Bye => ksync::spawn("DSP", move || s.qmi.send_bye(&s)),
        Path::Unplug => ksync::spawn("T_hub", move || hub::hub_event_disconnect(&s, udev)),
        Path::Reset => ksync::spawn("T_reset", move || {
            let ret = hub::usb_queue_reset_work(&s, udev, 0);
            ksync::note(|| format!("usb_reset_device: {ret}"));
        }),
        Path::Usbfs => ksync::spawn("T_usr", move || {
            devio::usbfs_ioctl_disconnect(&s, udev, 0);
        }),
        Path::Suspend => ksync::spawn("T_sys", move || driver::system_sleep_cycle(&s)),
        Path::Remove => ksync::spawn("T_aux", move || qc::qc_usb_audio_remove(&s)),
    }
}

/// An active stream (the DSP answers indications with one of `reactions`), then
/// `paths` at once.
fn stream_then(design: Design, reactions: Vec<Reaction>, paths: &[Path]) {
    let mut cfg = Config::new(design);
    cfg.dsp_reactions = reactions;
    let sys = setup(cfg);
    start_stream(&sys, 0);
    let hs: Vec<_> = paths.iter().map(|&p| spawn_path(&sys, p)).collect();
    for h in hs {
        h.join();
    }
}

/// Two paths at once with an active stream. The DSP never answers a disconnect
/// indication, so each W_inuse wait ends by its timeout: the race is between the
/// two kernel paths themselves (DSP answers are explored elsewhere).
fn stream_vs_pair(design: Design, a: Path, b: Path) {
    stream_then(design, vec![Reaction::Never], &[a, b]);
}

macro_rules! pair_scenarios {
    ($($f:ident: $a:ident, $b:ident;)*) => {
        $(fn $f(design: Design) {
            stream_vs_pair(design, Path::$a, Path::$b)
        })*
    };
}

pair_scenarios! {
    bye_vs_usbfs: Bye, Usbfs;
    bye_vs_suspend: Bye, Suspend;
    bye_vs_remove: Bye, Remove;
    unplug_vs_reset: Unplug, Reset;
    unplug_vs_usbfs: Unplug, Usbfs;
    unplug_vs_suspend: Unplug, Suspend;
    reset_vs_usbfs: Reset, Usbfs;
    reset_vs_suspend: Reset, Suspend;
    reset_vs_remove: Reset, Remove;
    usbfs_vs_suspend: Usbfs, Suspend;
    usbfs_vs_remove: Usbfs, Remove;
    suspend_vs_remove: Suspend, Remove;
}

/// Autosuspend delay 0: the disable's snd_usb_autosuspend (step 11) lets the device
/// runtime-suspend while the response section's put (step 12) still has to run.
fn disable_vs_runtime_suspend(design: Design) {
    let mut cfg = Config::new(design);
    cfg.autosuspend_delay_ms = 0;
    cfg.dsp_reactions = vec![Reaction::Never];
    let sys = setup(cfg);
    start_stream(&sys, 0);
    let s = sys.clone();
    let d = ksync::spawn("DSP", move || {
        dsp::request(&s, StreamReq::new(false, 0));
    });
    d.join();
}

fn two_cards(design: Design) {
    let mut cfg = Config::new(design);
    cfg.cards = 2;
    let sys = setup(cfg);
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
}

/// A tiny random-schedule driver over `ksync::rt` for tests and quick smoke runs
/// (the real checker lives in the `explore` crate).
pub mod smoke {
    use super::Scenario;
    use crate::Design;
    use ksync::rt::{EndKind, ExecConfig, Execution, SchedView, Scheduler, TaskId};
    use ksync::Finding;
    use std::collections::BTreeMap;

    struct RandomSched(u64);

    impl RandomSched {
        fn next(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.0 = x;
            x
        }
    }

    impl Scheduler for RandomSched {
        fn next_task(&mut self, view: &SchedView) -> Option<TaskId> {
            let en: Vec<TaskId> = view.enabled().collect();
            Some(en[(self.next() % en.len() as u64) as usize])
        }
        fn choose(&mut self, _task: TaskId, n: usize, _step: u32) -> usize {
            (self.next() % n as u64) as usize
        }
        fn execution_end(&mut self, _unfinished: &[ksync::rt::TaskView]) {}
    }

    /// Result of [`run_random`]: findings by dedup key (first instance), end kinds.
    #[derive(Default, Debug)]
    pub struct Summary {
        pub findings: BTreeMap<String, (Finding, usize)>,
        pub ends: BTreeMap<String, usize>,
        pub max_steps: u32,
    }

    impl Summary {
        pub fn properties(&self) -> Vec<String> {
            let mut v: Vec<String> = self
                .findings
                .values()
                .map(|(f, _)| f.property.clone())
                .collect();
            v.sort();
            v.dedup();
            v
        }
    }

    /// Runs `runs` random executions of `sc` under `design`.
    pub fn run_random(sc: &Scenario, design: Design, runs: u64, seed: u64) -> Summary {
        let mut ex = Execution::new(ExecConfig {
            max_steps: 20_000,
            ..ExecConfig::default()
        });
        let mut sum = Summary::default();
        for i in 0..runs {
            let mut s = RandomSched(
                seed.wrapping_mul(6364136223846793005)
                    .wrapping_add(i * 2 + 1)
                    | 1,
            );
            let f = sc.run;
            let out = ex.run(Box::new(move || f(design)), &mut s);
            *sum.ends.entry(format!("{:?}", out.end)).or_default() += 1;
            sum.max_steps = sum.max_steps.max(out.steps);
            for f in out.findings {
                let e = sum.findings.entry(f.dedup_key()).or_insert((f, 0));
                e.1 += 1;
            }
            if out.end == EndKind::Panic {
                break;
            }
        }
        sum
    }
}

#[cfg(test)]
mod tests {
    use super::smoke::run_random;
    use super::*;

    fn print(name: &str, d: Design, s: &smoke::Summary) {
        eprintln!(
            "== {name} [{d}] ends {:?} max_steps {}",
            s.ends, s.max_steps
        );
        for (f, n) in s.findings.values() {
            eprintln!(
                "   {:>5}x {} {} [{}] {}",
                n,
                f.kind.as_str(),
                f.property,
                f.task.clone().unwrap_or_default(),
                f.summary
            );
        }
    }

    #[test]
    fn scenario_names_unique_and_findable() {
        let v = all();
        for s in &v {
            assert_eq!(find(s.name).unwrap().name, s.name);
        }
        let mut n: Vec<_> = v.iter().map(|s| s.name).collect();
        n.sort();
        n.dedup();
        assert_eq!(n.len(), v.len());
    }

    #[test]
    fn enable_disable_baseline() {
        let sc = find("enable-disable").unwrap();
        for d in Design::ALL {
            let s = run_random(&sc, d, 100, 1);
            print(sc.name, d, &s);
            assert!(!s.ends.contains_key("Panic"), "panic in {d}");
            assert!(!s.ends.contains_key("Deadlock"), "deadlock in {d}");
            assert!(!s.ends.contains_key("StepBound"), "step bound in {d}");
            // Faithful findings of the baseline: v0 takes udevL under qdev_mutex/sb->mutex
            // (get/put inside the sideband) while probe takes qdev_mutex under udevL, and
            // v1 takes udevL under qdev_mutex in the stream handler: lock-order cycles
            // (LK-3). v1's disable path puts without udevL held (spec (b)12): LK-4.
            let props = s.properties();
            let allowed: &[&str] = match d {
                Design::V0CoreLocks => &["LK-3"],
                Design::V1CallerLocks => &["LK-3", "LK-4"],
                Design::V2OffloadSpinlock => &[],
            };
            for p in &props {
                assert!(
                    allowed.contains(&p.as_str()),
                    "{d}: unexpected finding {p}: {:?}",
                    s.findings
                );
            }
        }
    }

    #[test]
    fn all_scenarios_run_without_panics() {
        for sc in all() {
            for d in Design::ALL {
                let s = run_random(&sc, d, 60, 7);
                print(sc.name, d, &s);
                assert!(
                    !s.ends.contains_key("Panic"),
                    "{} [{d}] panicked: {:?}",
                    sc.name,
                    s.findings
                );
                assert!(
                    !s.ends.contains_key("StepBound"),
                    "{} [{d}] hit the step bound",
                    sc.name
                );
            }
        }
    }
}
