//! BPDU receipt: guards, edge detection, protocol migration (17.24,
//! 17.25) and the receive half of the Port Information machine (17.27,
//! `rcvInfo` 17.21.8), ending with [`Bridge::run`].

use std::time::{Duration, Instant};

use super::{
    action::{Cause, Event},
    bpdu::{Bpdu, BpduInfo, BpduRole, Flags},
    bridge::Bridge,
    config::{Protocol, MIGRATE_TIME},
    id::PriorityVector,
    port::{InfoIs, Role},
};

/// `rcvInfo`'s classification of a received message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RcvdInfo {
    SuperiorDesignated,
    RepeatedDesignated,
    InferiorDesignated,
    InferiorRootAlternate,
    Other,
}

impl Bridge {
    /// A decoded BPDU arrived on `port`.
    pub fn handle_bpdu(&mut self, now: Instant, port: usize, bpdu: &Bpdu) {
        let rstp = self.rstp_version();
        let Some(p) = self.ports.get_mut(port) else { return };
        if !p.enabled() {
            p.bpdus_ignored += 1;
            return;
        }
        // An 802.1D-1998 bridge does not know the RST type (9.3.4) and
        // drops it; the RSTP neighbour then falls back to STP.
        if !rstp && matches!(bpdu, Bpdu::Rst(_)) {
            p.bpdus_ignored += 1;
            return;
        }
        if let Some(info) = bpdu.info() {
            // Our own BPDU looped back onto the port that sent it (9.3.4 a).
            if info.bridge == self.id && info.port == p.id {
                p.bpdus_ignored += 1;
                return;
            }
        }
        p.bpdus_in += 1;
        if p.params.bpdu_guard {
            p.guard_tripped = true;
            p.hello_when = None;
            self.cause = Cause::BpduGuard;
            let from = bpdu.info().map(|info| info.bridge);
            self.event(now, Some(port), Event::BpduGuardTripped { from });
            self.run(now);
            return;
        }
        if p.oper_edge {
            p.oper_edge = false;
            self.event(now, Some(port), Event::EdgeChanged { edge: false });
        }
        let p = &mut self.ports[port];
        p.edge_delay_while = None;
        // Port Protocol Migration: only in SENSING (mdelayWhile expired).
        let stp_bpdu = !matches!(bpdu, Bpdu::Rst(_));
        if p.mdelay_while.is_none_or(|deadline| deadline <= now)
            && ((p.send_rstp && stp_bpdu) || (rstp && !p.send_rstp && !stp_bpdu))
        {
            p.send_rstp = !stp_bpdu;
            p.mdelay_while = Some(now + MIGRATE_TIME);
            let to = p.mode();
            self.event(now, Some(port), Event::ModeChanged { to });
        }
        match bpdu {
            Bpdu::Tcn => {
                let p = &mut self.ports[port];
                if p.role == Role::Designated {
                    p.rcvd_tcn = true;
                }
            }
            Bpdu::Config(info) => self.receive_info(now, port, info, false),
            Bpdu::Rst(info) => self.receive_info(now, port, info, true),
        }
        self.run(now);
    }

    fn receive_info(&mut self, now: Instant, index: usize, info: &BpduInfo, rst: bool) {
        let legacy_ageing = self.config.protocol() == Protocol::Stp;
        let p = &mut self.ports[index];
        let msg = PriorityVector {
            root: info.root,
            root_path_cost: info.root_path_cost,
            designated_bridge: info.bridge,
            designated_port: info.port,
            bridge_port: p.id,
        };
        let role = if rst { info.flags.role() } else { BpduRole::Designated };
        let kind = match role {
            BpduRole::Designated => {
                let superior = msg < p.port_priority
                    || (msg.same_sender(&p.port_priority) && msg != p.port_priority);
                if superior || (msg == p.port_priority && info.times != p.port_times) {
                    RcvdInfo::SuperiorDesignated
                } else if msg == p.port_priority {
                    RcvdInfo::RepeatedDesignated
                } else {
                    RcvdInfo::InferiorDesignated
                }
            }
            BpduRole::Root | BpduRole::AlternateOrBackup if msg >= p.port_priority => {
                RcvdInfo::InferiorRootAlternate
            }
            _ => RcvdInfo::Other,
        };
        let flags = info.flags;
        match kind {
            RcvdInfo::SuperiorDesignated => {
                let better_or_same = p.info_is == InfoIs::Received && msg <= p.port_priority;
                p.agreed = false;
                p.proposing = false;
                record_proposal(p, rst, flags);
                set_tc_flags(p, rst, flags);
                p.agree = p.agree && better_or_same;
                p.port_priority = msg;
                p.port_times = info.times;
                update_rcvd_info_while(p, now, legacy_ageing);
                p.info_is = InfoIs::Received;
                p.reselect = true;
                p.selected = false;
                self.cause = Cause::SuperiorInfo(info.bridge);
            }
            RcvdInfo::RepeatedDesignated => {
                record_proposal(p, rst, flags);
                set_tc_flags(p, rst, flags);
                update_rcvd_info_while(p, now, legacy_ageing);
            }
            RcvdInfo::InferiorDesignated => {
                // recordDispute: the other end still thinks it is
                // designated and is learning.
                if rst && flags.has(Flags::LEARNING) {
                    p.disputed = true;
                    p.agreed = false;
                }
            }
            RcvdInfo::InferiorRootAlternate => {
                // recordAgreement
                if self.config.protocol() == Protocol::Rstp
                    && p.point_to_point
                    && rst
                    && flags.has(Flags::AGREEMENT)
                {
                    p.agreed = true;
                    p.proposing = false;
                } else {
                    p.agreed = false;
                }
                set_tc_flags(p, rst, flags);
            }
            RcvdInfo::Other => {}
        }
    }
}

/// `recordProposal` (17.21.11).
fn record_proposal(p: &mut super::port::Port, rst: bool, flags: Flags) {
    if rst && flags.has(Flags::PROPOSAL) {
        p.proposed = true;
    }
}

/// `setTcFlags` (17.21.17); TCNs are handled by the caller.
fn set_tc_flags(p: &mut super::port::Port, rst: bool, flags: Flags) {
    if flags.has(Flags::TC) {
        p.rcvd_tc = true;
    }
    if !rst && flags.has(Flags::TC_ACK) {
        p.rcvd_tc_ack = true;
    }
}

/// `updtRcvdInfoWhile` (17.21.23): three hellos (RSTP) or what is left of
/// max age (an STP bridge, as 802.1D-1998 aged information); at once if the
/// message is too old.
fn update_rcvd_info_while(p: &mut super::port::Port, now: Instant, legacy: bool) {
    let times = p.port_times;
    let second = Duration::from_secs(1);
    p.rcvd_info_while = if times.message_age + second <= times.max_age {
        let lifetime = if legacy {
            times.max_age.saturating_sub(times.message_age)
        } else {
            times.hello_time * 3
        };
        Some(now + lifetime)
    } else {
        Some(now)
    };
}
