//! Wire format: hand-built fixtures from the RFC layouts, roundtrips and one
//! test per decode error.

use std::{net::Ipv4Addr, time::Duration};

use super::{ms, BAL1, VIP};
use crate::vrrp::{
    packet::{vrrp_checksum, VRRP_MULTICAST_V4, VRRP_TTL},
    Advertisement, Auth, DecodeError, EncodeError, IpMeta, Version,
};

const META: IpMeta = IpMeta { src: BAL1, dst: VRRP_MULTICAST_V4, ttl: VRRP_TTL };

/// keepalived's advert in the lab: `VRRPv2`, vrid 12, priority 150, one
/// address 172.16.1.254, `advert_int` 1, auth type 0.
///
/// Checksum by hand, over the message only (RFC 3768 §5.3.8), with the
/// checksum field as zero, 16-bit words:
///
/// ```text
///   0x210c (version 2, type 1, vrid 12)
/// + 0x9601 (priority 150, count 1)       = 0xb70d
/// + 0x0001 (auth type 0, adver int 1)    = 0xb70e
/// + 0xac10 (172.16)                      = 0x1631e -> fold 0x631f
/// + 0x01fe (1.254)                       = 0x651d
/// + 4 x 0x0000 (auth data)               = 0x651d
/// ones' complement: !0x651d = 0x9ae2.
/// ```
const KEEPALIVED_V2: [u8; 20] = [
    0x21, 0x0c, 0x96, 0x01, // version 2 | type 1, vrid 12, prio 150, count 1
    0x00, 0x01, 0x9a, 0xe2, // auth type 0, adver int 1 s, checksum
    0xac, 0x10, 0x01, 0xfe, // 172.16.1.254
    0, 0, 0, 0, 0, 0, 0, 0, // authentication data
];

/// The same advert as `VRRPv3` from 172.16.1.250, Max Adver Int 100 cs.
///
/// Checksum by hand over the pseudo-header (RFC 5798 §5.2.8) and message:
///
/// ```text
///   0xac10 + 0x01fa (src 172.16.1.250)     = 0xae0a
/// + 0xe000 + 0x0012 (dst 224.0.0.18)       = 0x18e0a -> 0x8e0b, 0x8e1d
/// + 0x0070 (zero, protocol 112)            = 0x8e8d
/// + 0x000c (VRRP length 12)                = 0x8e99
/// + 0x310c (version 3, type 1, vrid 12)    = 0xbfa5
/// + 0x9601 (priority 150, count 1)         = 0x155a6 -> 0x55a7
/// + 0x0064 (rsvd 0, 100 cs)                = 0x560b
/// + 0xac10 + 0x01fe (172.16.1.254)         = 0x1021b -> 0x021c, 0x041a
/// ones' complement: !0x041a = 0xfbe5.
/// ```
const LAB_V3: [u8; 12] = [
    0x31, 0x0c, 0x96, 0x01, // version 3 | type 1, vrid 12, prio 150, count 1
    0x00, 0x64, 0xfb, 0xe5, // rsvd + 100 cs, checksum
    0xac, 0x10, 0x01, 0xfe, // 172.16.1.254
];

fn lab_advert(version: Version) -> Advertisement {
    Advertisement {
        version,
        vrid: 12,
        priority: 150,
        interval: Duration::from_secs(1),
        addresses: vec![VIP],
        auth: Auth::None,
    }
}

/// Rewrites the checksum of a hand-edited v2 message so that a later check
/// is the one that fails.
fn with_v2_checksum(mut bytes: Vec<u8>) -> Vec<u8> {
    bytes[6..8].fill(0);
    let checksum = vrrp_checksum(&bytes, None);
    bytes[6..8].copy_from_slice(&checksum.to_be_bytes());
    bytes
}

fn with_v3_checksum(mut bytes: Vec<u8>) -> Vec<u8> {
    bytes[6..8].fill(0);
    let checksum = vrrp_checksum(&bytes, Some((META.src, META.dst)));
    bytes[6..8].copy_from_slice(&checksum.to_be_bytes());
    bytes
}

#[test]
fn keepalived_v2_fixture_decodes() {
    let advert = Advertisement::decode(&KEEPALIVED_V2, &META).unwrap();
    assert_eq!(advert, lab_advert(Version::V2));
}

#[test]
fn keepalived_v2_fixture_encodes_byte_exact() {
    assert_eq!(lab_advert(Version::V2).encode(BAL1, VRRP_MULTICAST_V4).unwrap(), KEEPALIVED_V2);
}

#[test]
fn v2_checksum_does_not_cover_ip_addresses() {
    let meta = IpMeta { src: Ipv4Addr::new(10, 9, 8, 7), dst: Ipv4Addr::new(10, 0, 0, 1), ..META };
    assert!(Advertisement::decode(&KEEPALIVED_V2, &meta).is_ok());
}

#[test]
fn v3_fixture_decodes_and_encodes_byte_exact() {
    assert_eq!(Advertisement::decode(&LAB_V3, &META).unwrap(), lab_advert(Version::V3));
    assert_eq!(lab_advert(Version::V3).encode(BAL1, VRRP_MULTICAST_V4).unwrap(), LAB_V3);
}

#[test]
fn v3_checksum_covers_pseudo_header() {
    let other_src = IpMeta { src: Ipv4Addr::new(172, 16, 1, 251), ..META };
    assert_eq!(
        Advertisement::decode(&LAB_V3, &other_src),
        Err(DecodeError::BadChecksum { found: 0xfbe5, computed: 0xfbe4 })
    );
    // Unicast peers (keepalived `unicast_peer`): the destination is in the sum.
    let unicast = IpMeta { dst: Ipv4Addr::new(172, 16, 1, 251), ..META };
    assert!(matches!(
        Advertisement::decode(&LAB_V3, &unicast),
        Err(DecodeError::BadChecksum { .. })
    ));
    let bytes = lab_advert(Version::V3).encode(BAL1, unicast.dst).unwrap();
    assert!(Advertisement::decode(&bytes, &unicast).is_ok());
}

#[test]
fn v3_reserved_bits_are_ignored() {
    let mut bytes = LAB_V3.to_vec();
    bytes[4] |= 0xf0;
    let advert = Advertisement::decode(&with_v3_checksum(bytes), &META).unwrap();
    assert_eq!(advert.interval, Duration::from_secs(1));
}

#[test]
fn v2_simple_text_auth_is_recorded() {
    let advert =
        Advertisement { auth: Auth::SimpleText(*b"secret\0\0"), ..lab_advert(Version::V2) };
    let bytes = advert.encode(BAL1, VRRP_MULTICAST_V4).unwrap();
    assert_eq!(bytes[4], 1, "auth type field");
    assert_eq!(&bytes[12..], b"secret\0\0");
    assert_eq!(Advertisement::decode(&bytes, &META).unwrap(), advert);
}

#[test]
fn roundtrips() {
    let many: Vec<Ipv4Addr> = (1..=20).map(|i| Ipv4Addr::new(10, 0, 0, i)).collect();
    let cases = [
        Advertisement { priority: 0, ..lab_advert(Version::V3) },
        Advertisement { priority: 255, interval: ms(10), ..lab_advert(Version::V3) },
        Advertisement { interval: ms(40_950), addresses: many.clone(), ..lab_advert(Version::V3) },
        Advertisement { vrid: 255, interval: Duration::from_secs(255), ..lab_advert(Version::V2) },
        Advertisement { addresses: many, ..lab_advert(Version::V2) },
    ];
    for advert in cases {
        let bytes = advert.encode(BAL1, VRRP_MULTICAST_V4).unwrap();
        assert_eq!(bytes.len(), advert.wire_len());
        assert_eq!(Advertisement::decode(&bytes, &META).unwrap(), advert);
    }
}

#[test]
fn encode_rejects_what_the_wire_cannot_carry() {
    let v3 = lab_advert(Version::V3);
    let v2 = lab_advert(Version::V2);
    let encode = |advert: Advertisement| advert.encode(BAL1, VRRP_MULTICAST_V4);
    for interval in [ms(15), ms(0), ms(40_960)] {
        assert_eq!(
            encode(Advertisement { interval, ..v3.clone() }),
            Err(EncodeError::Interval { version: Version::V3, interval })
        );
    }
    for interval in [ms(1_500), ms(0), Duration::from_secs(256)] {
        assert_eq!(
            encode(Advertisement { interval, ..v2.clone() }),
            Err(EncodeError::Interval { version: Version::V2, interval })
        );
    }
    assert_eq!(
        encode(Advertisement { addresses: vec![], ..v3.clone() }),
        Err(EncodeError::NoAddresses)
    );
    assert_eq!(
        encode(Advertisement { addresses: vec![VIP; 256], ..v3.clone() }),
        Err(EncodeError::TooManyAddresses(256))
    );
    assert_eq!(
        encode(Advertisement { auth: Auth::SimpleText([0; 8]), ..v3 }),
        Err(EncodeError::AuthInV3)
    );
}

#[test]
fn decode_errors() {
    let decode = |bytes: &[u8]| Advertisement::decode(bytes, &META);
    assert_eq!(
        Advertisement::decode(&KEEPALIVED_V2, &IpMeta { ttl: 64, ..META }),
        Err(DecodeError::BadTtl(64))
    );
    assert_eq!(decode(&KEEPALIVED_V2[..7]), Err(DecodeError::Truncated { len: 7, needed: 8 }));
    assert_eq!(decode(&[]), Err(DecodeError::Truncated { len: 0, needed: 8 }));

    let mut bytes = KEEPALIVED_V2.to_vec();
    bytes[0] = 0x11;
    assert_eq!(decode(&bytes), Err(DecodeError::BadVersion(1)));
    bytes[0] = 0x22;
    assert_eq!(decode(&bytes), Err(DecodeError::BadType(2)));

    let mut bytes = KEEPALIVED_V2.to_vec();
    bytes[2] = 151; // priority changed, checksum not updated
    assert_eq!(decode(&bytes), Err(DecodeError::BadChecksum { found: 0x9ae2, computed: 0x99e2 }));

    // Count says 2, but only one address (plus auth data) follows.
    let mut bytes = KEEPALIVED_V2.to_vec();
    bytes[3] = 2;
    assert_eq!(
        decode(&with_v2_checksum(bytes)),
        Err(DecodeError::AddressCountMismatch { count: 2, len: 20, expected: 24 })
    );
    // A v2 advert without its eight bytes of auth data.
    assert_eq!(
        decode(&KEEPALIVED_V2[..12]),
        Err(DecodeError::AddressCountMismatch { count: 1, len: 12, expected: 20 })
    );
    // Trailing garbage after a v3 advert.
    let mut bytes = LAB_V3.to_vec();
    bytes.extend_from_slice(&[0; 4]);
    assert_eq!(
        decode(&bytes),
        Err(DecodeError::AddressCountMismatch { count: 1, len: 16, expected: 12 })
    );

    let no_addresses = with_v3_checksum(vec![0x31, 0x0c, 0x96, 0x00, 0x00, 0x64, 0, 0]);
    assert_eq!(decode(&no_addresses), Err(DecodeError::NoAddresses));

    let mut bytes = LAB_V3.to_vec();
    bytes[1] = 0;
    assert_eq!(decode(&with_v3_checksum(bytes)), Err(DecodeError::ZeroVrid));

    let mut bytes = LAB_V3.to_vec();
    bytes[4..6].fill(0);
    assert_eq!(decode(&with_v3_checksum(bytes)), Err(DecodeError::IntervalZero));
    let mut bytes = KEEPALIVED_V2.to_vec();
    bytes[5] = 0;
    assert_eq!(decode(&with_v2_checksum(bytes)), Err(DecodeError::IntervalZero));

    let mut bytes = KEEPALIVED_V2.to_vec();
    bytes[4] = 2; // IP Authentication Header, removed in RFC 3768
    assert_eq!(decode(&with_v2_checksum(bytes)), Err(DecodeError::UnsupportedAuth(2)));
}

#[test]
fn decode_errors_render_the_reason() {
    assert_eq!(
        DecodeError::BadTtl(64).to_string(),
        "bad TTL 64 (want 255: sender not on this link)"
    );
    assert_eq!(
        DecodeError::BadChecksum { found: 0x9ae2, computed: 0x99e2 }.to_string(),
        "bad checksum: packet has 0x9ae2, computed 0x99e2"
    );
}
