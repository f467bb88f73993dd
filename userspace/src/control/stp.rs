//! What `halb stp show` prints of one bridge: the bridge's view (as
//! `mstpctl showbridge`) and each port's (as `mstpctl showport`), plus the
//! datapath's per-port counters and the recent transitions (the daemon
//! fills it in, `daemon/stp_report.rs`).

use serde::{Deserialize, Serialize};

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
