//! Strict decoding never panics, and whatever it accepts re-encodes to the
//! canonical form of the input: the known TLVs sorted by type (unknown
//! optional TLVs dropped), byte for byte.
#![no_main]

use libfuzzer_sys::fuzz_target;
use qmi::{decode, elem::fields, table_for, tlv, DecodeMode, QMI_HEADER_LEN};

fuzz_target!(|data: &[u8]| {
    let Ok(msg) = decode(data, DecodeMode::Strict) else {
        return;
    };
    let out = msg.to_bytes();
    assert_eq!(decode(&out, DecodeMode::Strict).as_ref(), Ok(&msg));
    assert_eq!(decode(&out, DecodeMode::Kernel).as_ref(), Ok(&msg));

    // canonical form of the input
    let table = table_for(data[0], u16::from_le_bytes([data[3], data[4]])).unwrap();
    let mut tlvs = tlv::split(&data[QMI_HEADER_LEN..]).unwrap();
    tlvs.retain(|t| fields(table).any(|f| f.tlv_type() == t.tlv_type));
    tlvs.sort_by_key(|t| t.tlv_type);
    let mut canon = Vec::new();
    for t in &tlvs {
        tlv::put_tlv(&mut canon, t.tlv_type, t.value);
    }
    assert_eq!(&out[QMI_HEADER_LEN..], &canon[..]);
    assert_eq!(&out[..5], &data[..5]);
});
