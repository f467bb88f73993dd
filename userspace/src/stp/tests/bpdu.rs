//! Wire fixtures, byte for byte, and typed decode errors.

use std::time::Duration;

use super::{mac, SECOND};
use crate::stp::{
    bpdu::{time_from_wire, time_to_wire},
    Bpdu, BpduInfo, BpduRole, BridgeId, DecodeError, Flags, PortId, Times,
};

/// Root 1000.020000000002 at cost 200000, sent by 8000.020000000001 port
/// 8.002, message age 1 s, 20/2/15 s.
fn sample(flags: Flags) -> BpduInfo {
    BpduInfo {
        flags,
        root: BridgeId::new(4096, mac(2)),
        root_path_cost: 200_000,
        bridge: BridgeId::new(32768, mac(1)),
        port: PortId::new(128, 2),
        times: Times {
            message_age: SECOND,
            max_age: SECOND * 20,
            hello_time: SECOND * 2,
            forward_delay: SECOND * 15,
        },
    }
}

#[rustfmt::skip]
const CONFIG: [u8; 38] = [
    0x42, 0x42, 0x03,                               // LLC
    0x00, 0x00, 0x00, 0x00,                         // protocol, version 0, Config
    0x81,                                           // TC ack + TC
    0x10, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02, // root
    0x00, 0x03, 0x0d, 0x40,                         // root path cost 200000
    0x80, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, // bridge
    0x80, 0x02,                                     // port
    0x01, 0x00, 0x14, 0x00, 0x02, 0x00, 0x0f, 0x00, // 1, 20, 2, 15 s
];

#[rustfmt::skip]
const RST: [u8; 39] = [
    0x42, 0x42, 0x03,
    0x00, 0x00, 0x02, 0x02,                         // version 2, RST
    0x1f,                                           // learning, designated, proposal, TC
    0x10, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02,
    0x00, 0x03, 0x0d, 0x40,
    0x80, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
    0x80, 0x02,
    0x01, 0x00, 0x14, 0x00, 0x02, 0x00, 0x0f, 0x00,
    0x00,                                           // version 1 length
];

const TCN: [u8; 7] = [0x42, 0x42, 0x03, 0x00, 0x00, 0x00, 0x80];

#[test]
fn config_bpdu_fixture() {
    let bpdu = Bpdu::Config(sample(Flags(Flags::TC | Flags::TC_ACK)));
    assert_eq!(bpdu.encode(), CONFIG);
    assert_eq!(Bpdu::decode(&CONFIG), Ok(bpdu));
}

#[test]
fn rst_bpdu_fixture() {
    let flags = Flags::default()
        .with(Flags::TC, true)
        .with(Flags::PROPOSAL, true)
        .with_role(BpduRole::Designated)
        .with(Flags::LEARNING, true);
    assert_eq!(flags, Flags(0x1f));
    let bpdu = Bpdu::Rst(sample(flags));
    assert_eq!(bpdu.encode(), RST);
    let decoded = Bpdu::decode(&RST).unwrap();
    assert_eq!(decoded, bpdu);
    let info = decoded.info().unwrap();
    assert_eq!(info.flags.role(), BpduRole::Designated);
    assert!(!info.flags.has(Flags::FORWARDING) && !info.flags.has(Flags::AGREEMENT));
    assert_eq!(info.port.number(), 2);
    assert_eq!(info.port.priority(), 128);
    assert_eq!(info.root.to_string(), "1000.020000000002");
    assert_eq!(info.port.to_string(), "8.002");
}

#[test]
fn tcn_fixture() {
    assert_eq!(Bpdu::Tcn.encode(), TCN);
    assert_eq!(Bpdu::decode(&TCN), Ok(Bpdu::Tcn));
}

#[test]
fn role_bits() {
    for (bits, role) in [
        (0x00, BpduRole::Unknown),
        (0x04, BpduRole::AlternateOrBackup),
        (0x08, BpduRole::Root),
        (0x0c, BpduRole::Designated),
    ] {
        assert_eq!(Flags(bits).role(), role);
        assert_eq!(Flags(0xf3).with_role(role), Flags(0xf3 | bits));
    }
}

#[test]
fn longer_bpdus_and_higher_versions_decode() {
    // Trailing padding (Ethernet minimum frame) is ignored.
    let mut padded = CONFIG.to_vec();
    padded.extend_from_slice(&[0; 8]);
    assert!(matches!(Bpdu::decode(&padded), Ok(Bpdu::Config(_))));
    // An MST BPDU (version 3) is read as RST (802.1Q 14.4).
    let mut mst = RST.to_vec();
    mst[5] = 3;
    mst.extend_from_slice(&[0, 64]);
    assert!(matches!(Bpdu::decode(&mst), Ok(Bpdu::Rst(_))));
    // The version of a Configuration BPDU is not checked.
    let mut config = CONFIG;
    config[5] = 2;
    assert!(matches!(Bpdu::decode(&config), Ok(Bpdu::Config(_))));
}

#[test]
fn decode_errors_are_typed() {
    assert_eq!(
        Bpdu::decode(&[0x42, 0x42]),
        Err(DecodeError::Truncated { what: "LLC header", needed: 3, got: 2 })
    );
    assert_eq!(
        Bpdu::decode(&[0xaa, 0xaa, 0x03, 0, 0, 0, 0x80]),
        Err(DecodeError::NotStpLlc([0xaa, 0xaa, 0x03]))
    );
    assert_eq!(
        Bpdu::decode(&TCN[..6]),
        Err(DecodeError::Truncated { what: "BPDU header", needed: 4, got: 3 })
    );
    assert_eq!(
        Bpdu::decode(&CONFIG[..30]),
        Err(DecodeError::Truncated { what: "Configuration BPDU", needed: 35, got: 27 })
    );
    assert_eq!(
        Bpdu::decode(&RST[..38]),
        Err(DecodeError::Truncated { what: "RST BPDU", needed: 36, got: 35 })
    );
    let mut bad = CONFIG;
    bad[4] = 1;
    assert_eq!(Bpdu::decode(&bad), Err(DecodeError::ProtocolId(1)));
    let mut bad = CONFIG;
    bad[6] = 0x55;
    assert_eq!(Bpdu::decode(&bad), Err(DecodeError::UnknownType(0x55)));
    let mut bad = RST;
    bad[5] = 0;
    assert_eq!(Bpdu::decode(&bad), Err(DecodeError::BadVersion(0)));
    let mut bad = RST;
    bad[38] = 3;
    assert_eq!(Bpdu::decode(&bad), Err(DecodeError::Version1Length(3)));
    let mut bad = CONFIG;
    bad[30] = 0x14; // message age 20 s = max age
    assert_eq!(
        Bpdu::decode(&bad),
        Err(DecodeError::MessageAgeExceedsMaxAge {
            message_age: SECOND * 20,
            max_age: SECOND * 20
        })
    );
    assert!(DecodeError::UnknownType(0x55).to_string().contains("0x55"));
}

#[test]
fn times_are_256ths_of_a_second() {
    assert_eq!(time_to_wire(SECOND * 15), 0x0f00);
    assert_eq!(time_to_wire(Duration::from_millis(500)), 0x0080);
    assert_eq!(time_from_wire(0x0080), Duration::from_millis(500));
    assert_eq!(time_from_wire(1), Duration::from_nanos(3_906_250));
    assert_eq!(time_to_wire(SECOND * 1000), u16::MAX);
}
