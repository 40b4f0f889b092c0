//! Every test vector of spec §4 (R1–R3, S1–S3, S5, I1–I3, D1–D6, the
//! xhci_mem_info length cases) and §5 (QRTR control packets), asserted
//! byte-exactly in both directions.

use qmi::error::{EFAULT, EINVAL};
use qmi::qrtr::{instance_word, CtrlEvent, CtrlPkt, ServerInfo, QRTR_PORT_CTRL};
use qmi::*;

fn hex(s: &str) -> Vec<u8> {
    s.split(|c: char| c.is_whitespace() || c == '|')
        .filter(|t| !t.is_empty())
        .map(|t| u8::from_str_radix(t, 16).unwrap())
        .collect()
}

const INTF: InterfaceDescriptor = InterfaceDescriptor {
    b_length: 9,
    b_descriptor_type: 4,
    b_interface_number: 1,
    b_alternate_setting: 1,
    b_num_endpoints: 2,
    b_interface_class: 1,
    b_interface_sub_class: 2,
    b_interface_protocol: 0x20,
    i_interface: 0,
};
const DEP: EndpointDescriptor = EndpointDescriptor {
    b_length: 7,
    b_descriptor_type: 5,
    b_endpoint_address: 0x01,
    bm_attributes: 0x05,
    w_max_packet_size: 0x00C0,
    b_interval: 1,
    b_refresh: 0,
    b_synch_address: 0,
};
const SEP: EndpointDescriptor = EndpointDescriptor {
    b_length: 7,
    b_descriptor_type: 5,
    b_endpoint_address: 0x81,
    bm_attributes: 0x11,
    w_max_packet_size: 4,
    b_interval: 4,
    b_refresh: 0,
    b_synch_address: 0,
};

fn xhci() -> AppsMemInfo {
    let m = |iova, dma, size| MemInfo { iova, dma, size };
    AppsMemInfo {
        evt_ring: m(0x0000_0001_0000_1000, 0x8123_4000, 0x1000),
        tr_data: m(0x0000_0001_0004_2000, 0x8123_5000, 0x1000),
        tr_sync: m(0x0000_0001_0004_3000, 0x8123_6000, 0x1000),
        xfer_buff: m(0x0000_0001_0080_0000, 0xF000_0000, 0x2000),
        dcba: MemInfo::default(),
    }
}

const XHCI_HEX: &str = "00 10 00 00 01 00 00 00 00 40 23 81 00 00 00 00 00 10 00 00
   00 20 04 00 01 00 00 00 00 50 23 81 00 00 00 00 00 10 00 00
   00 30 04 00 01 00 00 00 00 60 23 81 00 00 00 00 00 10 00 00
   00 00 80 00 01 00 00 00 00 00 00 F0 00 00 00 00 00 20 00 00
   00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00";

fn tok(card: u16, pcm: u8, direction: u8) -> UsbToken {
    UsbToken {
        card,
        pcm,
        direction,
    }
}

/// Encode gives exactly `bytes`, and both decode modes give back `m`.
fn check(m: Message, bytes: &[u8]) {
    assert_eq!(m.to_bytes(), bytes, "encode of {m:?}");
    for mode in [DecodeMode::Strict, DecodeMode::Kernel] {
        assert_eq!(decode(bytes, mode).as_ref(), Ok(&m), "decode in {mode:?}");
    }
}

// ------------------------------------------------------------ 4.1 requests

fn r1() -> StreamReq {
    StreamReq {
        enable: 1,
        usb_token: tok(1, 0, 0),
        ..Default::default()
    }
}

#[test]
fn r1_minimal_enable() {
    let b = hex("00 01 00 01 00 0B 00 | 01 01 00 01 | 02 04 00 00 00 01 00");
    assert_eq!(b.len(), 7 + 11);
    assert_eq!(r1().usb_token.raw(), 0x0001_0000);
    check(Message::Req { txn: 1, msg: r1() }, &b);
}

fn r2() -> StreamReq {
    StreamReq {
        enable: 1,
        usb_token: tok(1, 0, 0),
        audio_format: Some(AudioFormat::S16Le),
        number_of_ch: Some(2),
        bit_rate: Some(48000),
        xfer_buff_size: Some(8192),
        service_interval: Some(1000),
    }
}

const R2_HEX: &str = "00 02 00 01 00 2E 00 |
01 01 00 01 |
02 04 00 00 00 01 00 |
10 04 00 02 00 00 00 |
11 04 00 02 00 00 00 |
12 04 00 80 BB 00 00 |
13 04 00 00 20 00 00 |
14 04 00 E8 03 00 00";

#[test]
fn r2_full_enable_max_length() {
    let b = hex(R2_HEX);
    assert_eq!(b.len(), 7 + QMI_UAUDIO_STREAM_REQ_MSG_V01_MAX_MSG_LEN);
    assert_eq!(b.len(), UAUDIO_SERVICE_RECV_BUF_LEN);
    check(Message::Req { txn: 2, msg: r2() }, &b);
    assert_eq!(encode_req(2, &r2()), b);
}

#[test]
fn r3_disable() {
    let m = StreamReq {
        enable: 0,
        usb_token: tok(2, 1, 1),
        audio_format: Some(AudioFormat::S16Le),
        number_of_ch: Some(1),
        bit_rate: Some(44100),
        xfer_buff_size: Some(0),
        service_interval: None,
    };
    assert_eq!(m.usb_token.raw(), 0x0002_0101);
    let b = hex("00 34 12 01 00 27 00 |
01 01 00 00 |
02 04 00 01 01 02 00 |
10 04 00 02 00 00 00 |
11 04 00 01 00 00 00 |
12 04 00 44 AC 00 00 |
13 04 00 00 00 00 00");
    assert_eq!(b.len(), 7 + 39);
    check(
        Message::Req {
            txn: 0x1234,
            msg: m,
        },
        &b,
    );
}

// ----------------------------------------------------------- 4.2 responses

fn common_resp(status: i32, internal: i32, token: UsbToken) -> StreamResp {
    StreamResp {
        resp: QmiResponse {
            result: 0,
            error: 0,
        },
        status: Some(StreamStatus::from_raw(status)),
        internal_status: Some(internal),
        usb_token: Some(token),
        ..Default::default()
    }
}

#[test]
fn s1_failure_response() {
    let m = common_resp(1, -22, tok(1, 0, 0));
    let b = hex("02 01 00 01 00 1C 00 |
02 04 00 00 00 00 00 |
10 04 00 01 00 00 00 |
11 04 00 EA FF FF FF |
13 04 00 00 00 01 00");
    assert_eq!(m.status, Some(StreamStatus::Failure));
    check(Message::Resp { txn: 1, msg: m }, &b);
}

#[test]
fn s2_disable_success() {
    let m = common_resp(0, 0, tok(2, 1, 1));
    let b = hex("02 34 12 01 00 1C 00 |
02 04 00 00 00 00 00 |
10 04 00 00 00 00 00 |
11 04 00 00 00 00 00 |
13 04 00 01 01 02 00");
    check(
        Message::Resp {
            txn: 0x1234,
            msg: m,
        },
        &b,
    );
}

fn s3() -> StreamResp {
    StreamResp {
        resp: QmiResponse::default(),
        status: Some(StreamStatus::Success),
        internal_status: Some(0),
        slot_id: Some(1),
        usb_token: Some(tok(1, 0, 0)),
        std_as_opr_intf_desc: Some(INTF),
        std_as_data_ep_desc: Some(DEP),
        std_as_sync_ep_desc: Some(SEP),
        usb_audio_spec_revision: Some(0x0200),
        data_path_delay: Some(1),
        usb_audio_subslot_size: Some(2),
        xhci_mem_info: Some(xhci()),
        interrupter_num: Some(1),
        speed_info: Some(DeviceSpeed::High),
        controller_num: Some(0),
    }
}

const S3_LINE: &str = "02 02 00 01 00 CA 00 02 04 00 00 00 00 00 10 04 00 00 00 00 00 11 04 00 00 00 00 00 12 04 00 01 00 00 00 13 04 00 00 00 01 00 14 09 00 09 04 01 01 02 01 02 20 00 15 09 00 07 05 01 05 C0 00 01 00 00 16 09 00 07 05 81 11 04 00 04 00 00 17 02 00 00 02 18 01 00 01 19 01 00 02 1A 64 00 00 10 00 00 01 00 00 00 00 40 23 81 00 00 00 00 00 10 00 00 00 20 04 00 01 00 00 00 00 50 23 81 00 00 00 00 00 10 00 00 00 30 04 00 01 00 00 00 00 60 23 81 00 00 00 00 00 10 00 00 00 00 80 00 01 00 00 00 00 00 00 F0 00 00 00 00 00 20 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 1B 01 00 01 1C 04 00 03 00 00 00 1D 01 00 00";

#[test]
fn s3_full_response_max_length() {
    let multi = format!(
        "02 02 00 01 00 CA 00 |
02 04 00 00 00 00 00 |
10 04 00 00 00 00 00 |
11 04 00 00 00 00 00 |
12 04 00 01 00 00 00 |
13 04 00 00 00 01 00 |
14 09 00 09 04 01 01 02 01 02 20 00 |
15 09 00 07 05 01 05 C0 00 01 00 00 |
16 09 00 07 05 81 11 04 00 04 00 00 |
17 02 00 00 02 |
18 01 00 01 |
19 01 00 02 |
1A 64 00 {XHCI_HEX} |
1B 01 00 01 |
1C 04 00 03 00 00 00 |
1D 01 00 00"
    );
    let b = hex(S3_LINE);
    assert_eq!(hex(&multi), b, "multi-line and single-line forms agree");
    assert_eq!(b.len(), 209);
    assert_eq!(b.len(), 7 + QMI_UAUDIO_STREAM_RESP_MSG_V01_MAX_MSG_LEN);
    check(Message::Resp { txn: 2, msg: s3() }, &b);
}

#[test]
fn s5_reply_to_empty_request() {
    let m = common_resp(1, -22, tok(0, 0, 0));
    let b = hex("02 0B 00 01 00 1C 00 02 04 00 00 00 00 00 10 04 00 01 00 00 00 11 04 00 EA FF FF FF 13 04 00 00 00 00 00");
    check(Message::Resp { txn: 0x0B, msg: m }, &b);
}

// --------------------------------------------------------- 4.3 indications

#[test]
fn i1_disconnect() {
    let m = StreamInd {
        dev_event: DeviceIndication::Disconnect,
        slot_id: 1,
        controller_num: Some(0),
        ..Default::default()
    };
    let b = hex("04 00 00 01 00 12 00 | 01 04 00 01 00 00 00 | 02 04 00 01 00 00 00 | 19 01 00 00");
    check(Message::Ind { txn: 0, msg: m }, &b);
}

#[test]
fn i2_minimal() {
    let m = StreamInd {
        dev_event: DeviceIndication::Connect,
        slot_id: 3,
        ..Default::default()
    };
    let b = hex("04 07 00 01 00 0E 00 | 01 04 00 00 00 00 00 | 02 04 00 03 00 00 00");
    check(Message::Ind { txn: 7, msg: m }, &b);
}

#[test]
fn i3_full_max_length() {
    let m = StreamInd {
        dev_event: DeviceIndication::Resume,
        slot_id: 2,
        usb_token: Some(tok(1, 0, 0)),
        std_as_opr_intf_desc: Some(INTF),
        std_as_data_ep_desc: Some(DEP),
        std_as_sync_ep_desc: Some(SEP),
        usb_audio_spec_revision: Some(0x0100),
        data_path_delay: Some(1),
        usb_audio_subslot_size: Some(3),
        xhci_mem_info: Some(xhci()),
        interrupter_num: Some(2),
        controller_num: Some(1),
    };
    let line = "04 2A 00 01 00 B5 00 01 04 00 03 00 00 00 02 04 00 02 00 00 00 10 04 00 00 00 01 00 11 09 00 09 04 01 01 02 01 02 20 00 12 09 00 07 05 01 05 C0 00 01 00 00 13 09 00 07 05 81 11 04 00 04 00 00 14 02 00 00 01 15 01 00 01 16 01 00 03 17 64 00 00 10 00 00 01 00 00 00 00 40 23 81 00 00 00 00 00 10 00 00 00 20 04 00 01 00 00 00 00 50 23 81 00 00 00 00 00 10 00 00 00 30 04 00 01 00 00 00 00 60 23 81 00 00 00 00 00 10 00 00 00 00 80 00 01 00 00 00 00 00 00 F0 00 00 00 00 00 20 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 18 01 00 02 19 01 00 01";
    let multi = format!(
        "04 2A 00 01 00 B5 00 |
01 04 00 03 00 00 00 |
02 04 00 02 00 00 00 |
10 04 00 00 00 01 00 |
11 09 00 09 04 01 01 02 01 02 20 00 |
12 09 00 07 05 01 05 C0 00 01 00 00 |
13 09 00 07 05 81 11 04 00 04 00 00 |
14 02 00 00 01 |
15 01 00 01 |
16 01 00 03 |
17 64 00 {XHCI_HEX} |
18 01 00 02 |
19 01 00 01"
    );
    let b = hex(line);
    assert_eq!(hex(&multi), b);
    assert_eq!(b.len(), 188);
    assert_eq!(b.len(), 7 + QMI_UAUDIO_STREAM_IND_MSG_V01_MAX_MSG_LEN);
    check(Message::Ind { txn: 0x2A, msg: m }, &b);
}

// ------------------------------------------------------ 4.4 decoder edges

fn both(b: &[u8]) -> (Result<Message, DecodeError>, Result<Message, DecodeError>) {
    (decode(b, DecodeMode::Kernel), decode(b, DecodeMode::Strict))
}

#[test]
fn d1_unknown_optional_and_reverse_order_ok_in_both() {
    let b = hex("00 06 00 01 00 11 00 20 03 00 AA BB CC 02 04 00 00 00 01 00 01 01 00 01");
    let want = Message::Req { txn: 6, msg: r1() };
    let (k, s) = both(&b);
    assert_eq!(k, Ok(want.clone()));
    assert_eq!(s, Ok(want.clone()));
    // re-encoding yields the canonical (ascending, no unknown TLV) form
    assert_eq!(
        want.to_bytes(),
        hex("00 06 00 01 00 0B 00 01 01 00 01 02 04 00 00 00 01 00")
    );
}

#[test]
fn d2_unknown_mandatory_rejected_by_both() {
    let b = hex("00 05 00 01 00 0F 00 01 01 00 01 02 04 00 00 00 01 00 03 01 00 00");
    let (k, s) = both(&b);
    let want = DecodeError::UnknownMandatory {
        tlv_type: 3,
        offset: 18,
    };
    assert_eq!(k, Err(want.clone()));
    assert_eq!(s, Err(want.clone()));
    assert_eq!(want.kernel_errno(), Some(-EINVAL));
}

#[test]
fn d3_struct_length_10_rejected_by_both() {
    let b = hex("02 09 00 01 00 14 00 02 04 00 00 00 00 00 14 0A 00 09 04 01 01 02 01 02 20 00 FF");
    let (k, s) = both(&b);
    let k = k.unwrap_err();
    assert_eq!(
        k,
        DecodeError::StructFault {
            tlv_type: 0x14,
            offset: 17,
            budget: 10,
            consumed: 9
        }
    );
    assert_eq!(k.kernel_errno(), Some(-EFAULT));
    assert_eq!(
        s,
        Err(DecodeError::BadLength {
            tlv_type: 0x14,
            offset: 14,
            expected: 9,
            found: 10
        })
    );
}

#[test]
fn d4_member_boundary_quirk() {
    let b = hex("02 0A 00 01 00 0F 00 02 04 00 00 00 00 00 14 05 00 09 04 01 01 02");
    let (k, s) = both(&b);
    let intf = InterfaceDescriptor {
        b_length: 9,
        b_descriptor_type: 4,
        b_interface_number: 1,
        b_alternate_setting: 1,
        b_num_endpoints: 2,
        ..Default::default()
    };
    let want = StreamResp {
        std_as_opr_intf_desc: Some(intf),
        ..Default::default()
    };
    assert_eq!(
        k,
        Ok(Message::Resp {
            txn: 0x0A,
            msg: want
        })
    );
    assert_eq!(
        s,
        Err(DecodeError::BadLength {
            tlv_type: 0x14,
            offset: 14,
            expected: 9,
            found: 5
        })
    );
}

#[test]
fn d5_empty_payload() {
    let b = hex("00 0B 00 01 00 00 00");
    let (k, s) = both(&b);
    let zero = StreamReq::default();
    assert_eq!(zero.enable, 0);
    assert_eq!(zero.usb_token.raw(), 0);
    assert_eq!(
        k,
        Ok(Message::Req {
            txn: 0x0B,
            msg: zero
        })
    );
    assert_eq!(
        s,
        Err(DecodeError::MissingMandatory {
            tlv_type: 1,
            name: "enable"
        })
    );
}

#[test]
fn d6_split_member_rejected_by_both() {
    let b = hex("02 0C 00 01 00 0F 00 02 04 00 00 00 00 00 15 05 00 07 05 01 05 C0");
    let (k, s) = both(&b);
    // The kernel over-reads one byte past the datagram for wMaxPacketSize,
    // but its outcome does not depend on that byte: -EFAULT.
    let k = k.unwrap_err();
    assert_eq!(
        k,
        DecodeError::StructFault {
            tlv_type: 0x15,
            offset: 17,
            budget: 5,
            consumed: 6
        }
    );
    assert_eq!(k.kernel_errno(), Some(-EFAULT));
    assert_eq!(
        s,
        Err(DecodeError::BadLength {
            tlv_type: 0x15,
            offset: 14,
            expected: 9,
            found: 5
        })
    );
}

fn resp_with_xhci_len(len: usize) -> Vec<u8> {
    let x = hex(XHCI_HEX);
    let mut payload = hex("02 04 00 00 00 00 00");
    payload.push(0x1A);
    payload.extend_from_slice(&(len as u16).to_le_bytes());
    payload.extend_from_slice(&x[..len]);
    let mut b = vec![0x02, 0x21, 0x00, 0x01, 0x00];
    b.extend_from_slice(&(payload.len() as u16).to_le_bytes());
    b.extend(payload);
    b
}

#[test]
fn xhci_mem_info_length_60_kernel_accepts() {
    let b = resp_with_xhci_len(60);
    let mut x = xhci();
    x.xfer_buff = MemInfo::default();
    x.dcba = MemInfo::default();
    let want = StreamResp {
        xhci_mem_info: Some(x),
        ..Default::default()
    };
    let (k, s) = both(&b);
    assert_eq!(
        k,
        Ok(Message::Resp {
            txn: 0x21,
            msg: want
        })
    );
    assert_eq!(
        s,
        Err(DecodeError::BadLength {
            tlv_type: 0x1A,
            offset: 14,
            expected: 100,
            found: 60
        })
    );
}

#[test]
fn xhci_mem_info_length_50_kernel_rejects() {
    let b = resp_with_xhci_len(50);
    let (k, s) = both(&b);
    let k = k.unwrap_err();
    assert!(
        matches!(k, DecodeError::StructFault { tlv_type: 0x1A, .. }),
        "{k:?}"
    );
    assert_eq!(k.kernel_errno(), Some(-EFAULT));
    assert!(matches!(s, Err(DecodeError::BadLength { found: 50, .. })));
}

// ------------------------------------------- further kernel-mode behaviour

#[test]
fn kernel_ignores_msg_len() {
    let mut b = hex(R2_HEX);
    b[5] = 0x99;
    assert_eq!(
        decode(&b, DecodeMode::Kernel),
        Ok(Message::Req { txn: 2, msg: r2() })
    );
    assert_eq!(
        decode(&b, DecodeMode::Strict),
        Err(DecodeError::MsgLenMismatch {
            msg_len: 0x99,
            payload_len: 46
        })
    );
}

#[test]
fn kernel_ignores_scalar_tlv_length() {
    // enable TLV claims length 0; the kernel reads its 1 byte anyway and the
    // next TLV header starts right after it.
    let b = hex("00 01 00 01 00 0B 00 01 00 00 01 02 04 00 00 00 01 00");
    assert_eq!(
        decode(&b, DecodeMode::Kernel),
        Ok(Message::Req { txn: 1, msg: r1() })
    );
    assert_eq!(
        decode(&b, DecodeMode::Strict),
        Err(DecodeError::BadLength {
            tlv_type: 1,
            offset: 7,
            expected: 1,
            found: 0
        })
    );
}

#[test]
fn kernel_duplicates_last_wins() {
    let b = hex("00 01 00 01 00 0F 00 01 01 00 00 02 04 00 00 00 01 00 01 01 00 01");
    assert_eq!(
        decode(&b, DecodeMode::Kernel),
        Ok(Message::Req { txn: 1, msg: r1() })
    );
    assert_eq!(
        decode(&b, DecodeMode::Strict),
        Err(DecodeError::DuplicateTlv {
            tlv_type: 1,
            offset: 18
        })
    );
}

#[test]
fn kernel_overread_is_an_error_not_a_read() {
    // service_interval value cut after 2 of 4 bytes
    let mut b = hex(R2_HEX);
    b.truncate(b.len() - 2);
    b[5] = 44;
    assert_eq!(
        decode(&b, DecodeMode::Kernel),
        Err(DecodeError::KernelOverRead {
            offset: 49,
            needed: 4,
            len: 51
        })
    );
    assert_eq!(
        decode(&b, DecodeMode::Strict),
        Err(DecodeError::TruncatedTlvValue {
            tlv_type: 0x14,
            offset: 46,
            length: 4,
            available: 2
        })
    );
    // 1-2 stray bytes where a TLV header would start
    let mut b = hex("00 01 00 01 00 0D 00 01 01 00 01 02 04 00 00 00 01 00 10 04");
    b[5] = 13;
    assert_eq!(
        decode(&b, DecodeMode::Kernel),
        Err(DecodeError::KernelOverRead {
            offset: 18,
            needed: 3,
            len: 20
        })
    );
    assert_eq!(
        decode(&b, DecodeMode::Strict),
        Err(DecodeError::TruncatedTlvHeader {
            offset: 18,
            available: 2
        })
    );
}

#[test]
fn kernel_skips_unknown_optional_past_end() {
    let b = hex("00 01 00 01 00 0E 00 01 01 00 01 02 04 00 00 00 01 00 20 FF 00");
    assert_eq!(
        decode(&b, DecodeMode::Kernel),
        Ok(Message::Req { txn: 1, msg: r1() })
    );
    assert!(matches!(
        decode(&b, DecodeMode::Strict),
        Err(DecodeError::TruncatedTlvValue {
            tlv_type: 0x20,
            offset: 18,
            ..
        })
    ));
}

#[test]
fn service_receive_buffer_truncation() {
    // R2 plus one unknown optional TLV placed first: 57 bytes, cut to 53,
    // which loses the service_interval value; the kernel then over-reads.
    let r2b = hex(R2_HEX);
    let mut b = r2b[..7].to_vec();
    b.extend_from_slice(&[0x20, 0x01, 0x00, 0xAA]);
    b.extend_from_slice(&r2b[7..]);
    b[5] = 50;
    assert_eq!(b.len(), 57);
    let seen = service_view(&b);
    assert_eq!(seen.len(), 53);
    assert!(matches!(
        decode(seen, DecodeMode::Kernel),
        Err(DecodeError::KernelOverRead { .. })
    ));
}

#[test]
fn short_header_and_unknown_message() {
    for mode in [DecodeMode::Strict, DecodeMode::Kernel] {
        assert_eq!(
            decode(&[0, 1, 0], mode),
            Err(DecodeError::ShortHeader { len: 3 })
        );
        assert_eq!(
            decode(&hex("00 01 00 02 00 00 00"), mode),
            Err(DecodeError::UnknownMessage {
                msg_type: 0,
                msg_id: 2
            })
        );
        assert_eq!(
            decode(&hex("06 01 00 01 00 00 00"), mode),
            Err(DecodeError::UnknownMessage {
                msg_type: 6,
                msg_id: 1
            })
        );
    }
}

// ------------------------------------------------------------- 5 QRTR

fn ctrl_roundtrip(p: CtrlPkt, bytes: &str) {
    let b = hex(bytes);
    assert_eq!(p.to_bytes().to_vec(), b);
    assert_eq!(CtrlPkt::parse(&b), Ok(p));
}

#[test]
fn qrtr_new_server_uaudio() {
    let p = CtrlPkt::uaudio_new_server(1, 0x4001);
    ctrl_roundtrip(
        p,
        "04 00 00 00  1D 04 00 00  01 00 00 00  01 00 00 00  01 40 00 00",
    );
    assert_eq!(instance_word(1, 0), 1);
    assert_eq!(
        p.event(),
        CtrlEvent::NewServer(ServerInfo {
            service: 0x41D,
            instance: 1,
            node: 1,
            port: 0x4001
        })
    );
    let d = CtrlPkt::del_server(ServerInfo {
        service: 0x41D,
        instance: 1,
        node: 1,
        port: 0x4001,
    });
    ctrl_roundtrip(
        d,
        "05 00 00 00  1D 04 00 00  01 00 00 00  01 00 00 00  01 40 00 00",
    );
}

#[test]
fn qrtr_bye() {
    let p = CtrlPkt::bye(5);
    ctrl_roundtrip(
        p,
        "03 00 00 00 05 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00",
    );
    assert_eq!(p.event(), CtrlEvent::Bye { node: 5 });
}

#[test]
fn qrtr_del_client() {
    let p = CtrlPkt::del_client(5, 0x0D);
    ctrl_roundtrip(
        p,
        "06 00 00 00 05 00 00 00 0D 00 00 00 00 00 00 00 00 00 00 00",
    );
    assert_eq!(
        p.event(),
        CtrlEvent::DelClient {
            node: 5,
            port: 0x0D
        }
    );
}

#[test]
fn qrtr_ctrl_constants_and_long_packet() {
    assert_eq!(QRTR_PORT_CTRL, 0xffff_fffe);
    assert_eq!(qmi::qrtr::QRTR_NODE_BCAST, 0xffff_ffff);
    let mut b = CtrlPkt::bye(7).to_bytes().to_vec();
    b.extend_from_slice(&[1, 2, 3]);
    assert_eq!(
        CtrlPkt::parse(&b).unwrap().event(),
        CtrlEvent::Bye { node: 7 }
    );
    assert_eq!(
        CtrlPkt::parse(&b[..19]),
        Err(QrtrError::ShortCtrlPacket { len: 19 })
    );
}

#[test]
fn kernel_zero_length_struct_is_valid_and_zero() {
    // `14 00 00`: the kernel's struct loop never runs, 0 == 0 consumed.
    let b = hex("02 0D 00 01 00 0A 00 02 04 00 00 00 00 00 14 00 00");
    let want = StreamResp {
        std_as_opr_intf_desc: Some(InterfaceDescriptor::default()),
        ..Default::default()
    };
    assert_eq!(
        decode(&b, DecodeMode::Kernel),
        Ok(Message::Resp {
            txn: 0x0D,
            msg: want
        })
    );
    assert_eq!(
        decode(&b, DecodeMode::Strict),
        Err(DecodeError::BadLength {
            tlv_type: 0x14,
            offset: 14,
            expected: 9,
            found: 0
        })
    );
}

#[test]
fn kernel_duplicate_short_struct_keeps_earlier_members() {
    // Second 0x14 TLV stops on a member boundary: C memory keeps the first
    // TLV's remaining members (the target is decoded in place).
    let b = hex("02 0E 00 01 00 1B 00 02 04 00 00 00 00 00 14 09 00 09 04 01 01 02 01 02 20 00 14 02 00 AA BB");
    let mut intf = INTF;
    intf.b_length = 0xAA;
    intf.b_descriptor_type = 0xBB;
    let want = StreamResp {
        std_as_opr_intf_desc: Some(intf),
        ..Default::default()
    };
    assert_eq!(
        decode(&b, DecodeMode::Kernel),
        Ok(Message::Resp {
            txn: 0x0E,
            msg: want
        })
    );
}
