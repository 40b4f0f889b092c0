//! The 7-byte QMI header (`struct qmi_header` in include/linux/soc/qcom/qmi.h),
//! always little-endian on the wire (mainline 07a4688833b2 made it `__le16`).

use crate::error::DecodeError;
use serde::{Deserialize, Serialize};

/// Header size on the wire.
pub const QMI_HEADER_LEN: usize = 7;
/// `QMI_REQUEST`.
pub const QMI_REQUEST: u8 = 0x00;
/// `QMI_RESPONSE`.
pub const QMI_RESPONSE: u8 = 0x02;
/// `QMI_INDICATION`.
pub const QMI_INDICATION: u8 = 0x04;

/// Decoded QMI header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct QmiHeader {
    /// `type`: [`QMI_REQUEST`], [`QMI_RESPONSE`] or [`QMI_INDICATION`].
    pub msg_type: u8,
    /// `txn_id`.
    pub txn_id: u16,
    /// `msg_id`.
    pub msg_id: u16,
    /// `msg_len`: TLV bytes after the header (unchecked by the kernel).
    pub msg_len: u16,
}

impl QmiHeader {
    /// Serialise to the 7 wire bytes.
    pub fn to_bytes(&self) -> [u8; QMI_HEADER_LEN] {
        let t = self.txn_id.to_le_bytes();
        let m = self.msg_id.to_le_bytes();
        let l = self.msg_len.to_le_bytes();
        [self.msg_type, t[0], t[1], m[0], m[1], l[0], l[1]]
    }

    /// Parse the first 7 bytes of a datagram. Does not check `msg_len`.
    pub fn parse(bytes: &[u8]) -> Result<Self, DecodeError> {
        if bytes.len() < QMI_HEADER_LEN {
            return Err(DecodeError::ShortHeader { len: bytes.len() });
        }
        Ok(QmiHeader {
            msg_type: bytes[0],
            txn_id: u16::from_le_bytes([bytes[1], bytes[2]]),
            msg_id: u16::from_le_bytes([bytes[3], bytes[4]]),
            msg_len: u16::from_le_bytes([bytes[5], bytes[6]]),
        })
    }

    /// Name of the header type, for display.
    pub fn type_name(msg_type: u8) -> &'static str {
        match msg_type {
            QMI_REQUEST => "request",
            QMI_RESPONSE => "response",
            QMI_INDICATION => "indication",
            _ => "unknown",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_le() {
        let h = QmiHeader {
            msg_type: QMI_RESPONSE,
            txn_id: 0x1234,
            msg_id: 1,
            msg_len: 0xCA,
        };
        let b = h.to_bytes();
        assert_eq!(b, [0x02, 0x34, 0x12, 0x01, 0x00, 0xCA, 0x00]);
        assert_eq!(QmiHeader::parse(&b).unwrap(), h);
    }

    #[test]
    fn short() {
        assert_eq!(
            QmiHeader::parse(&[0; 6]),
            Err(DecodeError::ShortHeader { len: 6 })
        );
    }
}
