//! halb: a high-availability load-balancing daemon for Linux with an eBPF
//! datapath. The `halb` binary is a thin shell over this library:
//!
//! - [`config`]: the TOML file, validated into [`config::Config`];
//! - [`netns`]: named network namespaces and a guard to work inside one;
//! - [`datapath`]: loading the eBPF object, attaching it, pinning its maps,
//!   reading its counters;
//! - [`exposition`]: the Prometheus text format writer;
//! - [`handover`]: what an old and a new daemon say during a hitless upgrade;
//! - [`import`]: haproxy.cfg and keepalived.conf into a halb config;
//! - [`control`]: the daemon's control socket and the status it reports;
//! - [`vrrp`]: the VRRP protocol core (codec and state machine, no I/O);
//! - [`stp`]: the STP/RSTP protocol core (BPDU codec and bridge state
//!   machine, no I/O);
//! - [`proxy`]: the L7 reverse proxy (hyper) with its balancing policies,
//!   health checks and statistics;
//! - [`steering`]: which connections the `SK_LOOKUP` program steers into
//!   which proxy listener (a pure plan) and its counters as reported;
//! - [`net`]: sockets and rtnetlink requests the protocol drivers act with;
//! - [`vxlan`]: the VXLAN tables shared with the eBPF programs, FDB ageing;
//! - [`observe`]: the status page and Prometheus metrics of all four levels;
//! - [`daemon`]: start-up, the run loop, reload and clean shutdown, and the
//!   drivers that run VRRP and the proxy inside the balancers' namespaces.

pub mod config;
pub mod control;
pub mod daemon;
pub mod datapath;
pub mod exposition;
pub mod handover;
pub mod import;
pub mod net;
pub mod netns;
pub mod observe;
pub mod proxy;
pub mod steering;
pub mod stp;
pub mod vrrp;
pub mod vxlan;
