//! `drivers/soc/qcom/qmi_interface.c`: the receive side of the uaudio service's QMI
//! handle and its two send helpers, on real bytes (the `qmi` crate's codec).
//!
//! Every datagram the DSP sends is queued on the ordered `qmi_wq` (T_qmi) and handled
//! by [`qmi_data_ready_work`]:
//!
//! * QRTR truncates it to the handle's receive buffer (53 bytes, spec §2.8);
//! * a datagram from the local name service (own node, `QRTR_PORT_CTRL`) is a control
//!   packet ([`qmi_recv_ctrl_pkt`]: BYE → `qmi_bye_cb`, DEL_CLIENT →
//!   `qmi_svc_disconnect_cb`, anything else ignored; spec §5.4);
//! * anything else is a QMI message ([`qmi_handle_message`], spec §1/§2.7): shorter than
//!   the 7-byte header → dropped; a RESPONSE matches no transaction of a server →
//!   dropped; dispatch on (type, msg_id): only (REQUEST, 0x0001) has a handler; the
//!   kernel-compatible (lenient) decoder; a decode failure is logged and dropped.
//!   Dropped datagrams get **no response**.
//!
//! Deviations: the handle's `txn_lock`/`sock_lock` are not modelled (the indication
//! transaction id is a plain per-handle counter; ids are opaque to the receiver), and
//! the DSP's receive path runs inline in the sender's task (no scheduling point).

use crate::dsp;
use crate::ptr::Ghost;
use crate::sound::usb::qcom::offload as qc;
use crate::system::Sys;
use qmi::qrtr::{CtrlEvent, CtrlPkt, QRTR_PORT_CTRL};
use qmi::{DecodeMode, Message, QmiHeader, QMI_REQUEST, QMI_RESPONSE};

/// The local (application processor) QRTR node: the service's and the name
/// service's node.
pub const APPS_NODE: u32 = 1;

/// `struct sockaddr_qrtr` without the family (an in-memory address, spec §5.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct SockaddrQrtr {
    pub node: u32,
    pub port: u32,
}

impl SockaddrQrtr {
    pub const fn new(node: u32, port: u32) -> Self {
        SockaddrQrtr { node, port }
    }
}

impl std::fmt::Display for SockaddrQrtr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{:#x}", self.node, self.port)
    }
}

/// The local name service: the only trusted source of control packets.
pub const NS_ADDR: SockaddrQrtr = SockaddrQrtr::new(APPS_NODE, QRTR_PORT_CTRL);

/// The parts of `struct qmi_handle` the model needs.
#[derive(Default)]
pub struct QmiHandle {
    /// Next id of `idr_alloc_cyclic(&qmi->txns, ..., 0, U16_MAX)`: the uaudio handle
    /// allocates ids only for indications (and frees each right after sending).
    pub next_ind_txn: Ghost,
    /// Ghost: datagrams dropped without a response (short, no handler, decode error).
    pub dropped: Ghost,
    /// Ghost: indications sent to an address that is not the DSP (no client recorded).
    pub ind_undelivered: Ghost,
    /// The bytes of the last indication sent (tests, debugging).
    pub last_ind: parking_lot::Mutex<Option<Vec<u8>>>,
}

impl QmiHandle {
    fn ind_txn(&self) -> u16 {
        let id = self.next_ind_txn.get();
        self.next_ind_txn.set((id + 1) % u16::MAX as i64);
        id as u16
    }
}

/// `qmi_data_ready_work`: one datagram from `src` on the service's socket.
pub fn qmi_data_ready_work(sys: &Sys, src: SockaddrQrtr, datagram: &[u8]) {
    let _f = ksync::frame("qmi_data_ready_work");
    // recvmsg into the 53-byte receive buffer: QRTR truncates (MSG_TRUNC is ignored)
    let buf = qmi::service_view(datagram);
    if buf.len() < datagram.len() {
        ksync::note(|| {
            format!(
                "QMI rx from {src}: {} byte datagram truncated to {} (receive buffer)",
                datagram.len(),
                buf.len()
            )
        });
    }
    if qmi::qrtr::is_ctrl_source(APPS_NODE, src.node, src.port) {
        qmi_recv_ctrl_pkt(sys, buf);
    } else {
        qmi_handle_message(sys, src, buf);
    }
}

/// `qmi_recv_ctrl_pkt`: control packets from the name service.
fn qmi_recv_ctrl_pkt(sys: &Sys, buf: &[u8]) {
    let _f = ksync::frame("qmi_recv_ctrl_pkt");
    let pkt = match CtrlPkt::parse(buf) {
        Ok(p) => p,
        Err(e) => {
            ksync::note(|| format!("QMI ctrl packet ignored: {e}"));
            return;
        }
    };
    match pkt.event() {
        CtrlEvent::Bye { node } => qmi_recv_bye(sys, node),
        CtrlEvent::DelClient { node, port } => qmi_recv_del_client(sys, node, port),
        ev => ksync::note(|| format!("QMI ctrl packet {ev:?} ignored (no callback)")),
    }
}

/// `qmi_recv_bye`: drops lookup results of the node (the service has none), then
/// `ops->bye`.
fn qmi_recv_bye(sys: &Sys, node: u32) {
    let _f = ksync::frame("qmi_recv_bye");
    ksync::note(|| format!("QMI rx ctrl BYE node {node} → qmi_bye_cb"));
    qc::qmi_bye_cb(sys, node);
}

/// `qmi_recv_del_client`: `ops->del_client`.
fn qmi_recv_del_client(sys: &Sys, node: u32, port: u32) {
    let _f = ksync::frame("qmi_recv_del_client");
    ksync::note(|| format!("QMI rx ctrl DEL_CLIENT {node}:{port:#x} → qmi_svc_disconnect_cb"));
    qc::qmi_svc_disconnect_cb(sys, node, port);
}

fn drop_msg(sys: &Sys, why: impl FnOnce() -> String) {
    sys.qc.svc_hdl.dropped.add(1);
    ksync::note(|| format!("QMI rx dropped, no response: {}", why()));
}

/// `qmi_handle_message` (+ `qmi_invoke_handler`): a QMI datagram from `sq`.
pub fn qmi_handle_message(sys: &Sys, sq: SockaddrQrtr, buf: &[u8]) {
    let _f = ksync::frame("qmi_handle_message");
    let hdr = match QmiHeader::parse(buf) {
        Ok(h) => h,
        Err(_) => {
            return drop_msg(sys, || {
                format!("ignoring short QMI packet ({} bytes) from {sq}", buf.len())
            })
        }
    };
    if hdr.msg_type == QMI_RESPONSE {
        // a server has no outstanding transactions
        return drop_msg(sys, || {
            format!(
                "response txn {} from {sq} matches no transaction",
                hdr.txn_id
            )
        });
    }
    let _f2 = ksync::frame("qmi_invoke_handler");
    if (hdr.msg_type, hdr.msg_id) != (QMI_REQUEST, qmi::QMI_UAUDIO_STREAM_REQ_V01) {
        // spec §7.1: the handler array has no terminator, so the kernel's scan reads
        // past the single entry here; the model assumes it finds no handler
        return drop_msg(sys, || {
            format!(
                "no handler for {} msg_id {:#06x} txn {} (kernel scans past the unterminated handler array, spec §7.1)",
                QmiHeader::type_name(hdr.msg_type),
                hdr.msg_id,
                hdr.txn_id
            )
        });
    }
    match qmi::decode(buf, DecodeMode::Kernel) {
        Ok(Message::Req { txn, msg }) => {
            ksync::note(|| {
                format!(
                    "QMI rx req txn {txn} {} card {} pcm {} dir {}{} → handle_uaudio_stream_req",
                    if msg.enable != 0 { "enable" } else { "disable" },
                    msg.usb_token.card,
                    msg.usb_token.pcm,
                    msg.usb_token.direction,
                    if msg.audio_format.is_none()
                        || msg.number_of_ch.is_none()
                        || msg.bit_rate.is_none()
                        || msg.xfer_buff_size.is_none()
                    {
                        " (0x10-0x13 incomplete)"
                    } else {
                        ""
                    }
                )
            });
            qc::handle_uaudio_stream_req(sys, sq, txn, &msg);
        }
        Ok(other) => drop_msg(sys, || format!("unexpected decode result {other:?}")),
        Err(e) => drop_msg(sys, || {
            format!(
                "failed to decode incoming message txn {} ({}): {e}",
                hdr.txn_id,
                e.kernel_errno()
                    .map_or("kernel over-read".into(), |n| format!("errno {n}"))
            )
        }),
    }
}

/// `qmi_send_response(handle, sq, txn, QMI_UAUDIO_STREAM_RESP_V01, ...)`.
pub fn qmi_send_response(sys: &Sys, sq: SockaddrQrtr, txn: u16, resp: &qmi::StreamResp) {
    let _f = ksync::frame("qmi_send_response");
    let bytes = qmi::encode_resp(txn, resp);
    sys.qmi.responses.add(1);
    ksync::note(|| {
        format!(
            "QMI tx resp txn {txn} to {sq}: status {} internal_status {} ({} bytes)",
            resp.status.map_or("-".into(), |s| s.to_string()),
            resp.internal_status.unwrap_or(0),
            bytes.len()
        )
    });
    dsp::deliver_response(sys, sq, bytes);
}

/// `qmi_send_indication(handle, sq, QMI_UAUDIO_STREAM_IND_V01, ...)`: a fresh
/// transaction id from the handle's allocator.
pub fn qmi_send_indication(sys: &Sys, sq: SockaddrQrtr, ind: &qmi::StreamInd) {
    let _f = ksync::frame("qmi_send_indication");
    let txn = sys.qc.svc_hdl.ind_txn();
    let bytes = qmi::encode_ind(txn, ind);
    sys.qmi.indications.add(1);
    ksync::note(|| {
        format!(
            "QMI tx ind txn {txn} to {sq}: {} slot {} ({} bytes)",
            ind.dev_event,
            ind.slot_id,
            bytes.len()
        )
    });
    *sys.qc.svc_hdl.last_ind.lock() = Some(bytes.clone());
    if !dsp::deliver_indication(sys, sq, bytes) {
        sys.qc.svc_hdl.ind_undelivered.add(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::{self, StreamReq, DSP_ADDR, DSP_NODE, DSP_PORT};
    use crate::scenarios::{malformed_datagrams, D5, S5};
    use crate::sound::usb::qcom::iova::{IOVA_BASE, PAGE_SIZE};
    use crate::sound::usb::qcom::offload::{iova_mask, UAUDIO_SID};
    use crate::system::{self, Config, System};
    use crate::testutil::{expect_ok, run_once, t_assert};
    use crate::Design;
    use qmi::{StreamStatus, UsbToken};

    fn boot() -> Sys {
        let sys = System::new(Config::new(Design::V2OffloadSpinlock));
        system::boot(&sys);
        sys
    }

    /// Sends `req` as bytes, waits, and decodes the response bytes strictly.
    fn roundtrip(sys: &Sys, req: StreamReq) -> (u16, Vec<u8>, qmi::StreamResp) {
        let p = sys.qmi.send_request(sys, req);
        p.done.wait_for_completion();
        let r = p.resp.peek().expect("response stored");
        match qmi::decode(&r.bytes, DecodeMode::Strict) {
            Ok(Message::Resp { txn, msg }) => (txn, r.bytes.clone(), msg),
            other => panic!("not a response: {other:?}"),
        }
    }

    #[test]
    fn enable_disable_on_the_wire() {
        let f = expect_ok(run_once(|| {
            let sys = boot();
            let tok = UsbToken {
                card: 0,
                pcm: 0,
                direction: 0,
            };
            let (txn, bytes, r) = roundtrip(&sys, StreamReq::new(true, 0));
            t_assert!(txn == 1, "enable txn {txn}");
            t_assert!(bytes[0] == qmi::QMI_RESPONSE, "type {}", bytes[0]);
            t_assert!(
                r.status == Some(StreamStatus::Success) && r.internal_status == Some(0),
                "enable: {r:?}"
            );
            t_assert!(r.resp == Default::default(), "resp TLV {:?}", r.resp);
            t_assert!(r.usb_token == Some(tok), "token echo {:?}", r.usb_token);
            t_assert!(
                r.slot_id == Some(sys.devs[sys.udev_of(0)].slot_id),
                "slot {:?}",
                r.slot_id
            );
            t_assert!(r.interrupter_num == Some(1), "intr {:?}", r.interrupter_num);
            t_assert!(r.speed_info == Some(qmi::DeviceSpeed::High), "speed");
            t_assert!(r.std_as_data_ep_desc.is_some(), "data ep desc");
            t_assert!(r.std_as_sync_ep_desc.is_none(), "no sync ep");
            let m = r.xhci_mem_info.expect("xhci_mem_info");
            for (what, mi) in [
                ("evt", m.evt_ring),
                ("data", m.tr_data),
                ("buf", m.xfer_buff),
            ] {
                t_assert!(
                    mi.iova >> 32 == UAUDIO_SID,
                    "{what}: SID not in bits 32+: {mi:?}"
                );
            }
            t_assert!(iova_mask(m.evt_ring.iova) == IOVA_BASE, "evt ring {m:?}");
            t_assert!(m.xfer_buff.size as u64 == PAGE_SIZE, "buf size {m:?}");
            t_assert!(
                m.tr_sync == Default::default() && m.dcba == Default::default(),
                "{m:?}"
            );
            let info = sys
                .qc
                .qdev_mutex
                .peek(|q| q.uadev[0].info.as_ref().map(|v| v[0].clone()));
            let info = info.expect("info");
            t_assert!(
                info.data_xfer_ring_va == iova_mask(m.tr_data.iova)
                    && info.xfer_buf_iova == iova_mask(m.xfer_buff.iova),
                "cached IOVAs {info:?} vs response {m:?}"
            );
            t_assert!(
                sys.qc.client_peek() == Some(DSP_ADDR),
                "client not recorded"
            );
            // disable: only the four common fields (like spec S2): 7 + 28 bytes
            let (txn, bytes, r) = roundtrip(&sys, StreamReq::new(false, 0));
            t_assert!(txn == 2, "disable txn {txn}");
            t_assert!(bytes.len() == 35, "disable response {} bytes", bytes.len());
            t_assert!(
                r.status == Some(StreamStatus::Success) && r.slot_id.is_none(),
                "disable: {r:?}"
            );
            // a request missing 0x10-0x13 fails with -EINVAL (spec S1)
            let mut req = StreamReq::new(true, 0);
            req.fields_present = false;
            let (_, _, r) = roundtrip(&sys, req);
            t_assert!(
                r.status == Some(StreamStatus::Failure) && r.internal_status == Some(-22),
                "missing fields: {r:?}"
            );
            // card >= SNDRV_CARDS, and a format above 17: -EINVAL
            let (_, _, r) = roundtrip(&sys, StreamReq::new(true, 40));
            t_assert!(r.internal_status == Some(-22), "card 40: {r:?}");
            let (_, _, r) = roundtrip(&sys, StreamReq::new(true, 3));
            t_assert!(r.internal_status == Some(-19), "card 3 (no chip): {r:?}");
        }));
        assert!(
            f.iter().all(|x| x.property != "RES-10"),
            "RES-10 findings: {f:#?}"
        );
    }

    #[test]
    fn bad_format_is_einval() {
        expect_ok(run_once(|| {
            let sys = boot();
            let mut m = StreamReq::new(true, 0).to_qmi();
            m.audio_format = Some(qmi::AudioFormat::from_raw(18));
            let r =
                dsp::request_raw_timeout(&sys, 7, qmi::encode_req(7, &m), true).expect("answered");
            let r = r.msg.clone().expect("decodes");
            t_assert!(
                r.status == Some(StreamStatus::Failure) && r.internal_status == Some(-22),
                "{r:?}"
            );
        }));
    }

    #[test]
    fn d5_is_answered_with_s5_exactly() {
        expect_ok(run_once(|| {
            let sys = boot();
            let r = dsp::request_raw_timeout(&sys, 0x0B, D5.to_vec(), true);
            t_assert!(
                r.as_ref().is_some_and(|r| r.bytes == S5),
                "got {:?}",
                r.map(|r| dsp::hex(&r.bytes))
            );
        }));
    }

    #[test]
    fn dropped_datagrams_get_no_response() {
        for i in [0usize, 1, 3] {
            expect_ok(run_once(move || {
                let sys = boot();
                let (what, txn, bytes, answered) =
                    malformed_datagrams(9).into_iter().nth(i).unwrap();
                t_assert!(!answered, "{what}");
                let before = sys.qmi.responses.get();
                let r = dsp::request_raw_timeout(&sys, txn, bytes, false);
                t_assert!(r.is_none(), "{what}: answered");
                t_assert!(sys.qmi.responses.get() == before, "{what}: response sent");
                t_assert!(sys.qc.svc_hdl.dropped.get() == 1, "{what}: not dropped");
                // a dropped datagram does not record the client
                t_assert!(sys.qc.client_peek().is_none(), "{what}: client recorded");
            }));
        }
    }

    #[test]
    fn service_truncates_to_53_bytes() {
        expect_ok(run_once(|| {
            let sys = boot();
            // 46-byte request + unknown optional TLV 0x20 (7 bytes) = 53, then an
            // unknown mandatory TLV the truncation cuts off (else: -EINVAL, dropped)
            let mut b = qmi::encode_req(3, &StreamReq::new(true, 0).to_qmi());
            b.extend_from_slice(&[0x20, 0x04, 0x00, 0xAA, 0xBB, 0xCC, 0xDD]);
            assert_eq!(b.len(), 53);
            b.extend_from_slice(&[0x03, 0x01, 0x00, 0x00]);
            let r = dsp::request_raw_timeout(&sys, 3, b, true).expect("answered");
            let m = r.msg.clone().expect("decodes");
            t_assert!(m.status == Some(StreamStatus::Success), "{m:?}");
        }));
    }

    #[test]
    fn ctrl_packets_need_the_name_service_and_a_matching_client() {
        expect_ok(run_once(|| {
            let sys = boot();
            let (_, _, r) = roundtrip(&sys, StreamReq::new(true, 0));
            t_assert!(r.status == Some(StreamStatus::Success), "{r:?}");
            let active = || sys.qc.uadev[0].in_use.peek() != 0;
            let bye = |node| qmi::qrtr::CtrlPkt::bye(node).to_bytes().to_vec();
            // BYE from the DSP itself (not the name service): a QMI message, dropped
            sys.qmi.send_datagram(&sys, DSP_ADDR, bye(DSP_NODE));
            // BYE for another node, DEL_CLIENT for another port: ignored
            sys.qmi.send_datagram(&sys, NS_ADDR, bye(DSP_NODE + 1));
            sys.qmi.send_del_client(&sys, DSP_PORT + 1);
            // a short control packet: ignored
            sys.qmi
                .send_datagram(&sys, NS_ADDR, bye(DSP_NODE)[..19].to_vec());
            sys.qmi.qmi_wq.flush();
            t_assert!(active() && sys.qc.client_peek() == Some(DSP_ADDR), "acted");
            t_assert!(
                sys.qc.svc_hdl.dropped.get() == 1,
                "BYE from DSP not dropped"
            );
            sys.qmi.send_bye(&sys);
            sys.qmi.qmi_wq.flush();
            t_assert!(
                !active() && sys.qc.client_peek().is_none(),
                "BYE did not act"
            );
        }));
    }

    #[test]
    fn disconnect_indication_bytes() {
        expect_ok(run_once(|| {
            let sys = boot();
            let (_, _, r) = roundtrip(&sys, StreamReq::new(true, 0));
            t_assert!(r.status == Some(StreamStatus::Success), "{r:?}");
            let u = sys.udev_of(0);
            crate::usb::core::hub::hub_event_disconnect(&sys, u);
            let b = sys.qc.svc_hdl.last_ind.lock().clone();
            // spec I1 with slot_id 2 (the model's card 0): DISCONNECT, controller 0, txn 0
            let slot = sys.devs[u].slot_id as u8;
            let want = [
                0x04, 0x00, 0x00, 0x01, 0x00, 0x12, 0x00, 0x01, 0x04, 0x00, 0x01, 0x00, 0x00, 0x00,
                0x02, 0x04, 0x00, slot, 0x00, 0x00, 0x00, 0x19, 0x01, 0x00, 0x00,
            ];
            t_assert!(
                b.as_deref() == Some(&want[..]),
                "indication {:?}",
                b.map(|b| dsp::hex(&b))
            );
        }));
    }
}
