//! Role selection on one bridge fed BPDUs by hand: root election, root
//! port and alternate choice by root path cost, designated bridge and port
//! ids, and information ageing.

use super::{bridge, drain, info, origin, params, sent, SECOND};
use crate::stp::{Bpdu, BridgeId, PortState, Protocol, Role};

const COST: u32 = 200_000;

fn roles(bridge: &crate::stp::Bridge) -> Vec<Role> {
    bridge.status().ports.iter().map(|p| p.role).collect()
}

#[test]
fn alone_it_is_root_and_every_port_is_designated() {
    let t0 = origin();
    let mut b = bridge(params(5, 32768, 3));
    b.port_up(t0, 0, true);
    b.port_up(t0, 1, true);
    assert_eq!(roles(&b), [Role::Designated, Role::Designated, Role::Disabled]);
    let status = b.status();
    assert_eq!(status.root_id, b.bridge_id());
    assert_eq!(status.root_port, None);
    assert_eq!(status.root_path_cost, 0);
    // Both up ports propose (RST, designated, proposal flag).
    let out = sent(&drain(&mut b));
    assert_eq!(out.len(), 2);
    for (_, bpdu) in out {
        let Bpdu::Rst(info) = bpdu else { panic!("RSTP sends RST BPDUs") };
        assert!(info.flags.has(crate::stp::Flags::PROPOSAL));
        assert_eq!(info.root, b.bridge_id());
    }
    assert!(b.poll_timeout().is_some_and(|at| at > t0));
}

#[test]
fn root_port_by_path_cost_then_designated_ids() {
    let t0 = origin();
    let mut b = bridge(params(5, 32768, 3));
    for port in 0..3 {
        b.port_up(t0, port, true);
    }
    let root = BridgeId::new(4096, super::mac(1));
    // Port 0 hears the root directly; port 1 hears it through bridge 2 at
    // cost 100 more; port 2 hears it through bridge 3 at cost 0 (a
    // parallel path: same cost as port 0, but bridge 3 > bridge 1).
    b.handle_bpdu(t0, 1, &Bpdu::Config(info(root, 100, 2, 32768, 1)));
    assert_eq!(roles(&b)[1], Role::Root);
    b.handle_bpdu(t0, 0, &Bpdu::Config(info(root, 0, 1, 4096, 1)));
    b.handle_bpdu(t0, 2, &Bpdu::Config(info(root, 0, 3, 32768, 1)));
    assert_eq!(roles(&b), [Role::Root, Role::Alternate, Role::Alternate]);
    let status = b.status();
    assert_eq!(status.root_id, root);
    assert_eq!(status.root_port, Some(0));
    assert_eq!(status.root_path_cost, COST);
    assert_eq!(status.ports[1].designated_bridge, BridgeId::new(32768, super::mac(2)));
    // Bridge 3 now claims a worse root path (cost 2 * COST) than ours:
    // its port is no longer better than what we would send there.
    b.handle_bpdu(t0, 2, &Bpdu::Config(info(root, 2 * COST, 3, 32768, 1)));
    assert_eq!(roles(&b)[2], Role::Designated);
    // Bridge 2 through a cheaper path than our root port: cost matters
    // more than bridge ids.
    b.handle_bpdu(t0, 1, &Bpdu::Config(info(root, 0, 2, 32768, 1)));
    assert_eq!(roles(&b), [Role::Root, Role::Alternate, Role::Designated], "tie -> bridge id");
}

#[test]
fn a_better_root_wins_and_aged_information_is_dropped() {
    let t0 = origin();
    let mut b = bridge(params(5, 32768, 2));
    b.port_up(t0, 0, true);
    b.port_up(t0, 1, true);
    let root = BridgeId::new(32768, super::mac(1));
    b.handle_bpdu(t0, 0, &Bpdu::Rst(info(root, 0, 1, 32768, 1)));
    assert_eq!(b.status().root_id, root);
    // Repeated every hello, the information stays.
    for tick in 1..=5u32 {
        b.handle_timeout(t0 + SECOND * (2 * tick - 1));
        b.handle_bpdu(t0 + SECOND * 2 * tick, 0, &Bpdu::Rst(info(root, 0, 1, 32768, 1)));
    }
    assert_eq!(b.status().root_port, Some(0));
    // Silent for less than three hellos: still root port.
    let last = t0 + SECOND * 10;
    b.handle_timeout(last + SECOND * 5);
    assert_eq!(b.status().root_port, Some(0));
    // Three hellos (6 s): aged, the bridge is root again.
    let due = b.poll_timeout().unwrap();
    assert_eq!(due, last + SECOND * 6);
    b.handle_timeout(due);
    assert_eq!(b.status().root_id, b.bridge_id());
    assert_eq!(roles(&b), [Role::Designated, Role::Designated]);
}

#[test]
fn stp_bridge_ages_after_max_age_minus_message_age_and_ignores_rst() {
    let t0 = origin();
    let mut p = params(5, 32768, 2);
    p.protocol = Protocol::Stp;
    let mut b = bridge(p);
    b.port_up(t0, 0, true);
    let root = BridgeId::new(32768, super::mac(1));
    b.handle_bpdu(t0, 0, &Bpdu::Rst(info(root, 0, 1, 32768, 1)));
    assert_eq!(b.status().root_id, b.bridge_id(), "RST is unknown to 802.1D-1998");
    assert_eq!(b.status().ports[0].bpdus_ignored, 1);
    let mut config = info(root, 0, 1, 32768, 1);
    config.times.message_age = SECOND * 3;
    b.handle_bpdu(t0, 0, &Bpdu::Config(config));
    assert_eq!(b.status().root_id, root);
    assert_eq!(b.status().ports[0].state, PortState::Listening);
    b.handle_timeout(t0 + SECOND * 16);
    assert_eq!(b.status().root_id, root, "kept for max age - message age = 17 s");
    b.handle_timeout(t0 + SECOND * 17);
    assert_eq!(b.status().root_id, b.bridge_id());
}

#[test]
fn own_bpdu_looped_back_is_ignored() {
    let t0 = origin();
    let mut b = bridge(params(5, 32768, 1));
    b.port_up(t0, 0, true);
    let (_, bpdu) = sent(&drain(&mut b)).pop().unwrap();
    b.handle_bpdu(t0, 0, &bpdu);
    assert_eq!(roles(&b), [Role::Designated]);
    assert_eq!(b.status().ports[0].bpdus_ignored, 1);
    assert_eq!(b.status().ports[0].bpdus_in, 0);
}
