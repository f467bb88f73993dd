//! The STP port programs (`stp_port_in`, `stp_port_out`) on fixture frames
//! through `BPF_PROG_TEST_RUN`: BPDUs are dropped at ingress and counted,
//! other frames cross only a forwarding (ingress: or learning) port, a
//! missing entry discards, and at egress only BPDUs carrying the daemon's
//! mark pass.
//!
//! A test run without a context runs on the loopback device, so the port
//! key is ifindex 1 here.

use aya::{
    maps::{HashMap, MapData, PerCpuHashMap},
    programs::{TestRun as _, TestRunOptions},
};
use halb::{config::LogLevel, datapath::Datapath, stp::Bpdu};
use halb_common::{
    names::{MAP_STP_PORT_COUNTERS, MAP_STP_PORT_STATE, PROG_STP_PORT_IN, PROG_STP_PORT_OUT},
    stp::{StpPortCounters, StpPortEntry, StpState, STP_BPDU_MARK},
};

const TC_ACT_UNSPEC: u32 = u32::MAX;
const TC_ACT_SHOT: u32 = 2;
const PORT: u32 = 1;
const MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0a];
/// Offset of `mark` in `struct __sk_buff`.
const SKB_MARK_OFFSET: usize = 8;

struct Harness {
    datapath: Datapath,
}

impl Harness {
    fn new() -> Self {
        Self { datapath: Datapath::load(LogLevel::Warn).expect("load the eBPF object") }
    }

    fn set_state(&mut self, state: Option<StpState>) {
        let map = self.datapath.ebpf_mut().map_mut(MAP_STP_PORT_STATE).expect("state map");
        let mut states: HashMap<&mut MapData, u32, StpPortEntry> = HashMap::try_from(map).unwrap();
        match state {
            Some(state) => states
                .insert(PORT, StpPortEntry { state: state as u32, bridge_ifindex: 7 }, 0)
                .unwrap(),
            // Absent already is fine.
            None => drop(states.remove(&PORT)),
        }
    }

    fn run(&self, program: &'static str, frame: &[u8], mark: Option<u32>) -> u32 {
        let mut context = [0u8; 48];
        context[SKB_MARK_OFFSET..SKB_MARK_OFFSET + 4]
            .copy_from_slice(&mark.unwrap_or(0).to_ne_bytes());
        let program = self.datapath.program(program).unwrap();
        program
            .test_run(TestRunOptions {
                data_in: Some(frame),
                ctx_in: mark.map(|_| &context[..]),
                ..TestRunOptions::new()
            })
            .expect("BPF_PROG_TEST_RUN")
            .return_value
    }

    fn counters(&self) -> StpPortCounters {
        let map = self.datapath.ebpf().map(MAP_STP_PORT_COUNTERS).unwrap();
        let counters: PerCpuHashMap<&MapData, u32, StpPortCounters> =
            PerCpuHashMap::try_from(map).unwrap();
        counters.get(&PORT, 0).map_or_else(
            |_| StpPortCounters::default(),
            |values| values.iter().fold(StpPortCounters::default(), StpPortCounters::plus),
        )
    }
}

fn bpdu_frame() -> Vec<u8> {
    halb::net::bpdu_socket::frame(MAC, &Bpdu::Tcn)
}

fn ipv4_frame() -> Vec<u8> {
    let mut frame = vec![0xff; 6];
    frame.extend_from_slice(&MAC);
    frame.extend_from_slice(&0x0800u16.to_be_bytes());
    frame.extend_from_slice(&[0x45, 0, 0, 20, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
    frame.resize(60, 0);
    frame
}

/// To the group address, but another LSAP: not a BPDU, so plain data.
fn other_llc_frame() -> Vec<u8> {
    let mut frame = bpdu_frame();
    frame[14] = 0xaa;
    frame[15] = 0xaa;
    frame
}

#[test]
fn ingress_drops_bpdus_in_every_state_and_counts_them() {
    let mut harness = Harness::new();
    let states = [None].into_iter().chain(StpState::ALL.into_iter().map(Some)).collect::<Vec<_>>();
    for state in &states {
        harness.set_state(*state);
        assert_eq!(harness.run(PROG_STP_PORT_IN, &bpdu_frame(), None), TC_ACT_SHOT, "{state:?}");
    }
    let counters = harness.counters();
    assert_eq!(counters.bpdu_in, u64::try_from(states.len()).unwrap());
    assert_eq!(counters.passed_ingress + counters.dropped_ingress, 0);
}

#[test]
fn ingress_passes_data_only_when_learning_or_forwarding() {
    let mut harness = Harness::new();
    harness.set_state(None);
    assert_eq!(harness.run(PROG_STP_PORT_IN, &ipv4_frame(), None), TC_ACT_SHOT, "no entry");
    for state in StpState::ALL {
        harness.set_state(Some(state));
        let expected = match state {
            StpState::Learning | StpState::Forwarding => TC_ACT_UNSPEC,
            _ => TC_ACT_SHOT,
        };
        assert_eq!(harness.run(PROG_STP_PORT_IN, &ipv4_frame(), None), expected, "{state:?}");
        assert_eq!(harness.run(PROG_STP_PORT_IN, &other_llc_frame(), None), expected, "{state:?}");
    }
    let counters = harness.counters();
    assert_eq!(counters.passed_ingress, 4);
    assert_eq!(counters.dropped_ingress, 1 + 8);
    assert_eq!(counters.bpdu_in, 0);
}

#[test]
fn egress_passes_data_only_when_forwarding_and_only_marked_bpdus() {
    let mut harness = Harness::new();
    harness.set_state(None);
    assert_eq!(harness.run(PROG_STP_PORT_OUT, &ipv4_frame(), None), TC_ACT_SHOT, "no entry");
    assert_eq!(
        harness.run(PROG_STP_PORT_OUT, &bpdu_frame(), Some(STP_BPDU_MARK)),
        TC_ACT_UNSPEC,
        "the daemon's BPDU leaves a port without an entry"
    );
    for state in StpState::ALL {
        harness.set_state(Some(state));
        let expected = if state == StpState::Forwarding { TC_ACT_UNSPEC } else { TC_ACT_SHOT };
        assert_eq!(harness.run(PROG_STP_PORT_OUT, &ipv4_frame(), None), expected, "{state:?}");
        assert_eq!(
            harness.run(PROG_STP_PORT_OUT, &bpdu_frame(), Some(STP_BPDU_MARK)),
            TC_ACT_UNSPEC,
            "{state:?}"
        );
        assert_eq!(
            harness.run(PROG_STP_PORT_OUT, &bpdu_frame(), None),
            TC_ACT_SHOT,
            "a BPDU the daemon did not send never leaves ({state:?})"
        );
        assert_eq!(
            harness.run(PROG_STP_PORT_OUT, &bpdu_frame(), Some(0x1234)),
            TC_ACT_SHOT,
            "another mark is not the daemon's ({state:?})"
        );
    }
    let counters = harness.counters();
    assert_eq!(counters.bpdu_out, 7);
    assert_eq!(counters.passed_egress, 1);
    assert_eq!(counters.dropped_egress, 1 + 5 + 12);
}

#[test]
fn short_and_odd_frames_are_data() {
    let mut harness = Harness::new();
    harness.set_state(Some(StpState::Discarding));
    let bpdu = bpdu_frame();
    // Shorter than header + LLC SAPs: cannot be a BPDU, so discarded data.
    assert_eq!(harness.run(PROG_STP_PORT_IN, &bpdu[..15], None), TC_ACT_SHOT);
    // An EtherType instead of a length: not a BPDU.
    let mut typed = bpdu.clone();
    typed[12..14].copy_from_slice(&0x88ccu16.to_be_bytes());
    harness.set_state(Some(StpState::Forwarding));
    assert_eq!(harness.run(PROG_STP_PORT_IN, &typed, None), TC_ACT_UNSPEC);
    let counters = harness.counters();
    assert_eq!((counters.bpdu_in, counters.dropped_ingress, counters.passed_ingress), (0, 1, 1));
}
