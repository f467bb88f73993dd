//! What `halb vxlan fdb` and `halb vxlan stats` show of one daemon.

use std::{collections::BTreeMap, net::Ipv4Addr};

use serde::{Deserialize, Serialize};

use crate::datapath::counters::Counter;

/// One forwarding entry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FdbRow {
    pub mac: String,
    pub vtep: Ipv4Addr,
    /// `static` or `learned`.
    pub kind: String,
    /// Seconds since the last frame from this MAC (learned entries).
    pub age_secs: Option<f64>,
}

/// The VXLAN tunnel of one daemon.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct VxlanReport {
    pub node: String,
    pub vni: u32,
    pub local: Option<Ipv4Addr>,
    pub underlay: String,
    pub bridge: String,
    pub tunnel_port: String,
    pub remotes: Vec<Ipv4Addr>,
    pub mtu: u16,
    pub ttl: u8,
    pub ageing_secs: u64,
    /// `running`, or why not.
    pub state: String,
    pub fdb: Vec<FdbRow>,
    /// `encapsulated`, `decapsulated`, `flooded`, `learned`.
    pub counters: BTreeMap<String, Counter>,
    /// Drops by reason (`too_big`, `truncated_outer`, ...).
    pub drops: BTreeMap<String, Counter>,
}
