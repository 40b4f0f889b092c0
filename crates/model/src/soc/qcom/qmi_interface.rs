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
    (sys.qc_ops().bye)(sys, node);
}

/// `qmi_recv_del_client`: `ops->del_client`.
fn qmi_recv_del_client(sys: &Sys, node: u32, port: u32) {
    let _f = ksync::frame("qmi_recv_del_client");
    ksync::note(|| format!("QMI rx ctrl DEL_CLIENT {node}:{port:#x} → qmi_svc_disconnect_cb"));
    (sys.qc_ops().del_client)(sys, node, port);
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
    let decoded = match qmi::decode(buf, DecodeMode::Kernel) {
        Err(qmi::DecodeError::KernelOverRead { .. }) => decode_over_read(buf),
        r => r,
    };
    match decoded {
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
            (sys.qc_ops().handle_uaudio_stream_req)(sys, sq, txn, &msg);
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

/// The kernel's decoder reads value bytes past the end of the (truncated) datagram
/// without noticing and goes on: the over-read is reported (RES-13), the bytes it
/// read are the environment's choice (zeros or ones), and the request is handled
/// with them. An over-read of bytes that steer the decoder (a TLV header or a
/// count) leaves the kernel's path up to that memory: the model drops the datagram.
fn decode_over_read(buf: &[u8]) -> Result<Message, qmi::DecodeError> {
    let fill = if ksync::choose(2) == 0 { 0x00 } else { 0xff };
    let (txn, msg, over) = qmi::decode_req_kernel_overread(buf, fill)?;
    if let Some((offset, n)) = over {
        ksync::report(
            ksync::FindingKind::Invariant,
            "RES-13",
            format!("qmi_decode_message reads {n} byte(s) at offset {offset}, past the {}-byte receive buffer (they read as {fill:#04x} here), and the request is handled with them", buf.len()),
        );
    }
    Ok(Message::Req { txn, msg })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::{StreamReq, DSP_ADDR};
    use crate::system::{Config, System};
    use crate::testutil::{run_once, t_assert};
    use crate::Design;

    /// A 57-byte enable request (an unknown optional TLV before service_interval)
    /// cut to the 53-byte receive buffer: the kernel reads service_interval's value
    /// from beyond the buffer and handles the request; the model reports the
    /// over-read and answers it.
    #[test]
    fn truncated_request_is_over_read_and_handled() {
        let (_, findings) = run_once(|| {
            let sys = System::new(Config::new(Design::V2OffloadSpinlock));
            crate::system::boot(&sys);
            let mut req = StreamReq::new(true, 0).to_qmi();
            req.service_interval = Some(125);
            let mut bytes = qmi::encode_req(7, &req);
            let si = bytes.split_off(bytes.len() - 7);
            bytes.extend_from_slice(&[0x20, 0x01, 0x00, 0x00]);
            bytes.extend_from_slice(&si);
            let l = (bytes.len() - 7) as u16;
            bytes[5..7].copy_from_slice(&l.to_le_bytes());
            t_assert!(bytes.len() == 57, "datagram of {} bytes", bytes.len());
            let responses = sys.qmi.responses.get();
            qmi_data_ready_work(&sys, DSP_ADDR, &bytes);
            t_assert!(
                sys.qmi.responses.get() == responses + 1,
                "the request is answered"
            );
        });
        assert!(
            findings.iter().any(|f| f.property == "RES-13"),
            "{findings:#?}"
        );
        assert!(
            !findings.iter().any(|f| f.property == "TEST"),
            "{findings:#?}"
        );
    }

    #[test]
    fn over_read_bytes_come_from_the_fill() {
        let req = qmi::StreamReq {
            service_interval: Some(0x1234_5678),
            ..StreamReq::new(true, 0).to_qmi()
        };
        let bytes = qmi::encode_req(1, &req);
        let cut = &bytes[..bytes.len() - 2];
        let (_, m, over) = qmi::decode_req_kernel_overread(cut, 0xff).expect("decodes");
        assert_eq!(over, Some((cut.len() - 2, 4)));
        assert_eq!(m.service_interval, Some(0xffff_5678));
        assert!(
            qmi::decode(cut, DecodeMode::Kernel).is_err(),
            "plain kernel mode refuses"
        );
    }
}
