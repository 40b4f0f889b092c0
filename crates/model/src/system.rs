//! Building a system: xHCI root hub → hub → audio device(s), snd-usb-audio, the qc
//! offload driver, the QMI channel, the freezable workqueues and the task freezer; plus resource counters for
//! the leak checks and the fault-injection point selector.

use crate::dsp::{QmiChannel, Reaction};
use crate::kernel::freezer::Freezer;
use crate::ptr::Ghost;
use crate::sound::usb::card::{EpDesc, SndUsb};
use crate::sound::usb::qcom::offload::{self as qc, QcDriver};
use crate::usb::core::device::{IntfKind, UsbDevice};
use crate::usb::core::driver;
use crate::usb::core::pm;
use crate::usb::host::xhci_sideband::Xhci;
use crate::Design;
use ksync::{LockClass, Mutex, SpinLock, WorkQueue};
use std::sync::Arc;

pub type Sys = Arc<System>;

/// Configuration of one system.
#[derive(Clone, Debug)]
pub struct Config {
    pub design: Design,
    /// number of audio devices (one card, one sideband each)
    pub cards: usize,
    pub data_ep: EpDesc,
    pub sync_ep: Option<EpDesc>,
    /// autosuspend delay of the audio devices (0 or 2000)
    pub autosuspend_delay_ms: u64,
    /// secondary interrupter slots (slot 0 is the primary)
    pub max_interrupters: usize,
    /// platform `intr_num`
    pub intr_num: usize,
    /// allowed DSP reactions to a disconnect indication
    pub dsp_reactions: Vec<Reaction>,
    /// load the qc driver at boot
    pub qc_loaded: bool,
}

impl Config {
    pub fn new(design: Design) -> Self {
        Config {
            design,
            cards: 1,
            data_ep: EpDesc {
                ep_num: 1,
                is_in: false,
            },
            sync_ep: None,
            autosuspend_delay_ms: 2000,
            max_interrupters: 2,
            intr_num: 1,
            dsp_reactions: vec![Reaction::Disable],
            qc_loaded: true,
        }
    }
}

/// Ghost resource counters (RES-*).
#[derive(Default)]
pub struct Resources {
    pub iommu_maps: Ghost,
    pub er_mappings: Ghost,
    pub coherent_bufs: Ghost,
    pub info_arrays: Ghost,
    pub sdevs: Ghost,
    pub sb_alloc: Ghost,
    pub interrupters: Ghost,
}

/// Fault-injection points: the enable path's (`enable-error-paths`, [`Fault::ALL`])
/// and the suspend path's ([`Fault::SUSPEND`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i64)]
pub enum Fault {
    None = 0,
    HwParams,
    GetEndpointBuffer,
    XferRingMap,
    GetEventBuffer,
    EventRingMap,
    TransferBuffer,
    InfoAlloc,
    /// `usb_port_suspend`: the hub refuses SET_FEATURE(PORT_SUSPEND).
    PortSuspend,
    /// The suspend callback of interface 0's driver returns an error.
    SuspendCallback,
}

impl Fault {
    /// The mechanism mark of an injected failure.
    pub fn mark(self) -> &'static str {
        match self {
            Fault::None => "no fault",
            Fault::HwParams => "injected: hw_params fails",
            Fault::GetEndpointBuffer => "injected: endpoint buffer fails",
            Fault::XferRingMap => "injected: transfer ring map fails",
            Fault::GetEventBuffer => "injected: event buffer fails",
            Fault::EventRingMap => "injected: event ring map fails",
            Fault::TransferBuffer => "injected: transfer buffer fails",
            Fault::InfoAlloc => "injected: info allocation fails",
            Fault::PortSuspend => "injected: port suspend fails",
            Fault::SuspendCallback => "injected: interface suspend callback fails",
        }
    }

    pub const ALL: [Fault; 8] = [
        Fault::None,
        Fault::HwParams,
        Fault::GetEndpointBuffer,
        Fault::XferRingMap,
        Fault::GetEventBuffer,
        Fault::EventRingMap,
        Fault::TransferBuffer,
        Fault::InfoAlloc,
    ];

    /// The failures of a suspend: the port, or an interface driver's callback.
    pub const SUSPEND: [Fault; 2] = [Fault::PortSuspend, Fault::SuspendCallback];
}

/// The whole modelled machine.
pub struct System {
    pub cfg: Config,
    pub design: Design,
    /// L_dsl
    pub device_state_lock: SpinLock<()>,
    /// root hub, hub, audio devices
    pub devs: Vec<UsbDevice>,
    /// `hcd->address0_mutex`
    pub address0_mutex: Mutex<()>,
    /// `hcd->bandwidth_mutex`
    pub bandwidth_mutex: Mutex<()>,
    pub xhci: Xhci,
    pub snd: SndUsb,
    pub qc: QcDriver,
    pub qmi: QmiChannel,
    /// `pm_wq` (WQ_FREEZABLE): runtime-PM requests.
    pub pm_wq: WorkQueue,
    /// `hub_wq` (WQ_FREEZABLE): `hub_event`, run in the task that stands for the
    /// hub's kernel thread (T_hub).
    pub hub_wq: WorkQueue,
    /// The freezer of user tasks (usbfs and sysfs callers) across system sleep.
    pub freezer: Freezer,
    pub res: Resources,
    pub fault: Ghost,
    pub ghost_ring_free_notified: Ghost,
    /// index of the first audio device in `devs`
    pub first_audio: usize,
}

impl System {
    /// Builds the system (inside an execution: starts the worker daemons).
    pub fn new(cfg: Config) -> Sys {
        let cards = cfg.cards;
        let pm_word = cfg.design.pm_word();
        let mut devs = vec![
            UsbDevice::new(
                0,
                "usb1",
                0,
                None,
                true,
                vec![(IntfKind::Hub, true)],
                0,
                0,
                pm_word,
            ),
            UsbDevice::new(
                1,
                "1-1",
                1,
                Some(0),
                true,
                vec![(IntfKind::Hub, true)],
                0,
                1,
                pm_word,
            ),
        ];
        for k in 0..cards {
            devs.push(UsbDevice::new(
                2 + k,
                &format!("1-1.{}", k + 1),
                2,
                Some(1),
                false,
                vec![
                    (IntfKind::AudioControl, false),
                    (IntfKind::AudioStreaming, false),
                ],
                // enumerated with the usbcore default; the configured delay is
                // written (sysfs power/autosuspend_delay_ms) after boot
                pm::DEFAULT_AUTOSUSPEND_DELAY_MS,
                2 + k as u32,
                pm_word,
            ));
        }
        devs[0].children.push(1);
        for k in 0..cards {
            devs[1].children.push(2 + k);
        }
        let eps = (0..devs.len())
            .map(|i| {
                if i < 2 {
                    vec![]
                } else {
                    let mut v = vec![cfg.data_ep.ctx_index()];
                    if let Some(s) = cfg.sync_ep {
                        v.push(s.ctx_index());
                    }
                    v
                }
            })
            .collect();
        let n = devs.len();
        Arc::new(System {
            design: cfg.design,
            device_state_lock: SpinLock::new(LockClass::new("device_state_lock"), ()),
            devs,
            address0_mutex: Mutex::new(LockClass::new("hcd->address0_mutex"), ()),
            bandwidth_mutex: Mutex::new(LockClass::new("hcd->bandwidth_mutex"), ()),
            xhci: Xhci::new(n, cfg.max_interrupters, eps),
            snd: SndUsb::new(cards),
            qc: QcDriver::new(cards, cfg.intr_num),
            qmi: QmiChannel::new(),
            pm_wq: WorkQueue::new_ordered("pm_wq"),
            hub_wq: WorkQueue::new_run_by_caller("hub_wq"),
            freezer: Freezer::default(),
            res: Resources::default(),
            fault: Ghost::default(),
            ghost_ring_free_notified: Ghost::default(),
            first_audio: 2,
            cfg,
        })
    }

    /// The offload contract of the design being modelled.
    pub fn contract(&self) -> &'static dyn crate::usb::core::offload::Contract {
        crate::usb::core::offload::contract(self.design)
    }

    /// The qc driver's entry points in the design being modelled.
    pub fn qc_ops(&self) -> &'static crate::sound::usb::qcom::QcOps {
        crate::sound::usb::qcom::ops(self.design)
    }

    /// Card number of an audio udev.
    pub fn card_of(&self, udev: usize) -> Option<usize> {
        (udev >= self.first_audio && udev < self.first_audio + self.cfg.cards)
            .then(|| udev - self.first_audio)
    }

    /// Udev index of a card.
    pub fn udev_of(&self, card: usize) -> usize {
        self.first_audio + card
    }

    /// Whether the selected fault point is `f`.
    pub fn fail(&self, f: Fault) -> bool {
        let hit = f != Fault::None && self.fault.get() == f as i64;
        if hit {
            ksync::mechanism(f.mark());
        }
        hit
    }
}

/// Boots the system in the calling task: the qc auxiliary driver registers its
/// platform ops, then snd-usb-audio probes each audio device's control interface
/// (udevL + intfL held, spec (k)).
pub fn boot(sys: &Sys) {
    let _f = ksync::frame("boot");
    if sys.cfg.qc_loaded {
        qc::qc_usb_audio_probe(sys);
    }
    for k in 0..sys.cfg.cards {
        probe_audio_device(sys, sys.udev_of(k));
    }
    // the configured delay, written after enumeration (a scenario that wants the
    // device to autosuspend with it idles the device, as update_autosuspend does)
    for k in 0..sys.cfg.cards {
        sys.devs[sys.udev_of(k)]
            .pm
            .autosuspend_delay_ms
            .store(sys.cfg.autosuspend_delay_ms);
    }
}

/// A device is plugged in (T_hub): `hub_event` on `hub_wq` → `hub_port_connect` →
/// `usb_new_device` ([`probe_audio_device`]).
pub fn hub_event_connect(sys: &Sys, udev_idx: usize) {
    sys.hub_wq
        .run_work("hub_event", || probe_audio_device(sys, udev_idx));
}

/// `usb_new_device` → `device_add` → interface probe under udevL + intfL.
pub fn probe_audio_device(sys: &Sys, udev_idx: usize) {
    let udev = &sys.devs[udev_idx];
    let _ul = udev.dev_mutex.lock();
    let intf = &udev.interfaces[0];
    let _il = intf.dev_mutex.lock();
    driver::usb_probe_interface(sys, udev, intf);
}
