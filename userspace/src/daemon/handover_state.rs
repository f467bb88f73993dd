//! What a daemon taking over from another holds until each part has
//! started from it: the proxies' listening sockets, the status listener,
//! and the VRRP and STP drivers' state. Each sync step takes its share;
//! what is left when the takeover ends is dropped (a part the new config
//! no longer has).

use std::collections::BTreeMap;

use super::proxy_host::Inherited;
use crate::handover::message::{StpState, VrrpState};

#[derive(Debug, Default)]
pub struct Takeover {
    /// By balancer.
    pub proxies: BTreeMap<String, Inherited>,
    pub status_listener: Option<std::net::TcpListener>,
    /// By instance name.
    pub vrrp: BTreeMap<String, VrrpState>,
    /// By bridge name.
    pub stp: BTreeMap<String, StpState>,
}
