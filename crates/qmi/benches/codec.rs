//! Encode/decode time per message type, on the spec vectors R2, S3 and I1.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use qmi::*;

fn vectors() -> Vec<(&'static str, Message)> {
    let mem = |iova, dma, size| MemInfo { iova, dma, size };
    let r2 = StreamReq {
        enable: 1,
        usb_token: UsbToken::from_raw(0x0001_0000),
        audio_format: Some(AudioFormat::S16Le),
        number_of_ch: Some(2),
        bit_rate: Some(48000),
        xfer_buff_size: Some(8192),
        service_interval: Some(1000),
    };
    let ep = |addr, attr, w, ival| EndpointDescriptor {
        b_length: 7,
        b_descriptor_type: 5,
        b_endpoint_address: addr,
        bm_attributes: attr,
        w_max_packet_size: w,
        b_interval: ival,
        b_refresh: 0,
        b_synch_address: 0,
    };
    let s3 = StreamResp {
        resp: QmiResponse::default(),
        status: Some(StreamStatus::Success),
        internal_status: Some(0),
        slot_id: Some(1),
        usb_token: Some(UsbToken::from_raw(0x0001_0000)),
        std_as_opr_intf_desc: Some(InterfaceDescriptor {
            b_length: 9,
            b_descriptor_type: 4,
            b_interface_number: 1,
            b_alternate_setting: 1,
            b_num_endpoints: 2,
            b_interface_class: 1,
            b_interface_sub_class: 2,
            b_interface_protocol: 0x20,
            i_interface: 0,
        }),
        std_as_data_ep_desc: Some(ep(0x01, 0x05, 0xC0, 1)),
        std_as_sync_ep_desc: Some(ep(0x81, 0x11, 4, 4)),
        usb_audio_spec_revision: Some(0x0200),
        data_path_delay: Some(1),
        usb_audio_subslot_size: Some(2),
        xhci_mem_info: Some(AppsMemInfo {
            evt_ring: mem(0x1_0000_1000, 0x8123_4000, 0x1000),
            tr_data: mem(0x1_0004_2000, 0x8123_5000, 0x1000),
            tr_sync: mem(0x1_0004_3000, 0x8123_6000, 0x1000),
            xfer_buff: mem(0x1_0080_0000, 0xF000_0000, 0x2000),
            dcba: MemInfo::default(),
        }),
        interrupter_num: Some(1),
        speed_info: Some(DeviceSpeed::High),
        controller_num: Some(0),
    };
    let i1 = StreamInd {
        dev_event: DeviceIndication::Disconnect,
        slot_id: 1,
        controller_num: Some(0),
        ..Default::default()
    };
    vec![
        ("R2_req", Message::Req { txn: 2, msg: r2 }),
        ("S3_resp", Message::Resp { txn: 2, msg: s3 }),
        ("I1_ind", Message::Ind { txn: 0, msg: i1 }),
    ]
}

fn bench(c: &mut Criterion) {
    for (name, m) in vectors() {
        let bytes = m.to_bytes();
        c.bench_function(&format!("encode/{name}"), |b| {
            b.iter(|| black_box(&m).to_bytes())
        });
        c.bench_function(&format!("decode_strict/{name}"), |b| {
            b.iter(|| decode(black_box(&bytes), DecodeMode::Strict).unwrap())
        });
        c.bench_function(&format!("decode_kernel/{name}"), |b| {
            b.iter(|| decode(black_box(&bytes), DecodeMode::Kernel).unwrap())
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
