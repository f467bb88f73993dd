//! VIP steering (docs/steering.md): which new TCP connections the
//! datapath's `SK_LOOKUP` program hands to which of the proxy's listening
//! sockets, and what it counted.
//!
//! [`plan`] is pure: from the proxy's frontends and the balancer's VRRP
//! virtual addresses it decides each frontend's keys and where its
//! listener binds. [`report`] holds the counters as `halb status` and
//! `halb proxy stats` show them. The maps themselves are written by
//! `datapath::steering`.

pub mod plan;
pub mod report;

pub use plan::{plan, SteeredFrontend, SteeringPlan};
pub use report::{BalancerSteering, FrontendSteering, VipOwnership};
