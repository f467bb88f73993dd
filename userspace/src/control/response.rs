//! The daemon's answer, one JSON line, and the status it carries. The
//! JSON is what `halb ... --json` prints and what the lab and benches
//! read: field names and values are an interface.

use serde::{Deserialize, Serialize};

use super::{stp::StpReport, vrrp::VrrpReport};
use crate::datapath::counters::PortCounters;

/// The daemon's answer.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Response {
    Status(Box<DaemonStatus>),
    Reloaded {
        attached: Vec<String>,
        detached: Vec<String>,
    },
    Vrrp(Vec<VrrpReport>),
    /// Statistics of each balancer's proxy, by balancer name.
    Proxy(Vec<(String, crate::proxy::StatsSnapshot)>),
    /// The VXLAN tunnel (`None`: no `[host.vxlan]`).
    Vxlan(Option<Box<crate::vxlan::VxlanReport>>),
    /// Every configured STP bridge.
    Stp(Vec<StpReport>),
    /// The daemon handed over to a new process (`pid`) and drains.
    Upgraded {
        pid: u32,
        drain_timeout_ms: u64,
    },
    Error(String),
}

/// What a running daemon does.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct DaemonStatus {
    pub node: String,
    pub pid: u32,
    pub config: String,
    pub started_unix_secs: u64,
    pub pin_dir: String,
    pub pinned_maps: Vec<String>,
    pub programs: Vec<ProgramStatus>,
    pub ports: Vec<PortStatus>,
    /// VIP steering of each balancer that has it on (docs/steering.md).
    #[serde(default)]
    pub steering: Vec<crate::steering::BalancerSteering>,
}

/// A loaded program and how it is attached.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ProgramStatus {
    pub name: String,
    /// The datapath instance (`host` or a balancer's name) it belongs to.
    pub instance: String,
    /// Kernel program id (`bpftool prog show id N`).
    pub id: u32,
    pub attach: String,
}

/// One datapath interface.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PortStatus {
    pub role: String,
    pub instance: String,
    pub netns: Option<String>,
    pub interface: String,
    pub ifindex: u32,
    pub program: String,
    pub program_id: u32,
    pub counters: PortCounters,
}
