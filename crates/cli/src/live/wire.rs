//! What travels on the live sockets.
//!
//! **QMI socket** (`--socket PATH`): one Unix datagram per QRTR datagram. The socket
//! stands in for the QRTR router, which tells a receiver the source of every packet
//! (`recvmsg`'s `sockaddr_qrtr`), so each datagram starts with the source address,
//! then carries the QRTR payload unchanged:
//!
//! ```text
//! offset 0  u32 LE  source node   (the DSP: 5; the name service: 1)
//! offset 4  u32 LE  source port   (the DSP's client: 0xd; the name service: 0xfffffffe)
//! offset 8  ...     payload: a QMI message (header + TLVs), or, from the name
//!                   service, a 20-byte qrtr_ctrl_pkt (BYE, DEL_CLIENT, ...)
//! ```
//!
//! The service answers to the Unix address that last sent from the QRTR address it
//! replies to; its own datagrams carry its address [`SERVICE_ADDR`] as the source.
//!
//! **Control socket** (`PATH.ctl`): one UTF-8 command per datagram (`unplug`,
//! `reset`, ... see `usb-offload ctl --help`); the reply is one JSON object.

use model::soc::qcom::qmi_interface::{SockaddrQrtr, APPS_NODE, NS_ADDR};
use std::path::{Path, PathBuf};

/// Length of the source-address prefix.
pub const ADDR_LEN: usize = 8;

/// The service's QRTR address (its port is what the local router would assign; the
/// DSP learns it from the name service, here from the first response).
pub const SERVICE_ADDR: SockaddrQrtr = SockaddrQrtr::new(APPS_NODE, 0x4000);

/// The name service's address: control packets come from it.
pub const NAME_SERVICE: SockaddrQrtr = NS_ADDR;

/// The largest datagram read (larger ones are cut, as a socket buffer would).
pub const MAX_DATAGRAM: usize = 65536;

/// `src` then `payload`.
pub fn frame(src: SockaddrQrtr, payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(ADDR_LEN + payload.len());
    v.extend_from_slice(&src.node.to_le_bytes());
    v.extend_from_slice(&src.port.to_le_bytes());
    v.extend_from_slice(payload);
    v
}

/// The source and payload of a datagram; `None` if it is shorter than the address.
pub fn unframe(d: &[u8]) -> Option<(SockaddrQrtr, &[u8])> {
    if d.len() < ADDR_LEN {
        return None;
    }
    let node = u32::from_le_bytes(d[0..4].try_into().ok()?);
    let port = u32::from_le_bytes(d[4..8].try_into().ok()?);
    Some((SockaddrQrtr::new(node, port), &d[ADDR_LEN..]))
}

/// The control socket of the service at `sock`.
pub fn ctl_path(sock: &Path) -> PathBuf {
    let mut p = sock.as_os_str().to_owned();
    p.push(".ctl");
    PathBuf::from(p)
}

/// A client's own socket next to the service's (`PATH.dsp-PID-N`).
pub fn client_path(sock: &Path, what: &str) -> PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let mut p = sock.as_os_str().to_owned();
    p.push(format!(
        ".{what}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    PathBuf::from(p)
}

/// A short description of a QRTR payload for the log.
pub fn describe(src: SockaddrQrtr, payload: &[u8]) -> String {
    if qmi::qrtr::is_ctrl_source(APPS_NODE, src.node, src.port) {
        return match qmi::qrtr::CtrlPkt::parse(payload) {
            Ok(p) => format!("ctrl {:?}", p.event()),
            Err(e) => format!("ctrl packet, unparsable: {e}"),
        };
    }
    match qmi::decode(payload, qmi::DecodeMode::Strict) {
        Ok(qmi::Message::Req { txn, msg }) => format!(
            "request txn {txn} {} card {} pcm {} dir {}",
            if msg.enable != 0 { "enable" } else { "disable" },
            msg.usb_token.card,
            msg.usb_token.pcm,
            msg.usb_token.direction
        ),
        Ok(qmi::Message::Resp { txn, msg }) => {
            let st = msg.internal_status.unwrap_or(0);
            match msg.status.map(|s| s.raw()) {
                Some(0) => format!(
                    "response txn {txn} success slot {}",
                    msg.slot_id.unwrap_or(0)
                ),
                _ => format!(
                    "response txn {txn} failure {st} ({})",
                    qmi::cli::errno_name(-st).unwrap_or("?")
                ),
            }
        }
        Ok(qmi::Message::Ind { txn, msg }) => format!(
            "indication txn {txn} {} slot {}",
            msg.dev_event, msg.slot_id
        ),
        Err(e) => match qmi::QmiHeader::parse(payload) {
            Ok(h) => format!(
                "{} msg_id {:#06x} txn {}, not strictly decodable: {e}",
                qmi::QmiHeader::type_name(h.msg_type),
                h.msg_id,
                h.txn_id
            ),
            Err(_) => format!("{} bytes, no QMI header", payload.len()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_round_trips_and_short_frames_are_refused() {
        let src = SockaddrQrtr::new(5, 0xd);
        let f = frame(src, &[1, 2, 3]);
        assert_eq!(&f[..8], &[5, 0, 0, 0, 0xd, 0, 0, 0]);
        assert_eq!(unframe(&f), Some((src, &[1u8, 2, 3][..])));
        assert_eq!(unframe(&f[..7]), None);
    }
}
