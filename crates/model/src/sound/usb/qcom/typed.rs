//! `typed`: the qc offload driver written against this project's contract. It serves
//! the same QMI requests and platform callbacks as `qc_audio_offload.c` (module
//! [`super::offload`]), on the same driver state, with these differences:
//!
//! * Locks are taken through [`crate::lock_order`]: every entry point starts from the
//!   context its caller holds, so the lock order is checked by the compiler. The
//!   runtime resume of an enable happens before `qdev_mutex` is taken.
//! * A card's [`Session`] owns everything the stream holds — the runtime-PM reference,
//!   the offload usage token, rings, IOVA ranges, mappings, the interrupter. It lives
//!   in `uadev[card].session` and is ended by moving it out ([`teardown`]), so a
//!   second teardown finds nothing and an error path releases exactly what it built.
//! * A session becomes live (`in_use = 1`) in the same `offload_lock` section as its
//!   usage is counted, and stops being live in the same section as the put.
//! * Every end of a session wakes `disconnect_wq`; a disconnect, a ring-free
//!   notification or a driver remove that times out (or is interrupted) waiting for the
//!   DSP tears the session down itself.
//! * A system suspend keeps a live session streaming: the USB core keeps the device
//!   powered for it (the usage is counted), so `suspend_cb` does not end it.

use crate::errno::*;
use crate::lock_order::{
    chip_mutex, disconnect_wq, qdev_mutex, register_mutex, rpm_wait, Address0Mutex, InUseWait,
    QdevMutex, RegisterMutex, RpmWait,
};
use crate::soc::qcom::qmi_interface::{self as qmi_if, SockaddrQrtr};
use crate::sound::usb::card::{self, Chip};
use crate::sound::usb::pcm;
use crate::sound::usb::qcom::iova::{IOVA_BASE, PAGE_SIZE};
use crate::sound::usb::qcom::offload::{
    self as qc, ep_desc, find_substream, iommu_map, iommu_unmap, mem_info, uaudio_endpoint_setup,
    uaudio_iommu_unmap, uaudio_transfer_buffer_setup, IntfInfo, Mem, QdevState,
    DEV_RELEASE_WAIT_TIMEOUT_MS, SNDRV_CARDS, USB_CONTROLLER_ID, USB_QMI_PCM_FORMAT_U32_BE,
};
use crate::system::{Fault, Sys};
use crate::usb::core::offload::{OffloadUsage, RpmRef};
use crate::usb::host::xhci_sideband::{self as sbapi, Sideband};
use ksync::order::{LockBefore, Locked, Unlocked};
use ksync::{MutexGuard, WaitResult};
use qmi::{AppsMemInfo, DeviceSpeed, InterfaceDescriptor};
use std::sync::Arc;

// ------------------------------------------------------------ what a session owns

/// The session's runtime-PM reference: one `usb_autopm_get_interface` per control
/// interface, owned by the session, and the chip's `active` count that snd-usb-audio
/// expects of an open stream. It does not go through `snd_usb_autoresume`, whose
/// "already active" shortcut hands out a reference that `usb_audio_resume`'s temporary
/// `active` bump owns, and whose partner `snd_usb_autosuspend` does nothing once the
/// chip is shutting down. Dropping it puts the interfaces, which only queues the
/// device's idle check, so it may be dropped under any lock.
pub struct ChipPm {
    sys: Sys,
    chip: Arc<Chip>,
    proof: RpmRef,
}

impl ChipPm {
    /// Resumes the device for the session, from a context where waiting for a
    /// runtime-PM transition is allowed (no lock its end needs is held).
    pub fn get<P: LockBefore<RpmWait>>(
        ctx: &mut Locked<'_, P>,
        sys: &Sys,
        chip: &Arc<Chip>,
    ) -> Result<ChipPm, i32> {
        let _f = ksync::frame("typed: session autoresume");
        rpm_wait(sys, chip).may_wait(ctx);
        if chip.shutdown.load() != 0 {
            return Err(-EIO);
        }
        let r = card::usb_autopm_get_interfaces(sys, chip);
        if r < 0 {
            return Err(r);
        }
        chip.active.fetch_add(1);
        chip.ghost_ar_ok.add(1);
        Ok(ChipPm {
            sys: sys.clone(),
            chip: chip.clone(),
            proof: RpmRef { udev: chip.udev },
        })
    }

    /// The proof an offload usage needs.
    pub fn proof(&self) -> &RpmRef {
        &self.proof
    }
}

impl Drop for ChipPm {
    fn drop(&mut self) {
        let _f = ksync::frame("typed: session autosuspend");
        let chip = &self.chip;
        chip.ghost_as.add(1);
        chip.active.fetch_sub(1);
        card::usb_autopm_put_interfaces(&self.sys, chip);
    }
}

/// The resources of one stream, acquired in order; the error unwinds and the teardown
/// release whatever is set, in reverse.
#[derive(Default)]
struct Resources {
    data: Option<(usize, u64)>,
    sync: Option<(usize, u64)>,
    interrupter: bool,
    event_ring: bool,
    xfer_buf: Option<(u64, u64)>,
    info: bool,
}

/// A live offload session of one card.
pub struct Session {
    chip: Arc<Chip>,
    /// Dropped last: the device stays runtime-active until everything is released.
    pm: ChipPm,
    usage: OffloadUsage,
    res: Resources,
    sb: Arc<Sideband>,
    info_idx: usize,
}

impl Session {
    /// The endpoint-context indices of the rings the session owns.
    fn owns_ring(&self, ep_index: usize) -> bool {
        self.res.data.is_some_and(|(e, _)| e == ep_index)
            || self.res.sync.is_some_and(|(e, _)| e == ep_index)
    }
}

/// Releases `res` (reverse order of acquisition).
fn release(sys: &Sys, q: &mut QdevState, card: usize, sb: &Arc<Sideband>, res: Resources) {
    let _f = ksync::frame("typed: release");
    if res.info {
        q.uadev[card].num_intf = 0;
        if q.uadev[card].info.take().is_some() {
            sys.res.info_arrays.add(-1);
        }
    }
    if let Some((iova, size)) = res.xfer_buf {
        uaudio_iommu_unmap(sys, q, Mem::XferBuf, iova, size, size);
        // usb_free_coherent
        sys.res.coherent_bufs.add(-1);
    }
    if res.event_ring {
        q.er_mapped = false;
        iommu_unmap(sys, "event ring");
        sys.res.er_mappings.add(-1);
    }
    if res.interrupter {
        sbapi::xhci_sideband_remove_interrupter(sys, sb);
    }
    for (ep, va) in [res.sync, res.data].into_iter().flatten() {
        sbapi::xhci_sideband_stop_endpoint(sys, sb, ep);
        uaudio_iommu_unmap(sys, q, Mem::XferRing, va, PAGE_SIZE, PAGE_SIZE);
        sbapi::xhci_sideband_remove_endpoint(sys, sb, ep);
    }
}

/// Ends `s`: it stops being live and uncounted in one step, its waiters wake, its
/// resources and the stream's ALSA state are released. The caller has moved `s` out of
/// `uadev[card].session`, so this runs once per session.
pub fn teardown(sys: &Sys, q: &mut QdevState, qctx: &mut Locked<'_, QdevMutex>, s: Session) {
    let _f = ksync::frame("typed: session teardown");
    let Session {
        chip,
        pm,
        usage,
        res,
        sb,
        info_idx,
    } = s;
    let card = chip.card_number;
    let dev = &sys.qc.uadev[card];
    usage.put_with(|| dev.in_use.store(0));
    dev.kref.put(|| {});
    dev.disconnect_wq.wake_up();
    q.card_slot &= !(1 << card);
    if let Some(info) = q.uadev[card].info.as_mut() {
        if let Some(e) = info.get_mut(info_idx) {
            e.in_use = false;
        }
    }
    release(sys, q, card, &sb, res);
    sys.qc.uadev[card].udev.write(None);
    // disable_audio_stream without the autosuspend: the session's reference is `pm`
    pcm::snd_usb_hw_free(sys, &chip);
    chip_mutex(&chip).lock(qctx).0.subs.opened = false;
    drop(pm);
}

// ------------------------------------------------------------ QMI requests

/// `handle_uaudio_stream_req` (qmi_wq).
pub fn handle_uaudio_stream_req(sys: &Sys, sq: SockaddrQrtr, txn: u16, req: &qmi::StreamReq) {
    let _f = ksync::frame("handle_uaudio_stream_req");
    let mut ctx = Locked::entry();
    let mut resp = qmi::StreamResp::default();
    if sys.qc.client_load().is_none() {
        sys.qc.client_store(Some(sq));
    }
    let token = req.usb_token;
    let card = token.card as u8 as usize;
    let ret = if req.enable != 0 {
        enable(&mut ctx, sys, req, card, &mut resp)
    } else {
        disable(&mut ctx, sys, req, card)
    };
    qc::send_stream_resp(sys, sq, txn, token, ret, resp);
}

/// The request's validation (as the kernel's), and the chip of its substream.
fn validate(sys: &Sys, q: &QdevState, req: &qmi::StreamReq, card: usize) -> Result<Arc<Chip>, i32> {
    let fields_present = req.audio_format.is_some()
        && req.bit_rate.is_some()
        && req.number_of_ch.is_some()
        && req.xfer_buff_size.is_some();
    if !fields_present || !sys.qc.qdev_present.load() || card >= SNDRV_CARDS {
        return Err(-EINVAL);
    }
    if req.audio_format.map_or(0, |f| f.raw()) > USB_QMI_PCM_FORMAT_U32_BE {
        return Err(-EINVAL);
    }
    if card >= sys.cfg.cards || q.uadev[card].closing {
        return Err(-ENODEV);
    }
    let t = req.usb_token;
    find_substream(sys, card, t.pcm, t.direction).ok_or(-ENODEV)
}

fn enable(
    ctx: &mut Locked<'_, Unlocked>,
    sys: &Sys,
    req: &qmi::StreamReq,
    card: usize,
    resp: &mut qmi::StreamResp,
) -> i32 {
    let chip = match validate(sys, &qdev_mutex(sys).lock(ctx).0, req, card) {
        Ok(c) => c,
        Err(e) => return e,
    };
    // The runtime resume first, holding nothing its end (a runtime suspend running
    // suspend_cb) needs.
    let pm = match ChipPm::get(ctx, sys, &chip) {
        Ok(p) => p,
        Err(e) => return e,
    };
    let qdev = qdev_mutex(sys);
    let (mut q, mut qctx) = qdev.lock(ctx);
    // the card may have changed while qdev_mutex was released
    match validate(sys, &q, req, card) {
        Ok(c) if Arc::ptr_eq(&c, &chip) => {}
        Ok(_) => return -ENODEV,
        Err(e) => return e,
    }
    if q.uadev[card].session.is_some() {
        return -EBUSY;
    }
    {
        let (mut c, _) = chip_mutex(&chip).lock(&mut qctx);
        if chip.system_suspend.load() != 0 || c.subs.opened {
            return -EBUSY;
        }
        c.subs.opened = true;
    }
    q.uadev[card].ctrl_intf = Some(chip.ctrl_intf);
    let r = enable_audio_stream(sys, &chip);
    if r < 0 {
        chip_mutex(&chip).lock(&mut qctx).0.subs.opened = false;
        return r;
    }
    match start_session(sys, &mut q, &mut qctx, &chip, pm, req, resp) {
        Ok(()) => 0,
        Err(e) => {
            pcm::snd_usb_hw_free(sys, &chip);
            chip_mutex(&chip).lock(&mut qctx).0.subs.opened = false;
            e
        }
    }
}

/// `enable_audio_stream` with the session's runtime-PM reference already held.
fn enable_audio_stream(sys: &Sys, chip: &Chip) -> i32 {
    let _f = ksync::frame("enable_audio_stream");
    let r = pcm::snd_usb_hw_params(sys, chip);
    if r < 0 {
        return r;
    }
    let err = if chip.shutdown.load() == 0 {
        qc::prepare_endpoints(sys, chip)
    } else {
        -ENODEV
    };
    if err < 0 {
        pcm::snd_usb_hw_free(sys, chip);
        return err;
    }
    0
}

/// `prepare_qmi_response` as one session build: each resource is recorded as it is
/// acquired; on a failure everything recorded is released and the error returned.
fn start_session(
    sys: &Sys,
    q: &mut MutexGuard<'_, QdevState>,
    qctx: &mut Locked<'_, QdevMutex>,
    chip: &Arc<Chip>,
    pm: ChipPm,
    req: &qmi::StreamReq,
    resp: &mut qmi::StreamResp,
) -> Result<(), i32> {
    let _f = ksync::frame("prepare_qmi_response");
    let card = chip.card_number;
    let Some(sb) = q.uadev[card].sb.clone() else {
        return Err(-ENODEV);
    };
    let mut res = Resources::default();
    let r = build(sys, q, chip, &sb, req, resp, &mut res);
    let r = r.and_then(|info_idx| {
        // live and counted in one step
        let dev = &sys.qc.uadev[card];
        OffloadUsage::get(qctx, sys, &pm.proof, || dev.in_use.store(1))
            .map(|usage| (usage, info_idx))
    });
    match r {
        Ok((usage, info_idx)) => {
            let dev = &sys.qc.uadev[card];
            dev.kref.init();
            sys.qc.uadev[card].udev.write(Some(chip.udev));
            q.card_slot |= 1 << card;
            q.uadev[card].session = Some(Session {
                chip: chip.clone(),
                pm,
                usage,
                res,
                sb,
                info_idx,
            });
            Ok(())
        }
        Err(e) => {
            release(sys, q, card, &sb, res);
            drop(pm);
            Err(e)
        }
    }
}

/// Acquires the stream's resources into `res`; the info index on success.
fn build(
    sys: &Sys,
    q: &mut QdevState,
    chip: &Chip,
    sb: &Arc<Sideband>,
    req: &qmi::StreamReq,
    resp: &mut qmi::StreamResp,
    res: &mut Resources,
) -> Result<usize, i32> {
    let card = chip.card_number;
    resp.slot_id = Some(sys.devs[chip.udev].slot_id);
    resp.std_as_opr_intf_desc = Some(InterfaceDescriptor {
        b_length: 9,
        b_descriptor_type: 4,
        b_interface_number: chip.stream_iface as u8,
        b_alternate_setting: 1,
        b_num_endpoints: 1 + chip.sync_ep.is_some() as u8,
        b_interface_class: 1,
        b_interface_sub_class: 2,
        b_interface_protocol: 0x20,
        i_interface: 0,
    });
    let mut mem = AppsMemInfo::default();
    let data_ep = chip.data_ep.ctx_index();
    let data_va = uaudio_endpoint_setup(sys, q, sb, data_ep)?;
    res.data = Some((data_ep, data_va));
    mem.tr_data = mem_info(data_va, PAGE_SIZE);
    resp.std_as_data_ep_desc = Some(ep_desc(chip.data_ep, false));
    if let Some(se) = chip.sync_ep {
        let ep = se.ctx_index();
        let va = uaudio_endpoint_setup(sys, q, sb, ep)?;
        res.sync = Some((ep, va));
        mem.tr_sync = mem_info(va, PAGE_SIZE);
        resp.std_as_sync_ep_desc = Some(ep_desc(se, true));
    }
    resp.controller_num = Some(USB_CONTROLLER_ID);
    // event ring: the interrupter, its buffer, the mapping
    let r = sbapi::xhci_sideband_create_interrupter(sys, sb, q.intr_num);
    if r < 0 {
        return Err(r);
    }
    res.interrupter = true;
    if !sbapi::xhci_sideband_get_event_buffer(sys, sb) {
        return Err(-ENODEV);
    }
    if q.er_mapped {
        // another card's session maps the event ring: one interrupter per controller
        return Err(-EBUSY);
    }
    if sys.fail(Fault::EventRingMap) {
        return Err(-ENOMEM);
    }
    iommu_map(sys);
    sys.res.er_mappings.add(1);
    q.er_mapped = true;
    res.event_ring = true;
    mem.evt_ring = mem_info(IOVA_BASE, PAGE_SIZE);
    resp.interrupter_num = Some(q.intr_num as u8);
    resp.speed_info = Some(DeviceSpeed::High);
    let (buf_va, buf_size) =
        uaudio_transfer_buffer_setup(sys, q, req.xfer_buff_size.unwrap_or(0) as u64)?;
    res.xfer_buf = Some((buf_va, buf_size));
    mem.xfer_buff = mem_info(buf_va, buf_size);
    resp.xhci_mem_info = Some(mem);
    // the info array: allocated before num_intf says it exists
    if sys.fail(Fault::InfoAlloc) {
        return Err(-ENOMEM);
    }
    let n = sys.devs[chip.udev].interfaces.len();
    let info_idx = 0;
    let mut info = vec![IntfInfo::default(); n];
    info[info_idx] = IntfInfo {
        data_xfer_ring_va: data_va,
        data_xfer_ring_size: PAGE_SIZE,
        sync_xfer_ring_va: res.sync.map_or(0, |(_, va)| va),
        sync_xfer_ring_size: if res.sync.is_some() { PAGE_SIZE } else { 0 },
        xfer_buf_iova: buf_va,
        xfer_buf_size: buf_size,
        xfer_buf_cpu: true,
        data_ep_pipe: data_ep,
        sync_ep_pipe: res.sync.map_or(0, |(e, _)| e),
        data_ep_idx: chip.data_ep.ep_num,
        sync_ep_idx: chip.sync_ep.map_or(0, |e| e.ep_num),
        intf_num: chip.stream_iface,
        in_use: true,
    };
    q.uadev[card].info = Some(info);
    q.uadev[card].num_intf = n;
    sys.res.info_arrays.add(1);
    res.info = true;
    Ok(info_idx)
}

fn disable(ctx: &mut Locked<'_, Unlocked>, sys: &Sys, req: &qmi::StreamReq, card: usize) -> i32 {
    let qdev = qdev_mutex(sys);
    let (mut q, mut qctx) = qdev.lock(ctx);
    let chip = match validate(sys, &q, req, card) {
        Ok(c) => c,
        // a disable for a card that is going away: its disconnect ends the session
        Err(e) if card < sys.cfg.cards && q.uadev[card].closing => {
            let _ = e;
            return end_session_now(sys, &mut q, &mut qctx, card);
        }
        Err(e) => return e,
    };
    match q.uadev[card].session.as_ref() {
        Some(s) if Arc::ptr_eq(&s.chip, &chip) => end_session_now(sys, &mut q, &mut qctx, card),
        // a disable of a stream that is not active changes nothing (ACC-12)
        _ => -EINVAL,
    }
}

/// Moves the card's session out and tears it down; -EINVAL if there is none.
fn end_session_now(
    sys: &Sys,
    q: &mut QdevState,
    qctx: &mut Locked<'_, QdevMutex>,
    card: usize,
) -> i32 {
    match q.uadev[card].session.take() {
        Some(s) => {
            teardown(sys, q, qctx, s);
            0
        }
        None => -EINVAL,
    }
}

/// `qmi_stop_session` (BYE / DEL_CLIENT of the DSP): every session ends.
fn qmi_stop_session(sys: &Sys) {
    let _f = ksync::frame("qmi_stop_session");
    let mut ctx = Locked::entry();
    let qdev = qdev_mutex(sys);
    let (mut q, mut qctx) = qdev.lock(&mut ctx);
    for card in 0..sys.cfg.cards {
        end_session_now(sys, &mut q, &mut qctx, card);
    }
}

/// `qmi_bye_cb`.
pub fn qmi_bye_cb(sys: &Sys, node: u32) {
    let _f = ksync::frame("qmi_bye_cb");
    qc::client_gone(sys, node, None, qmi_stop_session);
}

/// `qmi_svc_disconnect_cb`.
pub fn qmi_svc_disconnect_cb(sys: &Sys, node: u32, port: u32) {
    let _f = ksync::frame("qmi_svc_disconnect_cb");
    qc::client_gone(sys, node, Some(port), qmi_stop_session);
}

// ------------------------------------------------------------ ending with the DSP

/// Ends `card`'s session with the DSP's help: a disconnect indication, a wait for the
/// DSP's disable with every driver lock released, and the teardown if the wait ended
/// by timeout or signal. `ring`: only if the session owns that ring.
fn end_session_with_dsp<P: LockBefore<InUseWait>>(
    ctx: &mut Locked<'_, P>,
    sys: &Sys,
    card: usize,
    ring: Option<usize>,
) {
    let _f = ksync::frame("uaudio_send_disconnect_ind");
    let slot = {
        let q = qdev_mutex(sys).lock(ctx).0;
        match q.uadev[card].session.as_ref() {
            Some(s) if ring.is_none_or(|r| s.owns_ring(r)) => sys.devs[s.chip.udev].slot_id,
            _ => return,
        }
    };
    let dev = &sys.qc.uadev[card];
    if let Some(client) = sys.qc.client_load() {
        let ind = qmi::StreamInd {
            dev_event: qmi::DeviceIndication::Disconnect,
            slot_id: slot,
            controller_num: Some(USB_CONTROLLER_ID),
            ..Default::default()
        };
        qmi_if::qmi_send_indication(sys, client, &ind);
        let r = disconnect_wq(sys, card).wait_event_interruptible_timeout(
            ctx,
            || dev.in_use.load() == 0,
            Some(DEV_RELEASE_WAIT_TIMEOUT_MS),
        );
        if r != WaitResult::Cond {
            ksync::mechanism(if r == WaitResult::TimedOut {
                "W_inuse wait timed out"
            } else {
                "W_inuse wait interrupted"
            });
        }
    }
    // no client to answer, or it did not: the session ends here
    let qdev = qdev_mutex(sys);
    let (mut q, mut qctx) = qdev.lock(ctx);
    let owned = q.uadev[card]
        .session
        .as_ref()
        .is_some_and(|s| ring.is_none_or(|r| s.owns_ring(r)));
    if owned {
        ksync::note(|| format!("card {card}: the DSP did not end the session: torn down"));
        end_session_now(sys, &mut q, &mut qctx, card);
    }
}

/// `qc_usb_audio_offload_disconnect` (`disconnect_cb`): snd-usb-audio holds
/// `register_mutex`, the USB core the device and interface locks.
pub fn qc_usb_audio_offload_disconnect(sys: &Sys, chip: &Arc<Chip>) {
    let _f = ksync::frame("qc_usb_audio_offload_disconnect");
    let mut entry = Locked::entry();
    let mut core = entry.skip::<RegisterMutex>();
    offload_disconnect(&mut core, sys, chip);
}

fn offload_disconnect<P: LockBefore<InUseWait>>(
    ctx: &mut Locked<'_, P>,
    sys: &Sys,
    chip: &Arc<Chip>,
) {
    let card = chip.card_number;
    {
        let mut q = qdev_mutex(sys).lock(ctx).0;
        let registered = sys.qc.uadev[card]
            .chip
            .load()
            .is_some_and(|c| Arc::ptr_eq(&c, chip));
        if !registered {
            return;
        }
        q.uadev[card].closing = true;
    }
    end_session_with_dsp(ctx, sys, card, None);
    let qdev = qdev_mutex(sys);
    let (mut q, _qctx) = qdev.lock(ctx);
    if chip.num_interfaces.load() == 1 {
        if let Some(sb) = q.uadev[card].sb.take() {
            sbapi::xhci_sideband_unregister(sys, &sb);
        }
        sys.qc.uadev[card].chip.store(None);
        if q.uadev[card].sdev {
            q.uadev[card].sdev = false;
            sys.res.sdevs.add(-1);
        }
    }
    q.uadev[card].closing = false;
}

/// `qc_usb_audio_offload_suspend` (`suspend_cb`). A system suspend keeps a live
/// session (the USB core keeps the device powered for its counted usage); a runtime
/// suspend cannot reach a device with one (the session holds its runtime-PM
/// reference). Nothing ends here.
pub fn qc_usb_audio_offload_suspend(
    _sys: &Sys,
    chip: &Arc<Chip>,
    msg: crate::usb::core::driver::PmMsg,
) {
    let _f = ksync::frame("qc_usb_audio_offload_suspend");
    ksync::note(|| {
        format!(
            "card {}: suspend_cb ({msg:?}): sessions continue",
            chip.card_number
        )
    });
}

/// `uaudio_sideband_notifier`: the xHCI frees ring `ep_index` (a reset, under
/// `hcd->address0_mutex`); the session that owns it ends.
pub fn uaudio_sideband_notifier(sys: &Sys, sb: &Arc<Sideband>, ep_index: usize) {
    let _f = ksync::frame("uaudio_sideband_notifier");
    let udev = &sys.devs[sb.udev];
    let Some(chip) = udev.interfaces[sb.intf].intfdata.load() else {
        ksync::note(|| "uaudio_sideband_notifier: interface unbound, nothing to end".into());
        return;
    };
    let mut entry = Locked::entry();
    let mut core = entry.skip::<Address0Mutex>();
    end_session_with_dsp(&mut core, sys, chip.card_number, Some(ep_index));
}

/// The qc auxiliary-driver remove: every card is disconnected while the platform ops
/// are still registered (under `register_mutex`, so an unbind running at the same time
/// either sees them and disconnects the card itself, or finds it done), then the ops go.
pub fn qc_usb_audio_remove(sys: &Sys) {
    let _f = ksync::frame("qc_usb_audio_remove");
    let mut ctx = Locked::entry();
    {
        let reg_mutex = register_mutex(sys);
        let (mut reg, mut rctx) = reg_mutex.lock(&mut ctx);
        let chips: Vec<Arc<Chip>> = reg.chips.iter().flatten().cloned().collect();
        for chip in &chips {
            offload_disconnect(&mut rctx, sys, chip);
        }
        // snd_usb_unregister_platform_ops, with register_mutex already held
        reg.platform_ops = false;
        sys.snd.platform_ops_ptr.write(false);
    }
    sys.qc.removed.set(1);
    sys.qc.qdev_present.store(false);
    sys.qc.client_store(None);
}
