//! Port Transmit (802.1D-2004 17.26) and the per-port clocks around it:
//! the hello timer makes root-bridge-independent periodic BPDUs
//! (designated ports, and root ports announcing a topology change), the
//! transmit hold count limits BPDUs per second, and the edge delay turns
//! a silent proposing designated port into an edge port (auto edge).

use std::time::{Duration, Instant};

use super::{
    action::{Action, Event},
    bpdu::{Bpdu, BpduInfo, BpduRole, Flags},
    bridge::Bridge,
    port::Role,
};

impl Bridge {
    /// Timer-driven work before the machines run.
    pub(crate) fn tick(&mut self, now: Instant) {
        let hello = self.config.hello_time();
        for index in 0..self.ports.len() {
            let p = &mut self.ports[index];
            if !p.enabled() {
                continue;
            }
            if p.tx_window.is_some_and(|end| end <= now) {
                p.tx_window = None;
                p.tx_count = 0;
            }
            if p.hello_when.is_some_and(|at| at <= now) {
                p.hello_when = Some(now + hello);
                // TRANSMIT_PERIODIC
                p.new_info = p.new_info
                    || p.role == Role::Designated
                    || (p.role == Role::Root && p.tc_running(now));
            }
            if p.edge_delay_while.is_some_and(|at| at <= now) {
                p.edge_delay_while = None;
                if p.params.auto_edge && p.send_rstp && p.proposing && !p.oper_edge {
                    p.oper_edge = true;
                    self.event(now, Some(index), Event::EdgeChanged { edge: true });
                }
            }
        }
    }

    pub(crate) fn transmit(&mut self, now: Instant) {
        for index in 0..self.ports.len() {
            let p = &self.ports[index];
            if !p.new_info {
                continue;
            }
            if !p.enabled() || p.role == Role::Disabled {
                self.ports[index].new_info = false;
                continue;
            }
            if p.tx_count >= self.config.tx_hold_count() {
                continue;
            }
            let bpdu = if p.send_rstp {
                Some(Bpdu::Rst(self.info(now, index, true)))
            } else {
                match p.role {
                    Role::Designated => Some(Bpdu::Config(self.info(now, index, false))),
                    Role::Root if p.tc_running(now) => Some(Bpdu::Tcn),
                    _ => None,
                }
            };
            let p = &mut self.ports[index];
            p.new_info = false;
            let Some(bpdu) = bpdu else { continue };
            if matches!(bpdu, Bpdu::Config(_)) {
                p.tc_ack = false;
            }
            p.tx_count += 1;
            p.bpdus_out += 1;
            if p.tx_window.is_none() {
                p.tx_window = Some(now + Duration::from_secs(1));
            }
            self.actions.push_back(Action::SendBpdu { port: index, bpdu });
        }
    }

    /// `txConfig` / `txRstp` (17.21.19, 17.21.20): designated priority and
    /// times, flags from the port's variables.
    fn info(&self, now: Instant, index: usize, rst: bool) -> BpduInfo {
        let p = &self.ports[index];
        let mut flags = Flags::default().with(Flags::TC, p.tc_running(now));
        if rst {
            let role = match p.role {
                Role::Root => BpduRole::Root,
                Role::Designated => BpduRole::Designated,
                Role::Alternate | Role::Backup => BpduRole::AlternateOrBackup,
                Role::Disabled => BpduRole::Unknown,
            };
            flags = flags
                .with_role(role)
                .with(Flags::PROPOSAL, p.proposing && p.role == Role::Designated)
                .with(Flags::LEARNING, p.learn)
                .with(Flags::FORWARDING, p.forward)
                .with(Flags::AGREEMENT, p.agree && p.role != Role::Designated);
        } else {
            flags = flags.with(Flags::TC_ACK, p.tc_ack);
        }
        BpduInfo {
            flags,
            root: p.designated_priority.root,
            root_path_cost: p.designated_priority.root_path_cost,
            bridge: p.designated_priority.designated_bridge,
            port: p.designated_priority.designated_port,
            times: p.designated_times,
        }
    }
}
