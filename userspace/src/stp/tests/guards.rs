//! Edge ports (admin and auto), BPDU guard and root guard.

use super::{bridge, drain, info, mac, origin, params, SECOND};
use crate::stp::{Action, Bpdu, BridgeId, Event, Mode, PortState, Protocol, Role};

fn events(actions: &[Action]) -> Vec<Event> {
    (actions.iter())
        .filter_map(|a| match a {
            Action::Transition { event, .. } => Some(event.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn admin_edge_forwards_at_once_without_topology_change() {
    for protocol in [Protocol::Rstp, Protocol::Stp] {
        let t0 = origin();
        let mut p = params(1, 32768, 2);
        p.protocol = protocol;
        p.ports[1].admin_edge = true;
        let mut b = bridge(p);
        b.port_up(t0, 1, true);
        let out = drain(&mut b);
        assert!(out.contains(&Action::SetPortState { port: 1, state: PortState::Forwarding }));
        let status = b.status();
        assert!(status.ports[1].oper_edge);
        assert_eq!(status.topology_change_count, 0, "{protocol:?}: edge ports cause no TC");
        assert!(!out.iter().any(|a| matches!(a, Action::FlushFdb { .. })));
    }
}

#[test]
fn a_bpdu_on_an_edge_port_makes_it_a_normal_port() {
    let t0 = origin();
    let mut p = params(1, 32768, 1);
    p.ports[0].admin_edge = true;
    let mut b = bridge(p);
    b.port_up(t0, 0, true);
    drop(drain(&mut b));
    let root = BridgeId::new(4096, mac(9));
    b.handle_bpdu(t0, 0, &Bpdu::Rst(info(root, 0, 9, 4096, 1)));
    let out = drain(&mut b);
    assert!(events(&out).contains(&Event::EdgeChanged { edge: false }));
    let status = b.status();
    assert!(!status.ports[0].oper_edge && status.ports[0].admin_edge);
    assert_eq!(status.ports[0].role, Role::Root);
}

#[test]
fn auto_edge_after_the_edge_delay_on_a_silent_port() {
    let t0 = origin();
    let mut p = params(1, 32768, 2);
    p.ports[0].auto_edge = true;
    let mut b = bridge(p);
    b.port_up(t0, 0, true);
    b.port_up(t0, 1, true);
    b.handle_timeout(t0 + SECOND * 2);
    assert_eq!(b.status().ports[0].state, PortState::Discarding);
    b.handle_timeout(t0 + SECOND * 3); // MigrateTime on a point-to-point link
    let status = b.status();
    assert!(status.ports[0].oper_edge);
    assert_eq!(status.ports[0].state, PortState::Forwarding);
    assert_eq!(status.ports[1].state, PortState::Discarding, "port 1 has no auto edge");
}

#[test]
fn bpdu_guard_disables_the_port_until_link_cycles() {
    let t0 = origin();
    let mut p = params(1, 32768, 2);
    p.ports[1].admin_edge = true;
    p.ports[1].bpdu_guard = true;
    let mut b = bridge(p);
    b.port_up(t0, 1, true);
    assert_eq!(b.status().ports[1].state, PortState::Forwarding);
    drop(drain(&mut b));
    let rogue = BridgeId::new(0, mac(66));
    b.handle_bpdu(t0 + SECOND, 1, &Bpdu::Config(info(rogue, 0, 66, 0, 1)));
    let out = drain(&mut b);
    assert!(out.contains(&Action::SetPortState { port: 1, state: PortState::Disabled }));
    assert!(events(&out).contains(&Event::BpduGuardTripped { from: Some(rogue) }));
    let status = b.status();
    assert!(status.ports[1].bpdu_guard_tripped);
    assert_eq!(status.ports[1].role, Role::Disabled);
    assert_eq!(status.root_id, b.bridge_id(), "the rogue's information is not used");
    // Nothing is sent on it, further BPDUs are dropped.
    b.handle_timeout(t0 + SECOND * 10);
    b.handle_bpdu(t0 + SECOND * 10, 1, &Bpdu::Tcn);
    assert!(!drain(&mut b).iter().any(|a| matches!(a, Action::SendBpdu { port: 1, .. })));
    assert_eq!(b.status().ports[1].bpdus_ignored, 1);
    // Link down and up re-enables it.
    b.port_down(t0 + SECOND * 11, 1);
    b.port_up(t0 + SECOND * 12, 1, true);
    let status = b.status();
    assert!(!status.ports[1].bpdu_guard_tripped);
    assert_eq!(status.ports[1].state, PortState::Forwarding);
}

#[test]
fn root_guard_blocks_superior_bpdus_until_they_stop() {
    let t0 = origin();
    let mut p = params(5, 32768, 2);
    p.ports[1].root_guard = true;
    let mut b = bridge(p);
    b.port_up(t0, 0, true);
    b.port_up(t0, 1, true);
    let root = BridgeId::new(4096, mac(1));
    b.handle_bpdu(t0, 0, &Bpdu::Rst(info(root, 0, 1, 4096, 1)));
    drop(drain(&mut b));
    // A better root appears behind the guarded port.
    let usurper = BridgeId::new(0, mac(7));
    b.handle_bpdu(t0 + SECOND, 1, &Bpdu::Rst(info(usurper, 0, 7, 0, 1)));
    let out = drain(&mut b);
    let status = b.status();
    assert_eq!(status.root_id, root, "the guarded port cannot bring a new root");
    assert_eq!(status.ports[1].role, Role::Alternate);
    assert_eq!(status.ports[1].state, PortState::Discarding);
    assert!(status.ports[1].root_inconsistent);
    let from = BridgeId::new(0, mac(7));
    assert!(events(&out).contains(&Event::RootInconsistent { active: true, from }));
    // Keep the real root alive; the usurper goes quiet and ages out.
    for s in (3..=9u32).step_by(2) {
        b.handle_bpdu(t0 + SECOND * s, 0, &Bpdu::Rst(info(root, 0, 1, 4096, 1)));
    }
    b.handle_timeout(t0 + SECOND * 7);
    let out = drain(&mut b);
    assert!(events(&out).contains(&Event::RootInconsistent { active: false, from }));
    let status = b.status();
    assert!(!status.ports[1].root_inconsistent);
    assert_eq!(status.ports[1].role, Role::Designated);
    assert_eq!(status.ports[0].mode, Mode::Rstp);
}

#[test]
fn stp_bpdus_make_a_port_fall_back_and_mcheck_retries_rstp() {
    let t0 = origin();
    let mut b = bridge(params(5, 32768, 1));
    b.port_up(t0, 0, true);
    let root = BridgeId::new(4096, mac(1));
    let config = Bpdu::Config(info(root, 0, 1, 4096, 1));
    // Within MigrateTime of port up the port stays RSTP.
    b.handle_bpdu(t0 + SECOND, 0, &config);
    assert_eq!(b.status().ports[0].mode, Mode::Rstp);
    b.handle_bpdu(t0 + SECOND * 3, 0, &config);
    assert_eq!(b.status().ports[0].mode, Mode::Stp);
    let out = drain(&mut b);
    assert!(events(&out).contains(&Event::ModeChanged { to: Mode::Stp }));
    // mcheck: RSTP again; the STP neighbour answers with Config again.
    b.mcheck(t0 + SECOND * 10, 0);
    assert_eq!(b.status().ports[0].mode, Mode::Rstp);
    b.handle_bpdu(t0 + SECOND * 11, 0, &config);
    assert_eq!(b.status().ports[0].mode, Mode::Rstp, "MigrateTime again");
    b.handle_bpdu(t0 + SECOND * 13, 0, &config);
    assert_eq!(b.status().ports[0].mode, Mode::Stp);
    // A root port in STP mode sends nothing but TCNs.
    drop(drain(&mut b));
    b.handle_timeout(t0 + SECOND * 16);
    let out = drain(&mut b);
    assert!(!out.iter().any(|a| matches!(a, Action::SendBpdu { .. })), "{out:?}");
}
