//! A read-only snapshot of the bridge for the control socket, the CLI
//! (what `mstpctl showbridge` / `showport` users expect) and tests.

use std::time::{Duration, Instant};

use super::{
    bridge::Bridge,
    config::Protocol,
    id::{BridgeId, PortId},
    port::{InfoIs, Mode, PortState, Role},
};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    pub bridge_id: BridgeId,
    pub protocol: Protocol,
    pub root_id: BridgeId,
    /// Index of the root port; `None` when this bridge is root.
    pub root_port: Option<usize>,
    pub root_path_cost: u32,
    /// This bridge's configured timers.
    pub hello_time: Duration,
    pub max_age: Duration,
    pub forward_delay: Duration,
    /// The timers in use: the root's, learned from the root port.
    pub root_max_age: Duration,
    pub root_forward_delay: Duration,
    /// A topology change is under way: announced on some port, or heard
    /// of recently (see `topology`).
    pub topology_change: bool,
    pub topology_change_count: u64,
    pub last_topology_change: Option<Instant>,
    /// Since `last_topology_change`, at the time of the last input.
    pub time_since_topology_change: Option<Duration>,
    pub ports: Vec<PortStatus>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
#[expect(clippy::struct_excessive_bools, reason = "flags mstpctl shows per port")]
pub struct PortStatus {
    pub name: String,
    pub port_id: PortId,
    pub link_up: bool,
    pub role: Role,
    pub state: PortState,
    pub path_cost: u32,
    /// The root, bridge and port this port's information came from
    /// (ourselves when designated).
    pub designated_root: BridgeId,
    pub designated_cost: u32,
    pub designated_bridge: BridgeId,
    pub designated_port: PortId,
    pub admin_edge: bool,
    pub oper_edge: bool,
    pub point_to_point: bool,
    pub mode: Mode,
    pub bpdu_guard_tripped: bool,
    pub root_inconsistent: bool,
    pub topology_change: bool,
    pub bpdus_in: u64,
    pub bpdus_out: u64,
    /// BPDUs dropped: link down, or our own looped back.
    pub bpdus_ignored: u64,
}

impl Bridge {
    #[must_use]
    pub fn status(&self) -> Status {
        let now = self.now;
        let tc_running = |p: &super::port::Port| now.is_some_and(|now| p.tc_running(now));
        let ports = (self.ports.iter().enumerate())
            .map(|(index, p)| {
                let info = if p.info_is == InfoIs::Disabled {
                    p.designated_priority
                } else {
                    p.port_priority
                };
                PortStatus {
                    name: p.params.name.clone(),
                    port_id: p.id,
                    link_up: p.link_up,
                    role: p.role,
                    state: self.port_state(index),
                    path_cost: p.params.path_cost,
                    designated_root: info.root,
                    designated_cost: info.root_path_cost,
                    designated_bridge: info.designated_bridge,
                    designated_port: info.designated_port,
                    admin_edge: p.params.admin_edge,
                    oper_edge: p.oper_edge,
                    point_to_point: p.point_to_point,
                    mode: p.mode(),
                    bpdu_guard_tripped: p.guard_tripped,
                    root_inconsistent: p.root_inconsistent,
                    topology_change: tc_running(p),
                    bpdus_in: p.bpdus_in,
                    bpdus_out: p.bpdus_out,
                    bpdus_ignored: p.bpdus_ignored,
                }
            })
            .collect();
        Status {
            bridge_id: self.id,
            protocol: self.config.protocol(),
            root_id: self.root_priority.root,
            root_port: self.root_port,
            root_path_cost: self.root_priority.root_path_cost,
            hello_time: self.config.hello_time(),
            max_age: self.config.max_age(),
            forward_delay: self.config.forward_delay(),
            root_max_age: self.root_times.max_age,
            root_forward_delay: self.root_times.forward_delay,
            topology_change: now.is_some_and(|now| self.topology_change_at(now)),
            topology_change_count: self.tc_count,
            last_topology_change: self.last_tc,
            time_since_topology_change: now.zip(self.last_tc).map(|(now, at)| now - at),
            ports,
        }
    }
}
