//! Whole topologies on the simulated network: the lab's four switches
//! (SCENARIO.md), a textbook mesh, parallel links and a self-loop, link
//! and bridge failures in both protocols, and mixed RSTP/STP bridges. The
//! harness asserts loop freedom after every step.

use std::time::Duration;

use super::{
    params,
    sim::{Logged, Net},
    SECOND,
};
use crate::stp::{
    Event, Mode, PortState, Protocol,
    Role::{self, Alternate, Designated, Root},
};

const MS: Duration = Duration::from_millis(1);

/// Bridge indexes and link indexes of the lab's external network.
struct Lab {
    net: Net,
    swout1: usize,
    swout2: usize,
    vswout1: usize,
    vswout2: usize,
    /// swout1-swout2, swout1-vswout1, swout1-vswout2, swout2-vswout1,
    /// swout2-vswout2, in SCENARIO.md's order.
    links: [usize; 5],
}

/// swout2 has the lowest priority (root); MACs order swout1 < swout2 <
/// vswout1 < vswout2. All links 100 Mb/s, `latency` each way.
fn lab(protocols: [Protocol; 4], latency: Duration) -> Lab {
    let mut net = Net::new();
    let with = |n, prio, ports, protocol| {
        let mut p = params(n, prio, ports);
        p.protocol = protocol;
        p
    };
    let swout1 = net.add("swout1", with(1, 32768, 3, protocols[0]));
    let swout2 = net.add("swout2", with(2, 4096, 3, protocols[1]));
    let vswout1 = net.add("vswout1", with(3, 32768, 2, protocols[2]));
    let vswout2 = net.add("vswout2", with(4, 32768, 2, protocols[3]));
    let links = [
        net.link((swout1, 0), (swout2, 0), latency),
        net.link((swout1, 1), (vswout1, 0), latency),
        net.link((swout1, 2), (vswout2, 0), latency),
        net.link((swout2, 1), (vswout1, 1), latency),
        net.link((swout2, 2), (vswout2, 1), latency),
    ];
    Lab { net, swout1, swout2, vswout1, vswout2, links }
}

fn all(protocol: Protocol) -> [Protocol; 4] {
    [protocol; 4]
}

/// The tree 802.1D predicts for the lab: every bridge's root port faces
/// swout2; on swout1-vswoutN both ends have root path cost C, so the lower
/// bridge id (swout1) is designated and vswoutN's port there is alternate.
#[track_caller]
fn assert_lab_tree(lab: &Lab) {
    let net = &lab.net;
    let dump = net.dump();
    let roles = |node, n| (0..n).map(|port| net.role(node, port)).collect::<Vec<_>>();
    assert_eq!(roles(lab.swout2, 3), [Designated; 3], "{dump}");
    assert_eq!(roles(lab.swout1, 3), [Root, Designated, Designated], "{dump}");
    assert_eq!(roles(lab.vswout1, 2), [Alternate, Root], "{dump}");
    assert_eq!(roles(lab.vswout2, 2), [Alternate, Root], "{dump}");
    let l = lab.links;
    assert_eq!(net.forwarding_links(), [l[0], l[3], l[4]], "{dump}");
    assert_eq!(net.state(lab.vswout1, 0).openness(), 0);
    assert_eq!(net.state(lab.vswout2, 0).openness(), 0);
    assert!(net.spans());
    let root = net.bridge(lab.swout2).bridge_id();
    for node in [lab.swout1, lab.vswout1, lab.vswout2] {
        assert_eq!(net.bridge(node).status().root_id, root);
    }
}

#[test]
fn lab_rstp_converges_to_the_predicted_tree_in_milliseconds() {
    let mut lab = lab(all(Protocol::Rstp), MS);
    lab.net.start();
    lab.net.run_for(SECOND * 10);
    assert_lab_tree(&lab);
    assert!(lab.net.last_change < Duration::from_millis(100), "took {:?}", lab.net.last_change);
    assert_eq!(lab.net.state(lab.vswout1, 0), PortState::Discarding);
    assert!(lab.net.loop_checks > 100);
}

#[test]
fn lab_stp_converges_after_two_forward_delays() {
    let mut lab = lab(all(Protocol::Stp), MS);
    lab.net.start();
    lab.net.run_for(SECOND * 14);
    assert!(lab.net.forwarding_links().is_empty(), "listening for the first forward delay");
    assert_eq!(lab.net.state(lab.swout2, 0), PortState::Listening);
    assert_eq!(lab.net.state(lab.vswout1, 0), PortState::Blocking);
    lab.net.run_for(SECOND * 2);
    assert_eq!(lab.net.state(lab.swout2, 0), PortState::Learning);
    lab.net.run_for(SECOND * 40);
    assert_lab_tree(&lab);
    let took = lab.net.last_change;
    assert!(took >= SECOND * 30 && took <= SECOND * 32, "took {took:?}");
    assert_eq!(lab.net.state(lab.vswout1, 0), PortState::Blocking);
}

/// The time from `since` to the last state or role change.
fn convergence(net: &Net, since: Duration) -> Duration {
    net.last_change.saturating_sub(since)
}

#[test]
fn stp_reconverges_after_a_link_failure_in_two_forward_delays() {
    let mut lab = lab(all(Protocol::Stp), MS);
    lab.net.start();
    lab.net.run_for(SECOND * 60);
    assert_lab_tree(&lab);
    // vswout1 loses its root port; its alternate towards swout1 must wait
    // listening + learning before forwarding.
    let failed = lab.net.elapsed();
    lab.net.link_down(lab.links[3]);
    lab.net.run_for(SECOND * 29);
    assert!(!lab.net.spans(), "vswout1 is cut off until the alternate forwards");
    assert_eq!(lab.net.role(lab.vswout1, 0), Role::Root);
    lab.net.run_for(SECOND * 30);
    assert!(lab.net.spans(), "{}", lab.net.dump());
    let l = lab.links;
    assert_eq!(lab.net.forwarding_links(), [l[0], l[1], l[4]]);
    let took = convergence(&lab.net, failed);
    assert!(took >= SECOND * 29 && took <= SECOND * 31, "took {took:?}");
}

#[test]
fn rstp_reconverges_after_a_link_failure_well_under_a_second() {
    let mut lab = lab(all(Protocol::Rstp), MS * 5);
    lab.net.start();
    lab.net.run_for(SECOND * 10);
    let l = lab.links;
    // An alternate port takes over at once.
    let failed = lab.net.elapsed();
    lab.net.link_down(l[3]);
    lab.net.run_for(SECOND * 5);
    assert!(lab.net.spans(), "{}", lab.net.dump());
    assert_eq!(lab.net.forwarding_links(), [l[0], l[1], l[4]]);
    let took = convergence(&lab.net, failed);
    assert!(took < Duration::from_millis(100), "alternate takeover took {took:?}");
    // swout1 loses its root port and has no alternate: it hears of the
    // root again through a proposal from a vswout.
    lab.net.link_up(l[3]);
    lab.net.run_for(SECOND * 10);
    assert_lab_tree(&lab);
    let failed = lab.net.elapsed();
    lab.net.link_down(l[0]);
    lab.net.run_for(SECOND * 10);
    assert!(lab.net.spans(), "{}", lab.net.dump());
    let took = convergence(&lab.net, failed);
    assert!(took < Duration::from_millis(200), "re-rooting swout1 took {took:?}");
    assert_eq!(lab.net.bridge(lab.swout1).status().root_path_cost, 400_000);
    assert_eq!(lab.net.forwarding_links(), [l[1], l[3], l[4]], "{}", lab.net.dump());
}

#[test]
fn rstp_root_bridge_power_off_and_back() {
    let mut lab = lab(all(Protocol::Rstp), MS);
    lab.net.start();
    lab.net.run_for(SECOND * 10);
    let failed = lab.net.elapsed();
    lab.net.power_off(lab.swout2);
    lab.net.run_for(SECOND * 10);
    let new_root = lab.net.bridge(lab.swout1).bridge_id();
    for node in [lab.swout1, lab.vswout1, lab.vswout2] {
        assert_eq!(lab.net.bridge(node).status().root_id, new_root);
    }
    let l = lab.links;
    assert_eq!(lab.net.forwarding_links(), [l[1], l[2]]);
    assert!(convergence(&lab.net, failed) < Duration::from_millis(100));
    // The old root returns and takes over again.
    lab.net.power_on(lab.swout2);
    lab.net.run_for(SECOND * 10);
    assert_lab_tree(&lab);
}

#[test]
fn rstp_silent_root_failure_is_noticed_after_three_hellos() {
    let mut lab = lab(all(Protocol::Rstp), MS);
    lab.net.start();
    lab.net.run_for(SECOND * 10);
    let failed = lab.net.elapsed();
    lab.net.hang(lab.swout2);
    lab.net.run_for(SECOND * 20);
    let new_root = lab.net.bridge(lab.swout1).bridge_id();
    assert_eq!(lab.net.bridge(lab.vswout2).status().root_id, new_root, "{}", lab.net.dump());
    let took = convergence(&lab.net, failed);
    assert!(took > SECOND * 4 && took < SECOND * 7, "took {took:?}");
    assert!(lab.net.spans());
}

#[test]
fn stp_silent_root_failure_takes_max_age_plus_two_forward_delays() {
    let mut lab = lab(all(Protocol::Stp), MS);
    lab.net.start();
    lab.net.run_for(SECOND * 60);
    let failed = lab.net.elapsed();
    lab.net.hang(lab.swout2);
    lab.net.run_for(SECOND * 90);
    assert!(lab.net.spans(), "{}", lab.net.dump());
    let took = convergence(&lab.net, failed);
    // Max age (20 s, less the message age) then listening and learning.
    assert!(took > SECOND * 45 && took <= SECOND * 51, "took {took:?}");
}

#[test]
fn rstp_link_flaps_never_loop_and_settle_on_the_tree() {
    let mut lab = lab(all(Protocol::Rstp), MS * 3);
    lab.net.start();
    lab.net.run_for(SECOND * 5);
    let l = lab.links;
    for round in 0..6u32 {
        let link = l[(round as usize * 2) % 5];
        lab.net.link_down(link);
        lab.net.run_for(Duration::from_millis(7 + u64::from(round) * 13));
        lab.net.link_up(link);
        lab.net.run_for(Duration::from_millis(2 + u64::from(round) * 5));
    }
    lab.net.run_for(SECOND * 30);
    assert_lab_tree(&lab);
}

#[test]
fn mixed_rstp_and_stp_bridges_interoperate() {
    let protocols = [Protocol::Rstp, Protocol::Rstp, Protocol::Stp, Protocol::Rstp];
    let mut lab = lab(protocols, MS);
    lab.net.start();
    lab.net.run_for(SECOND * 60);
    assert_lab_tree(&lab);
    let mode = |node: usize, port: usize| lab.net.bridge(node).status().ports[port].mode;
    // The neighbours of the STP bridge fell back; the rest stayed RSTP.
    assert_eq!(mode(lab.swout1, 1), Mode::Stp);
    assert_eq!(mode(lab.swout2, 1), Mode::Stp);
    assert_eq!(mode(lab.swout1, 0), Mode::Rstp);
    assert_eq!(mode(lab.swout2, 2), Mode::Rstp);
    assert_eq!(mode(lab.vswout2, 1), Mode::Rstp);
    let fell_back = |e: &&Logged| matches!(e.event, Event::ModeChanged { to: Mode::Stp });
    assert_eq!(lab.net.log.iter().filter(fell_back).count(), 2);
    // The RSTP part forwarded long before the STP bridge's 30 s.
    let rstp_links_up = lab.net.log.iter().find(|e| {
        e.bridge == lab.vswout2
            && e.port == Some(1)
            && matches!(e.event, Event::StateChanged { to: PortState::Forwarding, .. })
    });
    assert!(rstp_links_up.is_some_and(|e| e.at < SECOND), "{:?}", rstp_links_up.map(|e| e.at));
    // And it still re-converges when the STP bridge's root port fails.
    lab.net.link_down(lab.links[3]);
    lab.net.run_for(SECOND * 40);
    assert!(lab.net.spans(), "{}", lab.net.dump());
}

/// A textbook mesh where the direct link to the root is not the cheapest
/// path: B1 root; ring B1-B2-B3-B4-B1 (B4-B1 costs 300, others 100) and a
/// diagonal B2-B4. 802.1D predicts root path costs B2 100, B3 200, B4 200
/// (via B2), B3 designated on B3-B4 (equal cost, lower bridge id) and B4
/// blocking both B3-B4 and B4-B1.
#[test]
fn textbook_mesh_follows_path_costs_and_bridge_ids() {
    for protocol in [Protocol::Rstp, Protocol::Stp] {
        let mut net = Net::new();
        let bridge = |n, prio, costs: &[u32]| {
            let mut p = params(n, prio, u16::try_from(costs.len()).unwrap());
            p.protocol = protocol;
            for (port, &cost) in p.ports.iter_mut().zip(costs) {
                port.path_cost = cost;
            }
            p
        };
        let b1 = net.add("B1", bridge(1, 4096, &[100, 300]));
        let b2 = net.add("B2", bridge(2, 32768, &[100, 100, 100]));
        let b3 = net.add("B3", bridge(3, 32768, &[100, 100]));
        let b4 = net.add("B4", bridge(4, 32768, &[100, 300, 100]));
        let a = net.link((b1, 0), (b2, 0), MS);
        let b = net.link((b2, 1), (b3, 0), MS);
        net.link((b3, 1), (b4, 0), MS);
        net.link((b4, 1), (b1, 1), MS);
        let e = net.link((b2, 2), (b4, 2), MS);
        net.start();
        net.run_for(SECOND * 60);
        let cost = |node| net.bridge(node).status().root_path_cost;
        assert_eq!([cost(b1), cost(b2), cost(b3), cost(b4)], [0, 100, 200, 200]);
        let roles = |node, n| (0..n).map(|port| net.role(node, port)).collect::<Vec<_>>();
        assert_eq!(roles(b1, 2), [Designated, Designated]);
        assert_eq!(roles(b2, 3), [Root, Designated, Designated]);
        assert_eq!(roles(b3, 2), [Root, Designated]);
        assert_eq!(roles(b4, 3), [Alternate, Alternate, Root], "{}", net.dump());
        assert_eq!(net.forwarding_links(), [a, b, e], "{protocol:?}");
    }
}

/// Two parallel links between the same bridges: the root port is the one
/// facing the lower designated port id. A cable from a bridge back to
/// itself makes the port hearing the other a backup port.
#[test]
fn parallel_links_and_a_self_loop() {
    let mut net = Net::new();
    let root = net.add("root", params(1, 4096, 2));
    let other = net.add("other", params(2, 32768, 4));
    let first = net.link((root, 0), (other, 1), MS);
    net.link((root, 1), (other, 0), MS);
    net.link((other, 2), (other, 3), MS);
    net.start();
    net.run_for(SECOND * 40);
    assert_eq!(net.role(other, 1), Role::Root, "faces root's port 1 (lower id)");
    assert_eq!(net.role(other, 0), Role::Alternate);
    assert_eq!(net.role(other, 2), Role::Designated);
    assert_eq!(net.role(other, 3), Role::Backup);
    assert_eq!(net.state(other, 3), PortState::Discarding);
    assert_eq!(net.forwarding_links(), [first]);
}

#[test]
fn a_bridge_handed_over_to_a_new_process_changes_no_role_or_state() {
    // Two identical runs, one with vswout1's bridge handed over at 61.37 s:
    // every bridge must see exactly what it sees without the handover.
    for protocol in [Protocol::Rstp, Protocol::Stp] {
        let run = |hand_over: bool| {
            let mut lab = lab(all(protocol), MS);
            lab.net.start();
            lab.net.run_for(SECOND * 60);
            assert_lab_tree(&lab);
            lab.net.run_for(Duration::from_millis(1_370));
            if hand_over {
                lab.net.hand_over(lab.vswout1);
            }
            lab.net.run_for(SECOND * 60);
            assert_lab_tree(&lab);
            let flushes: Vec<u64> = (0..4).map(|node| lab.net.flushes(node)).collect();
            let tc: Vec<u64> =
                (0..4).map(|node| lab.net.bridge(node).status().topology_change_count).collect();
            (lab.net.last_change, flushes, tc, lab.net.bpdus, lab.net.tcns)
        };
        assert_eq!(
            run(true),
            run(false),
            "{protocol:?}: the handover changed what the bridges saw"
        );
    }
}
