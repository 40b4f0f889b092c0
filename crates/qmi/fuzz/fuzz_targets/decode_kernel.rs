//! Kernel-mode decoding never panics; what it accepts re-encodes to bytes
//! that both modes decode to the same message.
#![no_main]

use libfuzzer_sys::fuzz_target;
use qmi::{decode, DecodeMode};

fuzz_target!(|data: &[u8]| {
    let Ok(msg) = decode(data, DecodeMode::Kernel) else {
        return;
    };
    let out = msg.to_bytes();
    assert_eq!(decode(&out, DecodeMode::Strict).as_ref(), Ok(&msg));
    assert_eq!(decode(&out, DecodeMode::Kernel).as_ref(), Ok(&msg));
});
