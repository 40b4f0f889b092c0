//! Byte-compatible codec of the Qualcomm QMI "uaudio" service used by the
//! Linux USB audio offload driver (sound/usb/qcom/qc_audio_offload.c), plus
//! QRTR control packets. Spec: docs/spec/qmi-uaudio.md.
//!
//! * [`elem`]: a general `qmi_elem_info`-style table codec (not uaudio-only).
//! * [`uaudio`]: `qmi_uaudio_stream_{req,resp,ind}_msg_v01` as Rust types.
//! * [`encode_req`]/[`encode_resp`]/[`encode_ind`] and [`decode`]: the
//!   convenience API used by the rest of the workspace.
//! * [`qrtr`]: 20-byte `qrtr_ctrl_pkt` control packets.
//! * [`cli`]: `decode`/`encode` subcommand bodies for the `usb-offload` binary.
#![forbid(unsafe_code)]

pub mod cli;
pub mod elem;
pub mod error;
pub mod header;
pub mod qrtr;
pub mod tlv;
pub mod uaudio;

pub use error::{DecodeError, EncodeError, QrtrError};
pub use header::{QmiHeader, QMI_HEADER_LEN, QMI_INDICATION, QMI_REQUEST, QMI_RESPONSE};
pub use uaudio::*;

use elem::{decode_tlvs, encode_tlvs, ElemInfo, Value};
use serde::{Deserialize, Serialize};

/// How forgiving [`decode`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DecodeMode {
    /// Spec §2.7 recommendation: exact lengths, `msg_len` checked, mandatory
    /// TLVs required, no duplicates; unknown optional TLVs skipped.
    #[default]
    Strict,
    /// Accept exactly what the kernel's `qmi_decode_message` accepts (for
    /// replaying captures); kernel over-reads become errors.
    Kernel,
}

/// A decoded uaudio message, dispatched on (header type, msg_id).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum Message {
    /// `QMI_REQUEST`, `qmi_uaudio_stream_req_msg_v01`.
    #[serde(rename = "request")]
    Req {
        /// Header `txn_id`.
        txn: u16,
        /// Body.
        #[serde(flatten)]
        msg: StreamReq,
    },
    /// `QMI_RESPONSE`, `qmi_uaudio_stream_resp_msg_v01`.
    #[serde(rename = "response")]
    Resp {
        /// Header `txn_id` (copied from the request).
        txn: u16,
        /// Body.
        #[serde(flatten)]
        msg: StreamResp,
    },
    /// `QMI_INDICATION`, `qmi_uaudio_stream_ind_msg_v01`.
    #[serde(rename = "indication")]
    Ind {
        /// Header `txn_id` (fresh per indication; opaque).
        txn: u16,
        /// Body.
        #[serde(flatten)]
        msg: StreamInd,
    },
}

impl Message {
    /// Header transaction id.
    pub fn txn(&self) -> u16 {
        match self {
            Message::Req { txn, .. } | Message::Resp { txn, .. } | Message::Ind { txn, .. } => *txn,
        }
    }

    /// Encode with the matching `encode_*` function.
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            Message::Req { txn, msg } => encode_req(*txn, msg),
            Message::Resp { txn, msg } => encode_resp(*txn, msg),
            Message::Ind { txn, msg } => encode_ind(*txn, msg),
        }
    }
}

/// Element table for a (header type, msg_id) pair, if it is a uaudio message.
pub fn table_for(msg_type: u8, msg_id: u16) -> Option<&'static [ElemInfo]> {
    match (msg_type, msg_id) {
        (QMI_REQUEST, QMI_UAUDIO_STREAM_REQ_V01) => Some(&QMI_UAUDIO_STREAM_REQ_MSG_V01_EI),
        (QMI_RESPONSE, QMI_UAUDIO_STREAM_RESP_V01) => Some(&QMI_UAUDIO_STREAM_RESP_MSG_V01_EI),
        (QMI_INDICATION, QMI_UAUDIO_STREAM_IND_V01) => Some(&QMI_UAUDIO_STREAM_IND_MSG_V01_EI),
        _ => None,
    }
}

/// Header + TLVs, like `qmi_encode_message`. Only fails for values that do
/// not fit their table, which the typed uaudio messages cannot produce.
pub fn encode_message(
    msg_type: u8,
    txn: u16,
    msg_id: u16,
    table: &[ElemInfo],
    values: &[Option<Value>],
) -> Result<Vec<u8>, EncodeError> {
    let mut out = Vec::with_capacity(QMI_HEADER_LEN + 64);
    out.extend_from_slice(&[0; QMI_HEADER_LEN]);
    encode_tlvs(table, values, &mut out)?;
    let len = out.len() - QMI_HEADER_LEN;
    let msg_len = u16::try_from(len).map_err(|_| EncodeError::TlvTooLong { tlv_type: 0, len })?;
    let hdr = QmiHeader {
        msg_type,
        txn_id: txn,
        msg_id,
        msg_len,
    };
    out[..QMI_HEADER_LEN].copy_from_slice(&hdr.to_bytes());
    Ok(out)
}

fn encode_typed(
    msg_type: u8,
    txn: u16,
    msg_id: u16,
    table: &[ElemInfo],
    v: &[Option<Value>],
) -> Vec<u8> {
    match encode_message(msg_type, txn, msg_id, table, v) {
        Ok(b) => b,
        // Unreachable: typed fields are sized exactly like their table entries
        // (covered by the vector and property tests).
        Err(e) => unreachable!("uaudio table/type mismatch: {e}"),
    }
}

/// Encode a `qmi_uaudio_stream_req_msg_v01` datagram (header + TLVs).
pub fn encode_req(txn: u16, msg: &StreamReq) -> Vec<u8> {
    encode_typed(
        QMI_REQUEST,
        txn,
        QMI_UAUDIO_STREAM_REQ_V01,
        &QMI_UAUDIO_STREAM_REQ_MSG_V01_EI,
        &msg.to_values(),
    )
}

/// Encode a `qmi_uaudio_stream_resp_msg_v01` datagram.
pub fn encode_resp(txn: u16, msg: &StreamResp) -> Vec<u8> {
    encode_typed(
        QMI_RESPONSE,
        txn,
        QMI_UAUDIO_STREAM_RESP_V01,
        &QMI_UAUDIO_STREAM_RESP_MSG_V01_EI,
        &msg.to_values(),
    )
}

/// Encode a `qmi_uaudio_stream_ind_msg_v01` datagram.
pub fn encode_ind(txn: u16, msg: &StreamInd) -> Vec<u8> {
    encode_typed(
        QMI_INDICATION,
        txn,
        QMI_UAUDIO_STREAM_IND_V01,
        &QMI_UAUDIO_STREAM_IND_MSG_V01_EI,
        &msg.to_values(),
    )
}

/// A uaudio request decoded as the kernel decodes it when it reads value bytes
/// past the end of the datagram: those bytes are `fill`; the first over-read is
/// returned as `(offset, bytes)`. `None` for the over-read: none happened.
pub fn decode_req_kernel_overread(
    bytes: &[u8],
    fill: u8,
) -> Result<(u16, StreamReq, elem::OverRead), DecodeError> {
    let hdr = QmiHeader::parse(bytes)?;
    if (hdr.msg_type, hdr.msg_id) != (QMI_REQUEST, QMI_UAUDIO_STREAM_REQ_V01) {
        return Err(DecodeError::UnknownMessage {
            msg_type: hdr.msg_type,
            msg_id: hdr.msg_id,
        });
    }
    let (v, over) = elem::decode_tlvs_kernel_overread(
        &QMI_UAUDIO_STREAM_REQ_MSG_V01_EI,
        &bytes[QMI_HEADER_LEN..],
        QMI_HEADER_LEN,
        fill,
    )?;
    Ok((hdr.txn_id, StreamReq::from_values(&v), over))
}

/// Decode one QMI datagram (header + TLVs) into a uaudio [`Message`].
/// Never panics; allocation is bounded by the input and the tables.
pub fn decode(bytes: &[u8], mode: DecodeMode) -> Result<Message, DecodeError> {
    let hdr = QmiHeader::parse(bytes)?;
    let table = table_for(hdr.msg_type, hdr.msg_id).ok_or(DecodeError::UnknownMessage {
        msg_type: hdr.msg_type,
        msg_id: hdr.msg_id,
    })?;
    let payload = &bytes[QMI_HEADER_LEN..];
    if mode == DecodeMode::Strict && hdr.msg_len as usize != payload.len() {
        return Err(DecodeError::MsgLenMismatch {
            msg_len: hdr.msg_len,
            payload_len: payload.len(),
        });
    }
    let v = decode_tlvs(table, payload, QMI_HEADER_LEN, mode)?;
    let txn = hdr.txn_id;
    Ok(match hdr.msg_type {
        QMI_REQUEST => Message::Req {
            txn,
            msg: StreamReq::from_values(&v),
        },
        QMI_RESPONSE => Message::Resp {
            txn,
            msg: StreamResp::from_values(&v),
        },
        _ => Message::Ind {
            txn,
            msg: StreamInd::from_values(&v),
        },
    })
}
