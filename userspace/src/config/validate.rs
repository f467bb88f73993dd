//! Validation: [`ConfigFile`] -> [`Config`]. Each check names the key it
//! rejects, e.g. `balancer[1].interfaces[0]`.

use std::{collections::HashSet, path::PathBuf};

use super::{
    file::{BalancerSection, ConfigFile, DaemonSection, HostSection},
    vrrp::{vrrp_instance, VrrpInstance},
    ConfigError, DEFAULT_BPFFS, DEFAULT_RUN_DIR, MAX_INTERFACES, MAX_INTERFACE_NAME, MAX_NODE_NAME,
};

/// Most worker threads a balancer's proxy may have.
pub const MAX_PROXY_THREADS: usize = 64;

/// `daemon.drain_timeout` when absent.
pub const DEFAULT_DRAIN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);
/// The longest drain accepted: an old process must not linger for hours.
const MAX_DRAIN_TIMEOUT: std::time::Duration = std::time::Duration::from_hours(1);

/// Name of the host role's datapath instance (balancers use their name).
pub const HOST_INSTANCE: &str = "host";

/// A validated configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    pub node: String,
    pub bpffs: PathBuf,
    pub run_dir: PathBuf,
    pub log_level: LogLevel,
    /// `daemon.status_bind`: where the status page and `/metrics` listen.
    pub status_bind: Option<std::net::SocketAddr>,
    /// `daemon.drain_timeout`: how long an old process drains after an upgrade.
    pub drain_timeout: std::time::Duration,
    pub host: Option<HostRole>,
    pub balancers: Vec<Balancer>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

impl LogLevel {
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            LogLevel::Error => "error",
            LogLevel::Warn => "warn",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
            LogLevel::Trace => "trace",
        }
    }
}

/// The host roles: bridges, STP and VXLAN will attach here.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostRole {
    /// Named network namespace (`/run/netns/<name>`); `None`: the daemon's own.
    pub netns: Option<String>,
    pub interfaces: Vec<String>,
    /// `[host.vxlan]`: the VXLAN tunnel (eBPF encap/decap).
    pub vxlan: Option<super::vxlan::Vxlan>,
    /// `[[host.bridge]]`: bridges whose spanning tree halb runs.
    pub bridges: Vec<super::stp::StpBridge>,
}

/// A balancer container: VRRP and the L7 proxy will run here.
#[derive(Clone, Debug, PartialEq)]
pub struct Balancer {
    pub name: String,
    pub netns: String,
    pub interfaces: Vec<String>,
    pub vrrp: Vec<VrrpInstance>,
    /// The L7 proxy, as written (for reload comparisons) and validated.
    pub proxy: Option<(crate::proxy::ProxySection, crate::proxy::Config)>,
    pub admin_bind: Option<std::net::SocketAddr>,
    pub proxy_threads: usize,
    /// Steer new TCP connections for the proxy's frontend addresses into
    /// its listeners (`SK_LOOKUP`, docs/steering.md).
    pub proxy_steering: bool,
}

/// One interface the datapath attaches to, with the role it serves.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AttachPoint {
    /// The datapath instance (one per namespace): `host` or the balancer's name.
    pub instance: String,
    /// `host` or `balancer <name>`.
    pub role: String,
    pub netns: Option<String>,
    pub interface: String,
}

impl Config {
    /// `<bpffs>/halb/<node>`: where this daemon pins its maps.
    #[must_use]
    pub fn pin_dir(&self) -> PathBuf {
        self.bpffs.join("halb").join(&self.node)
    }

    /// `<bpffs>/halb/<node>/<instance>`: the pins of one datapath instance
    /// (`host`, or a balancer's name).
    #[must_use]
    pub fn instance_pin_dir(&self, instance: &str) -> PathBuf {
        self.pin_dir().join(instance)
    }

    /// `<run_dir>/<node>.sock`: this daemon's control socket.
    #[must_use]
    pub fn socket_path(&self) -> PathBuf {
        self.run_dir.join(format!("{}.sock", self.node))
    }

    /// Every interface of every role, host first.
    #[must_use]
    pub fn attach_points(&self) -> Vec<AttachPoint> {
        let host = self.host.iter().flat_map(|host| {
            host.interfaces.iter().map(|interface| AttachPoint {
                instance: HOST_INSTANCE.to_owned(),
                role: "host".to_owned(),
                netns: host.netns.clone(),
                interface: interface.clone(),
            })
        });
        let balancers = self.balancers.iter().flat_map(|balancer| {
            balancer.interfaces.iter().map(|interface| AttachPoint {
                instance: balancer.name.clone(),
                role: format!("balancer {}", balancer.name),
                netns: Some(balancer.netns.clone()),
                interface: interface.clone(),
            })
        });
        host.chain(balancers).collect()
    }
}

impl TryFrom<ConfigFile> for Config {
    type Error = ConfigError;

    fn try_from(file: ConfigFile) -> Result<Self, ConfigError> {
        let DaemonSection { node, bpffs, run_dir, log_level, status_bind, drain_timeout } =
            file.daemon;
        let drain_timeout = match drain_timeout {
            None => DEFAULT_DRAIN_TIMEOUT,
            Some(value) => crate::proxy::config::duration(&value)
                .map_err(|reason| ConfigError::invalid("daemon.drain_timeout", reason))?,
        };
        if drain_timeout > MAX_DRAIN_TIMEOUT {
            return Err(ConfigError::invalid(
                "daemon.drain_timeout",
                format!("{drain_timeout:?} is longer than {MAX_DRAIN_TIMEOUT:?}"),
            ));
        }
        check_file_name("daemon.node", &node)?;
        let bpffs = absolute_path("daemon.bpffs", bpffs.as_deref().unwrap_or(DEFAULT_BPFFS))?;
        let run_dir =
            absolute_path("daemon.run_dir", run_dir.as_deref().unwrap_or(DEFAULT_RUN_DIR))?;
        let log_level = parse_log_level(log_level.as_deref())?;
        let status_bind = status_bind
            .map(|text| {
                crate::proxy::config::bind_address(&text).ok_or_else(|| {
                    ConfigError::invalid(
                        "daemon.status_bind",
                        format!("{text:?} is not address:port (or *:port)"),
                    )
                })
            })
            .transpose()?;
        let host = file.host.map(host_role).transpose()?;
        let balancers = file
            .balancer
            .into_iter()
            .enumerate()
            .map(|(index, section)| balancer(index, section))
            .collect::<Result<Vec<_>, _>>()?;
        let config =
            Config { node, bpffs, run_dir, log_level, status_bind, drain_timeout, host, balancers };
        check_roles(&config)?;
        Ok(config)
    }
}

/// Node and balancer names become file names (pins, sockets).
fn check_file_name(key: &str, name: &str) -> Result<(), ConfigError> {
    if name.is_empty() {
        return Err(ConfigError::invalid(key, "must not be empty"));
    }
    if name.len() > MAX_NODE_NAME {
        return Err(ConfigError::invalid(key, format!("longer than {MAX_NODE_NAME} bytes")));
    }
    if name == "." || name == ".." {
        return Err(ConfigError::invalid(key, format!("{name:?} is not a usable name")));
    }
    if let Some(bad) = name.chars().find(|c| !(c.is_ascii_alphanumeric() || "-_.".contains(*c))) {
        return Err(ConfigError::invalid(
            key,
            format!("{name:?} contains {bad:?}; use letters, digits, '-', '_' and '.'"),
        ));
    }
    Ok(())
}

fn absolute_path(key: &str, value: &str) -> Result<PathBuf, ConfigError> {
    let path = PathBuf::from(value);
    if !path.is_absolute() {
        return Err(ConfigError::invalid(key, format!("{value:?} is not an absolute path")));
    }
    Ok(path)
}

fn parse_log_level(value: Option<&str>) -> Result<LogLevel, ConfigError> {
    Ok(match value.unwrap_or("info") {
        "error" => LogLevel::Error,
        "warn" => LogLevel::Warn,
        "info" => LogLevel::Info,
        "debug" => LogLevel::Debug,
        "trace" => LogLevel::Trace,
        other => {
            return Err(ConfigError::invalid(
                "daemon.log_level",
                format!("{other:?} is not one of error, warn, info, debug, trace"),
            ))
        }
    })
}

fn host_role(section: HostSection) -> Result<HostRole, ConfigError> {
    if let Some(netns) = &section.netns {
        check_netns("host.netns", netns)?;
    }
    check_interfaces("host.interfaces", &section.interfaces)?;
    let vxlan = section.vxlan.map(super::vxlan::vxlan).transpose()?;
    let bridges = super::stp::bridges(section.bridge)?;
    Ok(HostRole { netns: section.netns, interfaces: section.interfaces, vxlan, bridges })
}

fn balancer(index: usize, section: BalancerSection) -> Result<Balancer, ConfigError> {
    let prefix = format!("balancer[{index}]");
    check_file_name(&format!("{prefix}.name"), &section.name)?;
    if section.name == HOST_INSTANCE {
        return Err(ConfigError::invalid(
            format!("{prefix}.name"),
            format!("{HOST_INSTANCE:?} is reserved for the host role"),
        ));
    }
    check_netns(&format!("{prefix}.netns"), &section.netns)?;
    check_interfaces(&format!("{prefix}.interfaces"), &section.interfaces)?;
    let vrrp = section
        .vrrp
        .into_iter()
        .enumerate()
        .map(|(index, vrrp)| {
            vrrp_instance(&format!("{prefix}.vrrp[{index}]"), vrrp, &section.interfaces)
        })
        .collect::<Result<Vec<_>, _>>()?;
    for (index, instance) in vrrp.iter().enumerate() {
        let clash = vrrp[..index]
            .iter()
            .any(|other| other.interface == instance.interface && other.vrid == instance.vrid);
        if clash {
            return Err(ConfigError::invalid(
                format!("{prefix}.vrrp[{index}].vrid"),
                format!("VRID {} is already used on {:?}", instance.vrid, instance.interface),
            ));
        }
    }
    let proxy = match section.proxy {
        None => None,
        Some(proxy) => {
            let config = crate::proxy::Config::try_from(proxy.clone())
                .map_err(|err| ConfigError::invalid(format!("{prefix}.{}", err.key), err.reason))?;
            Some((proxy, config))
        }
    };
    for (index, instance) in vrrp.iter().enumerate() {
        let Some(track) = &instance.track else { continue };
        let known = proxy
            .as_ref()
            .is_some_and(|(_, config)| config.backends.iter().any(|b| b.name == track.backend));
        if !known {
            return Err(ConfigError::invalid(
                format!("{prefix}.vrrp[{index}].track_backend"),
                format!("{:?} is not a backend of this balancer's proxy", track.backend),
            ));
        }
    }
    let admin_bind = match section.admin_bind {
        None => None,
        Some(text) => {
            if proxy.is_none() {
                return Err(ConfigError::invalid(
                    format!("{prefix}.admin_bind"),
                    "serves the proxy's statistics: needs [balancer.proxy]",
                ));
            }
            Some(crate::proxy::config::bind_address(&text).ok_or_else(|| {
                ConfigError::invalid(
                    format!("{prefix}.admin_bind"),
                    format!("{text:?} is not address:port (or *:port)"),
                )
            })?)
        }
    };
    let proxy_threads = match section.proxy_threads {
        None => std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get),
        Some(threads) => usize::try_from(threads)
            .ok()
            .filter(|threads| (1..=MAX_PROXY_THREADS).contains(threads))
            .ok_or_else(|| {
                ConfigError::invalid(
                    format!("{prefix}.proxy_threads"),
                    format!("{threads} is outside 1-{MAX_PROXY_THREADS}"),
                )
            })?,
    };
    let proxy_steering = proxy_steering(
        &prefix,
        section.proxy_steering,
        proxy.is_some(),
        !section.interfaces.is_empty(),
    )?;
    Ok(Balancer {
        name: section.name,
        netns: section.netns,
        interfaces: section.interfaces,
        vrrp,
        proxy,
        admin_bind,
        proxy_threads,
        proxy_steering,
    })
}

/// `proxy_steering`: on by default where it can run (a proxy, and
/// datapath interfaces for the program's instance); asked for where it
/// cannot, an error.
fn proxy_steering(
    prefix: &str,
    value: Option<bool>,
    has_proxy: bool,
    has_interfaces: bool,
) -> Result<bool, ConfigError> {
    let key = || format!("{prefix}.proxy_steering");
    match value {
        Some(true) if !has_proxy => Err(ConfigError::invalid(
            key(),
            "steers connections into the proxy's listeners: needs [balancer.proxy]",
        )),
        Some(true) if !has_interfaces => Err(ConfigError::invalid(
            key(),
            "runs in the balancer's datapath: needs balancer.interfaces",
        )),
        Some(steering) => Ok(steering),
        None => Ok(has_proxy && has_interfaces),
    }
}

/// Names under /run/netns are file names.
fn check_netns(key: &str, name: &str) -> Result<(), ConfigError> {
    if name.is_empty() || name == "." || name == ".." || name.contains('/') || name.contains('\0') {
        return Err(ConfigError::invalid(
            key,
            format!("{name:?} is not a network namespace name (a file name under /run/netns)"),
        ));
    }
    Ok(())
}

/// Linux's rules for device names (`dev_valid_name`), plus no duplicates.
fn check_interfaces(key: &str, interfaces: &[String]) -> Result<(), ConfigError> {
    let mut seen = HashSet::new();
    for (index, name) in interfaces.iter().enumerate() {
        let key = format!("{key}[{index}]");
        if name.is_empty() {
            return Err(ConfigError::invalid(key, "interface name must not be empty"));
        }
        if name.len() > MAX_INTERFACE_NAME {
            return Err(ConfigError::invalid(
                key,
                format!("interface name {name:?} is longer than {MAX_INTERFACE_NAME} bytes"),
            ));
        }
        if name == "."
            || name == ".."
            || name.chars().any(|c| c == '/' || c == ':' || c.is_whitespace())
        {
            return Err(ConfigError::invalid(
                key,
                format!("{name:?} is not a valid interface name"),
            ));
        }
        if !seen.insert(name) {
            return Err(ConfigError::invalid(key, format!("interface {name:?} is listed twice")));
        }
    }
    Ok(())
}

fn check_roles(config: &Config) -> Result<(), ConfigError> {
    let mut names = HashSet::new();
    let mut namespaces = HashSet::new();
    let mut instances = HashSet::new();
    for (index, balancer) in config.balancers.iter().enumerate() {
        if !names.insert(&balancer.name) {
            return Err(ConfigError::invalid(
                format!("balancer[{index}].name"),
                format!("balancer {:?} is defined twice", balancer.name),
            ));
        }
        for (vrrp_index, vrrp) in balancer.vrrp.iter().enumerate() {
            if !instances.insert(&vrrp.name) {
                return Err(ConfigError::invalid(
                    format!("balancer[{index}].vrrp[{vrrp_index}].instance"),
                    format!("instance {:?} is defined twice", vrrp.name),
                ));
            }
        }
        if !namespaces.insert(&balancer.netns) {
            return Err(ConfigError::invalid(
                format!("balancer[{index}].netns"),
                format!("namespace {:?} already belongs to another balancer", balancer.netns),
            ));
        }
        if config.host.as_ref().and_then(|host| host.netns.as_ref()) == Some(&balancer.netns) {
            return Err(ConfigError::invalid(
                format!("balancer[{index}].netns"),
                format!("namespace {:?} is the host's (host.netns)", balancer.netns),
            ));
        }
    }
    let total = config.attach_points().len();
    let has_proxy = config.balancers.iter().any(|balancer| balancer.proxy.is_some());
    let has_vxlan = config.host.as_ref().is_some_and(|host| host.vxlan.is_some());
    let has_bridges = config.host.as_ref().is_some_and(|host| !host.bridges.is_empty());
    if total == 0 && !has_proxy && !has_vxlan && !has_bridges {
        return Err(ConfigError::invalid(
            "host.interfaces",
            "nothing to do: give the host or a balancer an interface, or a balancer a proxy",
        ));
    }
    if total > MAX_INTERFACES {
        return Err(ConfigError::invalid(
            "host.interfaces",
            format!("{total} interfaces in all roles; at most {MAX_INTERFACES} are supported"),
        ));
    }
    Ok(())
}
