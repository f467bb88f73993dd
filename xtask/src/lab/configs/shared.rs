//! The settings the classic configs and halb's share, so that both implementations of a
//! component run with the same values and the checkpoints compare.

/// The lab's VRRP instance: keepalived's `vrrp_instance` name and interface, and halb's
/// `instance`/`interface` keys.
pub const VRRP_INSTANCE: &str = "vrrpext";
pub const VRRP_INTERFACE: &str = "ext";

/// The lab's L7 settings: the single source of haproxy's `defaults`/`frontend`/`backend`
/// (`classic::haproxy_conf`) and of halb's `[balancer.proxy]` (`halb::proxy_section`),
/// so both implementations balance, retry and health-check alike and checkpoint 3's timings
/// compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProxySettings {
    pub frontend: &'static str,
    pub backend: &'static str,
    pub balance: &'static str,
    pub timeout_connect: &'static str,
    pub timeout_client: &'static str,
    pub timeout_server: &'static str,
    pub timeout_check: &'static str,
    pub retries: u32,
    /// `option redispatch 1` / `redispatch = true`: every retry goes to another server.
    pub redispatch: bool,
    /// `default-server inter 1s fall 2 rise 2`: a check every second, down after two
    /// failures, up after two successes.
    pub inter: &'static str,
    pub fall: u32,
    pub rise: u32,
}

pub const PROXY: ProxySettings = ProxySettings {
    frontend: "miservidor",
    backend: "misServidores",
    balance: "roundrobin",
    timeout_connect: "1s",
    timeout_client: "10s",
    timeout_server: "10s",
    timeout_check: "1s",
    retries: 2,
    redispatch: true,
    inter: "1s",
    fall: 2,
    rise: 2,
};

/// Where halb's admin listener (`GET /stats`, `GET /metrics`) of a balancer listens, inside
/// the balancer's namespace.
pub const PROXY_ADMIN_BIND: &str = "127.0.0.1:9100";
