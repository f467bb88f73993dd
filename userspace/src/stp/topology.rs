//! Topology Change (802.1D-2004 17.30): a non-edge root or designated port
//! that starts forwarding is a topology change. It is announced with the
//! TC flag (RSTP: for hello time + 1 s; STP: TCN up towards the root
//! until acknowledged, then the root sets TC for max age + forward delay)
//! and every port that hears it flushes the addresses learned on the
//! bridge's other ports ([`Action::FlushFdb`](super::Action::FlushFdb)).

use std::{time::Duration, time::Instant};

use super::{
    action::{Action, Event},
    bridge::Bridge,
    port::{Role, TcState},
};

impl Bridge {
    pub(crate) fn topology_change(&mut self, now: Instant, index: usize) -> bool {
        let p = &mut self.ports[index];
        let active_role = matches!(p.role, Role::Root | Role::Designated);
        match p.tcm {
            TcState::Inactive => {
                if p.learn {
                    p.tcm = TcState::Learning;
                    clear_received(p);
                    return true;
                }
                false
            }
            TcState::Learning => {
                if !active_role && !p.learn {
                    // INACTIVE: flush what was learned here.
                    p.tcm = TcState::Inactive;
                    p.tc_while = None;
                    p.tc_ack = false;
                    clear_received(p);
                    self.actions.push_back(Action::FlushFdb { port: index });
                    return true;
                }
                if active_role && p.forward && !p.oper_edge {
                    // DETECTED
                    p.tcm = TcState::Active;
                    clear_received(p);
                    self.count_topology_change(now);
                    self.new_tc_while(now, index);
                    self.set_tc_prop_tree(index);
                    self.ports[index].new_info = true;
                    self.event(now, Some(index), Event::TopologyChange);
                    return true;
                }
                if p.rcvd_tc || p.rcvd_tcn || p.rcvd_tc_ack || p.tc_prop {
                    clear_received(p);
                    return true;
                }
                false
            }
            TcState::Active => self.active(now, index),
        }
    }

    fn active(&mut self, now: Instant, index: usize) -> bool {
        let p = &mut self.ports[index];
        if !matches!(p.role, Role::Root | Role::Designated) || p.oper_edge {
            p.tcm = TcState::Learning;
            return true;
        }
        if p.rcvd_tcn {
            // NOTIFIED_TCN, then NOTIFIED_TC
            let new = self.count_topology_change(now);
            self.new_tc_while(now, index);
            self.notified_tc(now, index, new);
            return true;
        }
        if p.rcvd_tc {
            let new = self.count_topology_change(now);
            self.notified_tc(now, index, new);
            return true;
        }
        if p.tc_prop {
            // PROPAGATING
            p.tc_prop = false;
            self.new_tc_while(now, index);
            self.actions.push_back(Action::FlushFdb { port: index });
            return true;
        }
        if p.rcvd_tc_ack {
            // ACKNOWLEDGED
            p.rcvd_tc_ack = false;
            p.tc_while = None;
            return true;
        }
        false
    }

    fn notified_tc(&mut self, now: Instant, index: usize, new: bool) {
        let p = &mut self.ports[index];
        p.rcvd_tcn = false;
        p.rcvd_tc = false;
        if p.role == Role::Designated {
            p.tc_ack = true;
            p.new_info = true;
        }
        self.set_tc_prop_tree(index);
        if new {
            self.event(now, Some(index), Event::TopologyChange);
        }
    }

    /// Counts a topology change for status. One lasts while a port
    /// announces it, and while BPDUs keep the TC flag set (they repeat it
    /// every hello, so until hello + 1 s after the last one heard); a
    /// detection or notification outside that is a new one. Returns
    /// whether this one is new.
    fn count_topology_change(&mut self, now: Instant) -> bool {
        let window = self.root_times.hello_time + Duration::from_secs(1);
        let ongoing = self.topology_change_at(now);
        self.tc_seen_until = self.tc_seen_until.max(Some(now + window));
        if ongoing {
            return false;
        }
        self.tc_count += 1;
        self.last_tc = Some(now);
        true
    }

    /// Whether a topology change is under way at `now` (for status).
    pub(crate) fn topology_change_at(&self, now: Instant) -> bool {
        self.ports.iter().any(|p| p.tc_running(now))
            || self.tc_seen_until.is_some_and(|until| until > now)
    }

    /// `setTcPropTree`: every other port propagates.
    fn set_tc_prop_tree(&mut self, index: usize) {
        for (other, p) in self.ports.iter_mut().enumerate() {
            if other != index {
                p.tc_prop = true;
            }
        }
    }

    /// `newTcWhile` (17.21.7). A root port also sends at once (in STP mode
    /// the TCN, as 802.1D-1998 did, rather than at the next hello).
    fn new_tc_while(&mut self, now: Instant, index: usize) {
        if self.ports[index].tc_running(now) {
            return;
        }
        let hello = self.config.hello_time();
        let (max_age, forward_delay) = (self.root_times.max_age, self.root_times.forward_delay);
        let p = &mut self.ports[index];
        if p.send_rstp {
            p.tc_while = Some(now + hello + Duration::from_secs(1));
            p.new_info = true;
        } else {
            p.tc_while = Some(now + max_age + forward_delay);
            p.new_info = p.new_info || p.role == Role::Root;
        }
    }
}

fn clear_received(p: &mut super::port::Port) {
    p.rcvd_tc = false;
    p.rcvd_tcn = false;
    p.rcvd_tc_ack = false;
    p.tc_prop = false;
}
