//! Bodies of the `usb-offload` `decode` / `encode` subcommands, kept here so
//! the binary only parses flags. The JSON that `decode --json` prints is
//! exactly what `encode` accepts, so the two round-trip.

use crate::error::DecodeError;
use crate::{
    decode, AppsMemInfo, DecodeMode, EndpointDescriptor, InterfaceDescriptor, Message, QmiHeader,
    StreamInd, StreamReq, StreamResp, UsbToken, DIRECTION_CAPTURE, DIRECTION_PLAYBACK,
};
use std::fmt::Write;
use thiserror::Error;

/// What went wrong in a CLI command, with what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CliError {
    /// No bytes were given.
    #[error("no hex bytes given: pass the datagram as hex, e.g. `decode 00 01 00 01 00 0B 00 01 01 00 01 02 04 00 00 00 01 00`")]
    NoInput,
    /// A token is not hex.
    #[error("argument token {index} '{token}' is not hex ({reason}); give bytes as hex pairs such as `0B` or `000100`, separated by spaces or '|', `0x` prefixes allowed")]
    BadHex {
        /// 1-based position of the token.
        index: usize,
        /// The offending token.
        token: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The bytes do not decode.
    #[error("cannot decode {len}-byte datagram: {source}. {hint}")]
    Decode {
        /// Datagram length.
        len: usize,
        /// Decoder error (carries the byte offset).
        source: DecodeError,
        /// Suggested next step.
        hint: String,
    },
    /// The input is not JSON.
    #[error("input is not valid JSON ({0}); pass one object such as {{\"type\":\"request\",\"txn\":1,\"enable\":true,\"token\":{{\"card\":1,\"pcm\":0,\"direction\":\"playback\"}}}}")]
    Json(String),
    /// The JSON is not a valid message.
    #[error("JSON does not describe a uaudio message: {reason}. {hint}")]
    BadMessage {
        /// What is wrong.
        reason: String,
        /// Suggested fix.
        hint: String,
    },
}

/// Parse hex given as one string or many tokens. Separators: whitespace,
/// `|`, `,`, `:`; tokens may carry a `0x` prefix and hold several bytes.
pub fn parse_hex(args: &[String]) -> Result<Vec<u8>, CliError> {
    let mut out = Vec::new();
    let mut index = 0;
    for arg in args {
        for tok in arg.split(|c: char| c.is_whitespace() || matches!(c, '|' | ',' | ':')) {
            if tok.is_empty() {
                continue;
            }
            index += 1;
            let bad = |reason: &str| CliError::BadHex {
                index,
                token: tok.to_string(),
                reason: reason.to_string(),
            };
            let h = tok
                .strip_prefix("0x")
                .or_else(|| tok.strip_prefix("0X"))
                .unwrap_or(tok);
            if h.is_empty() {
                return Err(bad("nothing after 0x"));
            }
            if let Some(c) = h.chars().find(|c| !c.is_ascii_hexdigit()) {
                return Err(bad(&format!("character '{c}' is not a hex digit")));
            }
            if h.len() % 2 == 1 {
                if h.len() == 1 {
                    // a lone digit like `0x1` or `7` is one byte
                    out.push(u8::from_str_radix(h, 16).map_err(|e| bad(&e.to_string()))?);
                    continue;
                }
                return Err(bad("odd number of hex digits in a multi-byte token"));
            }
            for i in (0..h.len()).step_by(2) {
                out.push(u8::from_str_radix(&h[i..i + 2], 16).map_err(|e| bad(&e.to_string()))?);
            }
        }
    }
    if out.is_empty() {
        return Err(CliError::NoInput);
    }
    Ok(out)
}

/// Format bytes as spaced upper-case hex (the spec's notation).
pub fn to_hex(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len() * 3);
    for (i, x) in b.iter().enumerate() {
        if i > 0 {
            s.push(' ');
        }
        let _ = write!(s, "{x:02X}");
    }
    s
}

/// `decode` subcommand: hex in, human-readable text (or JSON) out.
pub fn decode_cmd(hex_args: &[String], mode: DecodeMode, json: bool) -> Result<String, CliError> {
    let bytes = parse_hex(hex_args)?;
    let msg = decode(&bytes, mode).map_err(|e| CliError::Decode {
        len: bytes.len(),
        hint: decode_hint(&e, mode),
        source: e,
    })?;
    if json {
        return serde_json::to_string_pretty(&msg).map_err(|e| CliError::Json(e.to_string()));
    }
    // header parse cannot fail after a successful decode
    let hdr = QmiHeader::parse(&bytes).map_err(|e| CliError::Decode {
        len: bytes.len(),
        hint: String::new(),
        source: e,
    })?;
    Ok(render(&msg, &hdr, bytes.len(), mode))
}

fn decode_hint(e: &DecodeError, mode: DecodeMode) -> String {
    use DecodeError::*;
    match (e, mode) {
        (
            MsgLenMismatch { .. }
            | BadLength { .. }
            | MissingMandatory { .. }
            | DuplicateTlv { .. }
            | TruncatedTlvValue { .. },
            DecodeMode::Strict,
        ) => "The kernel decoder is more lenient here: retry in kernel mode (--kernel) to see what the kernel would make of it".into(),
        (KernelOverRead { .. }, _) => {
            "The kernel would read past the buffer, so its result is undefined; the datagram is probably truncated".into()
        }
        (ShortHeader { .. }, _) => "A QMI datagram starts with a 7-byte header; check that the whole datagram was copied".into(),
        (UnknownMessage { .. }, _) => {
            "Only type 00 (request), 02 (response), 04 (indication) with msg_id 0x0001 are uaudio messages".into()
        }
        (_, DecodeMode::Kernel) => "The kernel rejects this datagram too (it would log and drop it, sending no response)".into(),
        _ => "Check the bytes against spec section 3".into(),
    }
}

/// Linux errno name for display of `internal_status`.
pub fn errno_name(v: i32) -> Option<&'static str> {
    Some(match -v {
        0 => "OK",
        1 => "EPERM",
        2 => "ENOENT",
        4 => "EINTR",
        5 => "EIO",
        6 => "ENXIO",
        11 => "EAGAIN",
        12 => "ENOMEM",
        14 => "EFAULT",
        16 => "EBUSY",
        17 => "EEXIST",
        19 => "ENODEV",
        22 => "EINVAL",
        28 => "ENOSPC",
        32 => "EPIPE",
        34 => "ERANGE",
        38 => "ENOSYS",
        71 => "EPROTO",
        95 => "EOPNOTSUPP",
        108 => "ESHUTDOWN",
        110 => "ETIMEDOUT",
        524 => "ENOTSUPP",
        525 => "ETOOSMALL",
        _ => return None,
    })
}

fn qmi_err_name(e: u16) -> &'static str {
    match e {
        0 => "NONE",
        1 => "MALFORMED_MSG",
        2 => "NO_MEMORY",
        3 => "INTERNAL",
        5 => "CLIENT_IDS_EXHAUSTED",
        41 => "INVALID_ID",
        58 => "ENCODING",
        90 => "INCOMPATIBLE_STATE",
        94 => "NOT_SUPPORTED",
        _ => "?",
    }
}

fn token_str(t: UsbToken) -> String {
    let dir = match t.direction {
        DIRECTION_PLAYBACK => "playback",
        DIRECTION_CAPTURE => "capture",
        _ => "invalid direction",
    };
    format!(
        "{:#010x} (card {}, pcm {}, direction {} {})",
        t.raw(),
        t.card,
        t.pcm,
        t.direction,
        dir
    )
}

fn intf_str(d: &InterfaceDescriptor) -> String {
    format!(
        "bLength {} bDescriptorType {} bInterfaceNumber {} bAlternateSetting {} bNumEndpoints {} bInterfaceClass {:#04x} bInterfaceSubClass {:#04x} bInterfaceProtocol {:#04x} iInterface {}",
        d.b_length,
        d.b_descriptor_type,
        d.b_interface_number,
        d.b_alternate_setting,
        d.b_num_endpoints,
        d.b_interface_class,
        d.b_interface_sub_class,
        d.b_interface_protocol,
        d.i_interface
    )
}

fn ep_str(d: &EndpointDescriptor) -> String {
    let dir = if d.b_endpoint_address & 0x80 != 0 {
        "IN"
    } else {
        "OUT"
    };
    format!(
        "bLength {} bDescriptorType {} bEndpointAddress {:#04x} ({dir}) bmAttributes {:#04x} wMaxPacketSize {:#06x} bInterval {} bRefresh {} bSynchAddress {:#04x}",
        d.b_length,
        d.b_descriptor_type,
        d.b_endpoint_address,
        d.bm_attributes,
        d.w_max_packet_size,
        d.b_interval,
        d.b_refresh,
        d.b_synch_address
    )
}

fn mem_lines(s: &mut String, m: &AppsMemInfo) {
    for (name, mi) in [
        ("evt_ring", &m.evt_ring),
        ("tr_data", &m.tr_data),
        ("tr_sync", &m.tr_sync),
        ("xfer_buff", &m.xfer_buff),
        ("dcba", &m.dcba),
    ] {
        let _ = writeln!(
            s,
            "         {name:<10} iova {:#018x} (SID {}, IOVA {:#x})  dma {:#018x}  size {:#x}",
            mi.iova,
            mi.iova >> 32,
            mi.iova & 0xffff_ffff,
            mi.dma,
            mi.size
        );
    }
}

struct Out(String);

impl Out {
    fn line(&mut self, tlv: u8, name: &str, val: impl std::fmt::Display) {
        let _ = writeln!(self.0, "  {tlv:#04x} {name:<24} {val}");
    }
    fn opt<T>(&mut self, tlv: u8, name: &str, v: &Option<T>, f: impl Fn(&T) -> String) {
        if let Some(x) = v {
            self.line(tlv, name, f(x));
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn descriptor_block(
    o: &mut Out,
    base: u8,
    intf: &Option<InterfaceDescriptor>,
    data: &Option<EndpointDescriptor>,
    sync: &Option<EndpointDescriptor>,
    rev: &Option<u16>,
    delay: &Option<u8>,
    subslot: &Option<u8>,
    mem: &Option<AppsMemInfo>,
    irq_tlv: Option<(u8, &Option<u8>)>,
) {
    o.opt(base, "std_as_opr_intf_desc", intf, intf_str);
    o.opt(base + 1, "std_as_data_ep_desc", data, ep_str);
    o.opt(base + 2, "std_as_sync_ep_desc", sync, ep_str);
    o.opt(base + 3, "usb_audio_spec_revision", rev, |r| {
        format!("{r:#06x} (UAC {}.{})", r >> 8, (r >> 4) & 0xf)
    });
    o.opt(base + 4, "data_path_delay", delay, |d| d.to_string());
    o.opt(base + 5, "usb_audio_subslot_size", subslot, |d| {
        format!("{d} bytes")
    });
    if let Some(m) = mem {
        o.line(base + 6, "xhci_mem_info", "");
        mem_lines(&mut o.0, m);
    }
    if let Some((t, irq)) = irq_tlv {
        o.opt(t, "interrupter_num", irq, |d| d.to_string());
    }
}

fn render(msg: &Message, hdr: &QmiHeader, len: usize, mode: DecodeMode) -> String {
    let cname = match msg {
        Message::Req { .. } => "qmi_uaudio_stream_req_msg_v01",
        Message::Resp { .. } => "qmi_uaudio_stream_resp_msg_v01",
        Message::Ind { .. } => "qmi_uaudio_stream_ind_msg_v01",
    };
    let mut o = Out(String::new());
    let _ = writeln!(
        o.0,
        "QMI {} (type {:#04x})  txn {} ({:#06x})  msg_id {:#06x}  msg_len {}  [{len} bytes, {cname}, {} decode]",
        QmiHeader::type_name(hdr.msg_type),
        hdr.msg_type,
        hdr.txn_id,
        hdr.txn_id,
        hdr.msg_id,
        hdr.msg_len,
        match mode {
            DecodeMode::Strict => "strict",
            DecodeMode::Kernel => "kernel-mode",
        }
    );
    match msg {
        Message::Req { msg: r, .. } => render_req(&mut o, r),
        Message::Resp { msg: r, .. } => render_resp(&mut o, r),
        Message::Ind { msg: r, .. } => render_ind(&mut o, r),
    }
    o.0
}

fn render_req(o: &mut Out, r: &StreamReq) {
    let what = if r.enable != 0 {
        "start stream"
    } else {
        "stop stream"
    };
    o.line(0x01, "enable", format!("{} ({what})", r.enable));
    o.line(0x02, "usb_token", token_str(r.usb_token));
    o.opt(0x10, "audio_format", &r.audio_format, |f| {
        format!("{} ({f})", f.raw())
    });
    o.opt(0x11, "number_of_ch", &r.number_of_ch, |x| x.to_string());
    o.opt(0x12, "bit_rate", &r.bit_rate, |x| {
        format!("{x} Hz (sample rate)")
    });
    o.opt(0x13, "xfer_buff_size", &r.xfer_buff_size, |x| {
        format!("{x} bytes")
    });
    o.opt(0x14, "service_interval", &r.service_interval, |x| {
        format!("{x} us")
    });
}

fn render_resp(o: &mut Out, r: &StreamResp) {
    o.line(
        0x02,
        "resp",
        format!(
            "result {} ({}) error {} ({})",
            r.resp.result,
            if r.resp.result == 0 {
                "SUCCESS"
            } else {
                "FAILURE"
            },
            r.resp.error,
            qmi_err_name(r.resp.error)
        ),
    );
    o.opt(0x10, "status", &r.status, |s| format!("{} ({s})", s.raw()));
    o.opt(
        0x11,
        "internal_status",
        &r.internal_status,
        |v| match errno_name(*v) {
            Some(n) => format!("{v} ({n})"),
            None => v.to_string(),
        },
    );
    o.opt(0x12, "slot_id", &r.slot_id, |x| x.to_string());
    o.opt(0x13, "usb_token", &r.usb_token, |t| token_str(*t));
    descriptor_block(
        o,
        0x14,
        &r.std_as_opr_intf_desc,
        &r.std_as_data_ep_desc,
        &r.std_as_sync_ep_desc,
        &r.usb_audio_spec_revision,
        &r.data_path_delay,
        &r.usb_audio_subslot_size,
        &r.xhci_mem_info,
        Some((0x1B, &r.interrupter_num)),
    );
    o.opt(0x1C, "speed_info", &r.speed_info, |s| {
        format!("{} ({s})", s.raw())
    });
    o.opt(0x1D, "controller_num", &r.controller_num, |x| x.to_string());
}

fn render_ind(o: &mut Out, r: &StreamInd) {
    o.line(
        0x01,
        "dev_event",
        format!("{} ({})", r.dev_event.raw(), r.dev_event),
    );
    o.line(0x02, "slot_id", r.slot_id);
    o.opt(0x10, "usb_token", &r.usb_token, |t| token_str(*t));
    descriptor_block(
        o,
        0x11,
        &r.std_as_opr_intf_desc,
        &r.std_as_data_ep_desc,
        &r.std_as_sync_ep_desc,
        &r.usb_audio_spec_revision,
        &r.data_path_delay,
        &r.usb_audio_subslot_size,
        &r.xhci_mem_info,
        Some((0x18, &r.interrupter_num)),
    );
    o.opt(0x19, "controller_num", &r.controller_num, |x| x.to_string());
}

/// Keys a JSON object of the given type may carry (what `decode --json`
/// prints for a message with every optional field present, plus aliases).
fn allowed_keys(kind: &str) -> Vec<String> {
    let full = match kind {
        "request" => Message::Req {
            txn: 0,
            msg: StreamReq {
                audio_format: Some(Default::default()),
                number_of_ch: Some(0),
                bit_rate: Some(0),
                xfer_buff_size: Some(0),
                service_interval: Some(0),
                ..Default::default()
            },
        },
        "response" => Message::Resp {
            txn: 0,
            msg: StreamResp {
                status: Some(Default::default()),
                internal_status: Some(0),
                slot_id: Some(0),
                usb_token: Some(Default::default()),
                std_as_opr_intf_desc: Some(Default::default()),
                std_as_data_ep_desc: Some(Default::default()),
                std_as_sync_ep_desc: Some(Default::default()),
                usb_audio_spec_revision: Some(0),
                data_path_delay: Some(0),
                usb_audio_subslot_size: Some(0),
                xhci_mem_info: Some(Default::default()),
                interrupter_num: Some(0),
                speed_info: Some(Default::default()),
                controller_num: Some(0),
                ..Default::default()
            },
        },
        _ => Message::Ind {
            txn: 0,
            msg: StreamInd {
                usb_token: Some(Default::default()),
                std_as_opr_intf_desc: Some(Default::default()),
                std_as_data_ep_desc: Some(Default::default()),
                std_as_sync_ep_desc: Some(Default::default()),
                usb_audio_spec_revision: Some(0),
                data_path_delay: Some(0),
                usb_audio_subslot_size: Some(0),
                xhci_mem_info: Some(Default::default()),
                interrupter_num: Some(0),
                controller_num: Some(0),
                ..Default::default()
            },
        },
    };
    let mut keys: Vec<String> = match serde_json::to_value(full) {
        Ok(serde_json::Value::Object(m)) => m.keys().cloned().collect(),
        _ => Vec::new(),
    };
    keys.push("usb_token".into());
    keys
}

/// `encode` subcommand: a JSON message (same shape as `decode --json`) in,
/// spaced hex out.
pub fn encode_cmd(json_text: &str) -> Result<String, CliError> {
    let v: serde_json::Value =
        serde_json::from_str(json_text).map_err(|e| CliError::Json(e.to_string()))?;
    let obj = v.as_object().ok_or_else(|| CliError::BadMessage {
        reason: "top level is not an object".into(),
        hint: "Wrap the fields in { ... }".into(),
    })?;
    let kind = match obj.get("type").and_then(|t| t.as_str()) {
        Some(k @ ("request" | "response" | "indication")) => k,
        Some(other) => {
            return Err(CliError::BadMessage {
                reason: format!("unknown \"type\": \"{other}\""),
                hint: "Use \"request\", \"response\" or \"indication\"".into(),
            })
        }
        None => {
            return Err(CliError::BadMessage {
                reason: "missing string field \"type\"".into(),
                hint: "Add \"type\": \"request\" (or \"response\" / \"indication\")".into(),
            })
        }
    };
    let allowed = allowed_keys(kind);
    if let Some(bad) = obj.keys().find(|k| !allowed.contains(k)) {
        return Err(CliError::BadMessage {
            reason: format!("unknown field \"{bad}\" for a {kind}"),
            hint: format!("Allowed fields: {}", allowed.join(", ")),
        });
    }
    let msg: Message = serde_json::from_value(v.clone()).map_err(|e| CliError::BadMessage {
        reason: e.to_string(),
        hint: format!(
            "Fields of a {kind}: {}. Print an example with `decode --json` on a spec vector",
            allowed.join(", ")
        ),
    })?;
    Ok(to_hex(&msg.to_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const R2: &str = "00 02 00 01 00 2E 00 | 01 01 00 01 | 02 04 00 00 00 01 00 | 10 04 00 02 00 00 00 | 11 04 00 02 00 00 00 | 12 04 00 80 BB 00 00 | 13 04 00 00 20 00 00 | 14 04 00 E8 03 00 00";
    const S1: &str = "02 01 00 01 00 1C 00 02 04 00 00 00 00 00 10 04 00 01 00 00 00 11 04 00 EA FF FF FF 13 04 00 00 00 01 00";

    fn args(s: &str) -> Vec<String> {
        vec![s.to_string()]
    }

    #[test]
    fn hex_forms() {
        let a = parse_hex(&args("0x00 0x01|00,01:00")).unwrap();
        assert_eq!(a, [0, 1, 0, 1, 0]);
        let b = parse_hex(&["000100".to_string(), "0x0100".to_string(), "7".to_string()]).unwrap();
        assert_eq!(b, [0, 1, 0, 1, 0, 7]);
        assert_eq!(parse_hex(&args(" | ")), Err(CliError::NoInput));
        let e = parse_hex(&args("00 0g")).unwrap_err();
        assert!(matches!(e, CliError::BadHex { index: 2, .. }));
        assert!(e.to_string().contains("'g'"));
        assert!(matches!(
            parse_hex(&args("123")),
            Err(CliError::BadHex { .. })
        ));
    }

    #[test]
    fn decode_text_request() {
        let s = decode_cmd(&args(R2), DecodeMode::Strict, false).unwrap();
        assert!(s.contains("txn 2"), "{s}");
        assert!(s.contains("card 1, pcm 0, direction 0 playback"), "{s}");
        assert!(s.contains("2 (S16_LE)"), "{s}");
        assert!(s.contains("48000 Hz"), "{s}");
    }

    #[test]
    fn decode_text_response_errno() {
        let s = decode_cmd(&args(S1), DecodeMode::Strict, false).unwrap();
        assert!(s.contains("-22 (EINVAL)"), "{s}");
        assert!(s.contains("1 (FAILURE)"), "{s}");
    }

    #[test]
    fn decode_json_then_encode_roundtrips() {
        for h in [
            R2,
            S1,
            "04 00 00 01 00 12 00 01 04 00 01 00 00 00 02 04 00 01 00 00 00 19 01 00 00",
        ] {
            let j = decode_cmd(&args(h), DecodeMode::Strict, true).unwrap();
            let back = encode_cmd(&j).unwrap();
            assert_eq!(
                parse_hex(&args(&back)).unwrap(),
                parse_hex(&args(h)).unwrap(),
                "{j}"
            );
        }
    }

    #[test]
    fn encode_brief_example() {
        let j = r#"{"type":"request","txn":2,"enable":true,"token":{"card":1,"pcm":0,"direction":"playback"},
            "audio_format":"S16_LE","number_of_ch":2,"bit_rate":48000,"xfer_buff_size":8192,"service_interval":1000}"#;
        let h = encode_cmd(j).unwrap();
        assert_eq!(parse_hex(&args(&h)).unwrap(), parse_hex(&args(R2)).unwrap());
    }

    #[test]
    fn encode_errors_say_what_to_do() {
        let e = encode_cmd("{").unwrap_err();
        assert!(matches!(e, CliError::Json(_)));
        let e = encode_cmd(r#"{"txn":1}"#).unwrap_err();
        assert!(e.to_string().contains("Add \"type\""), "{e}");
        let e = encode_cmd(r#"{"type":"request","txn":1,"enable":1,"token":{"card":1,"pcm":0,"direction":0},"rate":3}"#)
            .unwrap_err();
        assert!(e.to_string().contains("unknown field \"rate\""), "{e}");
        assert!(e.to_string().contains("bit_rate"), "{e}");
        let e = encode_cmd(r#"{"type":"request","txn":1,"enable":1,"token":{"card":1,"pcm":0,"direction":0},"audio_format":"S99"}"#)
            .unwrap_err();
        assert!(e.to_string().contains("S16_LE"), "{e}");
    }

    #[test]
    fn decode_error_has_offset_and_hint() {
        let e = decode_cmd(
            &args("00 05 00 01 00 0F 00 01 01 00 01 02 04 00 00 00 01 00 03 01 00 00"),
            DecodeMode::Kernel,
            false,
        )
        .unwrap_err();
        let s = e.to_string();
        assert!(s.contains("offset 18"), "{s}");
        assert!(s.contains("kernel rejects"), "{s}");
        let e = decode_cmd(&args("00 0B 00 01 00 00 00"), DecodeMode::Strict, false).unwrap_err();
        assert!(e.to_string().contains("--kernel"), "{e}");
    }
}
