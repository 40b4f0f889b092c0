//! QRTR control packets (`struct qrtr_ctrl_pkt`, include/uapi/linux/qrtr.h):
//! 20 bytes, five LE32 words. Only the name service (own node,
//! `QRTR_PORT_CTRL`) is trusted as a source of these (spec §5.4).

use crate::error::QrtrError;
use serde::{Deserialize, Serialize};

/// `AF_QIPCRTR`.
pub const AF_QIPCRTR: u16 = 42;
/// `QRTR_NODE_BCAST`.
pub const QRTR_NODE_BCAST: u32 = 0xffff_ffff;
/// `QRTR_PORT_CTRL`.
pub const QRTR_PORT_CTRL: u32 = 0xffff_fffe;
/// Size of `struct qrtr_ctrl_pkt`.
pub const QRTR_CTRL_PKT_LEN: usize = 20;

/// `enum qrtr_pkt_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[allow(missing_docs)]
pub enum QrtrCmd {
    Data = 1,
    Hello = 2,
    Bye = 3,
    NewServer = 4,
    DelServer = 5,
    DelClient = 6,
    ResumeTx = 7,
    Exit = 8,
    Ping = 9,
    NewLookup = 10,
    DelLookup = 11,
}

impl QrtrCmd {
    /// From the `cmd` word.
    pub fn from_u32(v: u32) -> Option<Self> {
        use QrtrCmd::*;
        Some(match v {
            1 => Data,
            2 => Hello,
            3 => Bye,
            4 => NewServer,
            5 => DelServer,
            6 => DelClient,
            7 => ResumeTx,
            8 => Exit,
            9 => Ping,
            10 => NewLookup,
            11 => DelLookup,
            _ => return None,
        })
    }
}

/// A raw control packet: `cmd` plus the four payload words, kept verbatim
/// so parse→build is exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct CtrlPkt {
    /// `cmd` (offset 0).
    pub cmd: u32,
    /// Offsets 4, 8, 12, 16: `server.{service,instance,node,port}` or
    /// `client.{node,port}` followed by zeros.
    pub words: [u32; 4],
}

/// What a control packet means to a QMI service handle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CtrlEvent {
    /// NEW_SERVER announcement.
    NewServer(ServerInfo),
    /// DEL_SERVER announcement.
    DelServer(ServerInfo),
    /// A remote node went away (`ops->bye`).
    Bye {
        /// Dead node.
        node: u32,
    },
    /// A port closed (`ops->del_client`).
    DelClient {
        /// Node of the closed port.
        node: u32,
        /// Closed port.
        port: u32,
    },
    /// NEW_LOOKUP / DEL_LOOKUP (service, instance).
    Lookup {
        /// true for NEW_LOOKUP.
        add: bool,
        /// Service id.
        service: u32,
        /// Instance word.
        instance: u32,
    },
    /// Any other command; the QMI library ignores these.
    Other(u32),
}

/// `server` member of the control packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct ServerInfo {
    /// Service id, e.g. 0x41D.
    pub service: u32,
    /// `version | (instance << 8)`.
    pub instance: u32,
    /// Node.
    pub node: u32,
    /// Port.
    pub port: u32,
}

/// Instance word used by `qmi_add_server`/`qmi_add_lookup`.
pub const fn instance_word(version: u32, instance: u32) -> u32 {
    version | (instance << 8)
}

impl CtrlPkt {
    /// Parse; trailing bytes after 20 are ignored like the QMI library does.
    pub fn parse(b: &[u8]) -> Result<Self, QrtrError> {
        if b.len() < QRTR_CTRL_PKT_LEN {
            return Err(QrtrError::ShortCtrlPacket { len: b.len() });
        }
        let w = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        Ok(CtrlPkt {
            cmd: w(0),
            words: [w(4), w(8), w(12), w(16)],
        })
    }

    /// The 20 wire bytes.
    pub fn to_bytes(&self) -> [u8; QRTR_CTRL_PKT_LEN] {
        let mut out = [0u8; QRTR_CTRL_PKT_LEN];
        out[..4].copy_from_slice(&self.cmd.to_le_bytes());
        for (i, w) in self.words.iter().enumerate() {
            out[4 + 4 * i..8 + 4 * i].copy_from_slice(&w.to_le_bytes());
        }
        out
    }

    /// NEW_SERVER for `s`.
    pub fn new_server(s: ServerInfo) -> Self {
        CtrlPkt {
            cmd: QrtrCmd::NewServer as u32,
            words: [s.service, s.instance, s.node, s.port],
        }
    }

    /// DEL_SERVER for `s`.
    pub fn del_server(s: ServerInfo) -> Self {
        CtrlPkt {
            cmd: QrtrCmd::DelServer as u32,
            ..Self::new_server(s)
        }
    }

    /// BYE as the name service fans it out: `client.node`, rest zero.
    pub fn bye(node: u32) -> Self {
        CtrlPkt {
            cmd: QrtrCmd::Bye as u32,
            words: [node, 0, 0, 0],
        }
    }

    /// DEL_CLIENT(node, port).
    pub fn del_client(node: u32, port: u32) -> Self {
        CtrlPkt {
            cmd: QrtrCmd::DelClient as u32,
            words: [node, port, 0, 0],
        }
    }

    /// The uaudio service registration (`qmi_add_server(h, 0x41D, 1, 0)`).
    pub fn uaudio_new_server(node: u32, port: u32) -> Self {
        Self::new_server(ServerInfo {
            service: crate::UAUDIO_STREAM_SERVICE_ID_V01,
            instance: instance_word(crate::UAUDIO_STREAM_SERVICE_VERS_V01, 0),
            node,
            port,
        })
    }

    /// Interpret the packet.
    pub fn event(&self) -> CtrlEvent {
        let [a, b, c, d] = self.words;
        let server = ServerInfo {
            service: a,
            instance: b,
            node: c,
            port: d,
        };
        match QrtrCmd::from_u32(self.cmd) {
            Some(QrtrCmd::NewServer) => CtrlEvent::NewServer(server),
            Some(QrtrCmd::DelServer) => CtrlEvent::DelServer(server),
            Some(QrtrCmd::Bye) => CtrlEvent::Bye { node: a },
            Some(QrtrCmd::DelClient) => CtrlEvent::DelClient { node: a, port: b },
            Some(QrtrCmd::NewLookup) | Some(QrtrCmd::DelLookup) => CtrlEvent::Lookup {
                add: self.cmd == QrtrCmd::NewLookup as u32,
                service: a,
                instance: b,
            },
            _ => CtrlEvent::Other(self.cmd),
        }
    }
}

/// Whether the QMI library treats a datagram from (`src_node`, `src_port`)
/// as a control packet: only from the local name service.
pub fn is_ctrl_source(own_node: u32, src_node: u32, src_port: u32) -> bool {
    src_node == own_node && src_port == QRTR_PORT_CTRL
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cmd_values() {
        for v in 1..=11 {
            assert_eq!(QrtrCmd::from_u32(v).unwrap() as u32, v);
        }
        assert_eq!(QrtrCmd::from_u32(0), None);
        assert_eq!(QrtrCmd::from_u32(12), None);
    }

    #[test]
    fn short_packet() {
        assert_eq!(
            CtrlPkt::parse(&[0; 19]),
            Err(QrtrError::ShortCtrlPacket { len: 19 })
        );
    }

    #[test]
    fn ctrl_source() {
        assert!(is_ctrl_source(1, 1, QRTR_PORT_CTRL));
        assert!(!is_ctrl_source(1, 5, QRTR_PORT_CTRL));
        assert!(!is_ctrl_source(1, 1, 0x4001));
    }

    #[test]
    fn other_cmd_roundtrip() {
        let p = CtrlPkt {
            cmd: 99,
            words: [1, 2, 3, 4],
        };
        assert_eq!(CtrlPkt::parse(&p.to_bytes()).unwrap(), p);
        assert_eq!(p.event(), CtrlEvent::Other(99));
    }
}
