//! The config file as written: serde structs that mirror the TOML one to one.
//! Unknown keys are errors (`deny_unknown_fields`).

use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    pub daemon: DaemonSection,
    pub host: Option<HostSection>,
    #[serde(default)]
    pub balancer: Vec<BalancerSection>,
}

/// `[daemon]`: who this daemon is and where it keeps its files.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DaemonSection {
    /// Node name: pins go to `<bpffs>/halb/<node>/`, the socket to `<run_dir>/<node>.sock`.
    pub node: String,
    /// bpffs mount point (default /sys/fs/bpf).
    pub bpffs: Option<String>,
    /// Directory of the control socket (default /run/halb).
    pub run_dir: Option<String>,
    /// error, warn, info, debug or trace (default info; `RUST_LOG` overrides).
    pub log_level: Option<String>,
}

/// `[host]`: the host roles, in the daemon's own network namespace unless
/// `netns` names another one.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostSection {
    pub netns: Option<String>,
    #[serde(default)]
    pub interfaces: Vec<String>,
}

/// `[[balancer]]`: a balancer container, in its own network namespace.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BalancerSection {
    pub name: String,
    pub netns: String,
    #[serde(default)]
    pub interfaces: Vec<String>,
}
