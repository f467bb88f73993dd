//! Fills in what `halb stp show` prints of one bridge ([`StpReport`], a
//! control-protocol type) from what its driver last published
//! ([`Snapshot`]), measuring ages at the moment of asking.

use std::{
    collections::VecDeque,
    time::{Duration, Instant},
};

use crate::{
    control::stp::{DatapathCounters, StpEventRecord, StpPortReport, StpReport},
    stp::{self, Protocol},
};

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

/// The report of `bridge` from a snapshot; `counters(ifindex)` reads the
/// datapath's counters of a port.
#[must_use]
pub fn report(
    bridge: &str,
    snapshot: &Snapshot,
    now: Instant,
    counters: impl Fn(u32) -> Option<DatapathCounters>,
) -> StpReport {
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
