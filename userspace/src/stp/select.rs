//! Port Role Selection (802.1D-2004 17.28, `updtRolesTree` 17.21.25): the
//! root priority vector is the best of this bridge's own vector and every
//! port's root path priority vector (received information plus the port's
//! path cost); each port's designated priority vector follows from it, and
//! comparing that with the port's information gives its role.
//!
//! Root guard is 802.1Q's `restrictedRole`: such a port never becomes
//! root port; superior information on it makes it an alternate port
//! (discarding), reported as root-inconsistent.

use std::time::{Duration, Instant};

use super::{
    action::Event,
    bridge::Bridge,
    id::{PortId, PriorityVector, Times},
    port::{InfoIs, Port, Role},
};

impl Bridge {
    pub(crate) fn select_roles(&mut self, now: Instant) {
        let (best, root_port) = self.root_vector();
        let root_times = match root_port {
            Some(index) => {
                let mut times = self.ports[index].port_times;
                times.message_age += Duration::from_secs(1);
                times
            }
            None => Times {
                message_age: Duration::ZERO,
                max_age: self.config.max_age(),
                hello_time: self.config.hello_time(),
                forward_delay: self.config.forward_delay(),
            },
        };
        let changed = best.root != self.root_priority.root
            || best.root_path_cost != self.root_priority.root_path_cost
            || root_port != self.root_port;
        self.root_priority = best;
        self.root_port = root_port;
        self.root_times = root_times;
        if changed {
            let event = Event::Root {
                root: best.root,
                root_port,
                cost: best.root_path_cost,
                cause: self.cause,
            };
            self.event(now, None, event);
        }
        for index in 0..self.ports.len() {
            self.assign_role(now, index);
        }
    }

    /// The best of the bridge's own vector and every eligible port's root
    /// path priority vector, and the port it came through.
    fn root_vector(&self) -> (PriorityVector, Option<usize>) {
        let own = self.id;
        let mut best = PriorityVector {
            root: own,
            root_path_cost: 0,
            designated_bridge: own,
            designated_port: PortId(0),
            bridge_port: PortId(0),
        };
        let mut root_port = None;
        for (index, p) in self.ports.iter().enumerate() {
            if p.info_is != InfoIs::Received || p.params.root_guard {
                continue;
            }
            if p.port_priority.designated_bridge.mac() == own.mac() {
                continue;
            }
            let path = root_path(p);
            if path < best {
                best = path;
                root_port = Some(index);
            }
        }
        (best, root_port)
    }

    /// Designated priority and times for port `index`, and its role
    /// (17.21.25 f-l); root guard bookkeeping.
    fn assign_role(&mut self, now: Instant, index: usize) {
        let own = self.id;
        let best = self.root_priority;
        let root_port = self.root_port;
        let designated_times = Times { hello_time: self.config.hello_time(), ..self.root_times };
        let p = &mut self.ports[index];
        p.designated_priority = PriorityVector {
            root: best.root,
            root_path_cost: best.root_path_cost,
            designated_bridge: own,
            designated_port: p.id,
            bridge_port: p.id,
        };
        p.designated_times = designated_times;
        let role = match p.info_is {
            InfoIs::Disabled => Role::Disabled,
            InfoIs::Aged => {
                p.updt_info = true;
                Role::Designated
            }
            InfoIs::Mine => {
                p.updt_info =
                    p.port_priority != p.designated_priority || p.port_times != p.designated_times;
                Role::Designated
            }
            InfoIs::Received if root_port == Some(index) => {
                p.updt_info = false;
                Role::Root
            }
            InfoIs::Received if p.designated_priority < p.port_priority => {
                p.updt_info = true;
                Role::Designated
            }
            InfoIs::Received => {
                p.updt_info = false;
                if p.port_priority.designated_bridge.mac() == own.mac() {
                    Role::Backup
                } else {
                    Role::Alternate
                }
            }
        };
        p.selected_role = role;
        p.selected = true;
        p.reselect = false;
        let inconsistent = p.params.root_guard
            && p.info_is == InfoIs::Received
            && p.port_priority.designated_bridge.mac() != own.mac()
            && root_path(p) < best;
        if inconsistent != p.root_inconsistent {
            p.root_inconsistent = inconsistent;
            let from = p.port_priority.designated_bridge;
            self.event(now, Some(index), Event::RootInconsistent { active: inconsistent, from });
        }
    }
}

/// The root path priority vector of a port with received information.
fn root_path(p: &Port) -> PriorityVector {
    let mut path = p.port_priority;
    path.root_path_cost = path.root_path_cost.saturating_add(p.params.path_cost);
    path
}
