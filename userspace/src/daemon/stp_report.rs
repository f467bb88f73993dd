//! What `halb stp show` prints of one bridge: the bridge's view (as
//! `mstpctl showbridge`) and each port's (as `mstpctl showport`), plus the
//! datapath's per-port counters and the recent transitions.

use std::{
    collections::VecDeque,
    time::{Duration, Instant},
};

use serde::{Deserialize, Serialize};

use crate::stp::{self, Protocol};

/// One logged event (role, state, root, topology change...).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct StpEventRecord {
    pub unix_ms: u64,
    /// The port's name; `None` for bridge-wide events.
    pub port: Option<String>,
    pub event: String,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct StpReport {
    pub bridge: String,
    /// `running`, `starting`, or why the bridge is not running.
    pub state: String,
    pub protocol: String,
    pub bridge_id: String,
    pub root_id: String,
    /// Name of the root port; `None` when this bridge is root.
    pub root_port: Option<String>,
    pub root_path_cost: u32,
    pub hello_time_secs: u64,
    pub max_age_secs: u64,
    pub forward_delay_secs: u64,
    /// The root's timers, in use on this bridge.
    pub root_max_age_secs: f64,
    pub root_forward_delay_secs: f64,
    pub topology_change: bool,
    pub topology_change_count: u64,
    pub time_since_topology_change_secs: Option<f64>,
    /// `stp_state` of the kernel bridge before halb took it over.
    pub kernel_stp_state_before: Option<u32>,
    pub ports: Vec<StpPortReport>,
    pub history: Vec<StpEventRecord>,
    /// Failed actions (sends, netlink requests, map writes).
    pub errors: u64,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[expect(clippy::struct_excessive_bools, reason = "the flags mstpctl showport prints")]
pub struct StpPortReport {
    pub name: String,
    pub ifindex: u32,
    pub port_id: String,
    pub link_up: bool,
    pub role: String,
    pub state: String,
    pub path_cost: u32,
    pub designated_root: String,
    pub designated_cost: u32,
    pub designated_bridge: String,
    pub designated_port: String,
    pub admin_edge: bool,
    pub oper_edge: bool,
    pub point_to_point: bool,
    /// `rstp` or `stp`: the BPDUs the port sends now.
    pub mode: String,
    pub bpdu_guard_tripped: bool,
    pub root_inconsistent: bool,
    pub topology_change: bool,
    pub bpdus_in: u64,
    pub bpdus_out: u64,
    /// Dropped by the protocol: link down, or our own looped back.
    pub bpdus_ignored: u64,
    /// Frames to the group address that did not decode as BPDUs.
    pub bpdus_malformed: u64,
    /// The datapath's counters (`STP_PORT_COUNTERS`), summed over CPUs.
    pub datapath: Option<DatapathCounters>,
}

/// `STP_PORT_COUNTERS` of one port, summed over CPUs (packets).
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct DatapathCounters {
    pub bpdu_in: u64,
    pub bpdu_out: u64,
    pub dropped_ingress: u64,
    pub dropped_egress: u64,
    pub passed_ingress: u64,
    pub passed_egress: u64,
}

impl From<halb_common::stp::StpPortCounters> for DatapathCounters {
    fn from(counters: halb_common::stp::StpPortCounters) -> Self {
        DatapathCounters {
            bpdu_in: counters.bpdu_in,
            bpdu_out: counters.bpdu_out,
            dropped_ingress: counters.dropped_ingress,
            dropped_egress: counters.dropped_egress,
            passed_ingress: counters.passed_ingress,
            passed_egress: counters.passed_egress,
        }
    }
}

/// What the driver publishes after each input; turned into a report when
/// asked, so ages are measured at that moment.
#[derive(Clone, Debug)]
pub struct Snapshot {
    pub state: String,
    pub status: Option<stp::Status>,
    pub ifindexes: Vec<u32>,
    pub malformed: Vec<u64>,
    pub history: VecDeque<StpEventRecord>,
    pub errors: u64,
    pub kernel_stp_state_before: Option<u32>,
}

impl Snapshot {
    #[must_use]
    pub fn starting() -> Self {
        Snapshot {
            state: "starting".to_owned(),
            status: None,
            ifindexes: Vec::new(),
            malformed: Vec::new(),
            history: VecDeque::new(),
            errors: 0,
            kernel_stp_state_before: None,
        }
    }
}

fn protocol_name(protocol: Protocol) -> &'static str {
    match protocol {
        Protocol::Rstp => "rstp",
        Protocol::Stp => "stp",
    }
}

impl StpReport {
    /// The report of `bridge` from a snapshot; `counters(ifindex)` reads
    /// the datapath's counters of a port.
    #[must_use]
    pub fn new(
        bridge: &str,
        snapshot: &Snapshot,
        now: Instant,
        counters: impl Fn(u32) -> Option<DatapathCounters>,
    ) -> Self {
        let mut report = StpReport {
            bridge: bridge.to_owned(),
            state: snapshot.state.clone(),
            history: snapshot.history.iter().cloned().collect(),
            errors: snapshot.errors,
            kernel_stp_state_before: snapshot.kernel_stp_state_before,
            ..StpReport::default()
        };
        let Some(status) = &snapshot.status else { return report };
        let secs = Duration::as_secs_f64;
        protocol_name(status.protocol).clone_into(&mut report.protocol);
        report.bridge_id = status.bridge_id.to_string();
        report.root_id = status.root_id.to_string();
        report.root_port =
            status.root_port.and_then(|index| status.ports.get(index)).map(|p| p.name.clone());
        report.root_path_cost = status.root_path_cost;
        report.hello_time_secs = status.hello_time.as_secs();
        report.max_age_secs = status.max_age.as_secs();
        report.forward_delay_secs = status.forward_delay.as_secs();
        report.root_max_age_secs = secs(&status.root_max_age);
        report.root_forward_delay_secs = secs(&status.root_forward_delay);
        report.topology_change = status.topology_change;
        report.topology_change_count = status.topology_change_count;
        report.time_since_topology_change_secs =
            status.last_topology_change.map(|at| secs(&now.saturating_duration_since(at)));
        report.ports = (status.ports.iter().enumerate())
            .map(|(index, port)| {
                let ifindex = snapshot.ifindexes.get(index).copied().unwrap_or(0);
                StpPortReport {
                    name: port.name.clone(),
                    ifindex,
                    port_id: port.port_id.to_string(),
                    link_up: port.link_up,
                    role: port.role.to_string(),
                    state: port.state.to_string(),
                    path_cost: port.path_cost,
                    designated_root: port.designated_root.to_string(),
                    designated_cost: port.designated_cost,
                    designated_bridge: port.designated_bridge.to_string(),
                    designated_port: port.designated_port.to_string(),
                    admin_edge: port.admin_edge,
                    oper_edge: port.oper_edge,
                    point_to_point: port.point_to_point,
                    mode: match port.mode {
                        stp::Mode::Rstp => "rstp",
                        stp::Mode::Stp => "stp",
                    }
                    .to_owned(),
                    bpdu_guard_tripped: port.bpdu_guard_tripped,
                    root_inconsistent: port.root_inconsistent,
                    topology_change: port.topology_change,
                    bpdus_in: port.bpdus_in,
                    bpdus_out: port.bpdus_out,
                    bpdus_ignored: port.bpdus_ignored,
                    bpdus_malformed: snapshot.malformed.get(index).copied().unwrap_or(0),
                    datapath: counters(ifindex),
                }
            })
            .collect();
        report
    }
}
