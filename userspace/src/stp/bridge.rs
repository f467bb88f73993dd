//! One bridge: its ports, the bridge-wide variables, the output queue, and
//! the loop every input ends with.
//!
//! Each input (`port_up`, `port_down`, `mcheck`, `handle_bpdu` in
//! `receive`, `handle_timeout`) changes some per-port variables and calls
//! [`Bridge::run`], which plays the standard's concurrent state machines
//! to a fixed point: port information (`information`), role selection
//! (`select`), role transitions (`transitions`), topology change
//! (`topology`). It then reports port state changes (closing ports first)
//! and transmits (`transmit`).

use std::{
    collections::VecDeque,
    time::{Duration, Instant},
};

use super::{
    action::{Action, Cause, Event},
    config::{Config, Protocol, MIGRATE_TIME},
    id::{BridgeId, PriorityVector, Times},
    port::{Port, PortState, Role},
};

/// Rounds of the machines per input before giving up; reaching it means a
/// bug (the machines oscillate), which debug builds assert.
const MAX_ROUNDS: usize = 1000;

/// An RSTP/STP bridge with N ports, as a pure state machine.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct Bridge {
    pub(crate) config: Config,
    pub(crate) id: BridgeId,
    pub(crate) ports: Vec<Port>,
    pub(crate) root_priority: PriorityVector,
    pub(crate) root_port: Option<usize>,
    pub(crate) root_times: Times,
    /// What triggered the next role selection.
    pub(crate) cause: Cause,
    #[serde(with = "crate::handover::clock::optional")]
    pub(crate) now: Option<Instant>,
    pub(crate) tc_count: u64,
    #[serde(with = "crate::handover::clock::optional")]
    pub(crate) last_tc: Option<Instant>,
    /// TC flags heard keep the current topology change going until then.
    #[serde(with = "crate::handover::clock::optional")]
    pub(crate) tc_seen_until: Option<Instant>,
    #[serde(skip)]
    pub(crate) actions: VecDeque<Action>,
}

impl Bridge {
    /// A bridge with every port down; call [`port_up`](Self::port_up) for
    /// each port whose link is up.
    #[must_use]
    pub fn new(config: Config) -> Self {
        let id = config.bridge_id();
        let ports = (config.ports().iter().enumerate())
            .map(|(index, params)| Port::new(params.clone(), config.port_id(index)))
            .collect();
        let root_times = Times {
            message_age: Duration::ZERO,
            max_age: config.max_age(),
            hello_time: config.hello_time(),
            forward_delay: config.forward_delay(),
        };
        Bridge {
            root_priority: PriorityVector {
                root: id,
                designated_bridge: id,
                ..PriorityVector::default()
            },
            id,
            ports,
            root_port: None,
            root_times,
            cause: Cause::PortUp,
            now: None,
            tc_count: 0,
            last_tc: None,
            tc_seen_until: None,
            actions: VecDeque::new(),
            config,
        }
    }

    #[must_use]
    pub fn config(&self) -> &Config {
        &self.config
    }

    #[must_use]
    pub fn bridge_id(&self) -> BridgeId {
        self.id
    }

    /// Whether `port` is up as far as the bridge knows (a resumed bridge
    /// compares it with the carrier now).
    #[must_use]
    pub fn port_link_up(&self, port: usize) -> bool {
        self.ports.get(port).is_some_and(|port| port.link_up)
    }

    /// The next output, in the order produced.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) must next be called.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        let now = self.now?;
        self.ports.iter().flat_map(Port::deadlines).filter(|&at| at > now).min()
    }

    /// Timers: hello, ageing, forward delay, migration, topology change.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.run(now);
    }

    /// The link of `port` came up; `point_to_point` is the operational
    /// point-to-point status (full duplex), which rapid transitions need.
    pub fn port_up(&mut self, now: Instant, port: usize, point_to_point: bool) {
        let rstp = self.rstp_version();
        let hello = self.config.hello_time();
        let Some(p) = self.ports.get_mut(port) else { return };
        if p.link_up {
            p.point_to_point = point_to_point;
        } else {
            p.link_up = true;
            p.point_to_point = point_to_point;
            p.guard_tripped = false;
            p.oper_edge = p.params.admin_edge;
            p.send_rstp = rstp;
            p.mdelay_while = Some(now + MIGRATE_TIME);
            p.hello_when = Some(now + hello);
            p.tx_count = 0;
            self.cause = Cause::PortUp;
        }
        self.run(now);
    }

    /// The link of `port` went down.
    pub fn port_down(&mut self, now: Instant, port: usize) {
        let Some(p) = self.ports.get_mut(port) else { return };
        p.link_up = false;
        p.guard_tripped = false;
        p.hello_when = None;
        p.mdelay_while = None;
        p.edge_delay_while = None;
        self.cause = Cause::PortDown;
        self.run(now);
    }

    /// `mcheck` (17.19.13): try RSTP again on a port that fell back to STP.
    pub fn mcheck(&mut self, now: Instant, port: usize) {
        if !self.rstp_version() {
            return;
        }
        let Some(p) = self.ports.get_mut(port) else { return };
        if p.enabled() && !p.send_rstp {
            p.send_rstp = true;
            p.mdelay_while = Some(now + MIGRATE_TIME);
            let to = p.mode();
            self.event(now, Some(port), Event::ModeChanged { to });
        }
        self.run(now);
    }

    /// `rstpVersion` (17.20.11).
    pub(crate) fn rstp_version(&self) -> bool {
        self.config.protocol() == Protocol::Rstp
    }

    pub(crate) fn event(&mut self, at: Instant, port: Option<usize>, event: Event) {
        if let Some(port) = port {
            tracing::debug!(bridge = %self.id, port, %event, "stp");
        } else {
            tracing::debug!(bridge = %self.id, %event, "stp");
        }
        self.actions.push_back(Action::Transition { at, port, event });
    }

    /// Plays the machines to a fixed point, then reports and transmits.
    pub(crate) fn run(&mut self, now: Instant) {
        self.now = Some(now);
        self.tick(now);
        let mut rounds = 0;
        loop {
            let mut changed = false;
            for index in 0..self.ports.len() {
                changed |= self.port_information(now, index);
            }
            if self.ports.iter().any(|p| p.reselect) {
                self.select_roles(now);
                changed = true;
            }
            for index in 0..self.ports.len() {
                changed |= self.role_transition(now, index);
            }
            for index in 0..self.ports.len() {
                changed |= self.topology_change(now, index);
            }
            rounds += 1;
            if !changed {
                break;
            }
            if rounds >= MAX_ROUNDS {
                debug_assert!(false, "stp machines do not settle");
                break;
            }
        }
        self.report_states(now);
        self.transmit(now);
    }

    /// The externally visible state of a port.
    pub(crate) fn port_state(&self, index: usize) -> PortState {
        let p = &self.ports[index];
        if !p.enabled() {
            PortState::Disabled
        } else if p.forward {
            PortState::Forwarding
        } else if p.learn {
            PortState::Learning
        } else if self.rstp_version() {
            PortState::Discarding
        } else if matches!(p.role, Role::Root | Role::Designated) {
            PortState::Listening
        } else {
            PortState::Blocking
        }
    }

    /// Queues `SetPortState` for every port whose state changed: closing
    /// ports first, then learning, then forwarding.
    fn report_states(&mut self, now: Instant) {
        let mut changes: Vec<(usize, PortState, PortState)> = (0..self.ports.len())
            .filter_map(|index| {
                let (from, to) = (self.ports[index].reported_state, self.port_state(index));
                (from != to).then_some((index, from, to))
            })
            .collect();
        changes.sort_by_key(|&(index, _, to)| (to.openness(), index));
        for (port, from, to) in changes {
            self.ports[port].reported_state = to;
            self.event(now, Some(port), Event::StateChanged { from, to });
            self.actions.push_back(Action::SetPortState { port, state: to });
        }
    }
}
