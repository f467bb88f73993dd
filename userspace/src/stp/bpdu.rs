//! BPDUs on the wire (802.1D-2004 clause 9): Configuration, Topology Change
//! Notification and RST BPDUs, inside their LLC header.
//!
//! [`Bpdu::decode`] takes the LLC PDU (what follows the 802.3 length field
//! of a frame to [`BRIDGE_GROUP_ADDRESS`]) and applies the validation of
//! 9.3.4, returning a typed [`DecodeError`] for anything to drop;
//! [`Bpdu::encode`] is the inverse. Layout after `42 42 03`:
//!
//! ```text
//! octet  1-2  protocol identifier (0)     | TCN ends here (4 octets)
//!        3    protocol version (0 STP, 2 RSTP)
//!        4    type (0x00 Config, 0x80 TCN, 0x02 RST)
//!        5    flags                       | bit 0 TC, 1 proposal, 2-3 role,
//!        6-13 root identifier             | 4 learning, 5 forwarding,
//!        14-17 root path cost             | 6 agreement, 7 TC ack (Config)
//!        18-25 bridge identifier
//!        26-27 port identifier
//!        28-35 message age, max age, hello time, forward delay (1/256 s)
//!        36   version 1 length (0; RST only)
//! ```

use std::time::Duration;

use super::id::{BridgeId, PortId, Times};

/// Destination MAC of every BPDU.
pub const BRIDGE_GROUP_ADDRESS: [u8; 6] = [0x01, 0x80, 0xc2, 0x00, 0x00, 0x00];
/// DSAP, SSAP (the spanning tree protocol LSAP) and UI control.
pub const LLC_HEADER: [u8; 3] = [0x42, 0x42, 0x03];
pub const TYPE_CONFIG: u8 = 0x00;
pub const TYPE_TCN: u8 = 0x80;
pub const TYPE_RST: u8 = 0x02;
pub const VERSION_STP: u8 = 0;
pub const VERSION_RSTP: u8 = 2;
/// BPDU lengths without the LLC header (9.3.4).
pub const CONFIG_LEN: usize = 35;
pub const TCN_LEN: usize = 4;
pub const RST_LEN: usize = 36;

const NANOS_PER_SECOND: u64 = 1_000_000_000;

/// The flags octet. Config BPDUs use only TC and TC ack.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Flags(pub u8);

impl Flags {
    pub const TC: u8 = 0x01;
    pub const PROPOSAL: u8 = 0x02;
    pub const LEARNING: u8 = 0x10;
    pub const FORWARDING: u8 = 0x20;
    pub const AGREEMENT: u8 = 0x40;
    pub const TC_ACK: u8 = 0x80;
    const ROLE_SHIFT: u8 = 2;
    const ROLE_MASK: u8 = 0x0c;

    #[must_use]
    pub fn has(self, bit: u8) -> bool {
        self.0 & bit != 0
    }

    #[must_use]
    pub fn with(self, bit: u8, on: bool) -> Self {
        if on {
            Flags(self.0 | bit)
        } else {
            Flags(self.0 & !bit)
        }
    }

    #[must_use]
    pub fn role(self) -> BpduRole {
        match (self.0 & Self::ROLE_MASK) >> Self::ROLE_SHIFT {
            1 => BpduRole::AlternateOrBackup,
            2 => BpduRole::Root,
            3 => BpduRole::Designated,
            _ => BpduRole::Unknown,
        }
    }

    #[must_use]
    pub fn with_role(self, role: BpduRole) -> Self {
        let bits: u8 = match role {
            BpduRole::Unknown => 0,
            BpduRole::AlternateOrBackup => 1,
            BpduRole::Root => 2,
            BpduRole::Designated => 3,
        };
        Flags((self.0 & !Self::ROLE_MASK) | (bits << Self::ROLE_SHIFT))
    }
}

/// The port role an RST BPDU announces (flags bits 2-3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BpduRole {
    Unknown,
    AlternateOrBackup,
    Root,
    Designated,
}

/// The body shared by Configuration and RST BPDUs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BpduInfo {
    pub flags: Flags,
    pub root: BridgeId,
    pub root_path_cost: u32,
    /// The transmitting bridge.
    pub bridge: BridgeId,
    /// The transmitting port.
    pub port: PortId,
    pub times: Times,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Bpdu {
    /// 802.1D (1998) Configuration BPDU.
    Config(BpduInfo),
    /// Topology Change Notification (STP only).
    Tcn,
    /// Rapid spanning tree BPDU (version 2; higher versions decode as this).
    Rst(BpduInfo),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("truncated {what}: needs {needed} octets, got {got}")]
    Truncated { what: &'static str, needed: usize, got: usize },
    #[error("LLC header {0:02x?} is not 42 42 03")]
    NotStpLlc([u8; 3]),
    #[error("protocol identifier {0:#06x}, expected 0")]
    ProtocolId(u16),
    #[error("unknown BPDU type {0:#04x}")]
    UnknownType(u8),
    #[error("RST BPDU type with protocol version {0} (needs 2 or more)")]
    BadVersion(u8),
    #[error("RST BPDU version 1 length {0}, expected 0")]
    Version1Length(u8),
    #[error("message age {message_age:?} is not below max age {max_age:?}")]
    MessageAgeExceedsMaxAge { message_age: Duration, max_age: Duration },
}

fn truncated(what: &'static str, needed: usize, got: usize) -> DecodeError {
    DecodeError::Truncated { what, needed, got }
}

/// Seconds in units of 1/256 s, saturating.
#[must_use]
pub fn time_to_wire(time: Duration) -> u16 {
    let units = time.as_nanos() * 256 / u128::from(NANOS_PER_SECOND);
    u16::try_from(units).unwrap_or(u16::MAX)
}

#[must_use]
pub fn time_from_wire(units: u16) -> Duration {
    // 1/256 s is exactly 3 906 250 ns, so this round-trips.
    Duration::from_nanos(u64::from(units) * NANOS_PER_SECOND / 256)
}

impl Bpdu {
    /// The LLC PDU: header, then the BPDU.
    #[must_use]
    pub fn encode(&self) -> Vec<u8> {
        let mut out = LLC_HEADER.to_vec();
        out.extend_from_slice(&[0, 0]);
        match self {
            Bpdu::Tcn => out.extend_from_slice(&[VERSION_STP, TYPE_TCN]),
            Bpdu::Config(info) => {
                out.extend_from_slice(&[VERSION_STP, TYPE_CONFIG]);
                encode_info(&mut out, info);
            }
            Bpdu::Rst(info) => {
                out.extend_from_slice(&[VERSION_RSTP, TYPE_RST]);
                encode_info(&mut out, info);
                out.push(0);
            }
        }
        out
    }

    /// Decodes and validates an LLC PDU (9.3.4).
    pub fn decode(pdu: &[u8]) -> Result<Bpdu, DecodeError> {
        let Some((llc, bpdu)) = pdu.split_first_chunk::<3>() else {
            return Err(truncated("LLC header", LLC_HEADER.len(), pdu.len()));
        };
        if *llc != LLC_HEADER {
            return Err(DecodeError::NotStpLlc(*llc));
        }
        if bpdu.len() < TCN_LEN {
            return Err(truncated("BPDU header", TCN_LEN, bpdu.len()));
        }
        let protocol = u16::from_be_bytes([bpdu[0], bpdu[1]]);
        if protocol != 0 {
            return Err(DecodeError::ProtocolId(protocol));
        }
        let (version, kind) = (bpdu[2], bpdu[3]);
        match kind {
            TYPE_TCN => Ok(Bpdu::Tcn),
            TYPE_CONFIG => {
                if bpdu.len() < CONFIG_LEN {
                    return Err(truncated("Configuration BPDU", CONFIG_LEN, bpdu.len()));
                }
                let info = decode_info(bpdu);
                if info.times.message_age >= info.times.max_age {
                    return Err(DecodeError::MessageAgeExceedsMaxAge {
                        message_age: info.times.message_age,
                        max_age: info.times.max_age,
                    });
                }
                Ok(Bpdu::Config(info))
            }
            TYPE_RST => {
                if version < VERSION_RSTP {
                    return Err(DecodeError::BadVersion(version));
                }
                if bpdu.len() < RST_LEN {
                    return Err(truncated("RST BPDU", RST_LEN, bpdu.len()));
                }
                if bpdu[35] != 0 {
                    return Err(DecodeError::Version1Length(bpdu[35]));
                }
                Ok(Bpdu::Rst(decode_info(bpdu)))
            }
            other => Err(DecodeError::UnknownType(other)),
        }
    }

    /// The body, unless this is a TCN.
    #[must_use]
    pub fn info(&self) -> Option<&BpduInfo> {
        match self {
            Bpdu::Config(info) | Bpdu::Rst(info) => Some(info),
            Bpdu::Tcn => None,
        }
    }
}

fn encode_info(out: &mut Vec<u8>, info: &BpduInfo) {
    out.push(info.flags.0);
    out.extend_from_slice(&info.root.to_bytes());
    out.extend_from_slice(&info.root_path_cost.to_be_bytes());
    out.extend_from_slice(&info.bridge.to_bytes());
    out.extend_from_slice(&info.port.0.to_be_bytes());
    for time in [
        info.times.message_age,
        info.times.max_age,
        info.times.hello_time,
        info.times.forward_delay,
    ] {
        out.extend_from_slice(&time_to_wire(time).to_be_bytes());
    }
}

/// `bpdu` holds at least [`CONFIG_LEN`] octets.
fn decode_info(bpdu: &[u8]) -> BpduInfo {
    let u16_at = |at: usize| u16::from_be_bytes([bpdu[at], bpdu[at + 1]]);
    let id_at = |at: usize| {
        let mut bytes = [0; 8];
        bytes.copy_from_slice(&bpdu[at..at + 8]);
        BridgeId::from_bytes(bytes)
    };
    BpduInfo {
        flags: Flags(bpdu[4]),
        root: id_at(5),
        root_path_cost: u32::from_be_bytes([bpdu[13], bpdu[14], bpdu[15], bpdu[16]]),
        bridge: id_at(17),
        port: PortId(u16_at(25)),
        times: Times {
            message_age: time_from_wire(u16_at(27)),
            max_age: time_from_wire(u16_at(29)),
            hello_time: time_from_wire(u16_at(31)),
            forward_delay: time_from_wire(u16_at(33)),
        },
    }
}
