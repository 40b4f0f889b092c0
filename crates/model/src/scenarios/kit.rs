//! The scenario kit: set-up, the "active stream" precondition and every kernel path
//! of the spec as one call, so that a scenario is a few lines.
//!
//! A scenario body runs as the main task of one execution: it gets a booted system
//! ([`setup`]), spawns the paths it races ([`spawn`], [`race`]) and joins them; the
//! end-of-execution checks are registered by the set-up. [`crate::check`] explores a
//! body against a design.

use crate::dsp::{self, StreamReq};
use crate::invariants;
use crate::sound::usb::card::{self, Chip};
use crate::sound::usb::qcom::offload as qc;
use crate::system::{self, Config, Sys, System};
use crate::usb::core::{devio, driver, hub, pm};
use std::sync::Arc;

pub use crate::dsp::Reaction;
pub use ksync::JoinHandle;

/// Builds the system of `cfg`, boots it (qc driver, then the USB probe of every audio
/// device) and registers the end-of-execution checks.
pub fn setup(cfg: Config) -> Sys {
    let sys = System::new(cfg);
    system::boot(&sys);
    invariants::register_end_checks(&sys);
    sys
}

/// Like [`setup`], but the audio devices are not probed yet: the qc driver is loaded
/// (if `cfg.qc_loaded`) and [`Path::Probe`] binds snd-usb-audio later.
pub fn setup_unprobed(cfg: Config) -> Sys {
    let sys = System::new(cfg);
    if sys.cfg.qc_loaded {
        qc::qc_usb_audio_probe(&sys);
    }
    invariants::register_end_checks(&sys);
    sys
}

/// Runs `body` on the system of `cfg` (see [`setup`]): the main function of one
/// execution. Every scenario of the suite is one call of this.
pub fn run(cfg: Config, body: impl FnOnce(&Sys)) {
    let sys = setup(cfg);
    body(&sys);
}

/// Enables a stream of `card` from the calling task (the "active stream"
/// precondition); whether the enable succeeded.
pub fn start_stream(sys: &Sys, card: usize) -> bool {
    let r = dsp::request(sys, StreamReq::new(true, card));
    ksync::note(|| format!("setup enable: {r:?}"));
    r.status == 0
}

/// One enable/disable session of card 0 from the DSP, expected to succeed: a failure
/// of either request is reported (RES-6 for the enable, RES-7 for the disable).
pub fn checked_session(sys: &Sys, what: &str) {
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

/// The chip bound to `card`'s control interface (`None` before its probe or after its
/// unbind), read without a scheduling point: what a PCM file opened at this moment
/// holds. (A `ksync` lock's `peek` is for quiescent code only: under the checker it
/// blocks the thread if another task holds the lock.)
pub fn chip(sys: &Sys, card: usize) -> Option<Arc<Chip>> {
    sys.devs[sys.udev_of(card)].interfaces[0].intfdata.peek()
}

/// The kernel paths of the spec (§4), each as its kernel thread runs it, on card 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Path {
    /// (a) the DSP's enable request; waits for the response.
    Enable,
    /// (b) the DSP's disable request; waits for the response.
    Disable,
    /// (c) the DSP node goes away: BYE → `qmi_bye_cb` → `qmi_stop_session` (queued on
    /// the QMI worker; the DSP does not wait).
    Bye,
    /// (d) physical disconnect: the port loses the device, then `hub_event` on `hub_wq`
    /// (after the thaw if it is frozen for system sleep) → `usb_disconnect`.
    Unplug,
    /// (e) queued reset work: `usb_lock_device_for_reset` → `usb_reset_device` with
    /// forced unbind and rebind.
    Reset,
    /// (e) the hub's warm-reset branch of `hub_event` on `hub_wq`: hub lock, port lock,
    /// then udevL and `usb_reset_device`.
    WarmReset,
    /// (f) usbfs `USBDEVFS_DISCONNECT` of the control interface (a user task's system
    /// call: frozen across system sleep if it has not started).
    UsbfsDisconnect,
    /// (f) sysfs `unbind` of the control interface (a user task's system call, as above).
    SysfsUnbind,
    /// (g) one system suspend/resume cycle of the PM core.
    SystemSleep,
    /// (h) the runtime-PM worker runs an autosuspend request: `rpm_suspend`.
    RuntimeSuspend,
    /// (j) the qc auxiliary driver is removed.
    Remove,
    /// (k) `hub_event` on `hub_wq` → `usb_new_device` probes the control interface
    /// (udevL + intfL).
    Probe,
    /// (k) the qc auxiliary driver probes (QMI service, platform ops, rediscovery).
    QcProbe,
    /// A non-offload PCM user of the card (an ALSA ioctl such as hw_params):
    /// `snd_usb_lock_shutdown` … `snd_usb_unlock_shutdown` on the chip its open file
    /// holds (opened when the path is spawned or run).
    PcmUser,
}

impl Path {
    /// The kernel thread the path runs in (the task name in reports).
    pub fn task(self) -> &'static str {
        match self {
            Path::Enable | Path::Disable | Path::Bye => "DSP",
            Path::Unplug | Path::WarmReset | Path::Probe => "T_hub",
            Path::Reset => "T_reset",
            Path::UsbfsDisconnect | Path::SysfsUnbind => "T_usr",
            Path::SystemSleep => "T_sys",
            Path::RuntimeSuspend => "T_rpm",
            Path::Remove | Path::QcProbe => "T_aux",
            Path::PcmUser => "T_pcm",
        }
    }

    /// Runs the path in the calling task.
    pub fn run(self, sys: &Sys) {
        let udev = sys.udev_of(0);
        match self {
            Path::Enable => {
                dsp::request(sys, StreamReq::new(true, 0));
            }
            Path::Disable => {
                dsp::request(sys, StreamReq::new(false, 0));
            }
            Path::Bye => sys.qmi.send_bye(sys),
            Path::Unplug => hub::unplug(sys, udev),
            Path::Reset => {
                let ret = hub::usb_queue_reset_work(sys, udev, 0);
                ksync::note(|| format!("usb_reset_device: {ret}"));
            }
            Path::WarmReset => {
                let ret = hub::hub_port_warm_reset(sys, udev);
                ksync::note(|| format!("warm reset: {ret}"));
            }
            Path::UsbfsDisconnect => {
                devio::usbfs_ioctl_disconnect(sys, udev, 0);
            }
            Path::SysfsUnbind => devio::sysfs_unbind(sys, udev, 0),
            Path::SystemSleep => driver::system_sleep_cycle(sys),
            Path::RuntimeSuspend => {
                let ret = pm::rpm_suspend(sys, &sys.devs[udev]);
                ksync::note(|| format!("rpm_suspend: {ret}"));
            }
            Path::Remove => (sys.qc_ops().remove)(sys),
            Path::Probe => system::hub_event_connect(sys, udev),
            Path::QcProbe => qc::qc_usb_audio_probe(sys),
            Path::PcmUser => pcm_user_of(sys, chip(sys, 0)),
        }
    }
}

fn pcm_user_of(sys: &Sys, chip: Option<Arc<Chip>>) {
    match chip {
        Some(c) => pcm_user(sys, &c),
        None => ksync::note(|| "PCM user: no card to open".into()),
    }
}

/// A PCM ioctl of a user that holds `chip` open: the shutdown lock around its work.
pub fn pcm_user(sys: &Sys, chip: &Chip) {
    let _f = ksync::frame("snd_pcm_ioctl");
    let r = card::snd_usb_lock_shutdown(sys, chip);
    ksync::note(|| format!("snd_usb_lock_shutdown: {r}"));
    if r == 0 {
        card::snd_usb_unlock_shutdown(sys, chip);
    }
}

/// Spawns `path` as a task named after its kernel thread.
pub fn spawn(sys: &Sys, path: Path) -> JoinHandle {
    let s = sys.clone();
    if path == Path::PcmUser {
        // the file is opened by the spawner, before the race
        let c = chip(sys, 0);
        return ksync::spawn(path.task(), move || pcm_user_of(&s, c));
    }
    ksync::spawn(path.task(), move || path.run(&s))
}

/// Runs `paths` at once, one task each, and joins them.
pub fn race(sys: &Sys, paths: &[Path]) {
    let hs: Vec<_> = paths.iter().map(|&p| spawn(sys, p)).collect();
    for h in hs {
        h.join();
    }
}

/// An active stream on card 0, then `paths` at once.
pub fn stream_then(cfg: Config, paths: &[Path]) {
    run(cfg, |sys| {
        start_stream(sys, 0);
        race(sys, paths);
    });
}

/// `cfg` with the DSP answering a disconnect indication by one of `reactions` (a
/// choice explored by the checker).
pub fn reacting(mut cfg: Config, reactions: &[Reaction]) -> Config {
    cfg.dsp_reactions = reactions.to_vec();
    cfg
}
