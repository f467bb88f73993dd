//! VRRP advertisements on the wire, IPv4 only.
//!
//! [`Advertisement::decode`] takes the IP payload (the VRRP message) together
//! with the fields of the IP header VRRP validates ([`IpMeta`]: source,
//! destination, TTL) and returns a typed [`Advertisement`] or a
//! [`DecodeError`] naming why the packet must be dropped.
//! [`Advertisement::encode`] is the inverse; the caller puts the bytes in an
//! IPv4 packet with protocol 112, TTL 255, to [`VRRP_MULTICAST_V4`].
//!
//! Version 3 (RFC 5798 §5.1):
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! |Version| Type  | Virtual Rtr ID|   Priority    |Count IPvX Addr|
//! |(rsvd) |     Max Adver Int     |          Checksum             |
//! |                       IPv4 Address(es)                        |
//! ```
//!
//! Max Adver Int is in centiseconds; the checksum covers the IPv4
//! pseudo-header and the message.
//!
//! Version 2 (RFC 3768 §5.1):
//!
//! ```text
//! |Version| Type  | Virtual Rtr ID|   Priority    | Count IP Addrs|
//! |   Auth Type   |   Adver Int   |          Checksum             |
//! |                       IPv4 Address(es)                        |
//! |                     Authentication Data (1)                   |
//! |                     Authentication Data (2)                   |
//! ```
//!
//! Adver Int is in whole seconds; the checksum covers the message only.

use std::{net::Ipv4Addr, time::Duration};

use halb_common::checksum::InternetSum;

/// IP protocol number of VRRP.
pub const IP_PROTO_VRRP: u8 = 112;
/// Destination of multicast adverts (RFC 5798 §5.1.1.2).
pub const VRRP_MULTICAST_V4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
/// Adverts are sent with, and must be received with, this TTL.
pub const VRRP_TTL: u8 = 255;
/// The only VRRP packet type.
pub const TYPE_ADVERTISEMENT: u8 = 1;
/// Fixed header length, both versions.
pub const HEADER_LEN: usize = 8;
/// Version 2 trailing authentication data.
pub const AUTH_DATA_LEN: usize = 8;
/// Largest v3 Max Adver Int: 12 bits of centiseconds.
pub const MAX_V3_INTERVAL_CS: u16 = 0x0fff;
/// Largest v2 Adver Int: 8 bits of seconds.
pub const MAX_V2_INTERVAL_S: u8 = u8::MAX;

const CENTISECOND: Duration = Duration::from_millis(10);

/// Protocol version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Version {
    /// RFC 3768: intervals in whole seconds, no pseudo-header in the checksum.
    V2,
    /// RFC 5798: intervals in centiseconds, pseudo-header checksum.
    V3,
}

impl Version {
    #[must_use]
    pub const fn number(self) -> u8 {
        match self {
            Version::V2 => 2,
            Version::V3 => 3,
        }
    }
}

/// Version 2 authentication. RFC 3768 keeps only type 0; keepalived still
/// sends type 1 (`auth_type PASS`), so decode accepts and records it. It is
/// not security: the password travels in clear.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Auth {
    /// Type 0 (and every version 3 advert).
    None,
    /// Type 1, "simple text password", eight bytes, zero padded.
    SimpleText([u8; AUTH_DATA_LEN]),
}

impl Auth {
    const fn type_code(self) -> u8 {
        match self {
            Auth::None => 0,
            Auth::SimpleText(_) => 1,
        }
    }
}

/// One decoded VRRP advertisement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Advertisement {
    pub version: Version,
    pub vrid: u8,
    /// 0 = master is resigning, 255 = address owner.
    pub priority: u8,
    /// v3: Max Adver Int (centisecond resolution); v2: Adver Int (seconds).
    pub interval: Duration,
    pub addresses: Vec<Ipv4Addr>,
    /// Always [`Auth::None`] for version 3.
    pub auth: Auth,
}

/// The IP header fields VRRP checks on receipt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpMeta {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub ttl: u8,
}

/// Why a received packet is not a valid advertisement (RFC 5798 §7.1).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("truncated: {len} bytes, need at least {needed}")]
    Truncated { len: usize, needed: usize },
    #[error("bad version {0} (want 2 or 3)")]
    BadVersion(u8),
    #[error("bad type {0} (want 1, advertisement)")]
    BadType(u8),
    #[error("bad TTL {0} (want 255: sender not on this link)")]
    BadTtl(u8),
    #[error("bad checksum: packet has {found:#06x}, computed {computed:#06x}")]
    BadChecksum { found: u16, computed: u16 },
    #[error("address count {count} does not match length {len} (want {expected})")]
    AddressCountMismatch { count: u8, len: usize, expected: usize },
    #[error("no addresses (count is 0)")]
    NoAddresses,
    #[error("virtual router id 0")]
    ZeroVrid,
    #[error("advertisement interval is zero")]
    IntervalZero,
    #[error("unsupported authentication type {0}")]
    UnsupportedAuth(u8),
}

/// Why an [`Advertisement`] cannot be put on the wire.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    #[error("no addresses")]
    NoAddresses,
    #[error("{0} addresses, at most 255 fit the count field")]
    TooManyAddresses(usize),
    #[error("interval {interval:?} not representable in VRRP{version:?}")]
    Interval { version: Version, interval: Duration },
    #[error("version 3 has no authentication")]
    AuthInV3,
}

impl Advertisement {
    /// Wire length of this advert.
    #[must_use]
    pub fn wire_len(&self) -> usize {
        wire_len(self.version, self.addresses.len())
    }

    /// Encodes the advert as sent from `src` to `dst` (normally
    /// [`VRRP_MULTICAST_V4`]; both enter the v3 checksum).
    pub fn encode(&self, src: Ipv4Addr, dst: Ipv4Addr) -> Result<Vec<u8>, EncodeError> {
        if self.addresses.is_empty() {
            return Err(EncodeError::NoAddresses);
        }
        let count = u8::try_from(self.addresses.len())
            .map_err(|_| EncodeError::TooManyAddresses(self.addresses.len()))?;
        let interval = interval_to_wire(self.version, self.interval)?;
        let mut out = Vec::with_capacity(self.wire_len());
        out.push((self.version.number() << 4) | TYPE_ADVERTISEMENT);
        out.push(self.vrid);
        out.push(self.priority);
        out.push(count);
        match self.version {
            Version::V3 => {
                if self.auth != Auth::None {
                    return Err(EncodeError::AuthInV3);
                }
                // Reserved high nibble is zero: interval_to_wire kept it to 12 bits.
                out.extend_from_slice(&interval.to_be_bytes());
            }
            Version::V2 => {
                out.push(self.auth.type_code());
                out.push(u8::try_from(interval).unwrap_or(u8::MAX));
            }
        }
        out.extend_from_slice(&[0, 0]);
        for address in &self.addresses {
            out.extend_from_slice(&address.octets());
        }
        if self.version == Version::V2 {
            match self.auth {
                Auth::None => out.extend_from_slice(&[0; AUTH_DATA_LEN]),
                Auth::SimpleText(data) => out.extend_from_slice(&data),
            }
        }
        let checksum = vrrp_checksum(&out, pseudo_header(self.version, src, dst));
        out[6..8].copy_from_slice(&checksum.to_be_bytes());
        Ok(out)
    }

    /// Decodes and validates the VRRP message `payload` received in an IP
    /// packet described by `ip`.
    pub fn decode(payload: &[u8], ip: &IpMeta) -> Result<Self, DecodeError> {
        if ip.ttl != VRRP_TTL {
            return Err(DecodeError::BadTtl(ip.ttl));
        }
        let Some(header) = payload.first_chunk::<HEADER_LEN>() else {
            return Err(DecodeError::Truncated { len: payload.len(), needed: HEADER_LEN });
        };
        let version = match header[0] >> 4 {
            2 => Version::V2,
            3 => Version::V3,
            other => return Err(DecodeError::BadVersion(other)),
        };
        if header[0] & 0x0f != TYPE_ADVERTISEMENT {
            return Err(DecodeError::BadType(header[0] & 0x0f));
        }
        let [_, vrid, priority, count, b4, b5, c0, c1] = *header;
        let expected = wire_len(version, usize::from(count));
        if payload.len() != expected {
            return Err(DecodeError::AddressCountMismatch { count, len: payload.len(), expected });
        }
        if vrrp_checksum(payload, pseudo_header(version, ip.src, ip.dst)) != 0 {
            let mut zeroed = payload.to_vec();
            zeroed[6..8].fill(0);
            let computed = vrrp_checksum(&zeroed, pseudo_header(version, ip.src, ip.dst));
            return Err(DecodeError::BadChecksum { found: u16::from_be_bytes([c0, c1]), computed });
        }
        if vrid == 0 {
            return Err(DecodeError::ZeroVrid);
        }
        if count == 0 {
            return Err(DecodeError::NoAddresses);
        }
        let (interval, auth) = match version {
            // The top four bits are reserved: ignored on receipt (RFC 5798 §5.2.6).
            Version::V3 => {
                let cs = u16::from_be_bytes([b4, b5]) & MAX_V3_INTERVAL_CS;
                (CENTISECOND * u32::from(cs), Auth::None)
            }
            Version::V2 => {
                let data = payload[expected - AUTH_DATA_LEN..]
                    .first_chunk::<AUTH_DATA_LEN>()
                    .copied()
                    .unwrap_or_default();
                let auth = match b4 {
                    0 => Auth::None,
                    1 => Auth::SimpleText(data),
                    other => return Err(DecodeError::UnsupportedAuth(other)),
                };
                (Duration::from_secs(u64::from(b5)), auth)
            }
        };
        if interval.is_zero() {
            return Err(DecodeError::IntervalZero);
        }
        let addresses = payload[HEADER_LEN..HEADER_LEN + 4 * usize::from(count)]
            .chunks_exact(4)
            .map(|octets| Ipv4Addr::new(octets[0], octets[1], octets[2], octets[3]))
            .collect();
        Ok(Advertisement { version, vrid, priority, interval, addresses, auth })
    }
}

fn wire_len(version: Version, count: usize) -> usize {
    let auth = match version {
        Version::V2 => AUTH_DATA_LEN,
        Version::V3 => 0,
    };
    HEADER_LEN + 4 * count + auth
}

fn pseudo_header(version: Version, src: Ipv4Addr, dst: Ipv4Addr) -> Option<(Ipv4Addr, Ipv4Addr)> {
    (version == Version::V3).then_some((src, dst))
}

/// The Internet checksum of `message` as it is (checksum field included),
/// over the IPv4 pseudo-header too when given (version 3): the value for a
/// zeroed checksum field, or zero when verifying an intact message.
pub(crate) fn vrrp_checksum(message: &[u8], pseudo: Option<(Ipv4Addr, Ipv4Addr)>) -> u16 {
    let mut sum = InternetSum::new();
    if let Some((src, dst)) = pseudo {
        let length = u16::try_from(message.len()).unwrap_or(u16::MAX);
        sum = sum.add_ipv4_pseudo_header(src.octets(), dst.octets(), IP_PROTO_VRRP, length);
    }
    sum.add_bytes(message).checksum()
}

/// The interval field value: centiseconds (v3, 1..=4095) or seconds (v2,
/// 1..=255); anything finer than the unit or out of range is an error.
pub(crate) fn interval_to_wire(version: Version, interval: Duration) -> Result<u16, EncodeError> {
    let bad = || EncodeError::Interval { version, interval };
    let (unit, max) = match version {
        Version::V3 => (CENTISECOND, u128::from(MAX_V3_INTERVAL_CS)),
        Version::V2 => (Duration::from_secs(1), u128::from(MAX_V2_INTERVAL_S)),
    };
    let nanos = interval.as_nanos();
    let units = nanos / unit.as_nanos();
    if !nanos.is_multiple_of(unit.as_nanos()) || units == 0 || units > max {
        return Err(bad());
    }
    u16::try_from(units).map_err(|_| bad())
}
