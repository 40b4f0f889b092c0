//! `sound/usb/card.c` subset (spec §1.7, §3.7): the chip, `register_mutex`,
//! `chip->mutex`, `active` autopm count, shutdown + `usage_count` + `W_shutdown`,
//! probe/disconnect/suspend/resume and the `platform_ops` callbacks.

use crate::errno::*;
use crate::ptr::Ghost;
use crate::sound::usb::pcm::SubsState;
use crate::system::Sys;
use crate::usb::core::device::{cond, IntfKind, UsbDevice, UsbInterface};
use crate::usb::core::driver::PmMsg;
use crate::usb::core::pm;
use ksync::{AtomicI32, FindingKind, LockClass, Mutex, Racy, WaitQueue};
use std::sync::Arc;

/// A USB endpoint of the audio stream: USB endpoint number and xHCI ep-context index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EpDesc {
    pub ep_num: u32,
    pub is_in: bool,
}

impl EpDesc {
    /// Endpoint-context index (spec §1.6): 2n − 1 + (1 if IN).
    pub fn ctx_index(self) -> usize {
        (2 * self.ep_num - 1 + self.is_in as u32) as usize
    }
}

/// Fields under `chip->mutex` (L_chip).
#[derive(Debug, Default)]
pub struct ChipState {
    /// the single playback substream (pcm 0, direction playback)
    pub subs: SubsState,
}

/// `struct snd_usb_audio`.
pub struct Chip {
    pub card_number: usize,
    pub udev: usize,
    pub mutex: Mutex<ChipState>,
    pub shutdown: AtomicI32,
    pub active: AtomicI32,
    pub usage_count: AtomicI32,
    pub shutdown_wait: WaitQueue,
    /// under L_reg
    pub num_interfaces: AtomicI32,
    /// `chip->intf[]`: the audio-control interfaces that went through probe
    pub intf: Vec<usize>,
    pub ctrl_intf: usize,
    pub system_suspend: AtomicI32,
    pub num_suspended_intf: AtomicI32,
    pub pcm_devs: u8,
    /// streaming interface number (`cur_audiofmt->iface`)
    pub stream_iface: usize,
    pub data_ep: EpDesc,
    pub sync_ep: Option<EpDesc>,
    /// Ghost: successful `snd_usb_autoresume` / effective `snd_usb_autosuspend` (ACC-8).
    pub ghost_ar_ok: Ghost,
    pub ghost_as: Ghost,
    pub freed: Ghost,
}

/// Fields under `register_mutex` (L_reg).
pub struct RegState {
    pub chips: Vec<Option<Arc<Chip>>>,
    pub platform_ops: bool,
}

/// The snd-usb-audio driver globals.
pub struct SndUsb {
    pub register_mutex: Mutex<RegState>,
    /// `platform_ops` as the suspend path sees it: written under L_reg (with
    /// `RegState::platform_ops`), read by `usb_audio_suspend` without it (LK-8).
    pub platform_ops_ptr: Racy<bool>,
}

impl SndUsb {
    pub fn new(cards: usize) -> Self {
        SndUsb {
            register_mutex: Mutex::new(
                LockClass::new("register_mutex"),
                RegState {
                    chips: vec![None; cards],
                    platform_ops: false,
                },
            ),
            platform_ops_ptr: Racy::new("platform_ops", false),
        }
    }
}

/// `snd_usb_autoresume(chip)`.
pub fn snd_usb_autoresume(sys: &Sys, chip: &Chip) -> i32 {
    let _f = ksync::frame("snd_usb_autoresume");
    if chip.shutdown.load() != 0 {
        return -EIO;
    }
    if chip.active.fetch_add(1) + 1 != 1 {
        chip.ghost_ar_ok.add(1);
        return 0;
    }
    let r = usb_autopm_get_interfaces(sys, chip);
    if r < 0 {
        chip.active.fetch_sub(1);
        return r;
    }
    chip.ghost_ar_ok.add(1);
    0
}

/// `usb_autopm_get_interface` on each of the chip's interfaces; on a failure the ones
/// already taken are put back and the error returned.
pub fn usb_autopm_get_interfaces(sys: &Sys, chip: &Chip) -> i32 {
    let udev = &sys.devs[chip.udev];
    for (k, &i) in chip.intf.iter().enumerate() {
        let r = pm::usb_autopm_get_interface(sys, udev, i);
        if r < 0 {
            for &j in &chip.intf[..k] {
                pm::usb_autopm_put_interface(sys, udev, j);
            }
            return r;
        }
    }
    0
}

/// `usb_autopm_put_interface` on each of the chip's interfaces.
pub fn usb_autopm_put_interfaces(sys: &Sys, chip: &Chip) {
    let udev = &sys.devs[chip.udev];
    for &i in &chip.intf {
        pm::usb_autopm_put_interface(sys, udev, i);
    }
}

/// `snd_usb_autosuspend(chip)`.
pub fn snd_usb_autosuspend(sys: &Sys, chip: &Chip) {
    let _f = ksync::frame("snd_usb_autosuspend");
    if chip.shutdown.load() != 0 {
        return;
    }
    let n = chip.ghost_as.add(1);
    ksync::check(n <= chip.ghost_ar_ok.get(), "ACC-8", || {
        format!(
            "snd_usb_autosuspend without a matching successful snd_usb_autoresume (card {}: {} autosuspends, {} autoresumes)",
            chip.card_number,
            n,
            chip.ghost_ar_ok.get()
        )
    });
    let now = chip.active.fetch_sub(1) - 1;
    ksync::check(now >= 0, "ACC-8", || {
        format!("chip->active = {now} (card {})", chip.card_number)
    });
    if now == 0 {
        usb_autopm_put_interfaces(sys, chip);
    }
}

/// `snd_usb_lock_shutdown(chip)`.
pub fn snd_usb_lock_shutdown(sys: &Sys, chip: &Chip) -> i32 {
    let _f = ksync::frame("snd_usb_lock_shutdown");
    chip.usage_count.fetch_add(1);
    let r = if chip.shutdown.load() != 0 {
        -EIO
    } else {
        snd_usb_autoresume(sys, chip)
    };
    if r < 0 && chip.usage_count.fetch_sub(1) == 1 {
        chip.shutdown_wait.wake_up();
    }
    r
}

/// `snd_usb_unlock_shutdown(chip)`.
pub fn snd_usb_unlock_shutdown(sys: &Sys, chip: &Chip) {
    let _f = ksync::frame("snd_usb_unlock_shutdown");
    snd_usb_autosuspend(sys, chip);
    if chip.usage_count.fetch_sub(1) == 1 {
        chip.shutdown_wait.wake_up();
    }
}

/// `usb_audio_probe(intf)`: udevL and intfL held by the core.
pub fn usb_audio_probe(sys: &Sys, udev: &UsbDevice, intf: &UsbInterface) -> i32 {
    let _f = ksync::frame("usb_audio_probe");
    let mut reg = sys.snd.register_mutex.lock();
    let card = sys.card_of(udev.idx).expect("audio device");
    let chip = match reg.chips[card].clone() {
        Some(c) => {
            c.active.fetch_add(1);
            c
        }
        None => {
            let c = Arc::new(Chip::new(sys, card, udev.idx, intf.num));
            reg.chips[card] = Some(c.clone());
            c
        }
    };
    // snd_usb_create_streams: claim the streaming interface (UNUSED sentinel)
    let s = &udev.interfaces[chip.stream_iface];
    if s.condition.load() == cond::UNBOUND {
        s.condition.store(cond::BOUND);
        s.needs_binding.store(false);
        pm::intf_runtime_enable(udev, s.num);
    }
    {
        let mut st = chip.mutex.lock();
        st.subs.data_endpoint = true;
    }
    chip.num_interfaces.fetch_add(1);
    intf.intfdata.store(Some(chip.clone()));
    if reg.platform_ops {
        (sys.qc_ops().connect_cb)(sys, &chip);
    }
    if chip.num_interfaces.peek() > 1 {
        chip.active.fetch_sub(1);
    }
    drop(reg);
    0
}

impl Chip {
    fn new(sys: &Sys, card: usize, udev: usize, ctrl_intf: usize) -> Self {
        Chip {
            card_number: card,
            udev,
            mutex: Mutex::labeled(
                LockClass::new("&chip->mutex"),
                &format!("card{card}"),
                ChipState::default(),
            ),
            shutdown: AtomicI32::new("chip->shutdown", 0),
            active: AtomicI32::new("chip->active", 0),
            usage_count: AtomicI32::new("chip->usage_count", 0),
            shutdown_wait: WaitQueue::labeled(LockClass::new("W_shutdown"), &format!("card{card}")),
            num_interfaces: AtomicI32::new("chip->num_interfaces", 0),
            intf: vec![ctrl_intf],
            ctrl_intf,
            system_suspend: AtomicI32::new("chip->system_suspend", 0),
            num_suspended_intf: AtomicI32::new("chip->num_suspended_intf", 0),
            pcm_devs: 1,
            stream_iface: 1,
            data_ep: sys.cfg.data_ep,
            sync_ep: sys.cfg.sync_ep,
            ghost_ar_ok: Ghost::default(),
            ghost_as: Ghost::default(),
            freed: Ghost::default(),
        }
    }
}

/// `usb_audio_disconnect(intf)` → `__usb_audio_disconnect`.
pub fn usb_audio_disconnect(sys: &Sys, _udev: &UsbDevice, intf: &UsbInterface) {
    let _f = ksync::frame("usb_audio_disconnect");
    if intf.kind == IntfKind::AudioStreaming {
        return; // USB_AUDIO_IFACE_UNUSED
    }
    let Some(chip) = intf.intfdata.load() else {
        return;
    };
    let _f2 = ksync::frame("__usb_audio_disconnect");
    let mut reg = sys.snd.register_mutex.lock();
    if reg.platform_ops {
        (sys.qc_ops().disconnect_cb)(sys, &chip);
    }
    let was = chip.shutdown.fetch_add(1);
    if was == 0 {
        let _f = ksync::frame("__usb_audio_disconnect: wait usage_count");
        chip.shutdown_wait
            .wait_event(|| chip.usage_count.load() == 0);
        // disconnect card, streams, endpoints, midi, mixers
        let mut st = chip.mutex.lock();
        st.subs.data_endpoint = false;
    }
    if chip.num_interfaces.fetch_sub(1) == 1 {
        reg.chips[chip.card_number] = None;
        chip.freed.set(1); // snd_card_free_when_closed: nothing keeps it open here
    }
    drop(reg);
}

/// `usb_audio_suspend(intf, msg)`.
pub fn usb_audio_suspend(sys: &Sys, _udev: &UsbDevice, intf: &UsbInterface, msg: PmMsg) -> i32 {
    let _f = ksync::frame("usb_audio_suspend");
    if intf.kind == IntfKind::AudioStreaming {
        return 0;
    }
    let Some(chip) = intf.intfdata.load() else {
        return 0;
    };
    let n = chip.num_suspended_intf.fetch_add(1) + 1;
    if !msg.is_auto() && chip.system_suspend.load() == 0 {
        chip.system_suspend.store(n);
    }
    let ops = if sys.contract().platform_ops_under_register_mutex() {
        sys.snd.register_mutex.lock().platform_ops
    } else {
        sys.snd.platform_ops_ptr.read()
    };
    if ops {
        (sys.qc_ops().suspend_cb)(sys, &chip, msg);
    }
    0
}

/// `usb_audio_resume(intf)`.
pub fn usb_audio_resume(_sys: &Sys, _udev: &UsbDevice, intf: &UsbInterface) -> i32 {
    let _f = ksync::frame("usb_audio_resume");
    if intf.kind == IntfKind::AudioStreaming {
        return 0;
    }
    let Some(chip) = intf.intfdata.load() else {
        return 0;
    };
    chip.active.fetch_add(1);
    // resume pcm, mixers, midi; resume_cb (the qc driver has none)
    if chip.num_suspended_intf.load() == chip.system_suspend.load() {
        chip.system_suspend.store(0);
    }
    chip.num_suspended_intf.fetch_sub(1);
    chip.active.fetch_sub(1);
    0
}

/// `snd_usb_register_platform_ops` (+L_reg −L_reg; -EEXIST if already set).
pub fn snd_usb_register_platform_ops(sys: &Sys) -> i32 {
    let _f = ksync::frame("snd_usb_register_platform_ops");
    let mut reg = sys.snd.register_mutex.lock();
    if reg.platform_ops {
        return -17;
    }
    reg.platform_ops = true;
    sys.snd.platform_ops_ptr.write(true);
    0
}

/// `snd_usb_unregister_platform_ops`.
pub fn snd_usb_unregister_platform_ops(sys: &Sys) {
    let _f = ksync::frame("snd_usb_unregister_platform_ops");
    let mut reg = sys.snd.register_mutex.lock();
    reg.platform_ops = false;
    sys.snd.platform_ops_ptr.write(false);
}

/// `snd_usb_rediscover_devices`: connect_cb for each existing chip, under L_reg.
pub fn snd_usb_rediscover_devices(sys: &Sys) {
    let _f = ksync::frame("snd_usb_rediscover_devices");
    let reg = sys.snd.register_mutex.lock();
    if !reg.platform_ops {
        return;
    }
    for c in reg.chips.iter().flatten() {
        (sys.qc_ops().connect_cb)(sys, c);
    }
}

/// Reports a use of a freed chip.
pub fn check_chip_live(chip: &Chip, what: &str) {
    if chip.freed.get() != 0 {
        ksync::report(
            FindingKind::Invariant,
            "RES-9",
            format!("{what}: chip of card {} already freed", chip.card_number),
        );
    }
}
