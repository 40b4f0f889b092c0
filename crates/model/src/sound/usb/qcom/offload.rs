//! `sound/usb/qcom/qc_audio_offload.c` (spec §1.8, §3.8, paths (a), (b), (c), (d)2.4.3,
//! (g) suspend_cb, (i) notifier, (j) remove, (k) connect).
//!
//! The design differences of this driver: v1/v2 call `usb_offload_get` in
//! `uaudio_event_ring_setup` and `usb_offload_put` in `uaudio_event_ring_cleanup_free`
//! and on the error unwinds; v1 takes udevL in the stream handler and in
//! `qmi_stop_session`.

use crate::errno::*;
use crate::ptr::{Ghost, Ptr};
use crate::soc::qcom::qmi_interface::{self as qmi_if, QmiHandle, SockaddrQrtr};
use crate::sound::usb::card::{self, Chip, ChipState};
use crate::sound::usb::pcm;
use crate::sound::usb::qcom::iova::{
    IovaAlloc, PutOutcome, IOVA_BASE, MAX_XFER_BUFF_LEN, PAGE_SIZE,
};
use crate::system::{Fault, Sys};
use crate::usb::core::offload;
use crate::usb::host::xhci_sideband::{self as sbapi, Sideband};
use crate::Design;
use ksync::{
    AtomicBool, AtomicI32, AtomicU64, FindingKind, Kref, LockClass, Mutex, MutexGuard, Racy,
    WaitQueue, WaitResult,
};
use qmi::{
    AppsMemInfo, DeviceSpeed, EndpointDescriptor, InterfaceDescriptor, MemInfo, StreamStatus,
};
use std::sync::Arc;

pub const DEV_RELEASE_WAIT_TIMEOUT_MS: u64 = 10_000;
/// `SNDRV_CARDS`.
pub const SNDRV_CARDS: usize = 32;
/// `USB_QMI_PCM_FORMAT_U32_BE`: the largest format code the service accepts.
pub const USB_QMI_PCM_FORMAT_U32_BE: u32 = 17;
/// `uaudio_qdev->data->sid`: the SMMU stream id of the DSP's IOMMU domain.
pub const UAUDIO_SID: u64 = 1;
/// `usb_get_controller_id`: the model's controller has the DT alias `usb0`.
pub const USB_CONTROLLER_ID: u8 = 0;

/// `PREPEND_SID_TO_IOVA(iova, sid)`.
pub const fn prepend_sid_to_iova(iova: u64, sid: u64) -> u64 {
    iova | (sid << 32)
}

/// `IOVA_MASK(iova)`.
pub const fn iova_mask(iova: u64) -> u64 {
    iova & 0xFFFF_FFFF
}

/// `struct intf_info` (one per USB interface of the device).
#[derive(Clone, Debug, Default)]
pub struct IntfInfo {
    pub data_xfer_ring_va: u64,
    pub data_xfer_ring_size: u64,
    pub sync_xfer_ring_va: u64,
    pub sync_xfer_ring_size: u64,
    pub xfer_buf_iova: u64,
    pub xfer_buf_size: u64,
    /// `xfer_buf_cpu != NULL` (a coherent buffer is owned)
    pub xfer_buf_cpu: bool,
    /// pipes, as xHCI endpoint-context indices (0 = none)
    pub data_ep_pipe: usize,
    pub sync_ep_pipe: usize,
    /// USB endpoint numbers (`ep_num`)
    pub data_ep_idx: u32,
    pub sync_ep_idx: u32,
    pub intf_num: usize,
    pub in_use: bool,
}

/// `uadev[card]` fields accessed under `qdev_mutex`.
#[derive(Default)]
pub struct UadevLocked {
    pub ctrl_intf: Option<usize>,
    pub info: Option<Vec<IntfInfo>>,
    pub num_intf: usize,
    pub sb: Option<Arc<Sideband>>,
    pub sdev: bool,
    /// typed: the card's offload session, owned here while it is live.
    pub session: Option<crate::sound::usb::qcom::typed::Session>,
    /// typed: a disconnect or remove is ending the card (no new session starts).
    pub closing: bool,
}

/// `uaudio_qdev` and `uadev[]` under L_qdev.
pub struct QdevState {
    pub intr_num: usize,
    pub xfer_ring: IovaAlloc,
    pub xfer_buf: IovaAlloc,
    pub card_slot: u32,
    pub er_mapped: bool,
    pub uadev: Vec<UadevLocked>,
}

/// `uadev[card]` fields accessed without L_qdev.
pub struct UadevShared {
    pub in_use: AtomicI32,
    pub kref: Kref,
    pub disconnect_wq: WaitQueue,
    /// `uadev[card].chip`: written under L_qdev, read without it by remove (spec
    /// (j)2), a plain pointer (LK-8).
    pub chip: Ptr<Chip>,
    /// `uadev[card].udev` (a udev index): written under L_qdev, read without it by
    /// `uaudio_send_disconnect_ind` for the indication's slot id (LK-8).
    pub udev: Racy<Option<usize>>,
    /// Ghost: the forced clear of in_use after a W_inuse timeout/signal happened.
    pub forced_clear: Ghost,
}

/// The driver's globals.
pub struct QcDriver {
    pub qdev_mutex: Mutex<QdevState>,
    pub uadev: Vec<UadevShared>,
    /// `uaudio_qdev != NULL`
    pub qdev_present: AtomicBool,
    /// `uaudio_svc->{client_connected, client_sq}` as one word (one scheduling point per
    /// access): 0 = no client, else `node << 32 | port`.
    pub client: AtomicU64,
    /// `uaudio_svc->uaudio_svc_hdl`
    pub svc_hdl: QmiHandle,
    /// Ghost: the auxiliary driver was removed.
    pub removed: Ghost,
}

impl QcDriver {
    pub fn new(cards: usize, intr_num: usize) -> Self {
        QcDriver {
            qdev_mutex: Mutex::new(
                LockClass::new("qdev_mutex"),
                QdevState {
                    intr_num,
                    xfer_ring: IovaAlloc::xfer_ring(),
                    xfer_buf: IovaAlloc::xfer_buf(),
                    card_slot: 0,
                    er_mapped: false,
                    uadev: (0..cards).map(|_| UadevLocked::default()).collect(),
                },
            ),
            uadev: (0..cards)
                .map(|c| UadevShared {
                    in_use: AtomicI32::new("uadev->in_use", 0),
                    kref: Kref::new("uadev->kref"),
                    disconnect_wq: WaitQueue::labeled(
                        LockClass::new("W_inuse"),
                        &format!("card{c}"),
                    ),
                    chip: Ptr::racy("uadev->chip", &format!("card{c}"), None),
                    udev: Racy::labeled("uadev->udev", &format!("card{c}"), None),
                    forced_clear: Ghost::default(),
                })
                .collect(),
            qdev_present: AtomicBool::new("uaudio_qdev", false),
            client: AtomicU64::new("uaudio_svc->client_sq", 0),
            svc_hdl: QmiHandle::default(),
            removed: Ghost::default(),
        }
    }
}

type QGuard<'a> = MutexGuard<'a, QdevState>;

impl QcDriver {
    /// Reads `client_connected`/`client_sq` (a scheduling point).
    pub fn client_load(&self) -> Option<SockaddrQrtr> {
        let w = self.client.load();
        (w != 0).then(|| SockaddrQrtr::new((w >> 32) as u32, w as u32))
    }

    /// Writes `client_sq` and `client_connected` (a scheduling point).
    pub fn client_store(&self, c: Option<SockaddrQrtr>) {
        self.client
            .store(c.map_or(0, |a| ((a.node as u64) << 32) | a.port as u64));
    }

    /// The recorded client without a scheduling point (end checks, tests).
    pub fn client_peek(&self) -> Option<SockaddrQrtr> {
        let w = self.client.peek();
        (w != 0).then(|| SockaddrQrtr::new((w >> 32) as u32, w as u32))
    }
}
type CGuard<'a> = MutexGuard<'a, ChipState>;

pub(crate) fn qdev_live(sys: &Sys, what: &str) -> bool {
    if sys.qc.removed.get() != 0 && !sys.qc.qdev_present.peek() {
        ksync::report(
            FindingKind::Invariant,
            "RES-9",
            format!("{what}: uaudio_qdev already freed"),
        );
        return false;
    }
    true
}

// ---------------------------------------------------------------- IOMMU helpers

pub(crate) fn iommu_map(sys: &Sys) {
    sys.res.iommu_maps.add(1);
}

pub(crate) fn iommu_unmap(sys: &Sys, what: &str) {
    if sys.res.iommu_maps.add(-1) < 0 {
        ksync::report(
            FindingKind::Invariant,
            "RES-4",
            format!("{what}: unmap of something not mapped"),
        );
    }
}

/// `uaudio_iommu_map_pa(MEM_XFER_RING, pa)`: 0 on failure.
pub(crate) fn uaudio_iommu_map_xfer_ring(sys: &Sys, q: &mut QdevState) -> u64 {
    let va = q.xfer_ring.get(PAGE_SIZE);
    if va == 0 {
        return 0;
    }
    if sys.fail(Fault::XferRingMap) {
        let r = q.xfer_ring.put(va, PAGE_SIZE);
        check_iova_put(r, "transfer ring", va, PAGE_SIZE);
        return 0;
    }
    iommu_map(sys);
    va
}

/// `uaudio_iommu_map_pa(MEM_EVENT_RING, pa)`: IOVA_BASE, or 0 on a map failure. No
/// new mapping if `er_mapped` is already set; `er_mapped` is not set here.
pub(crate) fn uaudio_iommu_map_event_ring(sys: &Sys, q: &QdevState) -> u64 {
    if q.er_mapped {
        return IOVA_BASE;
    }
    if sys.fail(Fault::EventRingMap) {
        return 0;
    }
    iommu_map(sys);
    sys.res.er_mappings.add(1);
    IOVA_BASE
}

/// `uaudio_iommu_unmap(MEM_EVENT_RING, ...)`: the kernel skips the unmap when
/// `er_mapped` is clear; the model reports that unmap of nothing (RES-4).
pub(crate) fn uaudio_iommu_unmap_event_ring(sys: &Sys, q: &mut QdevState) {
    if q.er_mapped {
        q.er_mapped = false;
        iommu_unmap(sys, "event ring");
        sys.res.er_mappings.add(-1);
    } else {
        ksync::report(
            FindingKind::Invariant,
            "RES-4",
            "uaudio_iommu_unmap(MEM_EVENT_RING) while the event ring is not mapped (er_mapped clear; the kernel skips it)",
        );
    }
}

/// A `uaudio_put_iova` that released nothing, or not what was allocated: the
/// kernel ignores it (or credits the whole size); the model reports it (RES-3).
pub(crate) fn check_iova_put(r: PutOutcome, what: &str, va: u64, size: u64) {
    let why = match r {
        PutOutcome::Freed => return,
        PutOutcome::NotAllocated => "no allocation starts there",
        PutOutcome::AlreadyFree => "it is already free (returned twice)",
        PutOutcome::SizeMismatch => {
            "the allocations there do not add up to that size (the whole size is credited)"
        }
    };
    ksync::report(
        FindingKind::Invariant,
        "RES-3",
        format!("uaudio_put_iova({va:#x}, {size:#x}) on the {what} allocator: {why}"),
    );
}

#[derive(Clone, Copy)]
pub(crate) enum Mem {
    XferRing,
    XferBuf,
}

/// `uaudio_iommu_unmap(MEM_XFER_RING|MEM_XFER_BUF, iova, size, mapped)`.
pub(crate) fn uaudio_iommu_unmap(
    sys: &Sys,
    q: &mut QdevState,
    mem: Mem,
    iova: u64,
    size: u64,
    mapped: u64,
) {
    if iova == 0 || size == 0 {
        return;
    }
    let r = match mem {
        Mem::XferRing => q.xfer_ring.put(iova, size),
        Mem::XferBuf => q.xfer_buf.put(iova, size),
    };
    check_iova_put(
        r,
        match mem {
            Mem::XferRing => "transfer ring",
            Mem::XferBuf => "transfer buffer",
        },
        iova,
        size,
    );
    if mapped > 0 {
        iommu_unmap(sys, "transfer ring/buffer");
    }
}

// ---------------------------------------------------------------- helpers of §3.8

/// `info_idx_from_ifnum(card, intf_num, enable)`: walks `num_intf` entries of
/// `info`; only an enable looks whether `info` is NULL first.
fn info_idx_from_ifnum(q: &QdevState, card: usize, intf_num: usize, enable: bool) -> i32 {
    let dev = &q.uadev[card];
    let Some(info) = &dev.info else {
        if enable {
            return 0;
        }
        if dev.num_intf > 0 {
            // prepare_qmi_response set num_intf and then failed to allocate info
            ksync::report(
                FindingKind::Invariant,
                "RES-9",
                format!("card {card}: info_idx_from_ifnum(disable) reads uadev->info[0] with num_intf = {} and info == NULL (left by a failed info allocation): NULL pointer dereference", dev.num_intf),
            );
        }
        return -EINVAL;
    };
    for i in 0..dev.num_intf {
        let Some(e) = info.get(i) else {
            break;
        };
        if enable && !e.in_use {
            return i as i32;
        }
        if !enable && e.intf_num == intf_num {
            return i as i32;
        }
    }
    -EINVAL
}

/// `uaudio_send_disconnect_ind(chip)`: caller holds L_qdev and L_chip; both are
/// released around the wait on W_inuse and re-taken afterwards.
pub fn uaudio_send_disconnect_ind<'a>(
    sys: &'a Sys,
    chip: &'a Chip,
    qg: QGuard<'a>,
    cg: CGuard<'a>,
) -> (QGuard<'a>, CGuard<'a>) {
    let _f = ksync::frame("uaudio_send_disconnect_ind");
    let card = chip.card_number;
    let dev = &sys.qc.uadev[card];
    if dev.in_use.load() == 0 {
        return (qg, cg);
    }
    drop(cg);
    drop(qg);
    // disconnect_ind.slot_id = dev->udev->slot_id: read with both locks released
    let slot = match dev.udev.read() {
        Some(u) => sys.devs[u].slot_id,
        None => {
            ksync::report(
                FindingKind::Invariant,
                "RES-9",
                format!("card {card}: uaudio_send_disconnect_ind dereferences dev->udev after releasing qdev_mutex, and it is NULL (uaudio_dev_cleanup ran since the in_use check): NULL pointer dereference"),
            );
            0
        }
    };
    let ind = qmi::StreamInd {
        dev_event: qmi::DeviceIndication::Disconnect,
        slot_id: slot,
        // dev->usb_core_id, always marked valid
        controller_num: Some(USB_CONTROLLER_ID),
        ..Default::default()
    };
    // &svc->client_sq, read without a lock and without checking client_connected:
    // a BYE/DEL_CLIENT handled since the in_use check has zeroed it
    let client = sys.qc.client_load();
    ksync::check(client.is_some(), "RES-10", || {
        format!("card {card}: disconnect indication sent with no client recorded (client_sq zeroed by BYE/DEL_CLIENT after the in_use check): it goes to 0:0")
    });
    qmi_if::qmi_send_indication(sys, client.unwrap_or_default(), &ind);
    let r = dev.disconnect_wq.wait_event_interruptible_timeout(
        || dev.in_use.load() == 0,
        Some(DEV_RELEASE_WAIT_TIMEOUT_MS),
    );
    if r != WaitResult::Cond {
        ksync::note(|| format!("W_inuse(card{card}) ended by {r:?}: forced in_use = 0"));
        ksync::mechanism(if r == WaitResult::TimedOut {
            "W_inuse wait timed out"
        } else {
            "W_inuse wait interrupted"
        });
        dev.in_use.store(0);
        dev.forced_clear.set(1);
    }
    let qg = sys.qc.qdev_mutex.lock();
    let cg = chip.mutex.lock();
    (qg, cg)
}

/// `uaudio_dev_intf_cleanup(udev, info)`.
fn uaudio_dev_intf_cleanup(sys: &Sys, q: &mut QdevState, card: usize, idx: usize) {
    let _f = ksync::frame("uaudio_dev_intf_cleanup");
    let Some(mut info) = q.uadev[card]
        .info
        .as_ref()
        .and_then(|v| v.get(idx))
        .cloned()
    else {
        return;
    };
    uaudio_iommu_unmap(
        sys,
        q,
        Mem::XferRing,
        info.data_xfer_ring_va,
        info.data_xfer_ring_size,
        info.data_xfer_ring_size,
    );
    info.data_xfer_ring_va = 0;
    info.data_xfer_ring_size = 0;
    uaudio_iommu_unmap(
        sys,
        q,
        Mem::XferRing,
        info.sync_xfer_ring_va,
        info.sync_xfer_ring_size,
        info.sync_xfer_ring_size,
    );
    info.sync_xfer_ring_va = 0;
    info.sync_xfer_ring_size = 0;
    uaudio_iommu_unmap(
        sys,
        q,
        Mem::XferBuf,
        info.xfer_buf_iova,
        info.xfer_buf_size,
        info.xfer_buf_size,
    );
    info.xfer_buf_iova = 0;
    if info.xfer_buf_cpu {
        // usb_free_coherent
        sys.res.coherent_bufs.add(-1);
        info.xfer_buf_cpu = false;
    }
    info.xfer_buf_size = 0;
    info.in_use = false;
    if let Some(v) = q.uadev[card].info.as_mut() {
        v[idx] = info;
    }
}

/// `uaudio_event_ring_cleanup_free(dev)`.
fn uaudio_event_ring_cleanup_free(sys: &Sys, q: &mut QdevState, card: usize) {
    let _f = ksync::frame("uaudio_event_ring_cleanup_free");
    // clear_bit(card, &card_slot): the kernel does not look whether it was set
    ksync::check(q.card_slot & (1 << card) != 0, "RES-12", || {
        format!("card {card}: uaudio_event_ring_cleanup_free clears card_slot bit {card}, which is not set (card_slot = {:#x}): the session was already torn down", q.card_slot)
    });
    q.card_slot &= !(1 << card);
    if q.card_slot != 0 {
        return;
    }
    uaudio_iommu_unmap_event_ring(sys, q);
    if let Some(sb) = q.uadev[card].sb.clone() {
        sbapi::xhci_sideband_remove_interrupter(sys, &sb);
    }
    if sys.design != Design::V0CoreLocks {
        if let Some(u) = sys.qc.uadev[card].udev.read() {
            let _ = offload::usb_offload_put(sys, &sys.devs[u]); // return value ignored
        } else {
            ksync::report(
                FindingKind::Invariant,
                "RES-9",
                "usb_offload_put(dev->udev) with dev->udev == NULL",
            );
        }
    }
}

/// `uaudio_dev_cleanup(dev)`.
fn uaudio_dev_cleanup(sys: &Sys, q: &mut QdevState, card: usize) {
    let _f = ksync::frame("uaudio_dev_cleanup");
    qdev_live(sys, "uaudio_dev_cleanup");
    if sys.qc.uadev[card].udev.read().is_none() {
        return;
    }
    // the kernel walks num_intf entries of info without a NULL check
    let n = q.uadev[card].num_intf;
    if n > 0 && q.uadev[card].info.is_none() {
        ksync::report(
            FindingKind::Invariant,
            "RES-9",
            format!("card {card}: uaudio_dev_cleanup reads uadev->info[0] with num_intf = {n} and info == NULL: NULL pointer dereference"),
        );
    }
    for i in 0..n {
        if q.uadev[card]
            .info
            .as_ref()
            .is_some_and(|v| v.get(i).is_some_and(|e| e.in_use))
        {
            uaudio_dev_intf_cleanup(sys, q, card, i);
        }
    }
    q.uadev[card].num_intf = 0;
    if q.uadev[card].info.take().is_some() {
        sys.res.info_arrays.add(-1);
    }
    uaudio_event_ring_cleanup_free(sys, q, card);
    sys.qc.uadev[card].udev.write(None);
}

/// `uaudio_dev_release(kref)`.
fn uaudio_dev_release(sys: &Sys, q: &mut QdevState, card: usize) {
    let _f = ksync::frame("uaudio_dev_release");
    uaudio_event_ring_cleanup_free(sys, q, card);
    sys.qc.uadev[card].in_use.store(0);
    sys.qc.uadev[card].disconnect_wq.wake_up();
}

/// `disable_audio_stream(subs)`.
fn disable_audio_stream(sys: &Sys, chip: &Chip) {
    let _f = ksync::frame("disable_audio_stream");
    pcm::snd_usb_hw_free(sys, chip);
    card::snd_usb_autosuspend(sys, chip);
}

/// `enable_audio_stream(subs, ...)`.
fn enable_audio_stream(sys: &Sys, chip: &Chip) -> i32 {
    let _f = ksync::frame("enable_audio_stream");
    // pm_runtime_barrier(&chip->intf[0]->dev): interfaces have no callbacks; no-op here
    let _ = card::snd_usb_autoresume(sys, chip); // return value not checked
    let r = pcm::snd_usb_hw_params(sys, chip);
    if r < 0 {
        card::snd_usb_autosuspend(sys, chip);
        return r;
    }
    let err = if chip.shutdown.load() == 0 {
        prepare_endpoints(sys, chip)
    } else {
        0
    };
    if err < 0 {
        pcm::snd_usb_hw_free(sys, chip);
        card::snd_usb_autosuspend(sys, chip);
        return err;
    }
    0
}

/// `enable_audio_stream`'s endpoint preparation under `snd_usb_lock_shutdown`: the
/// sync endpoint (if any), then the data endpoint.
pub(crate) fn prepare_endpoints(sys: &Sys, chip: &Chip) -> i32 {
    let mut err = card::snd_usb_lock_shutdown(sys, chip);
    if err == 0 {
        if chip.sync_ep.is_some() {
            err = pcm::snd_usb_endpoint_prepare(sys, chip);
        }
        if err == 0 {
            err = pcm::snd_usb_endpoint_prepare(sys, chip);
        }
        card::snd_usb_unlock_shutdown(sys, chip);
    }
    err
}

/// `uaudio_endpoint_setup`: add the endpoint to the sideband, map its ring.
pub(crate) fn uaudio_endpoint_setup(
    sys: &Sys,
    q: &mut QdevState,
    sb: &Arc<Sideband>,
    ep: usize,
) -> Result<u64, i32> {
    let _f = ksync::frame("uaudio_endpoint_setup");
    if sbapi::xhci_sideband_add_endpoint(sys, sb, ep) != 0 {
        return Err(-ENODEV);
    }
    if !sbapi::xhci_sideband_get_endpoint_buffer(sys, sb, ep) {
        sbapi::xhci_sideband_remove_endpoint(sys, sb, ep);
        return Err(-ENODEV);
    }
    let va = uaudio_iommu_map_xfer_ring(sys, q);
    if va == 0 {
        sbapi::xhci_sideband_remove_endpoint(sys, sb, ep);
        return Err(-ENOMEM);
    }
    Ok(va)
}

/// `uaudio_event_ring_setup(subs, card)`.
fn uaudio_event_ring_setup(
    sys: &Sys,
    q: &mut QdevState,
    card: usize,
    sb: &Arc<Sideband>,
    udev: usize,
) -> i32 {
    let _f = ksync::frame("uaudio_event_ring_setup");
    let v0 = sys.design == Design::V0CoreLocks;
    let u = &sys.devs[udev];
    if !v0 {
        let r = offload::usb_offload_get(sys, u);
        if r < 0 {
            return r;
        }
    }
    let r = sbapi::xhci_sideband_create_interrupter(sys, sb, q.intr_num);
    if r < 0 {
        if !v0 {
            let _ = offload::usb_offload_put(sys, u);
        }
        return r;
    }
    let mut err = 0;
    if !sbapi::xhci_sideband_get_event_buffer(sys, sb) {
        err = -ENODEV;
    } else if uaudio_iommu_map_event_ring(sys, q) == 0 {
        err = -ENOMEM;
    }
    if err != 0 {
        sbapi::xhci_sideband_remove_interrupter(sys, sb);
        if !v0 {
            let _ = offload::usb_offload_put(sys, u);
        }
        return err;
    }
    let _ = card;
    0
}

/// `uaudio_transfer_buffer_setup`: (iova, size) or -ENOMEM.
pub(crate) fn uaudio_transfer_buffer_setup(
    sys: &Sys,
    q: &mut QdevState,
    len: u64,
) -> Result<(u64, u64), i32> {
    let _f = ksync::frame("uaudio_transfer_buffer_setup");
    let len = if len == 0 {
        PAGE_SIZE
    } else {
        len.div_ceil(PAGE_SIZE) * PAGE_SIZE
    };
    let len = len.min(MAX_XFER_BUFF_LEN);
    if sys.fail(Fault::TransferBuffer) {
        return Err(-ENOMEM);
    }
    // usb_alloc_coherent
    sys.res.coherent_bufs.add(1);
    let va = q.xfer_buf.get(len);
    if va == 0 {
        sys.res.coherent_bufs.add(-1);
        return Err(-ENOMEM);
    }
    iommu_map(sys);
    Ok((va, len))
}

/// `ep->desc` as far as the model knows it (unknown fields 0).
pub(crate) fn ep_desc(ep: crate::sound::usb::card::EpDesc, feedback: bool) -> EndpointDescriptor {
    EndpointDescriptor {
        b_length: 7,
        b_descriptor_type: 5, // USB_DT_ENDPOINT
        b_endpoint_address: ep.ep_num as u8 | if ep.is_in { 0x80 } else { 0 },
        bm_attributes: if feedback { 0x11 } else { 0x05 }, // isochronous
        ..Default::default()
    }
}

/// A ring/buffer `mem_info_v01` (DMA addresses are not modelled: 0).
pub(crate) fn mem_info(iova: u64, size: u64) -> MemInfo {
    MemInfo {
        iova: prepend_sid_to_iova(iova, UAUDIO_SID),
        dma: 0,
        size: size as u32,
    }
}

/// `prepare_qmi_response(subs, req, resp, info_idx)` with its error labels. Fills
/// `resp` as the kernel does, including the fields (with their valid flags) set
/// before a failure.
fn prepare_qmi_response(
    sys: &Sys,
    q: &mut QdevState,
    chip: &Chip,
    xfer_buff_size: u32,
    info_idx: usize,
    resp: &mut qmi::StreamResp,
) -> i32 {
    let _f = ksync::frame("prepare_qmi_response");
    qdev_live(sys, "prepare_qmi_response");
    let card = chip.card_number;
    if q.uadev[card].ctrl_intf.is_none() {
        return -ENODEV;
    }
    let udev = chip.udev;
    // uaudio_populate_uac_desc: the AS interface descriptor (UAC revision, subslot
    // size and data path delay are not modelled)
    let intf_desc = InterfaceDescriptor {
        b_length: 9,
        b_descriptor_type: 4, // USB_DT_INTERFACE
        b_interface_number: chip.stream_iface as u8,
        b_alternate_setting: 1,
        b_num_endpoints: 1 + chip.sync_ep.is_some() as u8,
        b_interface_class: 1,     // USB_CLASS_AUDIO
        b_interface_sub_class: 2, // streaming
        b_interface_protocol: 0x20,
        i_interface: 0,
    };
    resp.slot_id = Some(sys.devs[udev].slot_id);
    let Some(sb) = q.uadev[card].sb.clone() else {
        return -ENODEV;
    };
    resp.std_as_opr_intf_desc = Some(intf_desc);
    let mut mem = AppsMemInfo::default();
    // data endpoint
    let data_ep = chip.data_ep.ctx_index();
    let data_va = match uaudio_endpoint_setup(sys, q, &sb, data_ep) {
        Ok(v) => v,
        Err(e) => return e,
    };
    mem.tr_data = mem_info(data_va, PAGE_SIZE);
    resp.std_as_data_ep_desc = Some(ep_desc(chip.data_ep, false));
    let drop_data_ep = |q: &mut QdevState| {
        let _f = ksync::frame("prepare_qmi_response: drop_data_ep");
        uaudio_iommu_unmap(sys, q, Mem::XferRing, data_va, PAGE_SIZE, PAGE_SIZE);
        sbapi::xhci_sideband_remove_endpoint(sys, &sb, data_ep);
    };
    // sync endpoint
    let mut sync_va = 0;
    let sync_ep = chip.sync_ep.map(|e| e.ctx_index());
    if let Some(se) = sync_ep {
        match uaudio_endpoint_setup(sys, q, &sb, se) {
            Ok(v) => sync_va = v,
            Err(e) => {
                drop_data_ep(q);
                return e;
            }
        }
        mem.tr_sync = mem_info(sync_va, PAGE_SIZE);
        resp.std_as_sync_ep_desc = chip.sync_ep.map(|e| ep_desc(e, true));
    }
    resp.interrupter_num = Some(0);
    resp.controller_num = Some(USB_CONTROLLER_ID);
    let drop_sync_ep = |q: &mut QdevState| {
        let _f = ksync::frame("prepare_qmi_response: drop_sync_ep");
        if let Some(se) = sync_ep {
            uaudio_iommu_unmap(sys, q, Mem::XferRing, sync_va, PAGE_SIZE, PAGE_SIZE);
            sbapi::xhci_sideband_remove_endpoint(sys, &sb, se);
        }
    };
    // event ring
    let r = uaudio_event_ring_setup(sys, q, card, &sb, udev);
    if r < 0 {
        drop_sync_ep(q);
        drop_data_ep(q);
        return r;
    }
    mem.evt_ring = mem_info(IOVA_BASE, PAGE_SIZE);
    q.er_mapped = true;
    resp.interrupter_num = Some(q.intr_num as u8);
    let free_sec_ring = |_q: &mut QdevState| {
        let _f = ksync::frame("prepare_qmi_response: free_sec_ring");
        sbapi::xhci_sideband_remove_interrupter(sys, &sb);
        if sys.design != Design::V0CoreLocks {
            let _ = offload::usb_offload_put(sys, &sys.devs[udev]);
        }
    };
    // speed check: the model's devices are high speed
    resp.speed_info = Some(DeviceSpeed::High);
    let (buf_va, buf_size) = match uaudio_transfer_buffer_setup(sys, q, xfer_buff_size as u64) {
        Ok(x) => x,
        Err(_) => {
            free_sec_ring(q);
            drop_sync_ep(q);
            drop_data_ep(q);
            return -ENOMEM;
        }
    };
    mem.xfer_buff = mem_info(buf_va, buf_size);
    resp.xhci_mem_info = Some(mem);
    let dev = &sys.qc.uadev[card];
    if dev.in_use.load() == 0 {
        dev.kref.init();
        // init_waitqueue_head(&disconnect_wq): the queue object is reused
        // num_intf is set before the allocation and stays set when it fails
        let n = sys.devs[udev].interfaces.len();
        q.uadev[card].num_intf = n;
        if sys.fail(Fault::InfoAlloc) {
            let _f = ksync::frame("prepare_qmi_response: unmap_er");
            uaudio_iommu_unmap_event_ring(sys, q);
            free_sec_ring(q);
            drop_sync_ep(q);
            drop_data_ep(q);
            return -ENOMEM;
        }
        if q.uadev[card].info.is_some() {
            ksync::report(
                FindingKind::Leak,
                "RES-5",
                format!("card {card}: dev->info overwritten while the previous array is still allocated"),
            );
            // uaudio_dev_release left the ended session's info (and udev) in place
            ksync::report(
                FindingKind::Invariant,
                "RES-11",
                format!("card {card}: a new session starts on dev->info/dev->udev that an ended session left set (uaudio_dev_release clears neither)"),
            );
        } else {
            sys.res.info_arrays.add(1);
        }
        q.uadev[card].info = Some(vec![IntfInfo::default(); n]);
        sys.qc.uadev[card].udev.write(Some(udev));
        dev.in_use.store(1);
    } else {
        dev.kref.get();
    }
    // usb_core_id; fill info[info_idx] from the response (IOVA_MASK drops the SID)
    let info = IntfInfo {
        data_xfer_ring_va: iova_mask(mem.tr_data.iova),
        data_xfer_ring_size: PAGE_SIZE,
        sync_xfer_ring_va: iova_mask(mem.tr_sync.iova),
        sync_xfer_ring_size: if sync_va != 0 { PAGE_SIZE } else { 0 },
        xfer_buf_iova: iova_mask(mem.xfer_buff.iova),
        xfer_buf_size: mem.xfer_buff.size as u64,
        xfer_buf_cpu: true,
        data_ep_pipe: data_ep,
        sync_ep_pipe: sync_ep.unwrap_or(0),
        data_ep_idx: chip.data_ep.ep_num,
        sync_ep_idx: chip.sync_ep.map_or(0, |e| e.ep_num),
        intf_num: chip.stream_iface,
        in_use: true,
    };
    if let Some(v) = q.uadev[card].info.as_mut() {
        if info_idx < v.len() {
            v[info_idx] = info;
        }
    }
    q.card_slot |= 1 << card;
    0
}

/// `find_substream(card, pcm, dir)` → the chip if the substream exists.
pub(crate) fn find_substream(sys: &Sys, card: usize, pcm: u8, dir: u8) -> Option<Arc<Chip>> {
    let chip = sys.qc.uadev[card].chip.load()?;
    if chip.shutdown.load() != 0 || pcm >= chip.pcm_devs || dir > 1 || dir != 0 {
        return None;
    }
    Some(chip)
}

/// `handle_uaudio_stream_req(handle, sq, txn, decoded_msg)` (T_qmi; spec (a) enable /
/// (b) disable): `req_msg` is what the kernel-compatible decoder produced; the
/// response is encoded and sent to `sq` with the request's `txn`.
pub fn handle_uaudio_stream_req(sys: &Sys, sq: SockaddrQrtr, txn: u16, req_msg: &qmi::StreamReq) {
    let _f = ksync::frame("handle_uaudio_stream_req");
    let mut resp = qmi::StreamResp::default();
    if sys.qc.client_load().is_none() {
        sys.qc.client_store(Some(sq));
    }
    let v1 = sys.design == Design::V1CallerLocks;
    let mut qg = sys.qc.qdev_mutex.lock();
    let enable = req_msg.enable != 0;
    let fields_present = req_msg.audio_format.is_some()
        && req_msg.bit_rate.is_some()
        && req_msg.number_of_ch.is_some()
        && req_msg.xfer_buff_size.is_some();
    let token = req_msg.usb_token;
    // pcm_card_num is a u8
    let card = token.card as u8 as usize;
    let mut info_idx: i32 = -1;
    let mut ret: i32 = 'out: {
        // 3. validation
        if !fields_present || !sys.qc.qdev_present.load() || card >= SNDRV_CARDS {
            break 'out -EINVAL;
        }
        if req_msg.audio_format.map_or(0, |f| f.raw()) > USB_QMI_PCM_FORMAT_U32_BE {
            break 'out -EINVAL;
        }
        // 4. (uadev[] has one entry per modelled card: other cards have no chip)
        if card >= sys.cfg.cards {
            break 'out -ENODEV;
        }
        let Some(chip) = find_substream(sys, card, token.pcm, token.direction) else {
            break 'out -ENODEV;
        };
        // 5.
        info_idx = info_idx_from_ifnum(&qg, card, chip.stream_iface, enable);
        if chip.shutdown.load() != 0 {
            break 'out -ENODEV;
        }
        card::check_chip_live(&chip, "handle_uaudio_stream_req");
        if enable {
            // 6.
            {
                let mut cg = chip.mutex.lock();
                if info_idx < 0 || chip.system_suspend.load() != 0 || cg.subs.opened {
                    break 'out -EBUSY;
                }
                cg.subs.opened = true;
            }
            // 7. the service interval check (get_data_interval_from_si) is not modelled
            if req_msg.service_interval.is_some() {
                ksync::note(|| "service_interval ignored (not modelled)".into());
            }
            // 8.
            qg.uadev[card].ctrl_intf = Some(chip.ctrl_intf);
            let ug = v1.then(|| sys.devs[chip.udev].dev_mutex.lock());
            // 9.
            let mut r = enable_audio_stream(sys, &chip);
            // 10.
            if r == 0 {
                r = prepare_qmi_response(
                    sys,
                    &mut qg,
                    &chip,
                    req_msg.xfer_buff_size.unwrap_or(0),
                    info_idx as usize,
                    &mut resp,
                );
            }
            // 11.
            if r < 0 {
                chip.mutex.lock().subs.opened = false;
            }
            // 12.
            drop(ug);
            r
        } else {
            {
                let _cg = chip.mutex.lock();
            }
            qg.uadev[card].ctrl_intf = Some(chip.ctrl_intf);
            let ug = v1.then(|| sys.devs[chip.udev].dev_mutex.lock());
            // 9.
            if info_idx < 0 {
                drop(ug);
                break 'out -EINVAL;
            }
            // 10.
            let idx = info_idx as usize;
            for which in [0, 1] {
                let pipe = qg.uadev[card].info.as_ref().map_or(0, |v| {
                    if which == 0 {
                        v[idx].data_ep_pipe
                    } else {
                        v[idx].sync_ep_pipe
                    }
                });
                if pipe == 0 {
                    continue;
                }
                if sys.qc.uadev[card].udev.read().is_none() {
                    ksync::report(
                        FindingKind::Invariant,
                        "RES-9",
                        "usb_pipe_endpoint(dev->udev == NULL)",
                    );
                }
                if let Some(sb) = qg.uadev[card].sb.clone() {
                    sbapi::xhci_sideband_stop_endpoint(sys, &sb, pipe);
                    sbapi::xhci_sideband_remove_endpoint(sys, &sb, pipe);
                }
                if let Some(v) = qg.uadev[card].info.as_mut() {
                    if which == 0 {
                        v[idx].data_ep_pipe = 0;
                    } else {
                        v[idx].sync_ep_pipe = 0;
                    }
                }
            }
            // 11.
            disable_audio_stream(sys, &chip);
            chip.mutex.lock().subs.opened = false;
            drop(ug);
            // 12. response section
            let cg = chip.mutex.lock();
            uaudio_dev_intf_cleanup(sys, &mut qg, card, idx);
            let dev = &sys.qc.uadev[card];
            if dev.in_use.load() != 0 {
                let q: &mut QdevState = &mut qg;
                dev.kref.put(|| uaudio_dev_release(sys, q, card));
            }
            drop(cg);
            0
        }
    };
    if ret > 0 {
        ret = 0;
    }
    let _ = info_idx;
    drop(qg);
    send_stream_resp(sys, sq, txn, token, ret, resp);
}

/// The response section of `handle_uaudio_stream_req`: the token echoed, `ret` as the
/// internal status and the status word, encoded and sent to `sq`.
pub(crate) fn send_stream_resp(
    sys: &Sys,
    sq: SockaddrQrtr,
    txn: u16,
    token: qmi::UsbToken,
    ret: i32,
    mut resp: qmi::StreamResp,
) {
    resp.usb_token = Some(token);
    resp.internal_status = Some(ret);
    resp.status = Some(if ret != 0 {
        StreamStatus::Failure
    } else {
        StreamStatus::Success
    });
    qmi_if::qmi_send_response(sys, sq, txn, &resp);
}

/// `qmi_stop_session` (T_qmi; spec (c)).
pub fn qmi_stop_session(sys: &Sys) {
    let _f = ksync::frame("qmi_stop_session");
    let v1 = sys.design == Design::V1CallerLocks;
    let mut qg = sys.qc.qdev_mutex.lock();
    for card in 0..sys.cfg.cards {
        let dev = &sys.qc.uadev[card];
        if dev.in_use.load() == 0 {
            continue;
        }
        let chip = dev.chip.load();
        let n = qg.uadev[card].num_intf;
        for i in 0..n {
            if !qg.uadev[card]
                .info
                .as_ref()
                .is_some_and(|v| v.get(i).is_some_and(|e| e.in_use))
            {
                continue;
            }
            let Some(chip) = chip.as_ref().filter(|c| c.shutdown.load() == 0) else {
                ksync::note(|| "qmi_stop_session: no substream, skipped".into());
                continue;
            };
            let (dp, sp) = qg.uadev[card]
                .info
                .as_ref()
                .map_or((0, 0), |v| (v[i].data_ep_pipe, v[i].sync_ep_pipe));
            if let Some(sb) = qg.uadev[card].sb.clone() {
                for p in [dp, sp] {
                    if p != 0 {
                        sbapi::xhci_sideband_remove_endpoint(sys, &sb, p);
                    }
                }
            }
            if let Some(v) = qg.uadev[card].info.as_mut() {
                v[i].data_ep_pipe = 0;
                v[i].sync_ep_pipe = 0;
            }
            disable_audio_stream(sys, chip);
        }
        // No wake-up of disconnect_wq: a task asleep in W_inuse is left to its
        // timeout (the checker reports that lost wake-up, LK-9).
        dev.in_use.store(0);
        let Some(chip) = chip else {
            // guard(mutex)(&chip->mutex) with chip == NULL
            ksync::report(
                FindingKind::Invariant,
                "RES-9",
                format!("card {card}: qmi_stop_session takes chip->mutex with uadev->chip == NULL (in_use was set): NULL pointer dereference"),
            );
            continue;
        };
        // v1: guard(device)(&dev->udev->dev)
        let ug = v1
            .then(|| dev.udev.read())
            .flatten()
            .map(|u| sys.devs[u].dev_mutex.lock());
        let cg = chip.mutex.lock();
        uaudio_dev_cleanup(sys, &mut qg, card);
        drop(cg);
        drop(ug);
    }
    drop(qg);
}

/// Forgets the client (`client_sq` zeroed, `client_connected = false`).
pub(crate) fn qmi_forget_client(sys: &Sys) {
    sys.qc.client_store(None);
}

/// `qmi_bye_cb(handle, node)` (T_qmi; spec (c), §5.5): acts only if a client is
/// recorded on `node`.
pub fn qmi_bye_cb(sys: &Sys, node: u32) {
    let _f = ksync::frame("qmi_bye_cb");
    client_gone(sys, node, None, qmi_stop_session);
}

/// `qmi_svc_disconnect_cb(handle, node, port)` (T_qmi; spec (c), §5.5): like
/// [`qmi_bye_cb`], but node and port must both match the client.
pub fn qmi_svc_disconnect_cb(sys: &Sys, node: u32, port: u32) {
    let _f = ksync::frame("qmi_svc_disconnect_cb");
    client_gone(sys, node, Some(port), qmi_stop_session);
}

/// The body of both callbacks: if the client is on `node` (and `port`, for
/// DEL_CLIENT), `stop_session` and forget the client; otherwise nothing.
pub(crate) fn client_gone(sys: &Sys, node: u32, port: Option<u32>, stop_session: fn(&Sys)) {
    match sys.qc.client_load() {
        Some(c) if c.node == node && port.is_none_or(|p| p == c.port) => {
            stop_session(sys);
            qmi_forget_client(sys);
        }
        c => ksync::note(|| match port {
            None => format!("qmi_bye_cb: node {node} is not the client ({c:?}): ignored"),
            Some(p) => {
                format!("qmi_svc_disconnect_cb: {node}:{p:#x} is not the client ({c:?}): ignored")
            }
        }),
    }
}

/// `qc_usb_audio_offload_disconnect(chip)` (platform `disconnect_cb`; spec (d)2.4.3).
pub fn qc_usb_audio_offload_disconnect(sys: &Sys, chip: &Arc<Chip>) {
    let _f = ksync::frame("qc_usb_audio_offload_disconnect");
    let card = chip.card_number;
    let qg = sys.qc.qdev_mutex.lock();
    let cg = chip.mutex.lock();
    let dev = &sys.qc.uadev[card];
    if dev.chip.load().is_none() {
        return;
    }
    let stale = dev.udev.read().is_some();
    // "cleaned up already" is decided on dev->udev alone: after the last disable's
    // uaudio_dev_release it is still set, and the disconnect cleans up a session that
    // has ended
    ksync::check(!stale || dev.in_use.peek() != 0, "RES-11", || {
        format!("card {card}: qc_usb_audio_offload_disconnect acts on dev->udev/dev->info of a session that has ended (in_use 0; uaudio_dev_release clears neither)")
    });
    let (mut qg, cg) = if stale {
        let (mut qg, cg) = uaudio_send_disconnect_ind(sys, chip, qg, cg);
        uaudio_dev_cleanup(sys, &mut qg, card);
        (qg, cg)
    } else {
        (qg, cg)
    };
    if chip.num_interfaces.load() == 1 {
        // soc-usb disconnect; unregister the sideband
        if let Some(sb) = qg.uadev[card].sb.clone() {
            sbapi::xhci_sideband_unregister(sys, &sb);
        }
        dev.chip.store(None);
        if qg.uadev[card].sdev {
            qg.uadev[card].sdev = false;
            sys.res.sdevs.add(-1);
        }
    }
    drop(cg);
    drop(qg);
}

/// `qc_usb_audio_offload_suspend(intf, msg)` (platform `suspend_cb`).
pub fn qc_usb_audio_offload_suspend(
    sys: &Sys,
    chip: &Arc<Chip>,
    _msg: crate::usb::core::driver::PmMsg,
) {
    let _f = ksync::frame("qc_usb_audio_offload_suspend");
    let qg = sys.qc.qdev_mutex.lock();
    let cg = chip.mutex.lock();
    let (qg, cg) = uaudio_send_disconnect_ind(sys, chip, qg, cg);
    drop(cg);
    drop(qg);
}

/// `uaudio_sideband_notifier(intf, evt)` (spec (i)3).
pub fn uaudio_sideband_notifier(sys: &Sys, sb: &Arc<Sideband>, ep_index: usize) {
    let _f = ksync::frame("uaudio_sideband_notifier");
    let udev = &sys.devs[sb.udev];
    // chip = usb_get_intfdata(intf), used without a NULL check
    let Some(chip) = udev.interfaces[sb.intf].intfdata.load() else {
        ksync::report(
            FindingKind::Invariant,
            "RES-9",
            format!("uaudio_sideband_notifier: usb_get_intfdata({} intf {}) is NULL (the interface was unbound) and chip->card is dereferenced: NULL pointer dereference", udev.name, sb.intf),
        );
        return;
    };
    let card = chip.card_number;
    let mut qg = sys.qc.qdev_mutex.lock();
    let mut cg = chip.mutex.lock();
    let n = qg.uadev[card].num_intf;
    let mut if_idx = 0;
    while if_idx < n {
        let Some(info) = qg.uadev[card]
            .info
            .as_ref()
            .and_then(|v| v.get(if_idx))
            .cloned()
        else {
            ksync::report(
                FindingKind::Invariant,
                "RES-9",
                "uaudio_sideband_notifier: dev->info NULL with num_intf > 0",
            );
            break;
        };
        let matched =
            info.data_ep_idx as usize == ep_index || info.sync_ep_idx as usize == ep_index;
        let owns = info.in_use && (info.data_ep_pipe == ep_index || info.sync_ep_pipe == ep_index);
        ksync::check(matched == owns, "SB-6", || {
            format!(
                "ring-free notification for ep-context index {ep_index}: stream owns it = {owns}, driver matched (by ep_num {}/{}) = {matched}",
                info.data_ep_idx, info.sync_ep_idx
            )
        });
        if matched {
            let (q2, c2) = uaudio_send_disconnect_ind(sys, &chip, qg, cg);
            qg = q2;
            cg = c2;
        }
        if_idx += 1;
    }
    drop(cg);
    drop(qg);
}

/// `qc_usb_audio_offload_probe(chip)` (platform `connect_cb`, under L_reg; spec (k)).
pub fn qc_usb_audio_offload_probe(sys: &Sys, chip: &Arc<Chip>) {
    let _f = ksync::frame("qc_usb_audio_offload_probe");
    if !sys.qc.qdev_present.load() {
        return;
    }
    let card = chip.card_number;
    let mut qg = sys.qc.qdev_mutex.lock();
    let cg = chip.mutex.lock();
    let dev = &sys.qc.uadev[card];
    if dev.chip.load().is_none() {
        qg.uadev[card].sdev = true;
        sys.res.sdevs.add(1);
        let udev = &sys.devs[chip.udev];
        match sbapi::xhci_sideband_register(sys, udev, chip.ctrl_intf) {
            None => {
                qg.uadev[card].sdev = false;
                sys.res.sdevs.add(-1);
                dev.chip.store(None);
                return;
            }
            Some(sb) => qg.uadev[card].sb = Some(sb),
        }
    }
    dev.chip.store(Some(chip.clone()));
    // last interface: PCM index array, mixer control, soc-usb connect
    drop(cg);
    drop(qg);
}

/// The qc auxiliary-driver probe: QMI service, `uaudio_qdev`, platform ops.
pub fn qc_usb_audio_probe(sys: &Sys) {
    let _f = ksync::frame("qc_usb_audio_probe");
    sys.qc.qdev_present.store(true);
    if card::snd_usb_register_platform_ops(sys) == 0 {
        card::snd_usb_rediscover_devices(sys);
    }
}

/// `qc_usb_audio_remove` (T_aux; spec (j)).
pub fn qc_usb_audio_remove(sys: &Sys) {
    let _f = ksync::frame("qc_usb_audio_remove");
    card::snd_usb_unregister_platform_ops(sys);
    for card in 0..sys.cfg.cards {
        if let Some(chip) = sys.qc.uadev[card].chip.load() {
            qc_usb_audio_offload_disconnect(sys, &chip);
        }
    }
    sys.qc.removed.set(1);
    sys.qc.qdev_present.store(false);
    sys.qc.client_store(None);
}
