//! A [`Snapshot`] as Prometheus metrics, named by Prometheus conventions (`halb_` and the
//! level, base units, `_total` on counters, states as one 0/1 sample per state):
//!
//! - daemon: `halb_daemon_info`, `halb_daemon_start_time_seconds`, the datapath's frames
//!   per interface and class (`halb_datapath_frames_total`, `_bytes_total`, malformed);
//! - STP: bridge topology changes and root path cost, each port's state, role, path
//!   cost, link and BPDUs received, sent and dropped (by the logic and by the datapath);
//! - VRRP: each instance's state, priorities, transitions, adverts sent and received,
//!   discarded and invalid packets, and the eBPF fast path's verdicts and drops by reason;
//! - VXLAN: FDB entries and remote VTEPs, the datapath's counters and drops by reason;
//! - the proxies: what [`crate::proxy::stats::prometheus`] writes, labelled by balancer.

use super::Snapshot;
use crate::control::stp::{StpPortReport, StpReport};
use crate::control::vrrp::VrrpReport;
use crate::exposition::{Exposition, Label, Metric};
use crate::proxy::stats::prometheus;

/// The metrics of `snapshot`, in the text exposition format.
#[must_use]
pub fn render(snapshot: &Snapshot) -> String {
    let mut out = Exposition::new();
    daemon(&mut out, snapshot);
    stp(&mut out, &snapshot.stp);
    vrrp(&mut out, &snapshot.vrrp);
    vxlan(&mut out, snapshot);
    prometheus::write_by_balancer(&mut out, &snapshot.proxy);
    out.finish()
}

fn daemon(out: &mut Exposition, snapshot: &Snapshot) {
    let status = &snapshot.status;
    out.family("halb_daemon_info", "gauge", "The daemon's node and version (always 1).");
    out.sample(
        "halb_daemon_info",
        &[],
        &[("node", &status.node), ("version", env!("CARGO_PKG_VERSION"))],
        1,
    );
    out.family(
        "halb_daemon_start_time_seconds",
        "gauge",
        "When the daemon started, in seconds since the Unix epoch.",
    );
    out.sample("halb_daemon_start_time_seconds", &[], &[], status.started_unix_secs);
    let families = [
        ("halb_datapath_frames_total", "Frames the eBPF programs saw, by interface and class."),
        ("halb_datapath_bytes_total", "Bytes the eBPF programs saw, by interface and class."),
        (
            "halb_datapath_malformed_frames_total",
            "Frames the eBPF programs could not parse, by interface and reason.",
        ),
    ];
    for (index, (name, help)) in families.into_iter().enumerate() {
        out.family(name, "counter", help);
        for port in &status.ports {
            let base: [Label<'_>; 3] = [
                ("role", &port.role),
                ("instance", &port.instance),
                ("interface", &port.interface),
            ];
            let (key, table) = if index == 2 {
                ("reason", &port.counters.malformed)
            } else {
                ("class", &port.counters.traffic)
            };
            for (what, counter) in table {
                let value = if index == 1 { counter.bytes } else { counter.packets };
                out.sample(name, &base, &[(key, what)], value);
            }
        }
    }
}

fn stp(out: &mut Exposition, bridges: &[StpReport]) {
    let per_bridge: [Metric<StpReport>; 4] = [
        (
            "halb_stp_topology_changes_total",
            "counter",
            "Topology changes detected or heard.",
            |b| b.topology_change_count,
        ),
        ("halb_stp_topology_change", "gauge", "1 while a topology change is in progress.", |b| {
            u64::from(b.topology_change)
        }),
        ("halb_stp_root_path_cost", "gauge", "Path cost to the root bridge.", |b| {
            u64::from(b.root_path_cost)
        }),
        ("halb_stp_errors_total", "counter", "Failed port state writes and socket errors.", |b| {
            b.errors
        }),
    ];
    for (name, kind, help, get) in per_bridge {
        out.family(name, kind, help);
        for b in bridges {
            out.sample(name, &[("bridge", &b.bridge)], &[], get(b));
        }
    }
    out.family("halb_stp_root_bridge", "gauge", "1 when this bridge is the root.");
    for b in bridges {
        out.sample(
            "halb_stp_root_bridge",
            &[("bridge", &b.bridge)],
            &[],
            u8::from(b.root_port.is_none() && b.root_id == b.bridge_id),
        );
    }
    let ports = || bridges.iter().flat_map(|b| b.ports.iter().map(move |p| (b, p)));
    let states: Vec<String> = crate::stp::PortState::ALL.iter().map(ToString::to_string).collect();
    let states: Vec<&str> = states.iter().map(String::as_str).collect();
    out.family("halb_stp_port_state", "gauge", "The port's state (1 for the current one).");
    for (b, p) in ports() {
        out.state("halb_stp_port_state", &port_labels(b, p), "state", &states, &p.state);
    }
    let roles: Vec<String> = crate::stp::Role::ALL.iter().map(ToString::to_string).collect();
    let roles: Vec<&str> = roles.iter().map(String::as_str).collect();
    out.family("halb_stp_port_role", "gauge", "The port's role (1 for the current one).");
    for (b, p) in ports() {
        out.state("halb_stp_port_role", &port_labels(b, p), "role", &roles, &p.role);
    }
    let per_port: [Metric<StpPortReport>; 5] = [
        ("halb_stp_port_path_cost", "gauge", "The port's path cost.", |p| u64::from(p.path_cost)),
        ("halb_stp_port_link_up", "gauge", "1 when the port's link is up.", |p| {
            u64::from(p.link_up)
        }),
        ("halb_stp_port_bpdus_received_total", "counter", "BPDUs the logic received.", |p| {
            p.bpdus_in
        }),
        ("halb_stp_port_bpdus_sent_total", "counter", "BPDUs the logic sent.", |p| p.bpdus_out),
        (
            "halb_stp_port_datapath_frames_dropped_total",
            "counter",
            "Frames the eBPF program dropped at the port (not forwarding), both directions.",
            |p| p.datapath.as_ref().map_or(0, |d| d.dropped_ingress + d.dropped_egress),
        ),
    ];
    for (name, kind, help, get) in per_port {
        out.family(name, kind, help);
        for (b, p) in ports() {
            out.sample(name, &port_labels(b, p), &[], get(p));
        }
    }
    out.family(
        "halb_stp_port_bpdus_dropped_total",
        "counter",
        "BPDUs the logic dropped, by reason (ignored: not for this port's state or guard; malformed).",
    );
    for (b, p) in ports() {
        let labels = port_labels(b, p);
        out.sample(
            "halb_stp_port_bpdus_dropped_total",
            &labels,
            &[("reason", "ignored")],
            p.bpdus_ignored,
        );
        out.sample(
            "halb_stp_port_bpdus_dropped_total",
            &labels,
            &[("reason", "malformed")],
            p.bpdus_malformed,
        );
    }
}

fn port_labels<'a>(bridge: &'a StpReport, port: &'a StpPortReport) -> [Label<'a>; 2] {
    [("bridge", &bridge.bridge), ("port", &port.name)]
}

fn vrrp(out: &mut Exposition, instances: &[VrrpReport]) {
    let states: Vec<String> = crate::vrrp::State::ALL.iter().map(ToString::to_string).collect();
    let states: Vec<&str> = states.iter().map(String::as_str).collect();
    out.family("halb_vrrp_state", "gauge", "The instance's state (1 for the current one).");
    for i in instances {
        out.state("halb_vrrp_state", &instance_labels(i), "state", &states, &i.state);
    }
    let per_instance: [Metric<VrrpReport>; 7] = [
        ("halb_vrrp_priority", "gauge", "Effective priority (configured, less tracking).", |i| {
            u64::from(i.effective_priority)
        }),
        ("halb_vrrp_transitions_total", "counter", "State transitions.", |i| i.transitions),
        ("halb_vrrp_adverts_sent_total", "counter", "Advertisements sent.", |i| i.adverts_sent),
        ("halb_vrrp_adverts_received_total", "counter", "Advertisements received.", |i| {
            i.adverts_received
        }),
        (
            "halb_vrrp_adverts_discarded_total",
            "counter",
            "Advertisements discarded by the state machine's checks (RFC 5798 7.1).",
            |i| i.adverts_discarded,
        ),
        (
            "halb_vrrp_invalid_packets_total",
            "counter",
            "Packets that do not decode as VRRP.",
            |i| i.invalid_packets,
        ),
        ("halb_vrrp_errors_total", "counter", "Socket, address and ARP errors.", |i| i.errors),
    ];
    for (name, kind, help, get) in per_instance {
        out.family(name, kind, help);
        for i in instances {
            out.sample(name, &instance_labels(i), &[], get(i));
        }
    }
    // The fast path counts per interface, for every VRID on it: one series per interface.
    let mut interfaces: Vec<&VrrpReport> = Vec::new();
    for i in instances.iter().filter(|i| i.fast_path.is_some()) {
        if !interfaces.iter().any(|j| j.balancer == i.balancer && j.interface == i.interface) {
            interfaces.push(i);
        }
    }
    out.family(
        "halb_vrrp_fast_path_adverts_total",
        "counter",
        "Adverts the eBPF fast path saw, by verdict (absorbed in the kernel, passed, own, dropped).",
    );
    for i in &interfaces {
        let base: [Label<'_>; 2] = [("balancer", &i.balancer), ("interface", &i.interface)];
        for (key, value) in i.fast_path.iter().flatten().filter(|(k, _)| !k.starts_with("drop_")) {
            out.sample("halb_vrrp_fast_path_adverts_total", &base, &[("verdict", key)], value);
        }
    }
    out.family(
        "halb_vrrp_fast_path_drops_total",
        "counter",
        "Adverts the eBPF fast path dropped, by reason.",
    );
    for i in &interfaces {
        let base: [Label<'_>; 2] = [("balancer", &i.balancer), ("interface", &i.interface)];
        for (key, value) in i.fast_path.iter().flatten() {
            if let Some(reason) = key.strip_prefix("drop_") {
                out.sample("halb_vrrp_fast_path_drops_total", &base, &[("reason", reason)], value);
            }
        }
    }
}

fn instance_labels(i: &VrrpReport) -> [Label<'_>; 3] {
    [("balancer", &i.balancer), ("instance", &i.instance), ("interface", &i.interface)]
}

fn vxlan(out: &mut Exposition, snapshot: &Snapshot) {
    // The families are declared without a tunnel too, so a dashboard finds them.
    let tunnel = snapshot.vxlan.as_ref();
    let vni = tunnel.map(|t| t.vni.to_string()).unwrap_or_default();
    let base: [Label<'_>; 1] = [("vni", &vni)];
    out.family("halb_vxlan_fdb_entries", "gauge", "Entries of the tunnel's FDB, by kind.");
    if let Some(tunnel) = tunnel {
        for kind in ["static", "learned"] {
            let n = tunnel.fdb.iter().filter(|row| row.kind == kind).count();
            out.sample("halb_vxlan_fdb_entries", &base, &[("kind", kind)], n);
        }
    }
    out.family("halb_vxlan_remotes", "gauge", "Remote VTEPs flooded to.");
    if let Some(tunnel) = tunnel {
        out.sample("halb_vxlan_remotes", &base, &[], tunnel.remotes.len());
    }
    out.family(
        "halb_vxlan_packets_total",
        "counter",
        "Packets the eBPF tunnel handled, by counter (encap, decap, flood, ...).",
    );
    for (name, counter) in tunnel.iter().flat_map(|t| &t.counters) {
        out.sample("halb_vxlan_packets_total", &base, &[("counter", name)], counter.packets);
    }
    out.family("halb_vxlan_bytes_total", "counter", "Bytes the eBPF tunnel handled, by counter.");
    for (name, counter) in tunnel.iter().flat_map(|t| &t.counters) {
        out.sample("halb_vxlan_bytes_total", &base, &[("counter", name)], counter.bytes);
    }
    out.family("halb_vxlan_drops_total", "counter", "Packets the eBPF tunnel dropped, by reason.");
    for (reason, counter) in tunnel.iter().flat_map(|t| &t.drops) {
        out.sample("halb_vxlan_drops_total", &base, &[("reason", reason)], counter.packets);
    }
}

#[cfg(test)]
mod tests;
