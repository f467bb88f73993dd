//! The segment forwarder on fixture packets through `BPF_PROG_TEST_RUN`: a
//! SYN is never forwarded, a non-SYN segment with no local socket goes to
//! the previous master with its MAC, a segment from a halb peer is never
//! forwarded again, a VIP with no previous master passes, and a draining
//! balancer drops ARP requests for its VIP.

use aya::{
    maps::{HashMap, MapData, PerCpuArray},
    programs::{TestRun as _, TestRunOptions},
};
use halb::{config::LogLevel, datapath::Datapath};
use halb_common::{
    forward::{
        ForwardEntry, ForwardOutcome, ForwardPeer, VIP_DRAINING, VIP_FORWARD,
        VIP_NO_PREVIOUS_MASTER,
    },
    names::{MAP_FORWARD_COUNTERS, MAP_FORWARD_PEERS, MAP_FORWARD_VIPS, PROG_SEGMENT_FORWARD},
    TrafficCounter,
};

const TC_ACT_UNSPEC: u32 = u32::MAX;
const TC_ACT_SHOT: u32 = 2;
const TC_ACT_REDIRECT: u32 = 7;
const VIP: [u8; 4] = [172, 16, 1, 254];
const CLIENT: [u8; 4] = [172, 16, 1, 100];
const OWN_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x02];
const CLIENT_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x64];
const PREVIOUS_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];

/// Ethernet/IPv4/TCP from `source_mac` to our MAC, client:40000 -> VIP:8000.
fn segment(source_mac: [u8; 6], flags: u8) -> Vec<u8> {
    let mut frame = Vec::new();
    frame.extend_from_slice(&OWN_MAC);
    frame.extend_from_slice(&source_mac);
    frame.extend_from_slice(&[0x08, 0x00]);
    frame.extend_from_slice(&[0x45, 0, 0, 40, 0, 1, 0x40, 0, 64, 6, 0, 0]);
    frame.extend_from_slice(&CLIENT);
    frame.extend_from_slice(&VIP);
    frame.extend_from_slice(&40000u16.to_be_bytes());
    frame.extend_from_slice(&8000u16.to_be_bytes());
    frame.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 1, 0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
    frame
}

fn arp_request(target: [u8; 4]) -> Vec<u8> {
    let mut frame = vec![0xff; 6];
    frame.extend_from_slice(&CLIENT_MAC);
    frame.extend_from_slice(&[0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 1]);
    frame.extend_from_slice(&CLIENT_MAC);
    frame.extend_from_slice(&CLIENT);
    frame.extend_from_slice(&[0; 6]);
    frame.extend_from_slice(&target);
    frame
}

struct Harness {
    datapath: Datapath,
}

impl Harness {
    fn new(mode: u32) -> Self {
        let mut datapath = Datapath::load(LogLevel::Warn).expect("load the eBPF object");
        let map = datapath.ebpf_mut().map_mut(MAP_FORWARD_VIPS).expect("vips map");
        let mut vips: HashMap<&mut MapData, [u8; 4], ForwardEntry> =
            HashMap::try_from(map).unwrap();
        vips.insert(VIP, ForwardEntry { mode, mac: PREVIOUS_MAC, _pad: [0; 2] }, 0).unwrap();
        let map = datapath.ebpf_mut().map_mut(MAP_FORWARD_PEERS).expect("peers map");
        let mut peers: HashMap<&mut MapData, ForwardPeer, u32> = HashMap::try_from(map).unwrap();
        peers.insert(ForwardPeer::new(PREVIOUS_MAC), 1, 0).unwrap();
        Self { datapath }
    }

    /// The verdict and the frame as the program left it.
    fn run(&self, frame: &[u8]) -> (u32, Vec<u8>) {
        let program = self.datapath.program(PROG_SEGMENT_FORWARD).unwrap();
        let mut out = vec![0u8; frame.len() + 64];
        let result = program
            .test_run(TestRunOptions {
                data_in: Some(frame),
                data_out: Some(&mut out),
                ..TestRunOptions::new()
            })
            .expect("BPF_PROG_TEST_RUN");
        out.truncate(result.data_size_out as usize);
        (result.return_value, out)
    }

    fn count(&self, outcome: ForwardOutcome) -> u64 {
        let map = self.datapath.ebpf().map(MAP_FORWARD_COUNTERS).unwrap();
        let array: PerCpuArray<&MapData, TrafficCounter> = PerCpuArray::try_from(map).unwrap();
        array.get(&(outcome as u32), 0).unwrap().iter().map(|counter| counter.packets).sum()
    }
}

const SYN: u8 = 0x02;
const ACK: u8 = 0x10;
const PSH_ACK: u8 = 0x18;

#[test]
fn a_syn_is_not_forwarded() {
    let harness = Harness::new(VIP_FORWARD);
    let frame = segment(CLIENT_MAC, SYN);
    let (verdict, out) = harness.run(&frame);
    assert_eq!(verdict, TC_ACT_UNSPEC);
    assert_eq!(out, frame, "a SYN passes unchanged");
    assert_eq!(harness.count(ForwardOutcome::NewConnection), 1);
    assert_eq!(harness.count(ForwardOutcome::Forwarded), 0);
}

#[test]
fn a_segment_without_a_local_socket_goes_to_the_previous_master() {
    let harness = Harness::new(VIP_FORWARD);
    for flags in [ACK, PSH_ACK, SYN | ACK] {
        let frame = segment(CLIENT_MAC, flags);
        let (verdict, out) = harness.run(&frame);
        assert_eq!(verdict, TC_ACT_REDIRECT, "flags {flags:#x}");
        assert_eq!(out[..6], PREVIOUS_MAC, "destination MAC is the previous master's");
        assert_eq!(out[6..12], OWN_MAC, "source MAC is our own");
        assert_eq!(out[12..], frame[12..], "the IP packet is untouched");
    }
    assert_eq!(harness.count(ForwardOutcome::Forwarded), 3);
}

#[test]
fn a_segment_forwarded_already_is_not_forwarded_again() {
    let harness = Harness::new(VIP_FORWARD);
    let frame = segment(PREVIOUS_MAC, ACK);
    let (verdict, out) = harness.run(&frame);
    assert_eq!(verdict, TC_ACT_UNSPEC);
    assert_eq!(out, frame);
    assert_eq!(harness.count(ForwardOutcome::LoopRefused), 1);
    assert_eq!(harness.count(ForwardOutcome::Forwarded), 0);
}

#[test]
fn no_previous_master_passes() {
    let harness = Harness::new(VIP_NO_PREVIOUS_MASTER);
    let frame = segment(CLIENT_MAC, ACK);
    let (verdict, out) = harness.run(&frame);
    assert_eq!(verdict, TC_ACT_UNSPEC);
    assert_eq!(out, frame);
    assert_eq!(harness.count(ForwardOutcome::NoPreviousMaster), 1);
}

#[test]
fn a_draining_balancer_drops_arp_requests_for_its_vip_only() {
    let harness = Harness::new(VIP_DRAINING);
    assert_eq!(harness.run(&arp_request(VIP)).0, TC_ACT_SHOT);
    assert_eq!(harness.run(&arp_request([172, 16, 1, 250])).0, TC_ACT_UNSPEC);
    assert_eq!(harness.count(ForwardOutcome::ArpSilenced), 1);
    let forwarding = Harness::new(VIP_FORWARD);
    assert_eq!(forwarding.run(&arp_request(VIP)).0, TC_ACT_UNSPEC);
}
