//! What a daemon taking over from another holds until each part has
//! started from it: the proxies' listening sockets, the status listener,
//! and the VRRP and STP drivers' state. Each sync step takes its share;
//! what is left when the takeover ends is dropped (a part the new config
//! no longer has).

use std::collections::BTreeMap;

use crate::handover::message::{StpState, VrrpState};

#[derive(Debug, Default)]
pub struct Takeover {
    /// This daemon is taking over from another one (until the handover is
    /// done): what exists is kept rather than made anew.
    pub taking_over: bool,
    /// The handover socket to the daemon handing over.
    pub channel: Option<crate::handover::Channel>,
    /// This daemon handed over to a new process: it only drains now.
    pub handed_over: bool,
    /// By balancer.
    pub proxies: BTreeMap<String, Inherited>,
    pub status_listener: Option<std::net::TcpListener>,
    /// By instance name.
    pub vrrp: BTreeMap<String, VrrpState>,
    /// By bridge name.
    pub stp: BTreeMap<String, StpState>,
}

/// Listening sockets a daemon handing over passed on for one balancer.
#[derive(Debug, Default)]
pub struct Inherited {
    /// By frontend name.
    pub listeners: std::collections::BTreeMap<String, std::net::TcpListener>,
    pub admin: Option<std::net::TcpListener>,
}
