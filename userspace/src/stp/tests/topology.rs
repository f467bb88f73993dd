//! Topology change: detection, TC propagation and flushing (RSTP), and
//! the TCN / TC ack / TC-for-max-age-plus-forward-delay exchange (STP).

use std::time::Duration;

use super::{sim::Net, SECOND};
use crate::stp::{tests::params, Event, Protocol};

const MS: Duration = Duration::from_millis(1);

/// A chain root - b - c with an extra link root - c (c blocks it).
fn triangle(protocol: Protocol) -> (Net, [usize; 3], [usize; 3]) {
    let mut net = Net::new();
    let with = |n, prio| {
        let mut p = params(n, prio, 2);
        p.protocol = protocol;
        p
    };
    let root = net.add("root", with(1, 4096));
    let b = net.add("b", with(2, 32768));
    let c = net.add("c", with(3, 32768));
    let links = [
        net.link((root, 0), (b, 0), MS),
        net.link((b, 1), (c, 0), MS),
        net.link((root, 1), (c, 1), MS),
    ];
    (net, [root, b, c], links)
}

#[test]
fn rstp_tc_floods_flushes_and_stops_after_hello_plus_one() {
    let (mut net, [root, b, c], links) = triangle(Protocol::Rstp);
    net.start();
    net.run_for(SECOND * 10);
    assert_eq!(net.forwarding_links(), [links[0], links[2]], "{}", net.dump());
    let before: Vec<u64> = (0..3).map(|n| net.flushes(n)).collect();
    let counts: Vec<u64> = (0..3).map(|n| net.bridge(n).status().topology_change_count).collect();
    // c's root link fails: its alternate (towards b) forwards: a TC.
    let failed = net.elapsed();
    net.link_down(links[2]);
    net.run_for(Duration::from_millis(50));
    for n in [root, b, c] {
        assert!(net.flushes(n) > before[n], "bridge {n} flushed");
        let status = net.bridge(n).status();
        assert_eq!(status.topology_change_count, counts[n] + 1, "bridge {n}");
    }
    // c detected it, b propagates it to the root; the root has no other
    // port to tell but knows.
    assert!(net.bridge(c).status().ports[0].topology_change);
    assert!(net.bridge(b).status().ports[0].topology_change);
    assert!(!net.bridge(root).status().ports[0].topology_change);
    assert!(net.bridge(root).status().topology_change);
    let detected = net.events_since(failed).find(|e| e.event == Event::TopologyChange).unwrap();
    assert_eq!((detected.bridge, detected.port), (c, Some(0)));
    // tcWhile = hello + 1 s at b and c; the root heard TC for as long and
    // keeps it for hello + 1 s after the last.
    net.run_for(SECOND * 3);
    assert!(!net.bridge(c).status().topology_change, "{}", net.dump());
    net.run_for(SECOND * 3);
    assert!((0..3).all(|n| !net.bridge(n).status().topology_change), "{}", net.dump());
    let status = net.bridge(root).status();
    assert_eq!(status.topology_change_count, counts[root] + 1, "one change, counted once");
    let since = status.time_since_topology_change.unwrap();
    // Counted from the first TC heard, 2 ms (two hops) after the failure.
    assert!(since > SECOND * 5 + SECOND * 9 / 10 && since < SECOND * 7, "{since:?}");
}

#[test]
fn stp_tcn_goes_up_is_acked_and_root_sets_tc_for_max_age_plus_forward_delay() {
    let (mut net, [root, b, c], links) = triangle(Protocol::Stp);
    net.start();
    net.run_for(SECOND * 60);
    assert_eq!(net.forwarding_links(), [links[0], links[2]], "{}", net.dump());
    let (tcns, acks) = (net.tcns, net.tc_acks);
    let counts: Vec<u64> = (0..3).map(|n| net.bridge(n).status().topology_change_count).collect();
    net.link_down(links[2]);
    // c's alternate becomes root port and forwards after 30 s: the TC.
    net.run_for(SECOND * 29);
    assert!(!net.bridge(root).status().topology_change);
    net.run_for(SECOND * 2);
    let changed = net.elapsed();
    assert!(net.tcns > tcns, "c and b send TCNs up");
    assert!(net.tc_acks > acks, "designated ports acknowledge");
    net.run_for(SECOND);
    for n in [root, b, c] {
        let status = net.bridge(n).status();
        assert_eq!(status.topology_change_count, counts[n] + 1, "bridge {n}");
    }
    // The root and b announce it; c's TCN was acknowledged.
    assert!(net.bridge(root).status().topology_change, "{}", net.dump());
    assert!(net.bridge(b).status().topology_change);
    assert!(!net.bridge(c).status().ports[0].topology_change);
    // The root keeps TC set for max age + forward delay (35 s).
    net.run_for(SECOND * 32);
    assert!(net.bridge(root).status().topology_change);
    net.run_for(SECOND * 4);
    assert!(!net.bridge(root).status().topology_change);
    assert!(net.flushes(b) > 3, "TC in every config BPDU flushes b again");
    assert!(net.elapsed().saturating_sub(changed) < SECOND * 40);
    let tcns_now = net.tcns;
    net.run_for(SECOND * 10);
    assert_eq!(net.tcns, tcns_now, "TCNs stop once acknowledged");
}
