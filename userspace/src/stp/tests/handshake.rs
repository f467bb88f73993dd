//! The RSTP proposal/agreement handshake between two bridges, BPDU by
//! BPDU, with no time passing; and what a port without a partner does.

use super::{bridge, drain, origin, params, sent, SECOND};
use crate::stp::{Action, Bpdu, BpduRole, Bridge, Flags, PortState, Role};

/// Hands every queued BPDU on `port_a` of `a` to `port_b` of `b` and back
/// until both are quiet; returns (sender, flags) in order. Other actions
/// are dropped.
fn exchange(
    now: std::time::Instant,
    a: &mut Bridge,
    b: &mut Bridge,
    ports: (usize, usize),
) -> Vec<(char, Flags)> {
    let mut seen = vec![];
    loop {
        let from_a: Vec<_> = drain(a);
        let from_b: Vec<_> = drain(b);
        if from_a.is_empty() && from_b.is_empty() {
            return seen;
        }
        for (port, bpdu) in sent(&from_a) {
            if port == ports.0 {
                seen.push(('A', bpdu.info().map(|i| i.flags).unwrap_or_default()));
                b.handle_bpdu(now, ports.1, &bpdu);
            }
        }
        for (port, bpdu) in sent(&from_b) {
            if port == ports.1 {
                seen.push(('B', bpdu.info().map(|i| i.flags).unwrap_or_default()));
                a.handle_bpdu(now, ports.0, &bpdu);
            }
        }
    }
}

#[test]
fn proposal_agreement_makes_both_ends_forward_at_once() {
    let t0 = origin();
    let mut a = bridge(params(1, 4096, 1));
    let mut b = bridge(params(2, 32768, 3));
    a.port_up(t0, 0, true);
    b.port_up(t0, 0, true);
    b.port_up(t0, 2, true);
    // B's port 2 has no partner.
    let a_first = sent(&drain(&mut a));
    let (_, Bpdu::Rst(proposal)) = a_first[0] else { panic!("A sends RST") };
    assert_eq!(proposal.flags.role(), BpduRole::Designated);
    assert!(proposal.flags.has(Flags::PROPOSAL));
    assert!(!proposal.flags.has(Flags::LEARNING) && !proposal.flags.has(Flags::FORWARDING));
    drop(drain(&mut b));
    b.handle_bpdu(t0, 0, &Bpdu::Rst(proposal));
    // B: new root port, sync (port 2 is discarding, hence synced), agree.
    let out = drain(&mut b);
    let replies: Vec<_> = sent(&out).into_iter().filter(|(port, _)| *port == 0).collect();
    let (_, Bpdu::Rst(agreement)) = replies[0] else { panic!("B answers with RST") };
    assert_eq!(agreement.flags.role(), BpduRole::Root);
    assert!(agreement.flags.has(Flags::AGREEMENT));
    assert_eq!(agreement.root, a.bridge_id());
    assert!(out.contains(&Action::SetPortState { port: 0, state: PortState::Forwarding }));
    // B's other port proposes in turn.
    let onward = sent(&out).into_iter().find(|(port, _)| *port == 2).map(|(_, bpdu)| bpdu);
    let Some(Bpdu::Rst(onward)) = onward else { panic!("B proposes on port 2") };
    assert!(onward.flags.has(Flags::PROPOSAL));
    assert_eq!(onward.root, a.bridge_id());
    // A: the agreement makes its designated port forward, same instant.
    a.handle_bpdu(t0, 0, &Bpdu::Rst(agreement));
    let out = drain(&mut a);
    assert!(out.contains(&Action::SetPortState { port: 0, state: PortState::Forwarding }));
    assert_eq!(a.status().ports[0].state, PortState::Forwarding);
    assert_eq!(b.status().ports[0].role, Role::Root);
    // Port 2 waits: forward delay discarding, hello time learning.
    assert_eq!(b.status().ports[2].state, PortState::Discarding);
    b.handle_timeout(t0 + SECOND * 14);
    assert_eq!(b.status().ports[2].state, PortState::Discarding);
    b.handle_timeout(t0 + SECOND * 15);
    assert_eq!(b.status().ports[2].state, PortState::Learning);
    b.handle_timeout(t0 + SECOND * 17);
    assert_eq!(b.status().ports[2].state, PortState::Forwarding);
}

#[test]
fn handshake_sequence_from_both_sides_claiming_root() {
    let t0 = origin();
    let mut a = bridge(params(1, 4096, 1));
    let mut b = bridge(params(2, 32768, 1));
    a.port_up(t0, 0, true);
    b.port_up(t0, 0, true);
    let seen = exchange(t0, &mut a, &mut b, (0, 0));
    // Both propose as designated; B yields and agrees as root port; then
    // both report learning/forwarding. Nothing needed a timer.
    let proposal = |f: &Flags| f.has(Flags::PROPOSAL) && f.role() == BpduRole::Designated;
    assert!(proposal(&seen[0].1) && proposal(&seen[1].1), "{seen:?}");
    let agreement = seen
        .iter()
        .position(|(who, f)| *who == 'B' && f.has(Flags::AGREEMENT) && f.role() == BpduRole::Root);
    assert!(agreement.is_some(), "{seen:?}");
    assert_eq!(a.status().ports[0].state, PortState::Forwarding);
    assert_eq!(b.status().ports[0].state, PortState::Forwarding);
    assert_eq!(b.status().root_id, a.bridge_id());
}

#[test]
fn no_rapid_transition_on_shared_links() {
    let t0 = origin();
    let mut a = bridge(params(1, 4096, 1));
    let mut b = bridge(params(2, 32768, 1));
    a.port_up(t0, 0, false);
    b.port_up(t0, 0, false);
    exchange(t0, &mut a, &mut b, (0, 0));
    // B's root port forwards (re-rooted), A's designated port must wait:
    // agreements only count on point-to-point links.
    assert_eq!(b.status().ports[0].state, PortState::Forwarding);
    assert_eq!(a.status().ports[0].state, PortState::Discarding);
    a.handle_timeout(t0 + SECOND * 15);
    a.handle_timeout(t0 + SECOND * 17);
    assert_eq!(a.status().ports[0].state, PortState::Forwarding);
}
