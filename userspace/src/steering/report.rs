//! Steering as the control socket reports it: per frontend, the addresses
//! steered to it and the program's counters; per balancer, which virtual
//! addresses it owns. JSON field names are an interface.

use serde::{Deserialize, Serialize};

/// One frontend's steering, counters summed over CPUs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrontendSteering {
    pub frontend: String,
    /// Slot in `STEERING_SOCKETS` and `STEERING_COUNTERS`.
    pub slot: u32,
    /// Destinations steered to it, `ADDR:PORT` (`0.0.0.0`: any local address).
    pub addresses: Vec<String>,
    /// Where its listening socket is bound.
    pub listener: String,
    /// Connections assigned to the listener.
    pub steered: u64,
    /// No listener in the map: left to the normal socket lookup.
    pub no_socket: u64,
    /// To a virtual address this balancer does not own: refused.
    pub refused: u64,
    /// The kernel did not take the listener: left to the normal lookup.
    pub assign_failed: u64,
}

/// Whether this balancer owns one VRRP virtual address.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VipOwnership {
    pub address: String,
    pub owned: bool,
}

/// One balancer's steering program and tables.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BalancerSteering {
    pub balancer: String,
    /// Kernel program id (`bpftool prog show id N`).
    pub program_id: u32,
    pub frontends: Vec<FrontendSteering>,
    pub vips: Vec<VipOwnership>,
}
