//! What `halb vrrp status` shows of one instance (the daemon fills it in,
//! `daemon/vrrp_report.rs`).

use std::{collections::BTreeMap, net::Ipv4Addr};

use serde::{Deserialize, Serialize};

/// One logged transition.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct TransitionRecord {
    pub unix_ms: u64,
    pub from: String,
    pub to: String,
    pub reason: String,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct VrrpReport {
    pub instance: String,
    pub balancer: String,
    pub interface: String,
    pub vrid: u8,
    pub version: u8,
    pub state: String,
    pub primary_address: Option<Ipv4Addr>,
    pub virtual_addresses: Vec<String>,
    pub configured_priority: u8,
    pub effective_priority: u8,
    pub master_address: Option<Ipv4Addr>,
    pub master_priority: Option<u8>,
    /// Seconds since the last advert the machine saw, if any.
    pub last_advert_age_secs: Option<f64>,
    pub advert_interval_ms: u64,
    pub master_down_interval_ms: u64,
    pub transitions: u64,
    pub last_reason: Option<String>,
    pub history: Vec<TransitionRecord>,
    pub adverts_sent: u64,
    pub adverts_received: u64,
    pub adverts_discarded: u64,
    pub invalid_packets: u64,
    pub errors: u64,
    /// Fast-path verdicts and drops by reason (`None`: fast path off).
    pub fast_path: Option<BTreeMap<String, u64>>,
}
