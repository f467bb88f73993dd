//! The config file as written: serde structs that mirror the TOML one to one.
//! Unknown keys are errors (`deny_unknown_fields`). `Serialize` (and `Default`, to
//! build one key by key) is for tools that write configs (the lab): an empty list is left
//! out, which reads back the same.

use serde::{Deserialize, Serialize};

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    pub daemon: DaemonSection,
    pub host: Option<HostSection>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub balancer: Vec<BalancerSection>,
}

/// `[daemon]`: who this daemon is and where it keeps its files.
#[derive(Debug, Default, Deserialize, Serialize)]
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
    /// The status page and `/metrics` of every level, e.g. `"127.0.0.1:9477"`, in the host
    /// role's network namespace (`host.netns`, else the daemon's own); none when absent.
    pub status_bind: Option<String>,
    /// After `halb upgrade` hands over: how long the old process lets client connections
    /// finish (`"30s"`, default 30 s); then it closes what is left and exits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drain_timeout: Option<crate::proxy::DurationValue>,
}

/// `[host]`: the host roles, in the daemon's own network namespace unless
/// `netns` names another one.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HostSection {
    pub netns: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub interfaces: Vec<String>,
    /// `[host.vxlan]`: the VXLAN tunnel joining the internal bridge to remote hosts.
    pub vxlan: Option<super::vxlan::VxlanSection>,
    /// `[[host.bridge]]`: bridges whose spanning tree (STP/RSTP) halb runs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bridge: Vec<super::stp::BridgeSection>,
}

/// `[[balancer]]`: a balancer container, in its own network namespace.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BalancerSection {
    pub name: String,
    pub netns: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub interfaces: Vec<String>,
    /// `[[balancer.vrrp]]`: virtual routers this balancer takes part in.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vrrp: Vec<VrrpSection>,
    /// `[balancer.proxy]`: the L7 proxy (haproxy's frontends and backends).
    pub proxy: Option<crate::proxy::ProxySection>,
    /// Admin HTTP listener (`/metrics` in Prometheus text, `/stats` JSON),
    /// e.g. `"127.0.0.1:9100"`; none when absent.
    pub admin_bind: Option<String>,
    /// Worker threads of the proxy (default: the number of CPUs).
    pub proxy_threads: Option<i64>,
    /// VIP steering with `SK_LOOKUP` into the proxy's listeners (default:
    /// on when the balancer has a proxy and datapath interfaces).
    pub proxy_steering: Option<bool>,
}

/// `[[balancer.vrrp]]`: one keepalived `vrrp_instance`, key for key.
/// Numbers are read wide and range-checked by validation, so an error names
/// the key instead of a serde type.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct VrrpSection {
    /// keepalived: `vrrp_instance NAME`.
    pub instance: String,
    /// keepalived: `interface`.
    pub interface: String,
    /// keepalived: `virtual_router_id`.
    pub vrid: i64,
    /// keepalived: `priority`.
    pub priority: i64,
    /// keepalived: `advert_int` (seconds; v3 accepts centiseconds, e.g. 0.01).
    pub advert_int: Option<f64>,
    /// keepalived: `virtual_ipaddress` (`a.b.c.d` or `a.b.c.d/len`).
    pub virtual_ipaddress: Vec<String>,
    /// keepalived: `version` / global `vrrp_version` (default 2, as
    /// keepalived: `crate::vrrp::config::DEFAULT_VERSION` says why).
    pub version: Option<i64>,
    /// keepalived: `nopreempt` is `preempt = false` here.
    pub preempt: Option<bool>,
    /// keepalived: `preempt_delay` (seconds).
    pub preempt_delay: Option<f64>,
    /// keepalived: `garp_master_delay` (seconds before the second burst; 0: none).
    pub garp_master_delay: Option<f64>,
    /// keepalived: `garp_master_repeat` (gratuitous ARPs per burst).
    pub garp_master_repeat: Option<i64>,
    /// halb: validate and absorb adverts in the TC fast path (default true).
    pub fast_path: Option<bool>,
    /// keepalived `track_*`: a backend of this balancer's proxy; when none
    /// of its servers is up the instance goes to FAULT, or changes its
    /// priority by `track_weight`.
    pub track_backend: Option<String>,
    /// keepalived `weight`: priority change while the tracked backend is
    /// down (-254..254, not 0); absent: FAULT.
    pub track_weight: Option<i64>,
    /// keepalived `vrrp_rt_priority`: `SCHED_FIFO` priority of the instance's
    /// thread (1-99, default 1); 0 runs it at normal priority.
    pub realtime_priority: Option<i64>,
}
