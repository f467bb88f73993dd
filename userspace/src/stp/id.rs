//! Identifiers and the values RSTP compares: bridge and port identifiers
//! (802.1D-2004 9.2.5, 9.2.7), priority vectors (17.6) and the timer set a
//! BPDU carries (17.19.22).
//!
//! Everything here is plain data with a total order where the standard
//! compares: a lower [`PriorityVector`] is a better one, field by field, so
//! the derived `Ord` is exactly the standard's comparison.

use serde::{Deserialize, Serialize};
use std::{fmt, time::Duration};

/// Bridge priorities are multiples of this (the low 12 bits are the
/// system id extension, zero for a bridge without VLAN instances).
pub const BRIDGE_PRIORITY_STEP: u16 = 4096;
/// Port priorities are multiples of this (the low 4 bits of the top byte
/// belong to the port number).
pub const PORT_PRIORITY_STEP: u8 = 16;
/// Largest port number: 12 bits.
pub const MAX_PORT_NUMBER: u16 = 0x0fff;

/// An 8-octet bridge identifier: priority (with system id extension) then
/// the bridge MAC address. Ordered as the standard compares them.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct BridgeId(u64);

impl BridgeId {
    /// `priority` is the full 16-bit field (priority + system id extension).
    #[must_use]
    pub fn new(priority: u16, mac: [u8; 6]) -> Self {
        let mut bytes = [0; 8];
        bytes[..2].copy_from_slice(&priority.to_be_bytes());
        bytes[2..].copy_from_slice(&mac);
        BridgeId(u64::from_be_bytes(bytes))
    }

    #[must_use]
    pub fn from_bytes(bytes: [u8; 8]) -> Self {
        BridgeId(u64::from_be_bytes(bytes))
    }

    #[must_use]
    pub fn to_bytes(self) -> [u8; 8] {
        self.0.to_be_bytes()
    }

    #[must_use]
    pub fn priority(self) -> u16 {
        u16::from_be_bytes([self.to_bytes()[0], self.to_bytes()[1]])
    }

    #[must_use]
    pub fn mac(self) -> [u8; 6] {
        let b = self.to_bytes();
        [b[2], b[3], b[4], b[5], b[6], b[7]]
    }
}

/// `8000.020000000001`, as brctl and mstpctl print it.
impl fmt::Display for BridgeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04x}.", self.priority())?;
        self.mac().iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

/// A 2-octet port identifier: 4 bits of priority, 12 bits of port number.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct PortId(pub u16);

impl PortId {
    /// `priority` must be a multiple of 16 and `number` at most 4095 (the
    /// validated config guarantees both; excess bits are masked off).
    #[must_use]
    pub fn new(priority: u8, number: u16) -> Self {
        PortId((u16::from(priority & 0xf0) << 8) | (number & MAX_PORT_NUMBER))
    }

    #[must_use]
    pub fn priority(self) -> u8 {
        self.0.to_be_bytes()[0] & 0xf0
    }

    #[must_use]
    pub fn number(self) -> u16 {
        self.0 & MAX_PORT_NUMBER
    }
}

/// `8.001` (priority/16, port number), as mstpctl prints it.
impl fmt::Display for PortId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:x}.{:03x}", self.priority() >> 4, self.number())
    }
}

/// A priority vector (17.6): {root, root path cost, designated bridge,
/// designated port, receiving/transmitting port}. Lower is better.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct PriorityVector {
    pub root: BridgeId,
    pub root_path_cost: u32,
    pub designated_bridge: BridgeId,
    pub designated_port: PortId,
    pub bridge_port: PortId,
}

impl PriorityVector {
    /// Whether both were sent by the same designated port (bridge address
    /// and port number): 17.6's second clause of "superior".
    #[must_use]
    pub fn same_sender(&self, other: &PriorityVector) -> bool {
        self.designated_bridge.mac() == other.designated_bridge.mac()
            && self.designated_port.number() == other.designated_port.number()
    }
}

/// The timer values carried in BPDUs and recorded with port information.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Times {
    pub message_age: Duration,
    pub max_age: Duration,
    pub hello_time: Duration,
    pub forward_delay: Duration,
}
