//! Per-port protocol variables (802.1D-2004 17.19) and the role, state and
//! mode types the bridge reports.
//!
//! Timers are deadlines (`Option<Instant>`): a timer "is zero" when it is
//! unset or its deadline has passed. Two timers the standard keeps pinned
//! while a role lasts (`rrWhile` on the root port, `rbWhile` on a backup
//! port) are modelled as "running while the role lasts, then counting down
//! from the moment the role ends" (see `rr_running` / `rb_running`).

use std::{
    fmt,
    time::{Duration, Instant},
};

use super::{
    config::PortParams,
    id::{PortId, PriorityVector, Times},
};

/// Port roles (17.7).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Role {
    Disabled,
    Root,
    Designated,
    Alternate,
    Backup,
}

impl Role {
    /// Every role, for exporting the role as a state.
    pub const ALL: [Role; 5] =
        [Role::Disabled, Role::Root, Role::Designated, Role::Alternate, Role::Backup];
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Disabled => "Disabled",
            Role::Root => "Root",
            Role::Designated => "Designated",
            Role::Alternate => "Alternate",
            Role::Backup => "Backup",
        })
    }
}

/// What the driver applies to the bridge port. `Discarding` is RSTP's
/// name; an STP bridge reports `Blocking` (not root/designated) or
/// `Listening` (root/designated, waiting for forward delay) instead. All
/// three drop frames and learn nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum PortState {
    Disabled,
    Blocking,
    Listening,
    Discarding,
    Learning,
    Forwarding,
}

impl PortState {
    /// Every state, for exporting the state as a state set.
    pub const ALL: [PortState; 6] = [
        PortState::Disabled,
        PortState::Blocking,
        PortState::Listening,
        PortState::Discarding,
        PortState::Learning,
        PortState::Forwarding,
    ];

    /// 0 drops, 1 learns, 2 forwards: for ordering state changes safely.
    #[must_use]
    pub fn openness(self) -> u8 {
        match self {
            PortState::Disabled
            | PortState::Blocking
            | PortState::Listening
            | PortState::Discarding => 0,
            PortState::Learning => 1,
            PortState::Forwarding => 2,
        }
    }
}

impl fmt::Display for PortState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PortState::Disabled => "disabled",
            PortState::Blocking => "blocking",
            PortState::Listening => "listening",
            PortState::Discarding => "discarding",
            PortState::Learning => "learning",
            PortState::Forwarding => "forwarding",
        })
    }
}

/// Which BPDUs a port sends (`sendRSTP`, 17.19.34).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Mode {
    Stp,
    Rstp,
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Mode::Stp => "STP",
            Mode::Rstp => "RSTP",
        })
    }
}

/// `infoIs` (17.19.10): where the port priority vector came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) enum InfoIs {
    Disabled,
    Aged,
    Mine,
    Received,
}

/// The topology change machine's states (17.30), collapsed to the three
/// that persist.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) enum TcState {
    Inactive,
    Learning,
    Active,
}

#[derive(Debug, serde::Serialize, serde::Deserialize)]
#[expect(clippy::struct_excessive_bools, reason = "the standard's per-port boolean variables")]
#[expect(clippy::struct_field_names, reason = "the standard's portPriority and portTimes")]
pub(crate) struct Port {
    pub(crate) params: PortParams,
    pub(crate) id: PortId,
    // Link and its operational properties.
    pub(crate) link_up: bool,
    pub(crate) point_to_point: bool,
    pub(crate) guard_tripped: bool,
    pub(crate) oper_edge: bool,
    pub(crate) send_rstp: bool,
    #[serde(with = "crate::handover::clock::optional")]
    pub(crate) mdelay_while: Option<Instant>,
    #[serde(with = "crate::handover::clock::optional")]
    pub(crate) edge_delay_while: Option<Instant>,
    // Port information.
    pub(crate) info_is: InfoIs,
    pub(crate) port_priority: PriorityVector,
    pub(crate) port_times: Times,
    pub(crate) designated_priority: PriorityVector,
    pub(crate) designated_times: Times,
    #[serde(with = "crate::handover::clock::optional")]
    pub(crate) rcvd_info_while: Option<Instant>,
    pub(crate) reselect: bool,
    pub(crate) selected: bool,
    pub(crate) updt_info: bool,
    pub(crate) selected_role: Role,
    pub(crate) role: Role,
    // Role transitions.
    pub(crate) proposed: bool,
    pub(crate) proposing: bool,
    pub(crate) agree: bool,
    pub(crate) agreed: bool,
    pub(crate) sync: bool,
    pub(crate) synced: bool,
    pub(crate) re_root: bool,
    pub(crate) disputed: bool,
    pub(crate) learn: bool,
    pub(crate) forward: bool,
    #[serde(with = "crate::handover::clock::optional")]
    pub(crate) fd_while: Option<Instant>,
    #[serde(with = "crate::handover::clock::optional")]
    pub(crate) rr_while: Option<Instant>,
    #[serde(with = "crate::handover::clock::optional")]
    pub(crate) rb_while: Option<Instant>,
    // Topology change.
    pub(crate) tcm: TcState,
    #[serde(with = "crate::handover::clock::optional")]
    pub(crate) tc_while: Option<Instant>,
    pub(crate) tc_ack: bool,
    pub(crate) tc_prop: bool,
    pub(crate) rcvd_tc: bool,
    pub(crate) rcvd_tcn: bool,
    pub(crate) rcvd_tc_ack: bool,
    // Transmission.
    pub(crate) new_info: bool,
    #[serde(with = "crate::handover::clock::optional")]
    pub(crate) hello_when: Option<Instant>,
    pub(crate) tx_count: u32,
    #[serde(with = "crate::handover::clock::optional")]
    pub(crate) tx_window: Option<Instant>,
    // Reporting.
    pub(crate) reported_state: PortState,
    pub(crate) root_inconsistent: bool,
    pub(crate) bpdus_in: u64,
    pub(crate) bpdus_out: u64,
    pub(crate) bpdus_ignored: u64,
}

impl Port {
    pub(crate) fn new(params: PortParams, id: PortId) -> Self {
        Port {
            oper_edge: params.admin_edge,
            params,
            id,
            link_up: false,
            point_to_point: false,
            guard_tripped: false,
            send_rstp: false,
            mdelay_while: None,
            edge_delay_while: None,
            info_is: InfoIs::Disabled,
            port_priority: PriorityVector::default(),
            port_times: Times::default(),
            designated_priority: PriorityVector::default(),
            designated_times: Times::default(),
            rcvd_info_while: None,
            reselect: false,
            selected: false,
            updt_info: false,
            selected_role: Role::Disabled,
            role: Role::Disabled,
            proposed: false,
            proposing: false,
            agree: false,
            agreed: false,
            sync: false,
            synced: true,
            re_root: false,
            disputed: false,
            learn: false,
            forward: false,
            fd_while: None,
            rr_while: None,
            rb_while: None,
            tcm: TcState::Inactive,
            tc_while: None,
            tc_ack: false,
            tc_prop: false,
            rcvd_tc: false,
            rcvd_tcn: false,
            rcvd_tc_ack: false,
            new_info: false,
            hello_when: None,
            tx_count: 0,
            tx_window: None,
            reported_state: PortState::Disabled,
            root_inconsistent: false,
            bpdus_in: 0,
            bpdus_out: 0,
            bpdus_ignored: 0,
        }
    }

    /// `portEnabled`: link up and not shut by BPDU guard.
    pub(crate) fn enabled(&self) -> bool {
        self.link_up && !self.guard_tripped
    }

    pub(crate) fn mode(&self) -> Mode {
        if self.send_rstp {
            Mode::Rstp
        } else {
            Mode::Stp
        }
    }

    /// `rrWhile != 0`.
    pub(crate) fn rr_running(&self, now: Instant) -> bool {
        self.role == Role::Root || running(self.rr_while, now)
    }

    /// `rbWhile != 0`.
    pub(crate) fn rb_running(&self, now: Instant) -> bool {
        self.role == Role::Backup || running(self.rb_while, now)
    }

    /// `tcWhile != 0`.
    pub(crate) fn tc_running(&self, now: Instant) -> bool {
        running(self.tc_while, now)
    }

    /// `fdWhile == 0` (and the timer was started).
    pub(crate) fn fd_expired(&self, now: Instant) -> bool {
        self.fd_while.is_some_and(|deadline| deadline <= now)
    }

    /// Deadlines still ahead of `now`, for `poll_timeout`.
    pub(crate) fn deadlines(&self) -> impl Iterator<Item = Instant> {
        [
            self.mdelay_while,
            self.edge_delay_while,
            self.rcvd_info_while,
            self.fd_while,
            self.rr_while,
            self.rb_while,
            self.tc_while,
            self.hello_when,
            self.tx_window,
        ]
        .into_iter()
        .flatten()
    }

    /// `EdgeDelay` (17.20.4).
    pub(crate) fn edge_delay(&self, max_age: Duration) -> Duration {
        if self.point_to_point {
            super::config::MIGRATE_TIME
        } else {
            max_age
        }
    }
}

/// A timer that has not yet expired.
pub(crate) fn running(timer: Option<Instant>, now: Instant) -> bool {
    timer.is_some_and(|deadline| deadline > now)
}
