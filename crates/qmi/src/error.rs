//! Error types. Every decode error names the byte offset (from the start of
//! the datagram, i.e. including the 7-byte QMI header) where the problem was
//! found, so a failing capture can be located by eye.

use thiserror::Error;

/// Kernel errno values the C decoder returns (`-EINVAL`, `-EFAULT`,
/// `-ETOOSMALL`); used by [`DecodeError::kernel_errno`].
pub const EINVAL: i32 = 22;
/// See [`EINVAL`].
pub const EFAULT: i32 = 14;
/// Kernel-internal `ETOOSMALL` (include/linux/errno.h).
pub const ETOOSMALL: i32 = 525;

/// Why a datagram could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    /// Fewer than 7 bytes: no room for the QMI header. The kernel drops it.
    #[error("datagram is {len} bytes, shorter than the 7-byte QMI header (offset 0)")]
    ShortHeader { len: usize },

    /// Header `msg_len` (offset 5) disagrees with the datagram size.
    /// Strict mode only: the kernel never reads `msg_len`.
    #[error(
        "header msg_len (offset 5) is {msg_len} but {payload_len} TLV bytes follow the header"
    )]
    MsgLenMismatch { msg_len: u16, payload_len: usize },

    /// (type, msg_id) is not one of the three uaudio messages.
    #[error("unknown message: type 0x{msg_type:02x} (offset 0), msg_id 0x{msg_id:04x} (offset 3)")]
    UnknownMessage { msg_type: u8, msg_id: u16 },

    /// Fewer than 3 bytes left where a TLV header should start.
    #[error("truncated TLV header at offset {offset}: {available} byte(s) left, 3 needed")]
    TruncatedTlvHeader { offset: usize, available: usize },

    /// The TLV length runs past the end of the datagram.
    #[error("TLV 0x{tlv_type:02x} at offset {offset} declares {length} value bytes but only {available} remain")]
    TruncatedTlvValue {
        tlv_type: u8,
        offset: usize,
        length: u16,
        available: usize,
    },

    /// A fixed-size element (scalar or struct) whose TLV length is not its wire size.
    #[error(
        "TLV 0x{tlv_type:02x} at offset {offset}: length {found}, expected exactly {expected}"
    )]
    BadLength {
        tlv_type: u8,
        offset: usize,
        expected: usize,
        found: usize,
    },

    /// A variable-size value (array/string) needs more bytes than its TLV holds.
    #[error("TLV 0x{tlv_type:02x} at offset {offset}: value needs more than its length {length}")]
    ValueOverrun {
        tlv_type: u8,
        offset: usize,
        length: usize,
    },

    /// A variable-size value leaves unused bytes inside its TLV.
    #[error("TLV 0x{tlv_type:02x} at offset {offset}: value uses {used} of {length} bytes")]
    TrailingBytes {
        tlv_type: u8,
        offset: usize,
        used: usize,
        length: usize,
    },

    /// A mandatory TLV (type < 0x10) is absent. Strict mode only.
    #[error("mandatory TLV 0x{tlv_type:02x} ({name}) is missing")]
    MissingMandatory { tlv_type: u8, name: &'static str },

    /// A type < 0x10 that the message table does not know (kernel: `-EINVAL`).
    #[error("unknown mandatory TLV type 0x{tlv_type:02x} at offset {offset}")]
    UnknownMandatory { tlv_type: u8, offset: usize },

    /// The same TLV type twice. Strict mode only (the kernel keeps the last).
    #[error("duplicate TLV 0x{tlv_type:02x} at offset {offset}")]
    DuplicateTlv { tlv_type: u8, offset: usize },

    /// Kernel mode: a struct consumed a different number of bytes than its
    /// budget (kernel: `-EFAULT` in `qmi_decode_struct_elem`).
    #[error("struct in TLV 0x{tlv_type:02x} at offset {offset}: budget {budget} bytes, consumed {consumed} (kernel -EFAULT)")]
    StructFault {
        tlv_type: u8,
        offset: usize,
        budget: usize,
        consumed: usize,
    },

    /// A DATA_LEN count above the table's `elem_len` (kernel: `-ETOOSMALL`).
    #[error("TLV 0x{tlv_type:02x}: array count {count} at offset {offset} exceeds maximum {max}")]
    CountTooLarge {
        tlv_type: u8,
        offset: usize,
        count: u32,
        max: u32,
    },

    /// A string of length >= `elem_len` (kernel: `-ETOOSMALL`).
    #[error("TLV 0x{tlv_type:02x}: string length {len} at offset {offset} must be below {max}")]
    StringTooLong {
        tlv_type: u8,
        offset: usize,
        len: u32,
        max: u32,
    },

    /// Kernel mode: a nested string claims more bytes than its budget
    /// (kernel: `-EFAULT` in `qmi_decode_string_elem`).
    #[error("TLV 0x{tlv_type:02x}: string length {len} at offset {offset} exceeds remaining {budget} bytes (kernel -EFAULT)")]
    StringFault {
        tlv_type: u8,
        offset: usize,
        len: u32,
        budget: u32,
    },

    /// Kernel mode: the C decoder would read `needed` bytes at `offset`,
    /// past the end of the datagram. Its result then depends on whatever
    /// memory follows the buffer, so Rust refuses instead of guessing.
    #[error("kernel decoder would read {needed} byte(s) at offset {offset}, past the datagram end ({len} bytes)")]
    KernelOverRead {
        offset: usize,
        needed: usize,
        len: usize,
    },
}

impl DecodeError {
    /// The errno the kernel decoder would return for the same input, where
    /// one is defined (`None`: the kernel accepts, drops silently, or its
    /// outcome is undefined because it over-reads).
    pub fn kernel_errno(&self) -> Option<i32> {
        match self {
            DecodeError::UnknownMandatory { .. } => Some(-EINVAL),
            DecodeError::StructFault { .. } | DecodeError::StringFault { .. } => Some(-EFAULT),
            DecodeError::CountTooLarge { .. } | DecodeError::StringTooLong { .. } => {
                Some(-ETOOSMALL)
            }
            _ => None,
        }
    }
}

/// Why a value could not be encoded with a generic element table.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EncodeError {
    /// The value tree does not have the shape the table describes.
    #[error("value for element '{name}' does not match its table entry: {reason}")]
    Shape { name: &'static str, reason: String },
    /// A scalar does not fit in the element's wire size.
    #[error("value {value:#x} of element '{name}' does not fit in {size} byte(s)")]
    ScalarTooWide {
        name: &'static str,
        value: u64,
        size: u32,
    },
    /// A variable-length array has more than `elem_len` elements.
    #[error("element '{name}' has {count} entries, maximum is {max}")]
    CountTooLarge {
        name: &'static str,
        count: usize,
        max: u32,
    },
    /// A string of length >= `elem_len` (the C buffer needs room for NUL).
    #[error("string '{name}' is {len} bytes, must be below {max}")]
    StringTooLong {
        name: &'static str,
        len: usize,
        max: u32,
    },
    /// A mandatory element has no value.
    #[error("mandatory element '{name}' (TLV 0x{tlv_type:02x}) has no value")]
    MissingMandatory { name: &'static str, tlv_type: u8 },
    /// A TLV value longer than the 16-bit length field allows.
    #[error("TLV 0x{tlv_type:02x} would be {len} bytes, more than 65535")]
    TlvTooLong { tlv_type: u8, len: usize },
}

/// Why a QRTR control packet could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum QrtrError {
    /// Control packets are 20 bytes; the QMI library ignores shorter ones.
    #[error("QRTR control packet is {len} bytes, at least 20 needed (offset {len})")]
    ShortCtrlPacket { len: usize },
}
