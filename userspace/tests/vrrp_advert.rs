//! The VRRP advert fast path on fixture packets through `BPF_PROG_TEST_RUN`:
//! validation by reason, the per-VRID master record, absorbing adverts that
//! say nothing new and passing the ones that change something.

use aya::{
    maps::{HashMap, MapData, PerCpuArray},
    programs::{TestRun as _, TestRunOptions},
};
use halb::{config::LogLevel, datapath::Datapath};
use halb_common::{
    checksum::InternetSum,
    names::{
        MAP_VRRP_CONFIG, MAP_VRRP_DROPS, MAP_VRRP_MASTERS, MAP_VRRP_VERDICTS, PROG_VRRP_ADVERT,
    },
    vrrp::{VrrpDropReason, VrrpInstanceConfig, VrrpMasterInfo, VrrpVerdict},
    TrafficCounter,
};

const TC_ACT_UNSPEC: u32 = u32::MAX;
const TC_ACT_SHOT: u32 = 2;
const OWN: [u8; 4] = [172, 16, 1, 251];
const PEER: [u8; 4] = [172, 16, 1, 250];
const OTHER: [u8; 4] = [172, 16, 1, 249];
const VIP: [u8; 4] = [172, 16, 1, 254];

/// One advert as built on the wire; fields can be broken one at a time.
#[derive(Clone)]
struct Advert {
    version: u8,
    kind: u8,
    vrid: u8,
    priority: u8,
    interval: u16, // v2: seconds, v3: centiseconds
    addresses: Vec<[u8; 4]>,
    count_override: Option<u8>,
    source: [u8; 4],
    destination: [u8; 4],
    ttl: u8,
    corrupt_checksum: bool,
}

impl Advert {
    fn v2(priority: u8) -> Self {
        Self {
            version: 2,
            kind: 1,
            vrid: 12,
            priority,
            interval: 1,
            addresses: vec![VIP],
            count_override: None,
            source: PEER,
            destination: [224, 0, 0, 18],
            ttl: 255,
            corrupt_checksum: false,
        }
    }

    fn v3(priority: u8) -> Self {
        Self { version: 3, interval: 100, ..Self::v2(priority) }
    }

    fn message(&self) -> Vec<u8> {
        let count = self.count_override.unwrap_or(u8::try_from(self.addresses.len()).unwrap());
        let mut message = vec![(self.version << 4) | self.kind, self.vrid, self.priority, count];
        if self.version == 2 {
            message.extend_from_slice(&[0, u8::try_from(self.interval).unwrap(), 0, 0]);
        } else {
            message.extend_from_slice(&self.interval.to_be_bytes());
            message.extend_from_slice(&[0, 0]);
        }
        for address in &self.addresses {
            message.extend_from_slice(address);
        }
        if self.version == 2 {
            message.extend_from_slice(&[0; 8]);
        }
        let mut sum = InternetSum::new();
        if self.version == 3 {
            let length = u16::try_from(message.len()).unwrap();
            sum = sum.add_ipv4_pseudo_header(self.source, self.destination, 112, length);
        }
        let mut checksum = sum.add_bytes(&message).checksum();
        if self.corrupt_checksum {
            checksum ^= 0x0101;
        }
        message[6..8].copy_from_slice(&checksum.to_be_bytes());
        message
    }

    fn frame(&self) -> Vec<u8> {
        let message = self.message();
        let total = u16::try_from(20 + message.len()).unwrap();
        let mut frame = vec![0x01, 0x00, 0x5e, 0x00, 0x00, 0x12, 0x00, 0x00, 0x5e, 0x00, 0x01, 12];
        frame.extend_from_slice(&0x0800u16.to_be_bytes());
        let mut ip = vec![0x45, 0xc0];
        ip.extend_from_slice(&total.to_be_bytes());
        ip.extend_from_slice(&[0, 0, 0, 0, self.ttl, 112, 0, 0]);
        ip.extend_from_slice(&self.source);
        ip.extend_from_slice(&self.destination);
        frame.extend_from_slice(&ip);
        frame.extend_from_slice(&message);
        frame
    }
}

struct Harness {
    datapath: Datapath,
}

impl Harness {
    /// VRID 12 configured for `version`, our own address `OWN`.
    fn new(version: u8) -> Self {
        let mut datapath = Datapath::load(LogLevel::Warn).expect("load the eBPF object");
        let map = datapath.ebpf_mut().map_mut(MAP_VRRP_CONFIG).expect("config map");
        let mut config: HashMap<&mut MapData, u32, VrrpInstanceConfig> =
            HashMap::try_from(map).unwrap();
        config.insert(12, VrrpInstanceConfig { version, _pad: [0; 3], own_addr: OWN }, 0).unwrap();
        Self { datapath }
    }

    fn run(&self, frame: &[u8]) -> u32 {
        let program = self.datapath.program(PROG_VRRP_ADVERT).unwrap();
        program
            .test_run(TestRunOptions { data_in: Some(frame), ..TestRunOptions::new() })
            .expect("BPF_PROG_TEST_RUN")
            .return_value
    }

    fn master(&self) -> Option<VrrpMasterInfo> {
        let map = self.datapath.ebpf().map(MAP_VRRP_MASTERS).unwrap();
        let masters: HashMap<&MapData, u32, VrrpMasterInfo> = HashMap::try_from(map).unwrap();
        masters.get(&12, 0).ok()
    }

    fn per_cpu_sum(&self, map: &str, index: u32) -> u64 {
        let map = self.datapath.ebpf().map(map).unwrap();
        let array: PerCpuArray<&MapData, TrafficCounter> = PerCpuArray::try_from(map).unwrap();
        array.get(&index, 0).unwrap().iter().map(|counter| counter.packets).sum()
    }

    fn drops(&self, reason: VrrpDropReason) -> u64 {
        self.per_cpu_sum(MAP_VRRP_DROPS, reason as u32)
    }

    fn verdicts(&self, verdict: VrrpVerdict) -> u64 {
        self.per_cpu_sum(MAP_VRRP_VERDICTS, verdict as u32)
    }
}

#[test]
fn repeated_adverts_are_absorbed_and_changes_passed() {
    let harness = Harness::new(2);
    let advert = Advert::v2(150);
    assert_eq!(harness.run(&advert.frame()), TC_ACT_UNSPEC, "first advert is news");
    let first = harness.master().expect("master recorded");
    assert_eq!(first.master_addr, PEER);
    assert_eq!((first.priority, first.version, first.interval_cs), (150, 2, 100));
    assert_eq!((first.adverts, first.changes), (1, 1));

    assert_eq!(harness.run(&advert.frame()), TC_ACT_SHOT, "same advert again is absorbed");
    let second = harness.master().unwrap();
    assert_eq!((second.adverts, second.changes), (2, 1));
    assert!(second.last_seen_ns >= first.last_seen_ns);

    for changed in [
        Advert { priority: 200, ..advert.clone() },
        Advert { source: OTHER, priority: 200, ..advert.clone() },
        Advert { interval: 2, source: OTHER, priority: 200, ..advert.clone() },
    ] {
        assert_eq!(harness.run(&changed.frame()), TC_ACT_UNSPEC, "a change is passed up");
    }
    let shutdown = Advert { priority: 0, source: OTHER, interval: 2, ..advert.clone() };
    assert_eq!(harness.run(&shutdown.frame()), TC_ACT_UNSPEC);
    assert_eq!(harness.run(&shutdown.frame()), TC_ACT_UNSPEC, "priority 0 always goes up");
    let last = harness.master().unwrap();
    assert_eq!((last.master_addr, last.priority, last.interval_cs), (OTHER, 0, 200));
    assert_eq!((last.adverts, last.changes), (7, 6));
    assert_eq!(harness.verdicts(VrrpVerdict::Absorbed), 1);
    assert_eq!(harness.verdicts(VrrpVerdict::PassedChange), 6);
}

#[test]
fn v3_checksum_covers_the_pseudo_header() {
    let harness = Harness::new(3);
    let advert = Advert::v3(100);
    assert_eq!(harness.run(&advert.frame()), TC_ACT_UNSPEC);
    assert_eq!(harness.master().unwrap().interval_cs, 100);
    // Same message bytes with another source: the pseudo-header no longer matches.
    let mut forged = advert.frame();
    forged[26..30].copy_from_slice(&OTHER);
    assert_eq!(harness.run(&forged), TC_ACT_SHOT);
    assert_eq!(harness.drops(VrrpDropReason::BadChecksum), 1);
}

#[test]
fn invalid_adverts_are_dropped_by_reason_and_change_nothing() {
    let harness = Harness::new(2);
    let good = Advert::v2(150);
    let mut truncated = good.frame();
    truncated.truncate(truncated.len() - 4);
    let cases: Vec<(VrrpDropReason, Vec<u8>)> = vec![
        (VrrpDropReason::BadTtl, Advert { ttl: 254, ..good.clone() }.frame()),
        (VrrpDropReason::BadDestination, Advert { destination: OWN, ..good.clone() }.frame()),
        (VrrpDropReason::UnknownVrid, Advert { vrid: 13, ..good.clone() }.frame()),
        (VrrpDropReason::BadVersion, Advert::v3(150).frame()),
        (VrrpDropReason::BadType, Advert { kind: 2, ..good.clone() }.frame()),
        (
            VrrpDropReason::BadAddressCount,
            Advert { count_override: Some(2), ..good.clone() }.frame(),
        ),
        (VrrpDropReason::ZeroInterval, Advert { interval: 0, ..good.clone() }.frame()),
        (VrrpDropReason::BadChecksum, Advert { corrupt_checksum: true, ..good.clone() }.frame()),
        (VrrpDropReason::Truncated, truncated),
    ];
    for (reason, frame) in &cases {
        assert_eq!(harness.run(frame), TC_ACT_SHOT, "{reason:?} must be dropped");
        assert_eq!(harness.drops(*reason), 1, "{reason:?} counted once");
    }
    assert!(harness.master().is_none(), "no invalid advert may become the master record");
    assert_eq!(harness.verdicts(VrrpVerdict::Dropped), cases.len() as u64);
}

#[test]
fn own_adverts_and_other_traffic_pass_untouched() {
    let harness = Harness::new(2);
    assert_eq!(harness.run(&Advert { source: OWN, ..Advert::v2(100) }.frame()), TC_ACT_UNSPEC);
    assert!(harness.master().is_none(), "our own advert is not a master");
    assert_eq!(harness.verdicts(VrrpVerdict::Own), 1);
    // A UDP packet: not VRRP, not counted at all.
    let mut udp = Advert::v2(100).frame();
    udp[23] = 17;
    assert_eq!(harness.run(&udp), TC_ACT_UNSPEC);
    let counted: u64 = VrrpVerdict::ALL.iter().map(|verdict| harness.verdicts(*verdict)).sum();
    assert_eq!(counted, 1);
}
