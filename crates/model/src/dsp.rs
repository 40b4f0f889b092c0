//! The DSP as a QMI client, and the `QmiChannel` that carries its datagrams.
//!
//! Messages travel as bytes (the `qmi` crate's codec, spec `qmi-uaudio.md`):
//!
//! * DSP → service: every datagram (stream requests, malformed test datagrams, and the
//!   name service's BYE / DEL_CLIENT control packets about the DSP) is queued on the
//!   ordered QMI workqueue (`qmi_wq`, T_qmi) and handled by
//!   [`qmi_data_ready_work`](crate::soc::qcom::qmi_interface::qmi_data_ready_work).
//! * service → DSP, responses: [`deliver_response`] decodes them strictly, matches the
//!   transaction id to an outstanding request of the DSP, and completes that request.
//! * service → DSP, indications: [`deliver_indication`] queues them on the DSP's own
//!   ordered queue (a daemon, so an unanswered indication is not a deadlock), where
//!   they are decoded strictly and dispatched to the DSP's reaction.
//!
//! A response that does not decode, does not match an outstanding request, or does
//! not echo the request's token, and an indication that does not decode, is a model
//! finding (RES-10).

use crate::ptr::{Ghost, Ptr};
use crate::soc::qcom::qmi_interface::{self as qmi_if, SockaddrQrtr, NS_ADDR};
use crate::sound::usb::qcom::offload as qc;
use crate::system::Sys;
use ksync::{Completion, FindingKind, LockClass, WorkQueue};
use qmi::qrtr::CtrlPkt;
use qmi::{DecodeMode, DeviceIndication, Message};
use std::sync::Arc;

/// The DSP's QRTR node (the ADSP is a remote node).
pub const DSP_NODE: u32 = 5;
/// The port of the DSP's QMI client socket.
pub const DSP_PORT: u32 = 0x0d;
/// The DSP's QMI client address: what the service records as "the client".
pub const DSP_ADDR: SockaddrQrtr = SockaddrQrtr::new(DSP_NODE, DSP_PORT);
/// The DSP's QMI client timeout for a response (virtual time).
pub const QMI_CLIENT_TIMEOUT_MS: u64 = 5000;

/// What the DSP asks for in a `qmi_uaudio_stream_req_msg_v01`.
#[derive(Clone, Debug)]
pub struct StreamReq {
    pub enable: bool,
    pub card: usize,
    pub pcm: u8,
    pub dir: u8,
    /// audio_format, bit_rate, number_of_ch and xfer_buff_size all present
    pub fields_present: bool,
    pub xfer_buff_size: u32,
    /// TLV 0x14 (the model's scenarios send none)
    pub service_interval: Option<u32>,
}

impl StreamReq {
    pub fn new(enable: bool, card: usize) -> Self {
        StreamReq {
            enable,
            card,
            pcm: 0,
            dir: 0,
            fields_present: true,
            xfer_buff_size: 4096,
            service_interval: None,
        }
    }

    /// `usb_token`: direction bits 0–7, pcm 8–15, card 16–31.
    pub fn usb_token(&self) -> qmi::UsbToken {
        qmi::UsbToken {
            card: self.card as u16,
            pcm: self.pcm,
            direction: self.dir,
        }
    }

    /// The raw token.
    pub fn token(&self) -> u32 {
        self.usb_token().raw()
    }

    /// The wire message: S16_LE, 2 channels, 48 kHz unless `fields_present` is false.
    pub fn to_qmi(&self) -> qmi::StreamReq {
        let p = self.fields_present;
        qmi::StreamReq {
            enable: self.enable as u8,
            usb_token: self.usb_token(),
            audio_format: p.then_some(qmi::AudioFormat::S16Le),
            number_of_ch: p.then_some(2),
            bit_rate: p.then_some(48_000),
            xfer_buff_size: p.then_some(self.xfer_buff_size),
            service_interval: self.service_interval,
        }
    }
}

/// The DSP's view of a decoded `qmi_uaudio_stream_resp_msg_v01`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StreamResp {
    /// 0 success, 1 failure
    pub status: u32,
    pub internal_status: i32,
    pub interrupter_num: Option<usize>,
    /// `xhci_mem_info.tr_data.iova` (SID in bits 32+)
    pub xfer_ring_iova: u64,
    /// `xhci_mem_info.xfer_buff.iova` (SID in bits 32+)
    pub xfer_buf_iova: u64,
}

impl StreamResp {
    /// A response that could not be decoded counts as a failure.
    fn undecodable() -> Self {
        StreamResp {
            status: 1,
            internal_status: -crate::errno::EINVAL,
            ..Default::default()
        }
    }
}

impl From<&qmi::StreamResp> for StreamResp {
    fn from(r: &qmi::StreamResp) -> Self {
        let mem = r.xhci_mem_info.unwrap_or_default();
        StreamResp {
            status: r.status.map_or(1, |s| s.raw() as u32),
            internal_status: r.internal_status.unwrap_or(0),
            interrupter_num: r.interrupter_num.map(usize::from),
            xfer_ring_iova: mem.tr_data.iova,
            xfer_buf_iova: mem.xfer_buff.iova,
        }
    }
}

/// A response as the DSP received it.
#[derive(Debug)]
pub struct RxResp {
    pub bytes: Vec<u8>,
    /// `None` if strict decoding failed (reported as RES-10).
    pub msg: Option<qmi::StreamResp>,
}

/// A request in flight: the DSP waits on `done` for `resp`.
pub struct Pending {
    pub txn: u16,
    /// The token the response must echo (`None`: not checked).
    pub token: Option<qmi::UsbToken>,
    pub done: Completion,
    pub resp: Ptr<RxResp>,
}

impl Pending {
    /// The DSP's view of the response (after `done`).
    pub fn response(&self) -> StreamResp {
        match self.resp.peek() {
            Some(r) => r
                .msg
                .as_ref()
                .map_or_else(StreamResp::undecodable, Into::into),
            None => StreamResp::default(),
        }
    }
}

/// How the DSP reacts to a disconnect indication (spec §6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Reaction {
    /// Send a disable request at once (within the driver's 10 s wait).
    Disable,
    /// Send nothing (a DSP that stopped answering).
    Never,
    /// Send the disable after the driver's wait has timed out.
    Late,
    /// The DSP node goes away: the name service sends BYE.
    Bye,
    /// The DSP's QMI port closes: the name service sends DEL_CLIENT.
    DelClient,
    /// Send a new enable request.
    Enable,
}

/// Where the service's datagrams go when the DSP is not the model's own (live mode:
/// a socket to a DSP in another process). `send` returns false if no socket has the
/// address `dst` (the datagram is lost).
pub trait Transport: Send + Sync {
    fn send(&self, dst: SockaddrQrtr, bytes: Vec<u8>) -> bool;
}

/// The message path between the DSP and the QMI service, and the DSP's client state.
pub struct QmiChannel {
    pub qmi_wq: WorkQueue,
    pub dsp_wq: WorkQueue,
    /// Ghost: well-formed requests the DSP sent and expects an answer to.
    pub requests: Ghost,
    /// Ghost: responses the service sent.
    pub responses: Ghost,
    pub indications: Ghost,
    /// The DSP's next transaction id.
    next_txn: Ghost,
    /// The DSP's outstanding transactions (environment state, not a scheduling point).
    outstanding: parking_lot::Mutex<Vec<Arc<Pending>>>,
    /// Live mode: the service's responses and indications leave through this instead
    /// of reaching the model's DSP.
    transport: std::sync::OnceLock<Arc<dyn Transport>>,
}

impl QmiChannel {
    /// Routes the service's datagrams to `t` from now on (set once, before traffic).
    pub fn set_transport(&self, t: Arc<dyn Transport>) {
        if self.transport.set(t).is_err() {
            panic!("QMI transport set twice");
        }
    }

    pub fn new() -> Self {
        QmiChannel {
            qmi_wq: WorkQueue::new_ordered("qmi_wq"),
            dsp_wq: WorkQueue::new_ordered("DSP"),
            requests: Ghost::default(),
            responses: Ghost::default(),
            indications: Ghost::default(),
            next_txn: Ghost::default(),
            outstanding: parking_lot::Mutex::new(Vec::new()),
            transport: std::sync::OnceLock::new(),
        }
    }

    /// A fresh transaction id of the DSP's client (1, 2, ...).
    pub fn alloc_txn(&self) -> u16 {
        let t = self.next_txn.add(1);
        (t % u16::MAX as i64) as u16
    }

    /// Registers an outstanding transaction `txn`.
    pub fn expect_response(&self, txn: u16, token: Option<qmi::UsbToken>) -> Arc<Pending> {
        let p = Arc::new(Pending {
            txn,
            token,
            done: Completion::new(LockClass::new("qmi_response")),
            resp: Ptr::new("qmi resp", None),
        });
        self.outstanding.lock().push(p.clone());
        p
    }

    /// Forgets an outstanding transaction (the client timed out).
    pub fn cancel(&self, p: &Arc<Pending>) {
        self.outstanding.lock().retain(|q| !Arc::ptr_eq(q, p));
    }

    fn take_outstanding(&self, txn: u16) -> Option<Arc<Pending>> {
        let mut v = self.outstanding.lock();
        let i = v.iter().position(|p| p.txn == txn)?;
        Some(v.swap_remove(i))
    }

    /// Raw datagram from `src` to the service's socket (handled on T_qmi).
    pub fn send_datagram(&self, sys: &Sys, src: SockaddrQrtr, bytes: Vec<u8>) {
        let s = sys.clone();
        self.qmi_wq.queue_work("qmi_data_ready_work", move || {
            qmi_if::qmi_data_ready_work(&s, src, &bytes)
        });
    }

    /// DSP → service: a stream request (encoded with a fresh txn id).
    pub fn send_request(&self, sys: &Sys, req: StreamReq) -> Arc<Pending> {
        let txn = self.alloc_txn();
        let bytes = qmi::encode_req(txn, &req.to_qmi());
        let p = self.expect_response(txn, Some(req.usb_token()));
        self.requests.add(1);
        ksync::note(|| {
            format!(
                "DSP tx req txn {txn} {} card {} ({} bytes)",
                if req.enable { "enable" } else { "disable" },
                req.card,
                bytes.len()
            )
        });
        self.send_datagram(sys, DSP_ADDR, bytes);
        p
    }

    /// The DSP node goes away: the name service sends BYE(node) to the service.
    pub fn send_bye(&self, sys: &Sys) {
        ksync::note(|| format!("name service tx BYE node {DSP_NODE}"));
        let pkt = CtrlPkt::bye(DSP_NODE).to_bytes();
        self.send_datagram(sys, NS_ADDR, pkt.to_vec());
    }

    /// The DSP's port `port` closes: the name service sends DEL_CLIENT(DSP node, port).
    pub fn send_del_client(&self, sys: &Sys, port: u32) {
        ksync::note(|| format!("name service tx DEL_CLIENT {DSP_NODE}:{port:#x}"));
        let pkt = CtrlPkt::del_client(DSP_NODE, port).to_bytes();
        self.send_datagram(sys, NS_ADDR, pkt.to_vec());
    }
}

impl Default for QmiChannel {
    fn default() -> Self {
        Self::new()
    }
}

/// Service → `dst`: a response datagram. The DSP's QMI client decodes it strictly and
/// completes the outstanding transaction with the same id.
pub fn deliver_response(sys: &Sys, dst: SockaddrQrtr, bytes: Vec<u8>) {
    if let Some(t) = sys.qmi.transport.get() {
        t.send(dst, bytes);
        return;
    }
    if dst != DSP_ADDR {
        ksync::note(|| format!("response to {dst}: no such socket, lost"));
        return;
    }
    let _f = ksync::frame("dsp_qmi_rx_response");
    let decoded = qmi::decode(&bytes, DecodeMode::Strict);
    let (txn, msg) = match decoded {
        Ok(Message::Resp { txn, msg }) => (txn, Some(msg)),
        Ok(other) => {
            ksync::report(
                FindingKind::Invariant,
                "RES-10",
                format!("DSP expected a response, got {other:?}"),
            );
            (other.txn(), None)
        }
        Err(e) => {
            ksync::report(
                FindingKind::Invariant,
                "RES-10",
                format!("DSP: response does not decode (strict): {e}"),
            );
            (qmi::QmiHeader::parse(&bytes).map_or(0, |h| h.txn_id), None)
        }
    };
    let Some(p) = sys.qmi.take_outstanding(txn) else {
        ksync::report(
            FindingKind::Invariant,
            "RES-10",
            format!("DSP: response txn {txn} matches no outstanding request"),
        );
        return;
    };
    if let (Some(m), Some(tok)) = (&msg, p.token) {
        ksync::check(m.usb_token == Some(tok), "RES-10", || {
            format!(
                "DSP: response txn {txn} echoes token {:?}, request had {tok:?}",
                m.usb_token
            )
        });
    }
    ksync::note(|| match &msg {
        Some(m) => format!(
            "DSP rx resp txn {txn}: {}",
            short_resp(&StreamResp::from(m))
        ),
        None => format!("DSP rx resp txn {txn}: undecodable"),
    });
    p.resp.store(Some(Arc::new(RxResp { bytes, msg })));
    p.done.complete();
}

fn short_resp(r: &StreamResp) -> String {
    if r.status == 0 {
        match r.interrupter_num {
            Some(i) => format!(
                "success (intr {i}, ring {:#x}, buf {:#x})",
                r.xfer_ring_iova, r.xfer_buf_iova
            ),
            None => "success".into(),
        }
    } else {
        format!("failure {}", r.internal_status)
    }
}

/// Service → `dst`: an indication datagram. Returns false if nobody receives it.
pub fn deliver_indication(sys: &Sys, dst: SockaddrQrtr, bytes: Vec<u8>) -> bool {
    if let Some(t) = sys.qmi.transport.get() {
        return t.send(dst, bytes);
    }
    if dst != DSP_ADDR {
        ksync::note(|| format!("indication to {dst}: no such socket, lost"));
        return false;
    }
    let s = sys.clone();
    sys.qmi.dsp_wq.queue_work("dsp_handle_indication", move || {
        dsp_rx_indication(&s, &bytes)
    });
    true
}

/// The DSP's indication handler: strict decode, then dispatch.
fn dsp_rx_indication(sys: &Sys, bytes: &[u8]) {
    let _f = ksync::frame("dsp_qmi_rx_indication");
    let (txn, ind) = match qmi::decode(bytes, DecodeMode::Strict) {
        Ok(Message::Ind { txn, msg }) => (txn, msg),
        Ok(other) => {
            ksync::report(
                FindingKind::Invariant,
                "RES-10",
                format!("DSP expected an indication, got {other:?}"),
            );
            return;
        }
        Err(e) => {
            ksync::report(
                FindingKind::Invariant,
                "RES-10",
                format!("DSP: indication does not decode (strict): {e}"),
            );
            return;
        }
    };
    ksync::note(|| {
        format!(
            "DSP rx ind txn {txn}: {} slot {} controller {:?}",
            ind.dev_event, ind.slot_id, ind.controller_num
        )
    });
    match ind.dev_event {
        DeviceIndication::Disconnect => {
            let card =
                (0..sys.cfg.cards).find(|&c| sys.devs[sys.udev_of(c)].slot_id == ind.slot_id);
            match card {
                Some(card) => dsp_on_disconnect_ind(sys, card, ind.slot_id),
                None => ksync::note(|| format!("DSP: no stream on slot {}: ignored", ind.slot_id)),
            }
        }
        ev => ksync::note(|| format!("DSP ignores indication {ev}")),
    }
}

/// The DSP's reaction to a disconnect indication: one of the scenario's allowed
/// reactions, chosen nondeterministically.
fn dsp_on_disconnect_ind(sys: &Sys, card: usize, _slot: u32) {
    let opts = &sys.cfg.dsp_reactions;
    if opts.is_empty() {
        return;
    }
    let r = opts[ksync::choose(opts.len())];
    ksync::note(|| format!("DSP reacts to disconnect indication with {r:?}"));
    match r {
        Reaction::Disable => {
            sys.qmi.send_request(sys, StreamReq::new(false, card));
        }
        Reaction::Never => {}
        Reaction::Late => {
            ksync::msleep(qc::DEV_RELEASE_WAIT_TIMEOUT_MS + 1);
            sys.qmi.send_request(sys, StreamReq::new(false, card));
        }
        Reaction::Bye => sys.qmi.send_bye(sys),
        Reaction::DelClient => sys.qmi.send_del_client(sys, DSP_PORT),
        Reaction::Enable => {
            sys.qmi.send_request(sys, StreamReq::new(true, card));
        }
    }
}

/// DSP client: sends a request and waits for its response.
pub fn request(sys: &Sys, req: StreamReq) -> StreamResp {
    let _f = ksync::frame("dsp_request");
    let p = sys.qmi.send_request(sys, req);
    p.done.wait_for_completion();
    p.response()
}

/// DSP client: sends a raw datagram registered as transaction `txn` and waits up to
/// [`QMI_CLIENT_TIMEOUT_MS`] for a response; `None` on timeout. `answered`: the spec
/// says the service answers this datagram (counted for RES-10's balance).
pub fn request_raw_timeout(
    sys: &Sys,
    txn: u16,
    bytes: Vec<u8>,
    answered: bool,
) -> Option<Arc<RxResp>> {
    let _f = ksync::frame("dsp_request_timeout");
    let p = sys.qmi.expect_response(txn, None);
    if answered {
        sys.qmi.requests.add(1);
    }
    ksync::note(|| format!("DSP tx raw datagram txn {txn}: {}", hex(&bytes)));
    sys.qmi.send_datagram(sys, DSP_ADDR, bytes);
    if p.done
        .wait_for_completion_timeout(Some(QMI_CLIENT_TIMEOUT_MS))
    {
        p.resp.peek()
    } else {
        sys.qmi.cancel(&p);
        ksync::note(|| format!("DSP: txn {txn} timed out after {QMI_CLIENT_TIMEOUT_MS} ms"));
        None
    }
}

/// Bytes as spaced upper-case hex (the spec's notation).
pub fn hex(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len() * 3);
    for (i, x) in b.iter().enumerate() {
        if i > 0 {
            s.push(' ');
        }
        s.push_str(&format!("{x:02X}"));
    }
    s
}

/// DSP client: enable then, if that succeeded, disable one stream.
pub fn enable_then_disable(sys: &Sys, card: usize) -> (StreamResp, Option<StreamResp>) {
    let e = request(sys, StreamReq::new(true, card));
    if e.status != 0 {
        return (e, None);
    }
    let d = request(sys, StreamReq::new(false, card));
    (e, Some(d))
}
