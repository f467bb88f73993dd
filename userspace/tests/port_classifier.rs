//! The port classifier on fixture packets through `BPF_PROG_TEST_RUN`: bytes
//! in, verdict, bytes out and counters checked. Needs root (`CAP_BPF`).

use aya::programs::{TestRun as _, TestRunOptions};
use halb::{
    config::LogLevel,
    datapath::{counters, Datapath},
};
use halb_common::checksum::internet_checksum;

/// `TC_ACT_UNSPEC` (-1) as the kernel reports the return value.
const TC_ACT_UNSPEC: u32 = u32::MAX;

const BPDU_MAC: [u8; 6] = [0x01, 0x80, 0xc2, 0x00, 0x00, 0x00];
const HOST_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];
const PEER_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x02];

fn ethernet(dst: [u8; 6], ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut frame = Vec::with_capacity(14 + payload.len());
    frame.extend_from_slice(&dst);
    frame.extend_from_slice(&HOST_MAC);
    frame.extend_from_slice(&ethertype.to_be_bytes());
    frame.extend_from_slice(payload);
    frame
}

/// A valid IPv4 header (no options) followed by `payload`.
fn ipv4(protocol: u8, ttl: u8, payload: &[u8]) -> Vec<u8> {
    let total = u16::try_from(20 + payload.len()).unwrap();
    let mut packet = vec![0x45, 0];
    packet.extend_from_slice(&total.to_be_bytes());
    packet.extend_from_slice(&[0, 1, 0x40, 0, ttl, protocol, 0, 0]);
    packet.extend_from_slice(&[172, 16, 1, 250, 224, 0, 0, 18]);
    let sum = internet_checksum(&packet);
    packet[10..12].copy_from_slice(&sum.to_be_bytes());
    packet.extend_from_slice(payload);
    packet
}

fn udp(dst_port: u16, payload: &[u8]) -> Vec<u8> {
    let len = u16::try_from(8 + payload.len()).unwrap();
    let mut segment = Vec::new();
    segment.extend_from_slice(&49152u16.to_be_bytes());
    segment.extend_from_slice(&dst_port.to_be_bytes());
    segment.extend_from_slice(&len.to_be_bytes());
    segment.extend_from_slice(&[0, 0]);
    segment.extend_from_slice(payload);
    segment
}

/// An 802.1D configuration BPDU: LLC 42/42/03 then 35 bytes of BPDU.
fn bpdu_frame() -> Vec<u8> {
    let mut llc = vec![0x42, 0x42, 0x03];
    llc.extend_from_slice(&[0, 0, 0, 0, 0]); // protocol id, version, type (config), flags
    llc.extend_from_slice(&[0x10, 0x00, 0x02, 0, 0, 0, 0, 0x02]); // root id
    llc.extend_from_slice(&[0, 0, 0, 0]); // root path cost
    llc.extend_from_slice(&[0x10, 0x00, 0x02, 0, 0, 0, 0, 0x02]); // bridge id
    llc.extend_from_slice(&[0x80, 0x01, 0, 0, 0x14, 0, 0x02, 0, 0x0f, 0]); // port, ages, timers
    let length = u16::try_from(llc.len()).unwrap();
    ethernet(BPDU_MAC, length, &llc)
}

/// A `VRRPv2` advertisement of VRID 12, priority 150, one address.
fn vrrp_frame() -> Vec<u8> {
    let advert = [0x21, 12, 150, 1, 0, 1, 0, 0, 172, 16, 1, 254, 0, 0, 0, 0, 0, 0, 0, 0];
    ethernet([0x01, 0x00, 0x5e, 0, 0, 0x12], 0x0800, &ipv4(112, 255, &advert))
}

fn vxlan_frame() -> Vec<u8> {
    let mut vxlan = vec![0x08, 0, 0, 0, 0, 0, 42, 0];
    vxlan.extend_from_slice(&ethernet(PEER_MAC, 0x0806, &[0; 28]));
    ethernet(PEER_MAC, 0x0800, &ipv4(17, 64, &udp(4789, &vxlan)))
}

/// (class or reason name, packets, bytes), sorted by name.
type Totals = Vec<(String, u64, u64)>;

struct Harness {
    datapath: Datapath,
}

impl Harness {
    fn new() -> Self {
        assert!(
            std::process::Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout == b"0\n"),
            "eBPF program tests need root (BPF_PROG_TEST_RUN); run them through `cargo xtask test`"
        );
        let datapath = Datapath::load(LogLevel::Warn).expect("load the eBPF object");
        Self { datapath }
    }

    /// Runs the classifier on `frame`, checks it passes unchanged.
    fn run(&self, frame: &[u8]) {
        let program = self.datapath.classifier().expect("classifier");
        let mut out = vec![0u8; frame.len() + 64];
        let result = program
            .test_run(TestRunOptions {
                data_in: Some(frame),
                data_out: Some(&mut out),
                ..TestRunOptions::new()
            })
            .expect("BPF_PROG_TEST_RUN");
        assert_eq!(
            result.return_value, TC_ACT_UNSPEC,
            "the classifier must let every frame continue"
        );
        assert_eq!(
            &out[..result.data_size_out as usize],
            frame,
            "the classifier must not change the frame"
        );
    }

    /// Sum over all interfaces of (traffic class or malformed reason) -> (packets, bytes).
    fn totals(&self) -> (Totals, Totals) {
        let table = counters::read_loaded(self.datapath.ebpf()).expect("read counters");
        let mut traffic = std::collections::BTreeMap::<String, (u64, u64)>::new();
        let mut malformed = std::collections::BTreeMap::<String, (u64, u64)>::new();
        for port in table.values() {
            for (name, counter) in &port.traffic {
                let slot = traffic.entry(name.clone()).or_default();
                slot.0 += counter.packets;
                slot.1 += counter.bytes;
            }
            for (name, counter) in &port.malformed {
                let slot = malformed.entry(name.clone()).or_default();
                slot.0 += counter.packets;
                slot.1 += counter.bytes;
            }
        }
        let flat = |map: std::collections::BTreeMap<String, (u64, u64)>| {
            map.into_iter().map(|(name, (packets, bytes))| (name, packets, bytes)).collect()
        };
        (flat(traffic), flat(malformed))
    }
}

fn entry(name: &str, packets: u64, bytes: usize) -> (String, u64, u64) {
    (name.to_owned(), packets, bytes as u64)
}

#[test]
fn classifies_control_and_tunnel_traffic() {
    let harness = Harness::new();
    let bpdu = bpdu_frame();
    let vrrp = vrrp_frame();
    let vxlan = vxlan_frame();
    let arp = ethernet([0xff; 6], 0x0806, &[0; 28]);
    let ipv6 = ethernet(PEER_MAC, 0x86dd, &[0x60; 40]);
    let other_llc = ethernet(PEER_MAC, 3, &[0xaa, 0xaa, 0x03]);
    let plain_udp = ethernet(PEER_MAC, 0x0800, &ipv4(17, 64, &udp(53, &[1, 2, 3, 4])));
    for frame in [&bpdu, &vrrp, &vrrp, &vxlan, &arp, &ipv6, &other_llc, &plain_udp] {
        harness.run(frame);
    }
    let (traffic, malformed) = harness.totals();
    assert_eq!(
        traffic,
        vec![
            entry("arp", 1, arp.len()),
            entry("bpdu", 1, bpdu.len()),
            entry("ipv4", 1, plain_udp.len()),
            entry("ipv6", 1, ipv6.len()),
            entry("other", 1, other_llc.len()),
            entry("vrrp", 2, 2 * vrrp.len()),
            entry("vxlan", 1, vxlan.len()),
        ]
    );
    assert!(malformed.is_empty(), "{malformed:?}");
}

#[test]
fn non_first_fragment_to_port_4789_is_not_vxlan() {
    let harness = Harness::new();
    let mut packet = ipv4(17, 64, &udp(4789, &[0; 16]));
    packet[6] = 0x00;
    packet[7] = 0x10; // fragment offset 16 (x 8 bytes)
    harness.run(&ethernet(PEER_MAC, 0x0800, &packet));
    let (traffic, _) = harness.totals();
    assert_eq!(
        traffic.iter().map(|(name, packets, _)| (name.as_str(), *packets)).collect::<Vec<_>>(),
        vec![("ipv4", 1)]
    );
}

#[test]
fn malformed_frames_are_counted_by_reason_and_passed() {
    let harness = Harness::new();
    let valid = ipv4(17, 64, &udp(4789, &[0; 8]));
    let mut bad_version = valid.clone();
    bad_version[0] = 0x65;
    let mut short_ihl = valid.clone();
    short_ihl[0] = 0x44;
    let mut long_ihl = valid.clone();
    long_ihl[0] = 0x4f; // 60-byte header, frame carries 36 bytes of IPv4
    let mut too_long = valid.clone();
    too_long[2..4].copy_from_slice(&1500u16.to_be_bytes());
    let mut too_short = valid.clone();
    too_short[2..4].copy_from_slice(&10u16.to_be_bytes());
    let truncated_udp = ipv4(17, 64, &[0, 1, 2]);
    let cases = [
        ("truncated_llc", ethernet(PEER_MAC, 40, &[0x42])),
        ("truncated_arp", ethernet([0xff; 6], 0x0806, &[0; 27])),
        // An IPv4 frame shorter than 20 bytes of header cannot be fed to
        // BPF_PROG_TEST_RUN (6.18 refuses it with EINVAL); the IHL cases
        // below reach the same check.
        ("bad_ip_version", ethernet(PEER_MAC, 0x0800, &bad_version)),
        ("truncated_ipv4", ethernet(PEER_MAC, 0x0800, &short_ihl)),
        ("truncated_ipv4", ethernet(PEER_MAC, 0x0800, &long_ihl)),
        ("bad_ip_length", ethernet(PEER_MAC, 0x0800, &too_long)),
        ("bad_ip_length", ethernet(PEER_MAC, 0x0800, &too_short)),
        ("truncated_udp", ethernet(PEER_MAC, 0x0800, &truncated_udp)),
    ];
    for (_, frame) in &cases {
        harness.run(frame);
    }
    let (traffic, malformed) = harness.totals();
    let total_bytes: usize = cases.iter().map(|(_, frame)| frame.len()).sum();
    assert_eq!(traffic, vec![entry("malformed", cases.len() as u64, total_bytes)]);
    let count = |reason: &str| {
        let frames: Vec<_> = cases.iter().filter(|(name, _)| *name == reason).collect();
        entry(reason, frames.len() as u64, frames.iter().map(|(_, frame)| frame.len()).sum())
    };
    assert_eq!(
        malformed,
        vec![
            count("bad_ip_length"),
            count("bad_ip_version"),
            count("truncated_arp"),
            count("truncated_ipv4"),
            count("truncated_llc"),
            count("truncated_udp"),
        ]
    );
}

#[test]
fn random_garbage_never_fails_the_program() {
    let harness = Harness::new();
    // A fixed-seed xorshift: reproducible hostile input of every length.
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut runs = 0u64;
    for len in 14..200usize {
        for _ in 0..4 {
            let frame: Vec<u8> = (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    (state & 0xff) as u8
                })
                .collect();
            harness.run(&frame);
            runs += 1;
        }
    }
    let (traffic, _) = harness.totals();
    let counted: u64 = traffic.iter().map(|(_, packets, _)| packets).sum();
    assert_eq!(counted, runs, "every frame is counted exactly once");
}
