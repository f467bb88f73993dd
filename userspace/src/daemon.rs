//! The daemon's life: [`Daemon::start`] (checks, load, attach, pin),
//! [`Daemon::serve`] (control socket, signals, reload) and
//! [`Daemon::shutdown`] (detach, unpin). Nothing is touched on the system
//! before the config has been validated and every namespace it names opened.

mod admin;
mod driver_loop;
mod handover_state;
mod pending;
mod proxy_host;
mod proxy_runtime;
mod proxy_steering;
mod proxy_sync;
mod read_only_http;
mod serve;
mod start;
mod status_listener;
mod stp_driver;
mod stp_maps;
mod stp_report;
mod stp_running;
mod stp_sync;
mod takeover;
mod upgrade;
mod vrrp_driver;
mod vrrp_fast_path;
mod vrrp_report;
mod vxlan_host;
mod vxlan_sync;
mod vxlan_tunnel;

use std::{
    collections::{BTreeMap, HashMap},
    path::PathBuf,
};

pub use serve::ShutdownReason;
pub use takeover::{inherited_channel as inherited_handover, refuse as refuse_handover};
pub use upgrade::HANDOVER_FD_ENV;

use crate::{
    config::{Config, ConfigError, Overrides},
    control::ControlError,
    datapath::{Datapath, DatapathError},
    netns::{Netns, NetnsError},
};

#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("a daemon for node {node:?} is already running (control socket {socket})")]
    AlreadyRunning { node: String, socket: PathBuf },
    #[error(transparent)]
    Datapath(#[from] DatapathError),
    #[error(transparent)]
    Netns(#[from] NetnsError),
    #[error(transparent)]
    Control(#[from] ControlError),
    #[error("control socket {path}: {cause}")]
    Socket { path: PathBuf, cause: std::io::Error },
    #[error("daemon.status_bind {address}: {cause}")]
    StatusBind { address: std::net::SocketAddr, cause: std::io::Error },
    #[error("signal handler: {0}")]
    Signal(std::io::Error),
    #[error("reload refused: config key `{key}` changed; it takes a restart")]
    RestartNeeded { key: &'static str },
    #[error("reload refused: {interface} is not a datapath interface of {balancer}")]
    NotADatapathInterface { balancer: String, interface: String },
    #[error("reload refused: no datapath instance for {0}")]
    NoDatapathInstance(String),
    #[error("taking over: {0}")]
    Takeover(String),
}

/// A started daemon: programs attached, maps pinned.
pub struct Daemon {
    config: Config,
    config_path: PathBuf,
    overrides: Overrides,
    /// One datapath per namespace served, by instance name (`host`, balancers).
    instances: BTreeMap<String, Datapath>,
    namespaces: HashMap<String, Netns>,
    /// Running VRRP instances by instance name.
    vrrp: BTreeMap<String, vrrp_driver::VrrpDriver>,
    /// The VXLAN tunnel of the host role, when running.
    vxlan: Option<vxlan_host::VxlanHost>,
    /// Running STP bridges by bridge name.
    stp: BTreeMap<String, stp_driver::StpDriver>,
    /// Running proxies by balancer name.
    proxies: BTreeMap<String, proxy_host::ProxyHost>,
    /// Counts proxy (re)starts, so VRRP trackers know to resubscribe.
    proxy_generation: u64,
    started_unix_secs: u64,
    /// The binary this daemon runs (what `halb upgrade` starts by default).
    binary: PathBuf,
    /// A duplicate of the status listener's socket, for a handover.
    status_listener: Option<std::net::TcpListener>,
    /// What a daemon handing over passed on, taken as the parts start.
    takeover: handover_state::Takeover,
}
