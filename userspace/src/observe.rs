//! What a daemon shows about itself over HTTP: one [`Snapshot`] of all four levels
//! (the reports `halb status`, `halb stp`, `halb vrrp`, `halb vxlan` and `halb proxy
//! stats` print) and its Prometheus metrics ([`metrics`]).
//! Pure: the daemon's status listener collects the reports and serves what these
//! functions make of them.

pub mod metrics;
pub mod page;

use serde::{Deserialize, Serialize};

use crate::control::{stp::StpReport, vrrp::VrrpReport, DaemonStatus};
use crate::proxy::StatsSnapshot;
use crate::vxlan::VxlanReport;

/// Everything a daemon reports at one moment.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Snapshot {
    pub status: DaemonStatus,
    pub stp: Vec<StpReport>,
    pub vrrp: Vec<VrrpReport>,
    pub vxlan: Option<VxlanReport>,
    /// Each balancer's proxy statistics, by balancer name.
    pub proxy: Vec<(String, StatsSnapshot)>,
}
