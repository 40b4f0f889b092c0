//! The events `ctl` injects and `stress` storms, each run as the kernel path of the
//! model's scenario kit in the kernel thread that runs it; the live system's state
//! snapshot; and the end of a live run (quiesce, then the checker's end checks).

use model::kit::Path;
use model::sound::usb::qcom::offload as qc;
use model::system::Sys;
use model::usb::core::device::{cond, UsbState};
use model::usb::core::{devio, pm};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// An event on card 0's device (the first audio device).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Event {
    /// Bind snd-usb-audio to the device's control interface again (`usb_new_device`'s
    /// probe, T_hub), after a usbfs disconnect or unbind. A device that was unplugged
    /// stays gone: the model does not re-enumerate (start a new `serve`).
    Plug,
    /// Physical disconnect: `hub_event` → `usb_disconnect` (T_hub).
    Unplug,
    /// Queued reset work: `usb_lock_device_for_reset` → `usb_reset_device` with forced
    /// unbind and rebind (T_reset).
    Reset,
    /// The hub's warm-reset branch: hub lock, port lock, udevL, `usb_reset_device` (T_hub).
    WarmReset,
    /// usbfs `USBDEVFS_RESET` → `usb_reset_device` under udevL (T_usr).
    UsbfsReset,
    /// usbfs `USBDEVFS_DISCONNECT` of the control interface (T_usr).
    UsbfsDisconnect,
    /// sysfs `unbind` of the control interface (T_usr).
    Unbind,
    /// One system suspend/resume cycle of the PM core (T_sys).
    SystemSleep,
    /// The runtime-PM worker runs an autosuspend request: `rpm_suspend` (T_rpm).
    Autosuspend,
    /// The qc auxiliary driver is removed (T_aux).
    Remove,
    /// The qc auxiliary driver probes again (T_aux).
    QcProbe,
    /// The name service reports the DSP node gone: BYE (wire form) to the service.
    Bye,
    /// The name service reports the DSP's client port closed: DEL_CLIENT.
    DelClient,
    /// Print the live state (no event).
    Status,
    /// Quiesce, run the checker's end-of-execution checks on the live state, reply with
    /// the findings and stop the service (exit 0: none, 1: findings).
    Shutdown,
}

impl Event {
    /// Events that change the system (not `status`, `shutdown`).
    pub const INJECTABLE: [Event; 13] = [
        Event::Plug,
        Event::Unplug,
        Event::Reset,
        Event::WarmReset,
        Event::UsbfsReset,
        Event::UsbfsDisconnect,
        Event::Unbind,
        Event::SystemSleep,
        Event::Autosuspend,
        Event::Remove,
        Event::QcProbe,
        Event::Bye,
        Event::DelClient,
    ];

    pub fn name(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default()
    }

    pub fn parse(s: &str) -> Option<Event> {
        <Event as clap::ValueEnum>::from_str(s.trim(), true).ok()
    }

    /// The kernel thread the event's path runs in.
    pub fn task(self) -> &'static str {
        match self {
            Event::Plug => Path::Probe.task(),
            Event::Unplug => Path::Unplug.task(),
            Event::Reset => Path::Reset.task(),
            Event::WarmReset => Path::WarmReset.task(),
            Event::UsbfsReset | Event::UsbfsDisconnect | Event::Unbind => "T_usr",
            Event::SystemSleep => Path::SystemSleep.task(),
            Event::Autosuspend => Path::RuntimeSuspend.task(),
            Event::Remove | Event::QcProbe => Path::Remove.task(),
            Event::Bye | Event::DelClient => "qrtr_ns",
            Event::Status | Event::Shutdown => "ctl",
        }
    }

    /// Runs the event's kernel path in the calling thread; a short result.
    pub fn run(self, sys: &Sys) -> String {
        let udev = sys.udev_of(0);
        match self {
            Event::Plug => {
                let u = &sys.devs[udev];
                if u.state_peek() == UsbState::NotAttached {
                    return format!(
                        "{} is not attached (the model does not re-enumerate a device)",
                        u.name
                    );
                }
                if u.interfaces[0].condition.peek() != cond::UNBOUND {
                    return format!("{}:1.0 is bound already", u.name);
                }
                Path::Probe.run(sys);
                format!(
                    "probed: {}",
                    if u.interfaces[0].condition.peek() == cond::BOUND {
                        "bound"
                    } else {
                        "probe failed"
                    }
                )
            }
            Event::UsbfsReset => format!("USBDEVFS_RESET: {}", devio::usbfs_ioctl_reset(sys, udev)),
            Event::UsbfsDisconnect => format!(
                "USBDEVFS_DISCONNECT: {}",
                devio::usbfs_ioctl_disconnect(sys, udev, 0)
            ),
            Event::Reset => format!(
                "usb_reset_device: {}",
                model::usb::core::hub::usb_queue_reset_work(sys, udev, 0)
            ),
            Event::WarmReset => format!(
                "warm reset: {}",
                model::usb::core::hub::hub_port_warm_reset(sys, udev)
            ),
            Event::Autosuspend => format!("rpm_suspend: {}", pm::rpm_suspend(sys, &sys.devs[udev])),
            Event::Unplug => simple(sys, Path::Unplug),
            Event::Unbind => simple(sys, Path::SysfsUnbind),
            Event::SystemSleep => simple(sys, Path::SystemSleep),
            Event::Remove => simple(sys, Path::Remove),
            Event::QcProbe => simple(sys, Path::QcProbe),
            Event::Bye => {
                sys.qmi.send_bye(sys);
                "BYE queued".into()
            }
            Event::DelClient => {
                sys.qmi.send_del_client(sys, model::dsp::DSP_PORT);
                "DEL_CLIENT queued".into()
            }
            Event::Status | Event::Shutdown => String::new(),
        }
    }
}

fn simple(sys: &Sys, p: Path) -> String {
    p.run(sys);
    "done".into()
}

/// The live state, read without taking any lock of the model (a deadlocked system
/// still answers).
pub fn status(sys: &Sys) -> Value {
    let u = &sys.devs[sys.udev_of(0)];
    let d = &sys.qc.uadev[0];
    json!({
        "design": sys.design.name(),
        "device": u.name,
        "state": format!("{:?}", u.state_peek()),
        "runtime_status": pm::status_name(u.pm.status.peek()),
        "offload_usage": u.offload_usage.peek(),
        "in_use": d.in_use.peek(),
        "client": sys.qc.client_load().map(|c| c.to_string()),
        "resources": resources(sys),
    })
}

/// The resource counters that must be back to zero when no session is live.
pub fn resources(sys: &Sys) -> Value {
    let r = &sys.res;
    json!({
        "iommu_maps": r.iommu_maps.get(),
        "er_mappings": r.er_mappings.get(),
        "coherent_bufs": r.coherent_bufs.get(),
        "info_arrays": r.info_arrays.get(),
        "interrupters": r.interrupters.get(),
        "sidebands": r.sb_alloc.get(),
        "qmi_requests": sys.qmi.requests.get(),
        "qmi_responses": sys.qmi.responses.get(),
        "qmi_dropped": sys.qc.svc_hdl.dropped.get(),
    })
}

/// Waits until no event runs (`inflight`), every work queue is idle and no timer is
/// armed (the checker's quiescence: every task finished and the clock fired every
/// timer). False if that does not happen within `limit` (a livelock; a deadlock is
/// the watchdog's).
pub fn quiesce(sys: &Sys, inflight: &std::sync::atomic::AtomicUsize, limit: Duration) -> bool {
    use std::sync::atomic::Ordering;
    let end = Instant::now() + limit;
    let mut calm = 0;
    while Instant::now() < end {
        if inflight.load(Ordering::SeqCst) == 0 {
            sys.qmi.qmi_wq.flush();
            sys.qmi.dsp_wq.flush();
            sys.pm_wq.flush();
            let idle = inflight.load(Ordering::SeqCst) == 0
                && ksync::live::pending_timers() == 0
                && sys.qmi.qmi_wq.pending() == 0
                && sys.pm_wq.pending() == 0;
            // twice in a row: a flushed item may have queued another
            calm = if idle { calm + 1 } else { 0 };
            if calm >= 2 {
                return true;
            }
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    false
}

/// A finding of the live run as JSON.
/// A finding as one log line: kind, property, task, summary.
pub fn finding_line(f: &ksync::Finding) -> String {
    format!(
        "{} {} ({}): {}",
        f.kind.as_str(),
        f.property,
        f.task.as_deref().unwrap_or("?"),
        f.summary
    )
}

pub fn finding_json(f: &ksync::Finding) -> Value {
    json!({
        "kind": f.kind.as_str(),
        "property": f.property,
        "summary": f.summary,
        "task": f.task,
    })
}

/// The checker's end-of-execution checks on the live state (after [`quiesce`]); the
/// findings they report.
pub fn end_checks(sys: &Sys) -> Vec<ksync::Finding> {
    let before = ksync::take_live_findings();
    model::invariants::check_quiescent(sys);
    let mut end = ksync::take_live_findings();
    // put back what came before: the caller drains findings as they come
    let mut all = before;
    all.append(&mut end);
    all
}

/// The DSP's wait for the disconnect indication's answer, in model milliseconds.
pub const DISCONNECT_WAIT_MS: u64 = qc::DEV_RELEASE_WAIT_TIMEOUT_MS;

/// A hang as the live watchdogs report it.
pub struct Hang {
    /// The hung-task report in the kernel's layout (already printed to standard error).
    pub report: String,
    /// The tasks of the waits-for cycle, if the hang has one.
    pub cycle: Option<Vec<String>>,
    /// `T1, T2; waits-for cycle T1 -> T2`: the hung tasks and the cycle, for a log line.
    pub tasks: String,
}

/// Prints the hung-task report of `hung` (blocked past `limit`) and describes the hang.
pub fn report_hang(
    hung: &[ksync::live::TaskSnapshot],
    all: &[ksync::live::TaskSnapshot],
    limit: Duration,
) -> Hang {
    let report = ksync::lockdep_report::format_hung_tasks(hung, all, limit);
    eprint!("{report}");
    let cycle = ksync::lockdep_report::waits_for_cycle(hung, all)
        .map(|c| c.iter().map(|t| t.name.clone()).collect::<Vec<_>>());
    let names = hung
        .iter()
        .map(|t| t.name.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let tasks = match &cycle {
        Some(c) => format!("{names}; waits-for cycle {}", c.join(" -> ")),
        None => names,
    };
    Hang {
        report,
        cycle,
        tasks,
    }
}
