//! The uaudio v01 messages (sound/usb/qcom/usb_audio_qmi_v01.{h,c}) as Rust
//! types, their `qmi_elem_info` tables, and conversions to the generic
//! [`Value`] form used by the codec in `elem.rs`.
//!
//! Enum-typed fields keep out-of-range wire values (`Unknown(raw)`) because
//! the kernel decoder does not range-check enums; that keeps decode→encode
//! byte-exact for anything the decoder accepts.

use crate::elem::{DataType, ElemInfo, Value};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// `UAUDIO_STREAM_SERVICE_ID_V01`.
pub const UAUDIO_STREAM_SERVICE_ID_V01: u32 = 0x41D;
/// `UAUDIO_STREAM_SERVICE_VERS_V01`.
pub const UAUDIO_STREAM_SERVICE_VERS_V01: u32 = 0x01;
/// `QMI_UAUDIO_STREAM_REQ_V01`.
pub const QMI_UAUDIO_STREAM_REQ_V01: u16 = 0x0001;
/// `QMI_UAUDIO_STREAM_RESP_V01`.
pub const QMI_UAUDIO_STREAM_RESP_V01: u16 = 0x0001;
/// `QMI_UAUDIO_STREAM_IND_V01`.
pub const QMI_UAUDIO_STREAM_IND_V01: u16 = 0x0001;
/// `QMI_UAUDIO_STREAM_REQ_MSG_V01_MAX_MSG_LEN` (TLV bytes, header excluded).
pub const QMI_UAUDIO_STREAM_REQ_MSG_V01_MAX_MSG_LEN: usize = 46;
/// `QMI_UAUDIO_STREAM_RESP_MSG_V01_MAX_MSG_LEN`.
pub const QMI_UAUDIO_STREAM_RESP_MSG_V01_MAX_MSG_LEN: usize = 202;
/// `QMI_UAUDIO_STREAM_IND_MSG_V01_MAX_MSG_LEN`.
pub const QMI_UAUDIO_STREAM_IND_MSG_V01_MAX_MSG_LEN: usize = 181;
/// The service's QMI receive buffer: max request + 7-byte header. QRTR
/// truncates longer datagrams to this size before decoding (spec §2.8).
pub const UAUDIO_SERVICE_RECV_BUF_LEN: usize = QMI_UAUDIO_STREAM_REQ_MSG_V01_MAX_MSG_LEN + 7;

/// `SNDRV_PCM_STREAM_PLAYBACK`, token direction 0.
pub const DIRECTION_PLAYBACK: u8 = 0;
/// `SNDRV_PCM_STREAM_CAPTURE`, token direction 1.
pub const DIRECTION_CAPTURE: u8 = 1;

/// What the service's QMI handle actually sees of a datagram: at most
/// [`UAUDIO_SERVICE_RECV_BUF_LEN`] bytes (QRTR sets `MSG_TRUNC`, which the
/// QMI library ignores).
pub fn service_view(datagram: &[u8]) -> &[u8] {
    &datagram[..datagram.len().min(UAUDIO_SERVICE_RECV_BUF_LEN)]
}

macro_rules! wire_enum {
    ($(#[$m:meta])* $name:ident : $raw:ty { $($(#[$vm:meta])* $var:ident = $val:literal => $s:literal,)* }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vm])* $var,)*
            /// A wire value outside the defined range, kept verbatim.
            /// Build values with `from_raw` so known codes never land here.
            Unknown($raw),
        }

        impl $name {
            /// From the wire value.
            pub const fn from_raw(v: $raw) -> Self {
                match v {
                    $($val => Self::$var,)*
                    other => Self::Unknown(other),
                }
            }
            /// The wire value.
            pub const fn raw(self) -> $raw {
                match self {
                    $(Self::$var => $val,)*
                    Self::Unknown(v) => v,
                }
            }
            /// Short name (JSON/CLI), `None` for unknown values.
            pub const fn name(self) -> Option<&'static str> {
                match self {
                    $(Self::$var => Some($s),)*
                    Self::Unknown(_) => None,
                }
            }
            /// Parse a short name, case-insensitively.
            pub fn from_name(s: &str) -> Option<Self> {
                match s.to_ascii_uppercase().as_str() {
                    $($s => Some(Self::$var),)*
                    _ => None,
                }
            }
            /// All short names, for help texts.
            pub const NAMES: &'static [&'static str] = &[$($s),*];
        }

        impl Default for $name {
            fn default() -> Self {
                Self::from_raw(0)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                match self.name() {
                    Some(n) => f.write_str(n),
                    None => write!(f, "{}", self.raw()),
                }
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                match self.name() {
                    Some(n) => s.serialize_str(n),
                    None => s.serialize_i64(self.raw() as i64),
                }
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl serde::de::Visitor<'_> for V {
                    type Value = $name;
                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        write!(f, "one of {:?} or an integer", $name::NAMES)
                    }
                    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<$name, E> {
                        $name::from_name(v).ok_or_else(|| {
                            E::custom(format!("unknown {} '{}': use one of {:?} or a number", stringify!($name), v, $name::NAMES))
                        })
                    }
                    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<$name, E> {
                        <$raw>::try_from(v).map($name::from_raw).map_err(|_| E::custom(format!("{} out of range for {}", v, stringify!($name))))
                    }
                    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<$name, E> {
                        <$raw>::try_from(v).map($name::from_raw).map_err(|_| E::custom(format!("{} out of range for {}", v, stringify!($name))))
                    }
                }
                d.deserialize_any(V)
            }
        }
    };
}

wire_enum! {
    /// `enum usb_qmi_audio_format` (request TLV 0x10). The service rejects
    /// codes above 17 with -EINVAL.
    AudioFormat: u32 {
        /// SNDRV_PCM_FORMAT_S8
        S8 = 0 => "S8",
        /// U8
        U8 = 1 => "U8",
        /// S16_LE
        S16Le = 2 => "S16_LE",
        /// S16_BE
        S16Be = 3 => "S16_BE",
        /// U16_LE
        U16Le = 4 => "U16_LE",
        /// U16_BE
        U16Be = 5 => "U16_BE",
        /// S24_LE
        S24Le = 6 => "S24_LE",
        /// S24_BE
        S24Be = 7 => "S24_BE",
        /// U24_LE
        U24Le = 8 => "U24_LE",
        /// U24_BE
        U24Be = 9 => "U24_BE",
        /// S24_3LE
        S24_3Le = 10 => "S24_3LE",
        /// S24_3BE
        S24_3Be = 11 => "S24_3BE",
        /// U24_3LE
        U24_3Le = 12 => "U24_3LE",
        /// U24_3BE
        U24_3Be = 13 => "U24_3BE",
        /// S32_LE
        S32Le = 14 => "S32_LE",
        /// S32_BE
        S32Be = 15 => "S32_BE",
        /// U32_LE
        U32Le = 16 => "U32_LE",
        /// U32_BE
        U32Be = 17 => "U32_BE",
    }
}

wire_enum! {
    /// `usb_qmi_audio_stream_status_enum_v01` (response TLV 0x10,
    /// `USB_QMI_STREAM_REQ_*_V01`). The service sends only 0 or 1.
    StreamStatus: i32 {
        /// USB_QMI_STREAM_REQ_SUCCESS_V01
        Success = 0 => "SUCCESS",
        /// USB_QMI_STREAM_REQ_FAILURE_V01
        Failure = 1 => "FAILURE",
        /// USB_QMI_STREAM_REQ_FAILURE_NOT_FOUND_V01
        FailureNotFound = 2 => "FAILURE_NOT_FOUND",
        /// USB_QMI_STREAM_REQ_FAILURE_INVALID_PARAM_V01
        FailureInvalidParam = 3 => "FAILURE_INVALID_PARAM",
        /// USB_QMI_STREAM_REQ_FAILURE_MEMALLOC_V01
        FailureMemalloc = 4 => "FAILURE_MEMALLOC",
    }
}

wire_enum! {
    /// `usb_qmi_audio_device_speed_enum_v01` (response TLV 0x1C).
    DeviceSpeed: i32 {
        /// USB_QMI_DEVICE_SPEED_INVALID_V01
        Invalid = 0 => "INVALID",
        /// LOW
        Low = 1 => "LOW",
        /// FULL
        Full = 2 => "FULL",
        /// HIGH
        High = 3 => "HIGH",
        /// SUPER
        Super = 4 => "SUPER",
        /// SUPER_PLUS
        SuperPlus = 5 => "SUPER_PLUS",
    }
}

wire_enum! {
    /// `usb_qmi_audio_device_indication_enum_v01` (indication TLV 0x01).
    /// The driver only ever sends DISCONNECT.
    DeviceIndication: i32 {
        /// USB_QMI_DEV_CONNECT_V01
        Connect = 0 => "CONNECT",
        /// USB_QMI_DEV_DISCONNECT_V01
        Disconnect = 1 => "DISCONNECT",
        /// USB_QMI_DEV_SUSPEND_V01
        Suspend = 2 => "SUSPEND",
        /// USB_QMI_DEV_RESUME_V01
        Resume = 3 => "RESUME",
    }
}

/// serde for `enable`: `true`/`false` for 0/1, a number for anything else
/// (the service treats any non-zero byte as enable).
mod enable_serde {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &u8, s: S) -> Result<S::Ok, S::Error> {
        match v {
            0 => s.serialize_bool(false),
            1 => s.serialize_bool(true),
            n => s.serialize_u8(*n),
        }
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum BoolOrU8 {
        B(bool),
        N(u8),
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u8, D::Error> {
        Ok(match BoolOrU8::deserialize(d)? {
            BoolOrU8::B(b) => b as u8,
            BoolOrU8::N(n) => n,
        })
    }
}

/// serde for the token direction: "playback"/"capture" or a number.
mod direction_serde {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &u8, s: S) -> Result<S::Ok, S::Error> {
        match *v {
            super::DIRECTION_PLAYBACK => s.serialize_str("playback"),
            super::DIRECTION_CAPTURE => s.serialize_str("capture"),
            n => s.serialize_u8(n),
        }
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum StrOrU8 {
        S(String),
        N(u8),
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u8, D::Error> {
        match StrOrU8::deserialize(d)? {
            StrOrU8::N(n) => Ok(n),
            StrOrU8::S(s) => match s.to_ascii_lowercase().as_str() {
                "playback" => Ok(super::DIRECTION_PLAYBACK),
                "capture" => Ok(super::DIRECTION_CAPTURE),
                _ => Err(serde::de::Error::custom(format!(
                    "unknown direction '{s}': use \"playback\", \"capture\" or a number 0-255"
                ))),
            },
        }
    }
}

/// serde for 64-bit addresses: "0x…" hex strings (exact in any JSON
/// reader), also accepting plain numbers.
mod hex64_serde {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{v:#018x}"))
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum StrOrU64 {
        S(String),
        N(u64),
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        match StrOrU64::deserialize(d)? {
            StrOrU64::N(n) => Ok(n),
            StrOrU64::S(s) => {
                let t = s.trim();
                let r = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
                    Some(h) => u64::from_str_radix(&h.replace('_', ""), 16),
                    None => t.parse(),
                };
                r.map_err(|_| {
                    serde::de::Error::custom(format!(
                        "bad address '{s}': use a hex string like \"0x1000\" or a number"
                    ))
                })
            }
        }
    }
}

/// The `usb_token` selector: `(card << 16) | (pcm << 8) | direction`
/// (`QMI_STREAM_REQ_CARD_NUM_MASK` / `_DEV_NUM_MASK` / `_DIRECTION`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsbToken {
    /// ALSA card number; the service keeps it in a u8, so only the low 8
    /// bits are meaningful, but all 16 are carried for exact round trips.
    pub card: u16,
    /// PCM device index within the card.
    pub pcm: u8,
    /// 0 playback, 1 capture; anything else means "no substream".
    #[serde(with = "direction_serde")]
    pub direction: u8,
}

impl UsbToken {
    /// Split a wire token.
    pub const fn from_raw(t: u32) -> Self {
        UsbToken {
            card: (t >> 16) as u16,
            pcm: (t >> 8) as u8,
            direction: t as u8,
        }
    }
    /// Wire token.
    pub const fn raw(self) -> u32 {
        ((self.card as u32) << 16) | ((self.pcm as u32) << 8) | self.direction as u32
    }
}

/// `qmi_response_type_v01`: common QMI result (always 0/0 from this service).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QmiResponse {
    /// `QMI_RESULT_SUCCESS_V01` 0 / `QMI_RESULT_FAILURE_V01` 1.
    pub result: u16,
    /// `QMI_ERR_*`.
    pub error: u16,
}

/// `usb_interface_descriptor_v01` (9 wire bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[allow(missing_docs)]
pub struct InterfaceDescriptor {
    pub b_length: u8,
    pub b_descriptor_type: u8,
    pub b_interface_number: u8,
    pub b_alternate_setting: u8,
    pub b_num_endpoints: u8,
    pub b_interface_class: u8,
    pub b_interface_sub_class: u8,
    pub b_interface_protocol: u8,
    pub i_interface: u8,
}

/// `usb_endpoint_descriptor_v01` (9 wire bytes; C sizeof 10).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[allow(missing_docs)]
pub struct EndpointDescriptor {
    pub b_length: u8,
    pub b_descriptor_type: u8,
    pub b_endpoint_address: u8,
    pub bm_attributes: u8,
    pub w_max_packet_size: u16,
    pub b_interval: u8,
    pub b_refresh: u8,
    pub b_synch_address: u8,
}

/// `mem_info_v01` (20 wire bytes). Older headers call the fields `va`/`pa`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemInfo {
    /// DSP-side IOVA, SMMU stream id in bits 63..32 (`va` in old headers).
    #[serde(with = "hex64_serde", alias = "va")]
    pub iova: u64,
    /// xHCI DMA address (`pa` in old headers).
    #[serde(with = "hex64_serde", alias = "pa")]
    pub dma: u64,
    /// Size in bytes.
    pub size: u32,
}

/// `apps_mem_info_v01` (100 wire bytes): rings and transfer buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppsMemInfo {
    /// Secondary event ring.
    pub evt_ring: MemInfo,
    /// Data endpoint transfer ring.
    pub tr_data: MemInfo,
    /// Sync endpoint transfer ring (zero if none).
    pub tr_sync: MemInfo,
    /// Transfer buffer.
    pub xfer_buff: MemInfo,
    /// Never filled by the service.
    pub dcba: MemInfo,
}

/// `qmi_uaudio_stream_req_msg_v01` (client → service).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct StreamReq {
    /// TLV 0x01: 1 start, 0 stop (any non-zero starts).
    #[serde(with = "enable_serde")]
    pub enable: u8,
    /// TLV 0x02.
    #[serde(rename = "token", alias = "usb_token")]
    pub usb_token: UsbToken,
    /// TLV 0x10.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio_format: Option<AudioFormat>,
    /// TLV 0x11.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number_of_ch: Option<u32>,
    /// TLV 0x12: really the sample rate in Hz.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bit_rate: Option<u32>,
    /// TLV 0x13: requested transfer buffer size in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub xfer_buff_size: Option<u32>,
    /// TLV 0x14: requested service interval in µs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_interval: Option<u32>,
}

/// `qmi_uaudio_stream_resp_msg_v01` (service → client).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct StreamResp {
    /// TLV 0x02: always 0/0 from this service.
    #[serde(default)]
    pub resp: QmiResponse,
    /// TLV 0x10.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<StreamStatus>,
    /// TLV 0x11: Linux return code (negative errno), u32 on the wire.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub internal_status: Option<i32>,
    /// TLV 0x12: xHCI slot id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slot_id: Option<u32>,
    /// TLV 0x13: echo of the request token.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        rename = "token",
        alias = "usb_token"
    )]
    pub usb_token: Option<UsbToken>,
    /// TLV 0x14.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub std_as_opr_intf_desc: Option<InterfaceDescriptor>,
    /// TLV 0x15.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub std_as_data_ep_desc: Option<EndpointDescriptor>,
    /// TLV 0x16.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub std_as_sync_ep_desc: Option<EndpointDescriptor>,
    /// TLV 0x17: BCD UAC revision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usb_audio_spec_revision: Option<u16>,
    /// TLV 0x18.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_path_delay: Option<u8>,
    /// TLV 0x19.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usb_audio_subslot_size: Option<u8>,
    /// TLV 0x1A.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub xhci_mem_info: Option<AppsMemInfo>,
    /// TLV 0x1B.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interrupter_num: Option<u8>,
    /// TLV 0x1C.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speed_info: Option<DeviceSpeed>,
    /// TLV 0x1D.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub controller_num: Option<u8>,
}

/// `qmi_uaudio_stream_ind_msg_v01` (service → client). Note the TLV ids
/// differ from the response (renumbered from 0x10 after `slot_id`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct StreamInd {
    /// TLV 0x01.
    pub dev_event: DeviceIndication,
    /// TLV 0x02.
    pub slot_id: u32,
    /// TLV 0x10.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        rename = "token",
        alias = "usb_token"
    )]
    pub usb_token: Option<UsbToken>,
    /// TLV 0x11.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub std_as_opr_intf_desc: Option<InterfaceDescriptor>,
    /// TLV 0x12.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub std_as_data_ep_desc: Option<EndpointDescriptor>,
    /// TLV 0x13.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub std_as_sync_ep_desc: Option<EndpointDescriptor>,
    /// TLV 0x14.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usb_audio_spec_revision: Option<u16>,
    /// TLV 0x15.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_path_delay: Option<u8>,
    /// TLV 0x16.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usb_audio_subslot_size: Option<u8>,
    /// TLV 0x17.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub xhci_mem_info: Option<AppsMemInfo>,
    /// TLV 0x18.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interrupter_num: Option<u8>,
    /// TLV 0x19.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub controller_num: Option<u8>,
}

// ------------------------------------------------------------------ tables

use DataType::{Signed2Enum, Signed4Enum, Unsigned1, Unsigned2, Unsigned4, Unsigned8};

const fn u8e(tlv: u8, name: &'static str) -> ElemInfo {
    ElemInfo::scalar(Unsigned1, 1, tlv, name)
}
const fn u16e(tlv: u8, name: &'static str) -> ElemInfo {
    ElemInfo::scalar(Unsigned2, 2, tlv, name)
}
const fn u32e(tlv: u8, name: &'static str) -> ElemInfo {
    ElemInfo::scalar(Unsigned4, 4, tlv, name)
}
const fn e32(tlv: u8, name: &'static str) -> ElemInfo {
    ElemInfo::scalar(Signed4Enum, 4, tlv, name)
}
const fn opt(tlv: u8, name: &'static str) -> ElemInfo {
    ElemInfo::opt_flag(tlv, name)
}

/// `qmi_response_type_v01_ei`.
pub static QMI_RESPONSE_TYPE_V01_EI: [ElemInfo; 2] = [
    ElemInfo::scalar(Signed2Enum, 2, 0, "result"),
    ElemInfo::scalar(Signed2Enum, 2, 0, "error"),
];

/// `usb_interface_descriptor_v01_ei`.
pub static USB_INTERFACE_DESCRIPTOR_V01_EI: [ElemInfo; 9] = [
    u8e(0, "bLength"),
    u8e(0, "bDescriptorType"),
    u8e(0, "bInterfaceNumber"),
    u8e(0, "bAlternateSetting"),
    u8e(0, "bNumEndpoints"),
    u8e(0, "bInterfaceClass"),
    u8e(0, "bInterfaceSubClass"),
    u8e(0, "bInterfaceProtocol"),
    u8e(0, "iInterface"),
];

/// `usb_endpoint_descriptor_v01_ei`.
pub static USB_ENDPOINT_DESCRIPTOR_V01_EI: [ElemInfo; 8] = [
    u8e(0, "bLength"),
    u8e(0, "bDescriptorType"),
    u8e(0, "bEndpointAddress"),
    u8e(0, "bmAttributes"),
    u16e(0, "wMaxPacketSize"),
    u8e(0, "bInterval"),
    u8e(0, "bRefresh"),
    u8e(0, "bSynchAddress"),
];

/// `mem_info_v01_ei`.
pub static MEM_INFO_V01_EI: [ElemInfo; 3] = [
    ElemInfo::scalar(Unsigned8, 8, 0, "iova"),
    ElemInfo::scalar(Unsigned8, 8, 0, "dma"),
    u32e(0, "size"),
];

/// `apps_mem_info_v01_ei`.
pub static APPS_MEM_INFO_V01_EI: [ElemInfo; 5] = [
    ElemInfo::structure(0, &MEM_INFO_V01_EI, "evt_ring"),
    ElemInfo::structure(0, &MEM_INFO_V01_EI, "tr_data"),
    ElemInfo::structure(0, &MEM_INFO_V01_EI, "tr_sync"),
    ElemInfo::structure(0, &MEM_INFO_V01_EI, "xfer_buff"),
    ElemInfo::structure(0, &MEM_INFO_V01_EI, "dcba"),
];

/// `qmi_uaudio_stream_req_msg_v01_ei`.
pub static QMI_UAUDIO_STREAM_REQ_MSG_V01_EI: [ElemInfo; 12] = [
    u8e(0x01, "enable"),
    u32e(0x02, "usb_token"),
    opt(0x10, "audio_format_valid"),
    u32e(0x10, "audio_format"),
    opt(0x11, "number_of_ch_valid"),
    u32e(0x11, "number_of_ch"),
    opt(0x12, "bit_rate_valid"),
    u32e(0x12, "bit_rate"),
    opt(0x13, "xfer_buff_size_valid"),
    u32e(0x13, "xfer_buff_size"),
    opt(0x14, "service_interval_valid"),
    u32e(0x14, "service_interval"),
];

/// `qmi_uaudio_stream_resp_msg_v01_ei`.
pub static QMI_UAUDIO_STREAM_RESP_MSG_V01_EI: [ElemInfo; 29] = [
    ElemInfo::structure(0x02, &QMI_RESPONSE_TYPE_V01_EI, "resp"),
    opt(0x10, "status_valid"),
    e32(0x10, "status"),
    opt(0x11, "internal_status_valid"),
    u32e(0x11, "internal_status"),
    opt(0x12, "slot_id_valid"),
    u32e(0x12, "slot_id"),
    opt(0x13, "usb_token_valid"),
    u32e(0x13, "usb_token"),
    opt(0x14, "std_as_opr_intf_desc_valid"),
    ElemInfo::structure(
        0x14,
        &USB_INTERFACE_DESCRIPTOR_V01_EI,
        "std_as_opr_intf_desc",
    ),
    opt(0x15, "std_as_data_ep_desc_valid"),
    ElemInfo::structure(0x15, &USB_ENDPOINT_DESCRIPTOR_V01_EI, "std_as_data_ep_desc"),
    opt(0x16, "std_as_sync_ep_desc_valid"),
    ElemInfo::structure(0x16, &USB_ENDPOINT_DESCRIPTOR_V01_EI, "std_as_sync_ep_desc"),
    opt(0x17, "usb_audio_spec_revision_valid"),
    u16e(0x17, "usb_audio_spec_revision"),
    opt(0x18, "data_path_delay_valid"),
    u8e(0x18, "data_path_delay"),
    opt(0x19, "usb_audio_subslot_size_valid"),
    u8e(0x19, "usb_audio_subslot_size"),
    opt(0x1A, "xhci_mem_info_valid"),
    ElemInfo::structure(0x1A, &APPS_MEM_INFO_V01_EI, "xhci_mem_info"),
    opt(0x1B, "interrupter_num_valid"),
    u8e(0x1B, "interrupter_num"),
    opt(0x1C, "speed_info_valid"),
    e32(0x1C, "speed_info"),
    opt(0x1D, "controller_num_valid"),
    u8e(0x1D, "controller_num"),
];

/// `qmi_uaudio_stream_ind_msg_v01_ei`.
pub static QMI_UAUDIO_STREAM_IND_MSG_V01_EI: [ElemInfo; 22] = [
    e32(0x01, "dev_event"),
    u32e(0x02, "slot_id"),
    opt(0x10, "usb_token_valid"),
    u32e(0x10, "usb_token"),
    opt(0x11, "std_as_opr_intf_desc_valid"),
    ElemInfo::structure(
        0x11,
        &USB_INTERFACE_DESCRIPTOR_V01_EI,
        "std_as_opr_intf_desc",
    ),
    opt(0x12, "std_as_data_ep_desc_valid"),
    ElemInfo::structure(0x12, &USB_ENDPOINT_DESCRIPTOR_V01_EI, "std_as_data_ep_desc"),
    opt(0x13, "std_as_sync_ep_desc_valid"),
    ElemInfo::structure(0x13, &USB_ENDPOINT_DESCRIPTOR_V01_EI, "std_as_sync_ep_desc"),
    opt(0x14, "usb_audio_spec_revision_valid"),
    u16e(0x14, "usb_audio_spec_revision"),
    opt(0x15, "data_path_delay_valid"),
    u8e(0x15, "data_path_delay"),
    opt(0x16, "usb_audio_subslot_size_valid"),
    u8e(0x16, "usb_audio_subslot_size"),
    opt(0x17, "xhci_mem_info_valid"),
    ElemInfo::structure(0x17, &APPS_MEM_INFO_V01_EI, "xhci_mem_info"),
    opt(0x18, "interrupter_num_valid"),
    u8e(0x18, "interrupter_num"),
    opt(0x19, "controller_num_valid"),
    u8e(0x19, "controller_num"),
];

// ------------------------------------------------------------- conversion

fn sc(v: u64) -> Value {
    Value::Scalar(v)
}

fn get(v: &Value) -> u64 {
    match v {
        Value::Scalar(x) => *x,
        _ => 0,
    }
}

fn members(v: &Value) -> &[Value] {
    match v {
        Value::Struct(m) => m,
        _ => &[],
    }
}

fn member(v: &Value, i: usize) -> u64 {
    members(v).get(i).map(get).unwrap_or(0)
}

fn slot<T>(vals: &[Option<Value>], i: usize, f: impl Fn(&Value) -> T) -> Option<T> {
    vals.get(i).and_then(|v| v.as_ref()).map(f)
}

fn mand<T: Default>(vals: &[Option<Value>], i: usize, f: impl Fn(&Value) -> T) -> T {
    slot(vals, i, f).unwrap_or_default()
}

impl InterfaceDescriptor {
    fn to_value(self) -> Value {
        Value::Struct(
            [
                self.b_length,
                self.b_descriptor_type,
                self.b_interface_number,
                self.b_alternate_setting,
                self.b_num_endpoints,
                self.b_interface_class,
                self.b_interface_sub_class,
                self.b_interface_protocol,
                self.i_interface,
            ]
            .iter()
            .map(|&b| sc(b.into()))
            .collect(),
        )
    }
    fn from_value(v: &Value) -> Self {
        let m = |i| member(v, i) as u8;
        InterfaceDescriptor {
            b_length: m(0),
            b_descriptor_type: m(1),
            b_interface_number: m(2),
            b_alternate_setting: m(3),
            b_num_endpoints: m(4),
            b_interface_class: m(5),
            b_interface_sub_class: m(6),
            b_interface_protocol: m(7),
            i_interface: m(8),
        }
    }
}

impl EndpointDescriptor {
    fn to_value(self) -> Value {
        Value::Struct(vec![
            sc(self.b_length.into()),
            sc(self.b_descriptor_type.into()),
            sc(self.b_endpoint_address.into()),
            sc(self.bm_attributes.into()),
            sc(self.w_max_packet_size.into()),
            sc(self.b_interval.into()),
            sc(self.b_refresh.into()),
            sc(self.b_synch_address.into()),
        ])
    }
    fn from_value(v: &Value) -> Self {
        let m = |i| member(v, i) as u8;
        EndpointDescriptor {
            b_length: m(0),
            b_descriptor_type: m(1),
            b_endpoint_address: m(2),
            bm_attributes: m(3),
            w_max_packet_size: member(v, 4) as u16,
            b_interval: m(5),
            b_refresh: m(6),
            b_synch_address: m(7),
        }
    }
}

impl MemInfo {
    fn to_value(self) -> Value {
        Value::Struct(vec![sc(self.iova), sc(self.dma), sc(self.size.into())])
    }
    fn from_value(v: &Value) -> Self {
        MemInfo {
            iova: member(v, 0),
            dma: member(v, 1),
            size: member(v, 2) as u32,
        }
    }
}

impl AppsMemInfo {
    fn to_value(self) -> Value {
        Value::Struct(vec![
            self.evt_ring.to_value(),
            self.tr_data.to_value(),
            self.tr_sync.to_value(),
            self.xfer_buff.to_value(),
            self.dcba.to_value(),
        ])
    }
    fn from_value(v: &Value) -> Self {
        let m = members(v);
        let mi = |i: usize| m.get(i).map(MemInfo::from_value).unwrap_or_default();
        AppsMemInfo {
            evt_ring: mi(0),
            tr_data: mi(1),
            tr_sync: mi(2),
            xfer_buff: mi(3),
            dcba: mi(4),
        }
    }
}

fn i32v(x: i32) -> Value {
    sc(x as u32 as u64)
}

fn vi32(v: &Value) -> i32 {
    get(v) as u32 as i32
}

fn token(v: &Value) -> UsbToken {
    UsbToken::from_raw(get(v) as u32)
}

impl StreamReq {
    /// Field slots in table order, for [`crate::elem::encode_tlvs`].
    pub fn to_values(&self) -> Vec<Option<Value>> {
        vec![
            Some(sc(self.enable.into())),
            Some(sc(self.usb_token.raw().into())),
            self.audio_format.map(|f| sc(f.raw().into())),
            self.number_of_ch.map(|x| sc(x.into())),
            self.bit_rate.map(|x| sc(x.into())),
            self.xfer_buff_size.map(|x| sc(x.into())),
            self.service_interval.map(|x| sc(x.into())),
        ]
    }
    /// From decoded field slots (missing mandatory → zero, kernel-style).
    pub fn from_values(v: &[Option<Value>]) -> Self {
        StreamReq {
            enable: mand(v, 0, get) as u8,
            usb_token: mand(v, 1, token),
            audio_format: slot(v, 2, |x| AudioFormat::from_raw(get(x) as u32)),
            number_of_ch: slot(v, 3, |x| get(x) as u32),
            bit_rate: slot(v, 4, |x| get(x) as u32),
            xfer_buff_size: slot(v, 5, |x| get(x) as u32),
            service_interval: slot(v, 6, |x| get(x) as u32),
        }
    }
}

impl StreamResp {
    /// Field slots in table order.
    pub fn to_values(&self) -> Vec<Option<Value>> {
        vec![
            Some(Value::Struct(vec![
                sc(self.resp.result.into()),
                sc(self.resp.error.into()),
            ])),
            self.status.map(|s| i32v(s.raw())),
            self.internal_status.map(i32v),
            self.slot_id.map(|x| sc(x.into())),
            self.usb_token.map(|t| sc(t.raw().into())),
            self.std_as_opr_intf_desc.map(InterfaceDescriptor::to_value),
            self.std_as_data_ep_desc.map(EndpointDescriptor::to_value),
            self.std_as_sync_ep_desc.map(EndpointDescriptor::to_value),
            self.usb_audio_spec_revision.map(|x| sc(x.into())),
            self.data_path_delay.map(|x| sc(x.into())),
            self.usb_audio_subslot_size.map(|x| sc(x.into())),
            self.xhci_mem_info.map(AppsMemInfo::to_value),
            self.interrupter_num.map(|x| sc(x.into())),
            self.speed_info.map(|s| i32v(s.raw())),
            self.controller_num.map(|x| sc(x.into())),
        ]
    }
    /// From decoded field slots.
    pub fn from_values(v: &[Option<Value>]) -> Self {
        StreamResp {
            resp: mand(v, 0, |x| QmiResponse {
                result: member(x, 0) as u16,
                error: member(x, 1) as u16,
            }),
            status: slot(v, 1, |x| StreamStatus::from_raw(vi32(x))),
            internal_status: slot(v, 2, vi32),
            slot_id: slot(v, 3, |x| get(x) as u32),
            usb_token: slot(v, 4, token),
            std_as_opr_intf_desc: slot(v, 5, InterfaceDescriptor::from_value),
            std_as_data_ep_desc: slot(v, 6, EndpointDescriptor::from_value),
            std_as_sync_ep_desc: slot(v, 7, EndpointDescriptor::from_value),
            usb_audio_spec_revision: slot(v, 8, |x| get(x) as u16),
            data_path_delay: slot(v, 9, |x| get(x) as u8),
            usb_audio_subslot_size: slot(v, 10, |x| get(x) as u8),
            xhci_mem_info: slot(v, 11, AppsMemInfo::from_value),
            interrupter_num: slot(v, 12, |x| get(x) as u8),
            speed_info: slot(v, 13, |x| DeviceSpeed::from_raw(vi32(x))),
            controller_num: slot(v, 14, |x| get(x) as u8),
        }
    }
}

impl StreamInd {
    /// Field slots in table order.
    pub fn to_values(&self) -> Vec<Option<Value>> {
        vec![
            Some(i32v(self.dev_event.raw())),
            Some(sc(self.slot_id.into())),
            self.usb_token.map(|t| sc(t.raw().into())),
            self.std_as_opr_intf_desc.map(InterfaceDescriptor::to_value),
            self.std_as_data_ep_desc.map(EndpointDescriptor::to_value),
            self.std_as_sync_ep_desc.map(EndpointDescriptor::to_value),
            self.usb_audio_spec_revision.map(|x| sc(x.into())),
            self.data_path_delay.map(|x| sc(x.into())),
            self.usb_audio_subslot_size.map(|x| sc(x.into())),
            self.xhci_mem_info.map(AppsMemInfo::to_value),
            self.interrupter_num.map(|x| sc(x.into())),
            self.controller_num.map(|x| sc(x.into())),
        ]
    }
    /// From decoded field slots.
    pub fn from_values(v: &[Option<Value>]) -> Self {
        StreamInd {
            dev_event: mand(v, 0, |x| DeviceIndication::from_raw(vi32(x))),
            slot_id: mand(v, 1, |x| get(x) as u32),
            usb_token: slot(v, 2, token),
            std_as_opr_intf_desc: slot(v, 3, InterfaceDescriptor::from_value),
            std_as_data_ep_desc: slot(v, 4, EndpointDescriptor::from_value),
            std_as_sync_ep_desc: slot(v, 5, EndpointDescriptor::from_value),
            usb_audio_spec_revision: slot(v, 6, |x| get(x) as u16),
            data_path_delay: slot(v, 7, |x| get(x) as u8),
            usb_audio_subslot_size: slot(v, 8, |x| get(x) as u8),
            xhci_mem_info: slot(v, 9, AppsMemInfo::from_value),
            interrupter_num: slot(v, 10, |x| get(x) as u8),
            controller_num: slot(v, 11, |x| get(x) as u8),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::elem::{elem_wire_size, field_wire_size, fields, validate_table};

    fn max_len(t: &[ElemInfo]) -> usize {
        fields(t).map(|f| 3 + field_wire_size(f).unwrap()).sum()
    }

    #[test]
    fn tables_valid_and_max_lengths_match_spec() {
        for t in [
            &QMI_UAUDIO_STREAM_REQ_MSG_V01_EI[..],
            &QMI_UAUDIO_STREAM_RESP_MSG_V01_EI[..],
            &QMI_UAUDIO_STREAM_IND_MSG_V01_EI[..],
        ] {
            validate_table(t, true).unwrap();
        }
        assert_eq!(
            max_len(&QMI_UAUDIO_STREAM_REQ_MSG_V01_EI),
            QMI_UAUDIO_STREAM_REQ_MSG_V01_MAX_MSG_LEN
        );
        assert_eq!(
            max_len(&QMI_UAUDIO_STREAM_RESP_MSG_V01_EI),
            QMI_UAUDIO_STREAM_RESP_MSG_V01_MAX_MSG_LEN
        );
        assert_eq!(
            max_len(&QMI_UAUDIO_STREAM_IND_MSG_V01_EI),
            QMI_UAUDIO_STREAM_IND_MSG_V01_MAX_MSG_LEN
        );
        assert_eq!(UAUDIO_SERVICE_RECV_BUF_LEN, 53);
    }

    #[test]
    fn struct_wire_sizes() {
        let s = |t: &'static [ElemInfo]| elem_wire_size(&ElemInfo::structure(0, t, "x")).unwrap();
        assert_eq!(s(&QMI_RESPONSE_TYPE_V01_EI), 4);
        assert_eq!(s(&USB_INTERFACE_DESCRIPTOR_V01_EI), 9);
        assert_eq!(s(&USB_ENDPOINT_DESCRIPTOR_V01_EI), 9);
        assert_eq!(s(&MEM_INFO_V01_EI), 20);
        assert_eq!(s(&APPS_MEM_INFO_V01_EI), 100);
    }

    #[test]
    fn token_layout() {
        let t = UsbToken {
            card: 2,
            pcm: 1,
            direction: 1,
        };
        assert_eq!(t.raw(), 0x0002_0101);
        assert_eq!(
            UsbToken::from_raw(0xABCD_1203),
            UsbToken {
                card: 0xABCD,
                pcm: 0x12,
                direction: 3
            }
        );
        assert_eq!(UsbToken::from_raw(0xABCD_1203).raw(), 0xABCD_1203);
    }

    #[test]
    fn enums() {
        assert_eq!(AudioFormat::NAMES.len(), 18);
        assert_eq!(AudioFormat::from_raw(2), AudioFormat::S16Le);
        assert_eq!(AudioFormat::from_raw(18), AudioFormat::Unknown(18));
        assert_eq!(
            AudioFormat::from_name("s24_3le"),
            Some(AudioFormat::S24_3Le)
        );
        assert_eq!(AudioFormat::S24_3Le.raw(), 10);
        assert_eq!(DeviceSpeed::from_raw(5).to_string(), "SUPER_PLUS");
        assert_eq!(StreamStatus::from_raw(-3).to_string(), "-3");
        let j = serde_json::to_string(&AudioFormat::Unknown(99)).unwrap();
        assert_eq!(j, "99");
        assert_eq!(
            serde_json::from_str::<AudioFormat>("99").unwrap(),
            AudioFormat::Unknown(99)
        );
        assert_eq!(
            serde_json::from_str::<AudioFormat>("2").unwrap(),
            AudioFormat::S16Le
        );
        assert!(serde_json::from_str::<AudioFormat>("\"S17\"").is_err());
    }

    #[test]
    fn service_view_truncates() {
        let d = [0u8; 80];
        assert_eq!(service_view(&d).len(), 53);
        assert_eq!(service_view(&d[..10]).len(), 10);
    }
}
