//! Property tests: encode→decode identity for every message type in both
//! modes, and decoding arbitrary bytes never panics.

use proptest::prelude::*;
use qmi::*;

fn token() -> impl Strategy<Value = UsbToken> {
    any::<u32>().prop_map(UsbToken::from_raw)
}

fn intf() -> impl Strategy<Value = InterfaceDescriptor> {
    any::<[u8; 9]>().prop_map(|b| InterfaceDescriptor {
        b_length: b[0],
        b_descriptor_type: b[1],
        b_interface_number: b[2],
        b_alternate_setting: b[3],
        b_num_endpoints: b[4],
        b_interface_class: b[5],
        b_interface_sub_class: b[6],
        b_interface_protocol: b[7],
        i_interface: b[8],
    })
}

fn ep() -> impl Strategy<Value = EndpointDescriptor> {
    (any::<[u8; 7]>(), any::<u16>()).prop_map(|(b, w)| EndpointDescriptor {
        b_length: b[0],
        b_descriptor_type: b[1],
        b_endpoint_address: b[2],
        bm_attributes: b[3],
        w_max_packet_size: w,
        b_interval: b[4],
        b_refresh: b[5],
        b_synch_address: b[6],
    })
}

fn mem() -> impl Strategy<Value = MemInfo> {
    (any::<u64>(), any::<u64>(), any::<u32>()).prop_map(|(iova, dma, size)| MemInfo {
        iova,
        dma,
        size,
    })
}

fn apps() -> impl Strategy<Value = AppsMemInfo> {
    (mem(), mem(), mem(), mem(), mem()).prop_map(|(a, b, c, d, e)| AppsMemInfo {
        evt_ring: a,
        tr_data: b,
        tr_sync: c,
        xfer_buff: d,
        dcba: e,
    })
}

fn req() -> impl Strategy<Value = StreamReq> {
    (
        any::<u8>(),
        token(),
        proptest::option::of(any::<u32>().prop_map(AudioFormat::from_raw)),
        proptest::option::of(any::<u32>()),
        proptest::option::of(any::<u32>()),
        proptest::option::of(any::<u32>()),
        proptest::option::of(any::<u32>()),
    )
        .prop_map(
            |(enable, usb_token, audio_format, ch, rate, xfer, si)| StreamReq {
                enable,
                usb_token,
                audio_format,
                number_of_ch: ch,
                bit_rate: rate,
                xfer_buff_size: xfer,
                service_interval: si,
            },
        )
}

fn resp() -> impl Strategy<Value = StreamResp> {
    use proptest::option::of;
    (
        (any::<u16>(), any::<u16>()),
        of(any::<i32>().prop_map(StreamStatus::from_raw)),
        of(any::<i32>()),
        of(any::<u32>()),
        of(token()),
        of(intf()),
        of(ep()),
        of(ep()),
        (
            of(any::<u16>()),
            of(any::<u8>()),
            of(any::<u8>()),
            of(apps()),
            of(any::<u8>()),
            of(any::<i32>().prop_map(DeviceSpeed::from_raw)),
            of(any::<u8>()),
        ),
    )
        .prop_map(
            |((r, e), status, is, slot, tok, i, d, s, (rev, dpd, sub, x, irq, sp, ctl))| {
                StreamResp {
                    resp: QmiResponse {
                        result: r,
                        error: e,
                    },
                    status,
                    internal_status: is,
                    slot_id: slot,
                    usb_token: tok,
                    std_as_opr_intf_desc: i,
                    std_as_data_ep_desc: d,
                    std_as_sync_ep_desc: s,
                    usb_audio_spec_revision: rev,
                    data_path_delay: dpd,
                    usb_audio_subslot_size: sub,
                    xhci_mem_info: x,
                    interrupter_num: irq,
                    speed_info: sp,
                    controller_num: ctl,
                }
            },
        )
}

fn ind() -> impl Strategy<Value = StreamInd> {
    use proptest::option::of;
    (
        any::<i32>().prop_map(DeviceIndication::from_raw),
        any::<u32>(),
        of(token()),
        of(intf()),
        of(ep()),
        of(ep()),
        (
            of(any::<u16>()),
            of(any::<u8>()),
            of(any::<u8>()),
            of(apps()),
            of(any::<u8>()),
            of(any::<u8>()),
        ),
    )
        .prop_map(
            |(ev, slot, tok, i, d, s, (rev, dpd, sub, x, irq, ctl))| StreamInd {
                dev_event: ev,
                slot_id: slot,
                usb_token: tok,
                std_as_opr_intf_desc: i,
                std_as_data_ep_desc: d,
                std_as_sync_ep_desc: s,
                usb_audio_spec_revision: rev,
                data_path_delay: dpd,
                usb_audio_subslot_size: sub,
                xhci_mem_info: x,
                interrupter_num: irq,
                controller_num: ctl,
            },
        )
}

fn message() -> impl Strategy<Value = Message> {
    prop_oneof![
        (any::<u16>(), req()).prop_map(|(txn, msg)| Message::Req { txn, msg }),
        (any::<u16>(), resp()).prop_map(|(txn, msg)| Message::Resp { txn, msg }),
        (any::<u16>(), ind()).prop_map(|(txn, msg)| Message::Ind { txn, msg }),
    ]
}

/// Interesting raw inputs: valid messages with a few bytes mutated, or cut.
fn mutated() -> impl Strategy<Value = Vec<u8>> {
    (
        message(),
        proptest::collection::vec((any::<usize>(), any::<u8>()), 0..4),
        any::<usize>(),
    )
        .prop_map(|(m, muts, cut)| {
            let mut b = m.to_bytes();
            for (i, v) in muts {
                let n = b.len();
                b[i % n] = v;
            }
            let n = b.len();
            b.truncate(cut % (n + 1));
            b
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn roundtrip_all_types_both_modes(m in message()) {
        let b = m.to_bytes();
        let max = match &m {
            Message::Req { .. } => QMI_UAUDIO_STREAM_REQ_MSG_V01_MAX_MSG_LEN,
            Message::Resp { .. } => QMI_UAUDIO_STREAM_RESP_MSG_V01_MAX_MSG_LEN,
            Message::Ind { .. } => QMI_UAUDIO_STREAM_IND_MSG_V01_MAX_MSG_LEN,
        };
        prop_assert!(b.len() <= QMI_HEADER_LEN + max);
        prop_assert_eq!(u16::from_le_bytes([b[5], b[6]]) as usize, b.len() - QMI_HEADER_LEN);
        prop_assert_eq!(decode(&b, DecodeMode::Strict), Ok(m.clone()));
        prop_assert_eq!(decode(&b, DecodeMode::Kernel), Ok(m.clone()));
    }

    #[test]
    fn json_roundtrip(m in message()) {
        let j = serde_json::to_string(&m).unwrap();
        let back: Message = serde_json::from_str(&j).unwrap();
        prop_assert_eq!(back, m);
    }

    #[test]
    fn arbitrary_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = decode(&b, DecodeMode::Strict);
        let _ = decode(&b, DecodeMode::Kernel);
    }

    #[test]
    fn arbitrary_payload_with_valid_header_never_panics(
        t in prop_oneof![Just(0u8), Just(2u8), Just(4u8)],
        payload in proptest::collection::vec(any::<u8>(), 0..300),
    ) {
        let mut b = vec![t, 0, 0, 1, 0];
        b.extend_from_slice(&(payload.len() as u16).to_le_bytes());
        b.extend(payload);
        for mode in [DecodeMode::Strict, DecodeMode::Kernel] {
            if let Ok(m) = decode(&b, mode) {
                // anything accepted re-encodes to something both modes accept
                let out = m.to_bytes();
                prop_assert_eq!(decode(&out, DecodeMode::Strict), Ok(m.clone()));
            }
        }
    }

    #[test]
    fn mutated_messages(b in mutated()) {
        let s = decode(&b, DecodeMode::Strict);
        let k = decode(&b, DecodeMode::Kernel);
        // strict acceptance implies kernel acceptance of the same message
        if let Ok(m) = &s {
            prop_assert_eq!(k.as_ref(), Ok(m));
        }
    }

    #[test]
    fn token_roundtrip(t in any::<u32>()) {
        prop_assert_eq!(UsbToken::from_raw(t).raw(), t);
    }
}
