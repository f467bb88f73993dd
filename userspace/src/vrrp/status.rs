//! A read-only snapshot of one instance for the control socket and tests.

use std::{
    net::Ipv4Addr,
    time::{Duration, Instant},
};

use super::reason::{Reason, State};

/// The master as this instance knows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct KnownMaster {
    pub address: Ipv4Addr,
    pub priority: u8,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    pub vrid: u8,
    pub state: State,
    pub configured_priority: u8,
    /// After tracking offsets (owner: always 255).
    pub effective_priority: u8,
    /// Ourselves when Master; the sender of the last accepted advert when
    /// Backup; `None` when unknown (startup, after a priority 0, Fault).
    pub master: Option<KnownMaster>,
    /// When the last advert for this VRID was received (accepted or not).
    pub last_advert: Option<Instant>,
    pub transitions: u64,
    pub last_transition: Option<(Instant, Reason)>,
    /// Learned from the master (v3) or configured (v2, and when Master).
    pub master_adver_interval: Duration,
    /// What a backup waits now, from the above and our priority.
    pub master_down_interval: Duration,
    pub adverts_sent: u64,
    pub adverts_received: u64,
    pub adverts_discarded: u64,
    /// Accepted adverts whose address list differs from ours (RFC 5798
    /// §7.1: log, do not drop).
    pub address_list_mismatches: u64,
}
