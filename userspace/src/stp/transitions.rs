//! Port Role Transitions (802.1D-2004 17.29): once a port's selected role
//! is settled, this moves it into the role and then through the role's
//! conditions: proposals and agreements (the sync handshake that lets a
//! designated port on a point-to-point link forward at once), re-rooting,
//! and the forward-delay path discarding -> learning -> forwarding.
//!
//! Each call performs at most one transition and says whether it did;
//! [`Bridge::run`] calls it until nothing changes.

use std::time::Instant;

use super::{action::Event, bridge::Bridge, port::Role};

impl Bridge {
    pub(crate) fn role_transition(&mut self, now: Instant, index: usize) -> bool {
        let p = &self.ports[index];
        if !p.selected || p.updt_info {
            return false;
        }
        if p.role != p.selected_role {
            self.change_role(now, index);
            return true;
        }
        match p.role {
            Role::Disabled => false,
            Role::Root => self.root_port(now, index),
            Role::Designated => self.designated_port(now, index),
            Role::Alternate | Role::Backup => self.alternate_port(now, index),
        }
    }

    /// `FwdDelay` (17.20.5): the root's forward delay.
    fn fwd_delay(&self) -> std::time::Duration {
        self.root_times.forward_delay
    }

    /// `forwardDelay` (17.20.6): hello time on RSTP ports (the learning
    /// phase after an agreement-less wait), forward delay on STP ports.
    fn forward_delay(&self, index: usize) -> std::time::Duration {
        if self.ports[index].send_rstp {
            self.config.hello_time()
        } else {
            self.fwd_delay()
        }
    }

    fn change_role(&mut self, now: Instant, index: usize) {
        let fwd_delay = self.fwd_delay();
        let hello = self.config.hello_time();
        let cause = self.cause;
        let p = &mut self.ports[index];
        let (from, to) = (p.role, p.selected_role);
        if from == Role::Root {
            p.rr_while = Some(now + fwd_delay);
        }
        if from == Role::Backup {
            p.rb_while = Some(now + hello * 2);
        }
        p.role = to;
        match to {
            Role::Disabled | Role::Alternate | Role::Backup => {
                // BLOCK_PORT / DISABLE_PORT, then ALTERNATE_PORT /
                // DISABLED_PORT: fdWhile stays pinned (unset) meanwhile.
                p.learn = false;
                p.forward = false;
                p.fd_while = None;
                p.synced = true;
                p.rr_while = None;
                p.sync = false;
                p.re_root = false;
            }
            Role::Root | Role::Designated => {
                if !p.learn && p.fd_while.is_none() {
                    p.fd_while = Some(now + fwd_delay);
                }
            }
        }
        self.event(now, Some(index), Event::RoleChanged { from, to, cause });
    }

    /// `allSynced` for `index`: every other port (the root port aside) is
    /// selected, in its role, up to date and synced.
    fn all_synced(&self, index: usize) -> bool {
        self.ports.iter().enumerate().filter(|&(other, _)| other != index).all(|(_, p)| {
            p.selected
                && p.role == p.selected_role
                && !p.updt_info
                && (p.synced || p.role == Role::Root)
        })
    }

    /// `reRooted`: no other port was root port within forward delay.
    fn re_rooted(&self, now: Instant, index: usize) -> bool {
        (self.ports.iter().enumerate())
            .filter(|&(other, _)| other != index)
            .all(|(_, p)| !p.rr_running(now))
    }

    fn set_sync_tree(&mut self) {
        for p in &mut self.ports {
            p.sync = true;
        }
    }

    fn set_re_root_tree(&mut self) {
        for p in &mut self.ports {
            p.re_root = true;
        }
    }

    fn root_port(&mut self, now: Instant, index: usize) -> bool {
        let all_synced = self.all_synced(index);
        let rapid = self.rstp_version() && self.re_rooted(now, index);
        let forward_delay = self.forward_delay(index);
        let p = &mut self.ports[index];
        if p.proposed && !p.agree {
            // ROOT_PROPOSED
            p.proposed = false;
            self.set_sync_tree();
            return true;
        }
        if (all_synced && !p.agree) || (p.proposed && p.agree) {
            // ROOT_AGREED
            p.proposed = false;
            p.sync = false;
            p.agree = true;
            p.new_info = true;
            return true;
        }
        if (p.agreed && !p.synced) || (p.sync && p.synced) {
            // ROOT_SYNCED
            p.synced = true;
            p.sync = false;
            return true;
        }
        if !p.forward && !p.re_root {
            // REROOT
            self.set_re_root_tree();
            return true;
        }
        if p.re_root && p.forward {
            // REROOTED
            p.re_root = false;
            return true;
        }
        let go = p.fd_expired(now) || (rapid && !p.rb_running(now));
        if go && !p.learn {
            // ROOT_LEARN
            p.learn = true;
            p.fd_while = Some(now + forward_delay);
            return true;
        }
        if go && p.learn && !p.forward {
            // ROOT_FORWARD
            p.forward = true;
            p.fd_while = None;
            return true;
        }
        false
    }

    fn designated_port(&mut self, now: Instant, index: usize) -> bool {
        let fwd_delay = self.fwd_delay();
        let forward_delay = self.forward_delay(index);
        let max_age = self.root_times.max_age;
        let p = &mut self.ports[index];
        if !p.forward && !p.agreed && !p.proposing && !p.oper_edge {
            // DESIGNATED_PROPOSE
            p.proposing = true;
            p.edge_delay_while = Some(now + p.edge_delay(max_age));
            p.new_info = true;
            return true;
        }
        let rr_running = p.rr_running(now);
        if (!p.learn && !p.forward && !p.synced)
            || (p.agreed && !p.synced)
            || (p.oper_edge && !p.synced)
            || (p.sync && p.synced)
        {
            // DESIGNATED_SYNCED
            p.rr_while = None;
            p.synced = true;
            p.sync = false;
            return true;
        }
        if !rr_running && p.re_root {
            // DESIGNATED_RETIRED
            p.re_root = false;
            return true;
        }
        if ((p.sync && !p.synced) || (p.re_root && rr_running) || p.disputed)
            && !p.oper_edge
            && (p.learn || p.forward)
        {
            // DESIGNATED_DISCARD (full forward delay, see the module docs
            // of `stp` for why not `forwardDelay`).
            p.learn = false;
            p.forward = false;
            p.disputed = false;
            p.fd_while = Some(now + fwd_delay);
            return true;
        }
        let may = (p.fd_expired(now) || p.agreed || p.oper_edge)
            && (!rr_running || !p.re_root)
            && !p.sync;
        if may && !p.learn {
            // DESIGNATED_LEARN
            p.learn = true;
            p.fd_while = Some(now + forward_delay);
            return true;
        }
        if may && p.learn && !p.forward {
            // DESIGNATED_FORWARD
            p.forward = true;
            p.agreed = p.send_rstp;
            p.fd_while = None;
            return true;
        }
        false
    }

    fn alternate_port(&mut self, _now: Instant, index: usize) -> bool {
        let all_synced = self.all_synced(index);
        let p = &mut self.ports[index];
        if p.proposed && !p.agree {
            // ALTERNATE_PROPOSED
            p.proposed = false;
            self.set_sync_tree();
            return true;
        }
        if (all_synced && !p.agree) || (p.proposed && p.agree) {
            // ALTERNATE_AGREED
            p.proposed = false;
            p.agree = true;
            p.new_info = true;
            return true;
        }
        if p.sync || p.re_root || !p.synced {
            // ALTERNATE_PORT
            p.synced = true;
            p.sync = false;
            p.re_root = false;
            p.rr_while = None;
            return true;
        }
        false
    }
}
