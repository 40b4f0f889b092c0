//! Top-level TLV framing: `type` u8, `length` u16 LE, value (spec §2.1).

/// Size of a TLV header.
pub const TLV_HEADER_LEN: usize = 3;
/// `OPTIONAL_TLV_TYPE_START`: types from here on are optional.
pub const OPTIONAL_TLV_TYPE_START: u8 = 0x10;

/// Append one TLV to `out`. Panics never; the caller guarantees `value.len()`
/// fits in u16 (checked by the encoders before calling).
pub fn put_tlv(out: &mut Vec<u8>, tlv_type: u8, value: &[u8]) {
    let len = value.len() as u16;
    out.push(tlv_type);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(value);
}

/// One raw TLV as found in a payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawTlv<'a> {
    /// TLV type byte.
    pub tlv_type: u8,
    /// Offset of the TLV header within the slice given to [`split`].
    pub offset: usize,
    /// Value bytes (exactly `length` of them).
    pub value: &'a [u8],
}

/// Split a payload into TLVs, strictly: stops at the first truncated header
/// or value and returns the offset where it stopped in `Err`. Useful for
/// tooling (and the fuzz canonicalisation check), not for message decoding.
pub fn split(payload: &[u8]) -> Result<Vec<RawTlv<'_>>, usize> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < payload.len() {
        if payload.len() - pos < TLV_HEADER_LEN {
            return Err(pos);
        }
        let t = payload[pos];
        let len = u16::from_le_bytes([payload[pos + 1], payload[pos + 2]]) as usize;
        let start = pos + TLV_HEADER_LEN;
        if payload.len() - start < len {
            return Err(pos);
        }
        out.push(RawTlv {
            tlv_type: t,
            offset: pos,
            value: &payload[start..start + len],
        });
        pos = start + len;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_and_split() {
        let mut v = Vec::new();
        put_tlv(&mut v, 0x01, &[1]);
        put_tlv(&mut v, 0x02, &[0, 0, 1, 0]);
        assert_eq!(v, [1, 1, 0, 1, 2, 4, 0, 0, 0, 1, 0]);
        let t = split(&v).unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!(t[1].offset, 4);
        assert_eq!(t[1].value, &[0, 0, 1, 0]);
        assert_eq!(split(&v[..5]), Err(4));
        assert_eq!(split(&v[..8]), Err(4));
    }
}
