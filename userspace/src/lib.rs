//! halb: a high-availability load-balancing daemon for Linux with an eBPF
//! datapath. The `halb` binary is a thin shell over this library:
//!
//! - [`config`]: the TOML file, validated into [`config::Config`];
//! - [`netns`]: named network namespaces and a guard to work inside one;
//! - [`datapath`]: loading the eBPF object, attaching it, pinning its maps,
//!   reading its counters;
//! - [`control`]: the daemon's control socket and the status it reports;
//! - [`daemon`]: start-up, the run loop, reload and clean shutdown.

pub mod config;
pub mod control;
pub mod daemon;
pub mod datapath;
pub mod net;
pub mod netns;
pub mod proxy;
pub mod vrrp;
