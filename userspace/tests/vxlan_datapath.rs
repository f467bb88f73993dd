//! The VXLAN programs on fixture packets through `BPF_PROG_TEST_RUN`:
//! encapsulation checked byte by byte (outer MACs are left zero for
//! `bpf_redirect_neigh`, which test runs do not execute), head-end
//! replication, IPv6 and GSO frames (sized by their segments), decapsulation
//! and learning, a round trip, foreign traffic
//! passed untouched, hostile inputs dropped by reason.
//!
//! The maps are pinned under a bpffs directory of the test's own and
//! written through [`halb::vxlan::Tables`], exactly as the daemon does.

use std::{
    net::Ipv4Addr,
    path::PathBuf,
    sync::atomic::{AtomicU32, Ordering},
};

use aya::programs::{TestRun as _, TestRunOptions};
use halb::{
    config::LogLevel,
    datapath::{pins, Datapath},
    vxlan::{fdb::Mac, Tables},
};
use halb_common::{
    checksum::ipv4_header_checksum,
    names::{PROG_VXLAN_DECAP, PROG_VXLAN_ENCAP},
    vxlan::{VxlanConfig, VxlanDropReason, VxlanFdbEntry, VXLAN_MARK_MAGIC, VXLAN_MARK_SEND},
};

const TC_ACT_UNSPEC: u32 = u32::MAX;
const TC_ACT_OK: u32 = 0;
const TC_ACT_SHOT: u32 = 2;
const TC_ACT_REDIRECT: u32 = 7;
const LOCAL: [u8; 4] = [172, 16, 1, 150];
const REMOTE1: [u8; 4] = [172, 16, 1, 151];
const REMOTE2: [u8; 4] = [172, 16, 1, 152];
const STRANGER: [u8; 4] = [172, 16, 1, 99];
const VNI: u32 = 42;
const MAC_A: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0a];
const MAC_B: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0b];
const BROADCAST: [u8; 6] = [0xff; 6];
/// Size of `struct __sk_buff`; `mark` is at offset 8, `gso_segs` at 164,
/// `gso_size` at 176 (the only fields a test run takes besides these).
const SKB_CTX_LEN: usize = 192;
const MARK_OFFSET: usize = 8;
const GSO_SEGS_OFFSET: usize = 164;
const GSO_SIZE_OFFSET: usize = 176;

static NEXT: AtomicU32 = AtomicU32::new(0);

/// An inner IPv4/UDP frame `src -> dst` with `payload` bytes of data.
fn inner_ipv4(dst: [u8; 6], src: [u8; 6], source_port: u16, payload: usize) -> Vec<u8> {
    let mut frame = Vec::new();
    frame.extend_from_slice(&dst);
    frame.extend_from_slice(&src);
    frame.extend_from_slice(&0x0800u16.to_be_bytes());
    let total = u16::try_from(20 + 8 + payload).unwrap();
    let mut ip = [0u8; 20];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&total.to_be_bytes());
    ip[8] = 64;
    ip[9] = 17;
    ip[12..16].copy_from_slice(&[10, 0, 0, 1]);
    ip[16..20].copy_from_slice(&[10, 0, 0, 3]);
    let checksum = ipv4_header_checksum(&ip);
    ip[10..12].copy_from_slice(&checksum.to_be_bytes());
    frame.extend_from_slice(&ip);
    push_udp(&mut frame, source_port, payload);
    frame
}

/// Appends a UDP header `source_port -> 7` and `payload` bytes of data
/// (checksum 0).
fn push_udp(frame: &mut Vec<u8>, source_port: u16, payload: usize) {
    frame.extend_from_slice(&source_port.to_be_bytes());
    frame.extend_from_slice(&7u16.to_be_bytes());
    frame.extend_from_slice(&u16::try_from(8 + payload).unwrap().to_be_bytes());
    frame.extend_from_slice(&[0, 0]);
    frame.extend((0..payload).map(|i| u8::try_from(i % 251).unwrap()));
}

/// An inner IPv6/UDP frame `src -> dst` with `payload` bytes of data.
fn inner_ipv6(dst: [u8; 6], src: [u8; 6], payload: usize) -> Vec<u8> {
    let mut frame = Vec::new();
    frame.extend_from_slice(&dst);
    frame.extend_from_slice(&src);
    frame.extend_from_slice(&0x86ddu16.to_be_bytes());
    frame.extend_from_slice(&[0x60, 0, 0, 0]);
    frame.extend_from_slice(&u16::try_from(8 + payload).unwrap().to_be_bytes());
    frame.extend_from_slice(&[17, 64]);
    frame.extend_from_slice(&[0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    frame.extend_from_slice(&[0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3]);
    push_udp(&mut frame, 1000, payload);
    frame
}

/// An inner IPv4/TCP frame (20-byte IPv4, 32-byte TCP header with
/// options, as Linux sends with timestamps) carrying `payload` bytes: what
/// an endpoint's TSO hands down as one GSO frame.
fn inner_tcp(dst: [u8; 6], src: [u8; 6], payload: usize) -> Vec<u8> {
    let mut frame = inner_ipv4(dst, src, 40000, 0);
    frame.truncate(14 + 20);
    frame[23] = 6;
    let total = u16::try_from(20 + 32 + payload).unwrap();
    frame[16..18].copy_from_slice(&total.to_be_bytes());
    let mut header = [0u8; 32];
    header[0..2].copy_from_slice(&40000u16.to_be_bytes());
    header[2..4].copy_from_slice(&5201u16.to_be_bytes());
    header[12] = 8 << 4;
    header[13] = 0x10;
    frame.extend_from_slice(&header);
    frame.extend((0..payload).map(|i| u8::try_from(i % 251).unwrap()));
    frame
}

/// An inner ARP request from `src` (broadcast).
fn inner_arp(src: [u8; 6]) -> Vec<u8> {
    let mut frame = Vec::new();
    frame.extend_from_slice(&BROADCAST);
    frame.extend_from_slice(&src);
    frame.extend_from_slice(&0x0806u16.to_be_bytes());
    frame.extend_from_slice(&[0, 1, 8, 0, 6, 4, 0, 1]);
    frame.extend_from_slice(&src);
    frame.extend_from_slice(&[10, 0, 0, 1]);
    frame.extend_from_slice(&[0; 6]);
    frame.extend_from_slice(&[10, 0, 0, 3]);
    frame
}

/// An outer VXLAN packet as a remote VTEP sends it, fields breakable.
#[derive(Clone)]
struct Outer {
    source: [u8; 4],
    destination: [u8; 4],
    dst_port: u16,
    vni: u32,
    flags: u8,
    fragment: u16,
    udp_len_delta: i32,
    total_len_delta: i32,
    inner: Vec<u8>,
    trailer: usize,
}

impl Outer {
    fn new(inner: Vec<u8>) -> Self {
        Self {
            source: REMOTE1,
            destination: LOCAL,
            dst_port: 4789,
            vni: VNI,
            flags: 0x08,
            fragment: 0x4000,
            udp_len_delta: 0,
            total_len_delta: 0,
            inner,
            trailer: 0,
        }
    }

    fn frame(&self) -> Vec<u8> {
        let mut frame = vec![0x02, 0, 0, 0, 0, 0x50, 0x02, 0, 0, 0, 0, 0x51, 0x08, 0x00];
        let udp_len = 8 + 8 + self.inner.len();
        let total = i32::try_from(20 + udp_len).unwrap() + self.total_len_delta;
        let mut ip = [0u8; 20];
        ip[0] = 0x45;
        ip[2..4].copy_from_slice(&u16::try_from(total).unwrap().to_be_bytes());
        ip[6..8].copy_from_slice(&self.fragment.to_be_bytes());
        ip[8] = 64;
        ip[9] = 17;
        ip[12..16].copy_from_slice(&self.source);
        ip[16..20].copy_from_slice(&self.destination);
        let checksum = ipv4_header_checksum(&ip);
        ip[10..12].copy_from_slice(&checksum.to_be_bytes());
        frame.extend_from_slice(&ip);
        frame.extend_from_slice(&50000u16.to_be_bytes());
        frame.extend_from_slice(&self.dst_port.to_be_bytes());
        let udp_len = i32::try_from(udp_len).unwrap() + self.udp_len_delta;
        frame.extend_from_slice(&u16::try_from(udp_len).unwrap().to_be_bytes());
        frame.extend_from_slice(&[0, 0]);
        frame.extend_from_slice(&[self.flags, 0, 0, 0]);
        frame.extend_from_slice(&(self.vni << 8).to_be_bytes());
        frame.extend_from_slice(&self.inner);
        frame.extend(std::iter::repeat_n(0xee, self.trailer));
        frame
    }
}

struct Harness {
    datapath: Datapath,
    dir: PathBuf,
    tables: Tables,
}

impl Harness {
    /// VNI 42, local 172.16.1.150, remotes `remotes`, mtu 1450, ttl 64.
    fn new(local: [u8; 4], remotes: &[[u8; 4]]) -> Self {
        let datapath = Datapath::load(LogLevel::Warn).expect("load the eBPF object");
        let dir = PathBuf::from(format!(
            "/sys/fs/bpf/halb-test-vxlan-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        ));
        pins::pin_maps(datapath.ebpf(), &dir).expect("pin the maps");
        let tables = Tables::new(&dir);
        let remotes: Vec<Ipv4Addr> = remotes.iter().copied().map(Ipv4Addr::from).collect();
        tables.write_remotes(&remotes).unwrap();
        let harness = Self { datapath, dir, tables };
        harness.configure(local, u32::try_from(remotes.len()).unwrap());
        harness
    }

    fn configure(&self, local: [u8; 4], remote_count: u32) {
        self.tables
            .write_config(&VxlanConfig {
                vni: VNI,
                local,
                underlay_ifindex: 1,
                tunnel_ifindex: 1,
                peer_ifindex: 1,
                remote_count,
                mtu: 1450,
                ttl: 64,
                learning: 1,
            })
            .unwrap();
    }

    /// Runs `program` on `frame` with `skb->mark = mark`: verdict, bytes
    /// out, mark out.
    fn run(&self, program: &'static str, frame: &[u8], mark: u32) -> (u32, Vec<u8>, u32) {
        self.run_gso(program, frame, mark, 0)
    }

    /// As [`run`](Self::run), on a GSO frame of segments of `gso_size`
    /// payload bytes (0: not GSO). A test run can set `gso_size` and
    /// `gso_segs` but not the GSO type.
    fn run_gso(
        &self,
        program: &'static str,
        frame: &[u8],
        mark: u32,
        gso_size: u32,
    ) -> (u32, Vec<u8>, u32) {
        let program = self.datapath.program(program).unwrap();
        let mut out = vec![0u8; frame.len() + 256];
        let mut ctx_in = [0u8; SKB_CTX_LEN];
        ctx_in[MARK_OFFSET..MARK_OFFSET + 4].copy_from_slice(&mark.to_ne_bytes());
        if gso_size > 0 {
            let segs = u32::try_from(frame.len()).unwrap().div_ceil(gso_size);
            ctx_in[GSO_SEGS_OFFSET..GSO_SEGS_OFFSET + 4].copy_from_slice(&segs.to_ne_bytes());
            ctx_in[GSO_SIZE_OFFSET..GSO_SIZE_OFFSET + 4].copy_from_slice(&gso_size.to_ne_bytes());
        }
        let mut ctx_out = [0u8; SKB_CTX_LEN];
        let result = program
            .test_run(TestRunOptions {
                data_in: Some(frame),
                data_out: Some(&mut out),
                ctx_in: Some(&ctx_in),
                ctx_out: Some(&mut ctx_out),
                ..TestRunOptions::new()
            })
            .expect("BPF_PROG_TEST_RUN");
        out.truncate(result.data_size_out as usize);
        let mark_out =
            u32::from_ne_bytes(ctx_out[MARK_OFFSET..MARK_OFFSET + 4].try_into().unwrap());
        (result.return_value, out, mark_out)
    }

    fn encap(&self, frame: &[u8]) -> (u32, Vec<u8>, u32) {
        self.run(PROG_VXLAN_ENCAP, frame, 0)
    }

    fn decap(&self, frame: &[u8]) -> (u32, Vec<u8>) {
        let (verdict, out, _) = self.run(PROG_VXLAN_DECAP, frame, 0);
        (verdict, out)
    }

    fn event(&self, name: &str) -> u64 {
        self.tables.counters().unwrap().0[name].packets
    }

    fn drops(&self, reason: VxlanDropReason) -> u64 {
        self.tables.counters().unwrap().1[reason.name()].packets
    }

    fn total_drops(&self) -> u64 {
        self.tables.counters().unwrap().1.values().map(|counter| counter.packets).sum()
    }

    fn learn_static(&self, mac: [u8; 6], vtep: [u8; 4]) {
        let entry = VxlanFdbEntry { last_seen_ns: 0, vtep, flags: 1 };
        self.tables.fdb_insert(Mac(mac), entry).unwrap();
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        let _ = pins::remove_pins(&self.dir);
    }
}

/// Checks the 50 outer bytes of `out` field by field for `vtep`; returns
/// the UDP source port.
fn check_outer(out: &[u8], inner: &[u8], vtep: [u8; 4]) -> u16 {
    assert_eq!(out.len(), inner.len() + 50, "50 bytes of outer headers");
    assert_eq!(&out[50..], inner, "the inner frame follows unchanged");
    assert_eq!(&out[0..12], &[0; 12], "MACs are left for bpf_redirect_neigh");
    assert_eq!(&out[12..14], &[0x08, 0x00], "outer EtherType IPv4");
    let ip = &out[14..34];
    assert_eq!(ip[0], 0x45, "IPv4, IHL 5");
    assert_eq!(ip[1], 0, "TOS");
    assert_eq!(usize::from(u16::from_be_bytes([ip[2], ip[3]])), 36 + inner.len(), "total length");
    assert_eq!(&ip[6..8], &[0x40, 0x00], "DF set, no fragment offset");
    assert_eq!(ip[8], 64, "TTL");
    assert_eq!(ip[9], 17, "UDP");
    assert_eq!(&ip[12..16], &LOCAL, "source: local VTEP");
    assert_eq!(&ip[16..20], &vtep, "destination: remote VTEP");
    let mut zeroed: [u8; 20] = ip.try_into().unwrap();
    zeroed[10..12].copy_from_slice(&[0, 0]);
    assert_eq!(
        u16::from_be_bytes([ip[10], ip[11]]),
        ipv4_header_checksum(&zeroed),
        "header checksum"
    );
    let udp = &out[34..42];
    let source_port = u16::from_be_bytes([udp[0], udp[1]]);
    assert!(source_port >= 49152, "source port {source_port} in the dynamic range");
    assert_eq!(u16::from_be_bytes([udp[2], udp[3]]), 4789, "VXLAN port");
    assert_eq!(usize::from(u16::from_be_bytes([udp[4], udp[5]])), 16 + inner.len(), "UDP length");
    assert_eq!(&udp[6..8], &[0, 0], "UDP checksum 0");
    assert_eq!(&out[42..50], &[0x08, 0, 0, 0, 0, 0, 42, 0], "I flag, VNI 42");
    source_port
}

#[test]
fn known_unicast_is_encapsulated_to_its_vtep() {
    let harness = Harness::new(LOCAL, &[REMOTE1, REMOTE2]);
    harness.learn_static(MAC_B, REMOTE2);
    let inner = inner_ipv4(MAC_B, MAC_A, 1000, 100);
    let (verdict, out, mark) = harness.encap(&inner);
    assert_eq!(verdict, TC_ACT_REDIRECT, "sent with bpf_redirect_neigh");
    assert_eq!(mark, 0, "IPv4 inner: no recirculation");
    let port = check_outer(&out, &inner, REMOTE2);
    // Same flow, same port; the port follows the inner flow hash.
    let (_, again, _) = harness.encap(&inner);
    assert_eq!(check_outer(&again, &inner, REMOTE2), port);
    let ports: std::collections::HashSet<u16> = (0..16)
        .map(|flow| {
            let inner = inner_ipv4(MAC_B, MAC_A, 2000 + flow, 10);
            check_outer(&harness.encap(&inner).1, &inner, REMOTE2)
        })
        .collect();
    assert!(ports.len() > 1, "different inner flows spread over source ports");
    assert_eq!(harness.event("encapsulated"), 18);
    assert_eq!(harness.event("flooded"), 0);
    assert_eq!(harness.total_drops(), 0);
}

#[test]
fn broadcast_and_unknown_unicast_are_flooded_to_every_vtep() {
    let harness = Harness::new(LOCAL, &[REMOTE1, REMOTE2]);
    // ARP broadcast: the original goes to slot 0 and, not being IPv4, is
    // recirculated once with the "send" mark.
    let arp = inner_arp(MAC_A);
    let (verdict, out, mark) = harness.encap(&arp);
    assert_eq!(verdict, TC_ACT_REDIRECT);
    check_outer(&out, &arp, REMOTE1);
    assert_eq!(mark, VXLAN_MARK_MAGIC | VXLAN_MARK_SEND);
    assert_eq!(harness.event("flooded"), 1);
    // The copy for slot 1 (what bpf_clone_redirect sent back in).
    let (verdict, out, mark) = harness.run(PROG_VXLAN_ENCAP, &arp, VXLAN_MARK_MAGIC | 1);
    assert_eq!(verdict, TC_ACT_REDIRECT);
    check_outer(&out, &arp, REMOTE2);
    assert_eq!(mark, VXLAN_MARK_MAGIC | VXLAN_MARK_SEND);
    assert_eq!(harness.event("flooded"), 1, "a copy is not a new flood");
    // The recirculated, already encapsulated frame is sent as it is.
    let (verdict, resent, mark) =
        harness.run(PROG_VXLAN_ENCAP, &out, VXLAN_MARK_MAGIC | VXLAN_MARK_SEND);
    assert_eq!((verdict, mark), (TC_ACT_REDIRECT, 0));
    assert_eq!(resent, out, "not encapsulated twice");
    // Before crossing the veth (at the tunnel port's egress) the frame
    // still says ARP: it is let through unchanged, mark kept.
    let (verdict, passed, mark) =
        harness.run(PROG_VXLAN_ENCAP, &arp, VXLAN_MARK_MAGIC | VXLAN_MARK_SEND);
    assert_eq!((verdict, mark), (TC_ACT_OK, VXLAN_MARK_MAGIC | VXLAN_MARK_SEND));
    assert_eq!(passed, arp);
    // Unknown unicast floods too.
    let unknown = inner_ipv4(MAC_B, MAC_A, 1000, 20);
    let (verdict, out, mark) = harness.encap(&unknown);
    assert_eq!((verdict, mark), (TC_ACT_REDIRECT, 0));
    check_outer(&out, &unknown, REMOTE1);
    assert_eq!(harness.event("flooded"), 2);
    assert_eq!(harness.event("encapsulated"), 3);
    // A copy for a slot that is gone is dropped, counted.
    let (verdict, _, _) = harness.run(PROG_VXLAN_ENCAP, &unknown, VXLAN_MARK_MAGIC | 5);
    assert_eq!(verdict, TC_ACT_SHOT);
    assert_eq!(harness.drops(VxlanDropReason::NoRemote), 1);
    assert_eq!(harness.drops(VxlanDropReason::FloodCopyFailed), 0);
}

#[test]
fn ipv6_inner_frames_are_sent_at_once() {
    let harness = Harness::new(LOCAL, &[REMOTE1]);
    harness.learn_static(MAC_B, REMOTE1);
    let inner = inner_ipv6(MAC_B, MAC_A, 200);
    let (verdict, out, mark) = harness.encap(&inner);
    assert_eq!(verdict, TC_ACT_REDIRECT, "sent with bpf_redirect_neigh");
    assert_eq!(mark, 0, "tunnelled: the outer protocol is IPv4, no recirculation");
    check_outer(&out, &inner, REMOTE1);
    assert_eq!(harness.total_drops(), 0);
}

#[test]
fn gso_frames_are_sized_by_their_segments() {
    let harness = Harness::new(LOCAL, &[REMOTE1]);
    harness.learn_static(MAC_B, REMOTE1);
    // 2 segments of 1398 bytes (a test run takes at most a page): each
    // wire segment is 14 + 20 + 32 + 1398 = 1464 bytes, exactly mtu + 14,
    // so the 2862-byte frame is not too big.
    let frame = inner_tcp(MAC_B, MAC_A, 2 * 1398);
    let (verdict, out, _) = harness.run_gso(PROG_VXLAN_ENCAP, &frame, 0, 1398);
    assert_eq!(verdict, TC_ACT_SHOT);
    assert_eq!(out, frame, "dropped unchanged");
    assert_eq!(harness.drops(VxlanDropReason::TooBig), 0, "segments fit the MTU");
    // A test run cannot set the GSO type, which the kernel needs to mark
    // the frame as tunnelled; a GSO frame is never sent unmarked.
    assert_eq!(harness.drops(VxlanDropReason::EncapFailed), 1);
    // One byte more per segment does not fit.
    let (verdict, _, _) = harness.run_gso(PROG_VXLAN_ENCAP, &frame, 0, 1399);
    assert_eq!(verdict, TC_ACT_SHOT);
    assert_eq!(harness.drops(VxlanDropReason::TooBig), 1);
    // Segments of a GSO frame that is not TCP/UDP cannot be sized.
    let mut other = frame.clone();
    other[23] = 47;
    assert_eq!(harness.run_gso(PROG_VXLAN_ENCAP, &other, 0, 1398).0, TC_ACT_SHOT);
    assert_eq!(harness.drops(VxlanDropReason::GsoFrame), 1);
    // Whole, the same frame is far over the MTU.
    assert_eq!(harness.encap(&frame).0, TC_ACT_SHOT);
    assert_eq!(harness.drops(VxlanDropReason::TooBig), 2);
    assert_eq!(harness.event("encapsulated"), 0);
}

#[test]
fn frames_over_the_mtu_and_without_remotes_are_counted() {
    let harness = Harness::new(LOCAL, &[REMOTE1]);
    harness.learn_static(MAC_B, REMOTE1);
    let largest = inner_ipv4(MAC_B, MAC_A, 1, 1450 - 28);
    assert_eq!(harness.encap(&largest).0, TC_ACT_REDIRECT, "1464-byte frame fits");
    let too_big = inner_ipv4(MAC_B, MAC_A, 1, 1450 - 27);
    let (verdict, out, _) = harness.encap(&too_big);
    assert_eq!(verdict, TC_ACT_SHOT);
    assert_eq!(out, too_big, "dropped unchanged");
    assert_eq!(harness.drops(VxlanDropReason::TooBig), 1);

    let lonely = Harness::new(LOCAL, &[]);
    assert_eq!(lonely.encap(&inner_arp(MAC_A)).0, TC_ACT_SHOT);
    assert_eq!(lonely.drops(VxlanDropReason::NoRemote), 1);
    lonely.tables.write_config(&VxlanConfig::default()).unwrap();
    assert_eq!(lonely.encap(&inner_arp(MAC_A)).0, TC_ACT_SHOT);
    assert_eq!(lonely.drops(VxlanDropReason::NotConfigured), 1);
}

#[test]
fn decapsulation_delivers_the_inner_frame_and_learns() {
    let harness = Harness::new(LOCAL, &[REMOTE1, REMOTE2]);
    let inner = inner_ipv4(MAC_A, MAC_B, 1000, 64);
    let (verdict, out) = harness.decap(&Outer::new(inner.clone()).frame());
    assert_eq!(verdict, TC_ACT_REDIRECT, "redirected to the tunnel port");
    assert_eq!(out, inner, "exactly the inner frame");
    let fdb = harness.tables.fdb().unwrap();
    let entry = fdb[&Mac(MAC_B)];
    assert_eq!((entry.vtep, entry.flags), (REMOTE1, 0), "learned behind the sender");
    assert!(entry.last_seen_ns > 0);
    assert_eq!(harness.event("decapsulated"), 1);
    assert_eq!(harness.event("learned"), 1);
    // The MAC moves to another VTEP.
    let moved = Outer { source: REMOTE2, ..Outer::new(inner.clone()) };
    assert_eq!(harness.decap(&moved.frame()).0, TC_ACT_REDIRECT);
    assert_eq!(harness.tables.fdb().unwrap()[&Mac(MAC_B)].vtep, REMOTE2);
    assert_eq!(harness.event("learned"), 2);
    // A static entry is never overwritten by learning.
    harness.learn_static(MAC_B, REMOTE2);
    assert_eq!(harness.decap(&Outer::new(inner.clone()).frame()).0, TC_ACT_REDIRECT);
    let fixed = harness.tables.fdb().unwrap()[&Mac(MAC_B)];
    assert_eq!((fixed.vtep, fixed.flags, fixed.last_seen_ns), (REMOTE2, 1, 0));
    // ARP (non-IP inner) and trailing padding behind the outer packet.
    let arp = inner_arp(MAC_B);
    let padded = Outer { trailer: 6, ..Outer::new(arp.clone()) };
    assert_eq!(harness.decap(&padded.frame()), (TC_ACT_REDIRECT, arp));
    assert_eq!(harness.total_drops(), 0);
}

#[test]
fn encapsulation_round_trips_through_decapsulation() {
    let sender = Harness::new(LOCAL, &[REMOTE1]);
    let receiver = Harness::new(REMOTE1, &[LOCAL]);
    for inner in [
        inner_ipv4(MAC_B, MAC_A, 4242, 1400),
        inner_arp(MAC_A),
        inner_ipv4(MAC_B, MAC_A, 1, 0),
        inner_ipv6(MAC_B, MAC_A, 100),
        inner_tcp(MAC_B, MAC_A, 1398),
    ] {
        let (verdict, mut wire, _) = sender.encap(&inner);
        assert_eq!(verdict, TC_ACT_REDIRECT);
        // What bpf_redirect_neigh writes: the underlay MACs.
        wire[0..12].copy_from_slice(&[2, 0, 0, 0, 0, 0x51, 2, 0, 0, 0, 0, 0x50]);
        assert_eq!(receiver.decap(&wire), (TC_ACT_REDIRECT, inner.clone()));
    }
    assert_eq!(receiver.tables.fdb().unwrap()[&Mac(MAC_A)].vtep, LOCAL);
    assert_eq!(receiver.event("decapsulated"), 5);
}

#[test]
fn traffic_that_is_not_ours_passes_untouched() {
    let harness = Harness::new(LOCAL, &[REMOTE1]);
    let inner = inner_ipv4(MAC_A, MAC_B, 1000, 32);
    let good = Outer::new(inner.clone());
    let mut not_udp = good.frame();
    not_udp[23] = 6;
    let mut later_fragment = good.frame();
    later_fragment[20..22].copy_from_slice(&0x0010u16.to_be_bytes());
    let cases = [
        ("other VNI", Outer { vni: 43, ..good.clone() }.frame()),
        ("other port", Outer { dst_port: 8472, ..good.clone() }.frame()),
        ("other address", Outer { destination: STRANGER, ..good.clone() }.frame()),
        ("not UDP", not_udp),
        ("later fragment", later_fragment),
        ("plain inner frame", inner.clone()),
        ("ARP", inner_arp(MAC_A)),
    ];
    for (what, frame) in &cases {
        assert_eq!(harness.decap(frame), (TC_ACT_UNSPEC, frame.clone()), "{what}");
    }
    assert_eq!(harness.event("decapsulated"), 0);
    assert_eq!(harness.total_drops(), 0, "nothing counted as ours");
    assert!(harness.tables.fdb().unwrap().is_empty());
}

#[test]
fn hostile_packets_are_dropped_by_reason_and_teach_nothing() {
    let harness = Harness::new(LOCAL, &[REMOTE1]);
    let inner = inner_ipv4(MAC_A, MAC_B, 1000, 32);
    let good = Outer::new(inner.clone());
    let mut header_cut = good.frame();
    header_cut.truncate(14 + 20 + 8 + 4);
    let cases: Vec<(VxlanDropReason, Vec<u8>)> = vec![
        (VxlanDropReason::TruncatedOuter, header_cut),
        (VxlanDropReason::TruncatedOuter, Outer { total_len_delta: 10, ..good.clone() }.frame()),
        (VxlanDropReason::BadUdpLength, Outer { udp_len_delta: -2, ..good.clone() }.frame()),
        (VxlanDropReason::BadFlags, Outer { flags: 0, ..good.clone() }.frame()),
        (VxlanDropReason::Fragmented, Outer { fragment: 0x2000, ..good.clone() }.frame()),
        (VxlanDropReason::UnknownRemote, Outer { source: STRANGER, ..good.clone() }.frame()),
        (VxlanDropReason::OwnSource, Outer { source: LOCAL, ..good.clone() }.frame()),
        (VxlanDropReason::BadInnerSource, Outer::new(inner_ipv4(MAC_A, BROADCAST, 1, 8)).frame()),
        (VxlanDropReason::BadInnerSource, Outer::new(inner_ipv4(MAC_A, [0; 6], 1, 8)).frame()),
        (VxlanDropReason::TruncatedInner, Outer::new(inner[..10].to_vec()).frame()),
        // 14-byte inner header and 3 bytes of payload: too short to shrink
        // to (the kernel wants at least an IPv4 header's worth).
        (VxlanDropReason::DecapFailed, Outer::new(inner[..17].to_vec()).frame()),
    ];
    let mut expected = std::collections::HashMap::new();
    for (reason, frame) in &cases {
        assert_eq!(harness.decap(frame).0, TC_ACT_SHOT, "{reason:?} must be dropped");
        *expected.entry(reason.name()).or_insert(0) += 1;
        assert_eq!(harness.drops(*reason), expected[reason.name()], "{reason:?} counted");
    }
    assert_eq!(harness.total_drops(), cases.len() as u64);
    assert_eq!(harness.event("decapsulated"), 0);
    assert!(harness.tables.fdb().unwrap().is_empty(), "no hostile packet taught the FDB");
}
