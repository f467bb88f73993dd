use std::collections::BTreeMap;

use super::*;
use crate::control::stp::DatapathCounters;
use crate::control::PortStatus;
use crate::datapath::counters::{Counter, PortCounters};
use crate::vxlan::{FdbRow, VxlanReport};

/// A host with one bridge of two ports, one balancer with a VRRP instance, a tunnel.
fn snapshot() -> Snapshot {
    let mut status = crate::control::DaemonStatus {
        node: "host1".into(),
        started_unix_secs: 1_700_000_000,
        ..Default::default()
    };
    status.ports.push(PortStatus {
        role: "stp".into(),
        instance: "host".into(),
        netns: None,
        interface: "swout1".into(),
        ifindex: 3,
        program: "stp_ingress".into(),
        program_id: 7,
        counters: PortCounters {
            traffic: BTreeMap::from([("bpdu".into(), Counter { packets: 5, bytes: 300 })]),
            malformed: BTreeMap::from([(
                "truncated_ipv4".into(),
                Counter { packets: 1, bytes: 20 },
            )]),
        },
    });
    let port = |name: &str, role: &str, state: &str| StpPortReport {
        name: name.into(),
        role: role.into(),
        state: state.into(),
        path_cost: 100,
        link_up: true,
        bpdus_in: 10,
        bpdus_out: 20,
        bpdus_ignored: 1,
        bpdus_malformed: 2,
        datapath: Some(DatapathCounters {
            dropped_ingress: 3,
            dropped_egress: 4,
            ..Default::default()
        }),
        ..Default::default()
    };
    let bridge = StpReport {
        bridge: "vswout1".into(),
        bridge_id: "8000.0000000001".into(),
        root_id: "1000.0000000002".into(),
        root_port: Some("swout2".into()),
        root_path_cost: 100,
        topology_change_count: 4,
        ports: vec![
            port("swout1", "Alternate", "discarding"),
            port("swout2", "Root", "forwarding"),
        ],
        ..Default::default()
    };
    let vrrp = VrrpReport {
        instance: "VI_1".into(),
        balancer: "bal1".into(),
        interface: "ext".into(),
        vrid: 12,
        state: "MASTER".into(),
        effective_priority: 150,
        transitions: 2,
        adverts_sent: 100,
        adverts_received: 3,
        fast_path: Some(BTreeMap::from([
            ("absorbed".into(), 40),
            ("dropped".into(), 2),
            ("drop_bad_ttl".into(), 2),
        ])),
        ..Default::default()
    };
    let vxlan = VxlanReport {
        vni: 42,
        remotes: vec!["172.16.1.151".parse().unwrap()],
        fdb: vec![FdbRow {
            mac: "02:00:00:00:00:01".into(),
            vtep: "172.16.1.151".parse().unwrap(),
            kind: "learned".into(),
            age_secs: Some(1.0),
        }],
        counters: BTreeMap::from([("encap".into(), Counter { packets: 9, bytes: 900 })]),
        drops: BTreeMap::from([("no_remote".into(), Counter { packets: 1, bytes: 60 })]),
        ..Default::default()
    };
    Snapshot { status, stp: vec![bridge], vrrp: vec![vrrp], vxlan: Some(vxlan), proxy: Vec::new() }
}

#[test]
fn every_level_is_exported_with_its_labels() {
    let text = render(&snapshot());
    for line in [
        "halb_daemon_info{node=\"host1\",version=\"",
        "halb_daemon_start_time_seconds 1700000000\n",
        "halb_datapath_frames_total{role=\"stp\",instance=\"host\",interface=\"swout1\",class=\"bpdu\"} 5\n",
        "halb_datapath_bytes_total{role=\"stp\",instance=\"host\",interface=\"swout1\",class=\"bpdu\"} 300\n",
        "halb_datapath_malformed_frames_total{role=\"stp\",instance=\"host\",interface=\"swout1\",reason=\"truncated_ipv4\"} 1\n",
        "halb_stp_topology_changes_total{bridge=\"vswout1\"} 4\n",
        "halb_stp_root_bridge{bridge=\"vswout1\"} 0\n",
        "halb_stp_port_state{bridge=\"vswout1\",port=\"swout1\",state=\"discarding\"} 1\n",
        "halb_stp_port_state{bridge=\"vswout1\",port=\"swout1\",state=\"forwarding\"} 0\n",
        "halb_stp_port_role{bridge=\"vswout1\",port=\"swout2\",role=\"Root\"} 1\n",
        "halb_stp_port_bpdus_received_total{bridge=\"vswout1\",port=\"swout1\"} 10\n",
        "halb_stp_port_bpdus_sent_total{bridge=\"vswout1\",port=\"swout1\"} 20\n",
        "halb_stp_port_bpdus_dropped_total{bridge=\"vswout1\",port=\"swout1\",reason=\"malformed\"} 2\n",
        "halb_stp_port_datapath_frames_dropped_total{bridge=\"vswout1\",port=\"swout1\"} 7\n",
        "halb_vrrp_state{balancer=\"bal1\",instance=\"VI_1\",interface=\"ext\",state=\"MASTER\"} 1\n",
        "halb_vrrp_state{balancer=\"bal1\",instance=\"VI_1\",interface=\"ext\",state=\"BACKUP\"} 0\n",
        "halb_vrrp_transitions_total{balancer=\"bal1\",instance=\"VI_1\",interface=\"ext\"} 2\n",
        "halb_vrrp_adverts_sent_total{balancer=\"bal1\",instance=\"VI_1\",interface=\"ext\"} 100\n",
        "halb_vrrp_fast_path_adverts_total{balancer=\"bal1\",interface=\"ext\",verdict=\"absorbed\"} 40\n",
        "halb_vrrp_fast_path_drops_total{balancer=\"bal1\",interface=\"ext\",reason=\"bad_ttl\"} 2\n",
        "halb_vxlan_fdb_entries{vni=\"42\",kind=\"learned\"} 1\n",
        "halb_vxlan_remotes{vni=\"42\"} 1\n",
        "halb_vxlan_packets_total{vni=\"42\",counter=\"encap\"} 9\n",
        "halb_vxlan_drops_total{vni=\"42\",reason=\"no_remote\"} 1\n",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
}

/// Each family's samples follow its own `# TYPE` line and no family is declared twice:
/// what the text format requires of an exposition.
#[test]
fn families_are_declared_once_before_their_samples() {
    let text = render(&snapshot());
    let mut declared = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let name = rest.split(' ').next().unwrap().to_owned();
            assert!(!declared.contains(&name), "{name} declared twice");
            declared.push(name.clone());
            current = name;
        } else if !line.starts_with('#') {
            let name = line.split(['{', ' ']).next().unwrap();
            let family = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|s| name.strip_suffix(s))
                .filter(|f| *f == current)
                .unwrap_or(name);
            assert_eq!(family, current, "{line} outside its family");
        }
    }
}

/// Debian's promtool (installed by `cargo xtask setup`) accepts the exposition: the
/// format and the naming conventions it lints (units, `_total` on counters).
#[test]
fn promtool_accepts_the_metrics() {
    use std::io::Write as _;
    let text = render(&snapshot());
    let mut child = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("promtool (Debian package prometheus; `cargo xtask setup` installs it)");
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    let complaints = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success() && complaints.trim().is_empty(),
        "promtool: {complaints}\n{text}"
    );
}
