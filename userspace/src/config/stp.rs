//! `[[host.bridge]]`: Linux bridges whose spanning tree halb runs, as
//! written ([`BridgeSection`]) and validated ([`StpBridge`]). Ranges are the
//! protocol core's (`stp::Config`), so each check lives once; errors are
//! renamed to the file's keys, e.g. `host.bridge[0].port[1].priority`.
//!
//! ```toml
//! [[host.bridge]]
//! name = "vswout1"
//! protocol = "rstp"        # or "stp" (802.1D-1998)
//! priority = 32768         # 0-61440, steps of 4096
//! hello_time = 2           # seconds
//! max_age = 20
//! forward_delay = 15
//!
//! [[host.bridge.port]]
//! name = "eth1"
//! priority = 128           # 0-240, steps of 16
//! path_cost = 20000        # default: from the link speed
//! edge = false
//! point_to_point = "auto"  # or true / false
//! ```

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{ConfigError, MAX_INTERFACE_NAME};
use crate::stp::{self, config as defaults, PortParams, Protocol};

/// Most STP ports over all bridges (the size of the programs' port maps).
pub const MAX_STP_PORTS: usize = halb_common::stp::STP_MAX_PORTS as usize;
/// Path cost speed when ethtool does not know a port's speed (10 Mb/s, as
/// the kernel bridge assumes).
pub const UNKNOWN_SPEED_MBPS: u32 = 10;

/// `[[host.bridge]]` as written.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BridgeSection {
    /// The Linux bridge (it must exist; halb turns its kernel STP off).
    pub name: String,
    /// `rstp` (default) or `stp`.
    pub protocol: Option<String>,
    pub priority: Option<i64>,
    pub hello_time: Option<i64>,
    pub max_age: Option<i64>,
    pub forward_delay: Option<i64>,
    /// BPDUs a port may send per second (default 6).
    pub tx_hold_count: Option<i64>,
    /// `[[host.bridge.port]]`: the ports that take part in the tree.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub port: Vec<PortSection>,
}

/// `[[host.bridge.port]]` as written.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PortSection {
    pub name: String,
    pub priority: Option<i64>,
    pub path_cost: Option<i64>,
    /// Admin edge port: forwards at once, until a BPDU arrives.
    pub edge: Option<bool>,
    /// Become an edge port when no BPDU is heard (default true, as mstpd).
    pub auto_edge: Option<bool>,
    pub bpdu_guard: Option<bool>,
    pub root_guard: Option<bool>,
    /// `"auto"` (full duplex is point-to-point), `true` or `false`.
    pub point_to_point: Option<PointToPointSetting>,
}

/// `point_to_point` takes a boolean or `"auto"`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(untagged)]
pub enum PointToPointSetting {
    Fixed(bool),
    Named(String),
}

/// Whether a port is a point-to-point link (rapid transitions need it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum PointToPoint {
    /// Full duplex means point-to-point (802.1D-2004 6.4.3).
    Auto,
    Yes,
    No,
}

impl PointToPoint {
    /// The operational value for a port whose duplex is `full_duplex`
    /// (unknown counts as full: veth and most virtual links are).
    #[must_use]
    pub fn resolve(self, full_duplex: Option<bool>) -> bool {
        match self {
            PointToPoint::Auto => full_duplex.unwrap_or(true),
            PointToPoint::Yes => true,
            PointToPoint::No => false,
        }
    }
}

/// A validated `[[host.bridge]]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StpBridge {
    pub name: String,
    pub protocol: Protocol,
    pub priority: u16,
    pub hello_time: Duration,
    pub max_age: Duration,
    pub forward_delay: Duration,
    pub tx_hold_count: u32,
    pub ports: Vec<StpPort>,
}

/// A validated `[[host.bridge.port]]`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[expect(clippy::struct_excessive_bools, reason = "independent per-port switches")]
pub struct StpPort {
    pub name: String,
    /// 1-based position in the list: the port number in port identifiers.
    pub number: u16,
    pub priority: u8,
    /// `None`: from the link speed when the bridge starts.
    pub path_cost: Option<u32>,
    pub edge: bool,
    pub auto_edge: bool,
    pub bpdu_guard: bool,
    pub root_guard: bool,
    pub point_to_point: PointToPoint,
}

impl StpBridge {
    /// The protocol core's parameters, given the bridge MAC and each port's
    /// speed (Mb/s, `None` unknown). Default path costs: 802.1D-2004 Table
    /// 17-3 for RSTP, the 16-bit 802.1D-1998 values the kernel bridge uses
    /// for STP (so a halb STP bridge and kernel bridges agree on costs).
    #[must_use]
    pub fn params(&self, mac: [u8; 6], speeds: &[Option<u32>]) -> stp::Params {
        let ports = (self.ports.iter().enumerate())
            .map(|(index, port)| {
                let speed = speeds.get(index).copied().flatten().unwrap_or(UNKNOWN_SPEED_MBPS);
                let default_cost = match self.protocol {
                    Protocol::Rstp => defaults::default_path_cost(speed),
                    Protocol::Stp => defaults::legacy_path_cost(speed),
                };
                PortParams {
                    name: port.name.clone(),
                    number: port.number,
                    priority: port.priority,
                    path_cost: port.path_cost.unwrap_or(default_cost),
                    admin_edge: port.edge,
                    auto_edge: port.auto_edge,
                    bpdu_guard: port.bpdu_guard,
                    root_guard: port.root_guard,
                }
            })
            .collect();
        stp::Params {
            protocol: self.protocol,
            priority: self.priority,
            mac,
            hello_time: self.hello_time,
            max_age: self.max_age,
            forward_delay: self.forward_delay,
            tx_hold_count: self.tx_hold_count,
            ports,
        }
    }
}

/// Validates every `[[host.bridge]]`.
pub(super) fn bridges(sections: Vec<BridgeSection>) -> Result<Vec<StpBridge>, ConfigError> {
    let bridges = (sections.into_iter().enumerate())
        .map(|(index, section)| bridge(&format!("host.bridge[{index}]"), section))
        .collect::<Result<Vec<_>, _>>()?;
    for (index, bridge) in bridges.iter().enumerate() {
        if bridges[..index].iter().any(|other| other.name == bridge.name) {
            return Err(ConfigError::invalid(
                format!("host.bridge[{index}].name"),
                format!("bridge {:?} is listed twice", bridge.name),
            ));
        }
        for (port_index, port) in bridge.ports.iter().enumerate() {
            let elsewhere = bridges[..index]
                .iter()
                .find(|other| other.ports.iter().any(|p| p.name == port.name));
            if let Some(other) = elsewhere {
                return Err(ConfigError::invalid(
                    format!("host.bridge[{index}].port[{port_index}].name"),
                    format!("{:?} is already a port of bridge {:?}", port.name, other.name),
                ));
            }
        }
    }
    let total: usize = bridges.iter().map(|bridge| bridge.ports.len()).sum();
    if total > MAX_STP_PORTS {
        return Err(ConfigError::invalid(
            "host.bridge",
            format!("{total} STP ports in all; at most {MAX_STP_PORTS} are supported"),
        ));
    }
    Ok(bridges)
}

fn bridge(prefix: &str, section: BridgeSection) -> Result<StpBridge, ConfigError> {
    let key = |name: &str| format!("{prefix}.{name}");
    interface_name(&key("name"), &section.name)?;
    let protocol = match section.protocol.as_deref().unwrap_or("rstp") {
        "rstp" => Protocol::Rstp,
        "stp" => Protocol::Stp,
        other => {
            return Err(ConfigError::invalid(
                key("protocol"),
                format!("{other:?} is not rstp or stp"),
            ))
        }
    };
    let priority = number(&key("priority"), section.priority, defaults::DEFAULT_BRIDGE_PRIORITY)?;
    let seconds = |name: &str, value: Option<i64>, default: Duration| {
        number::<u64>(&key(name), value, default.as_secs()).map(Duration::from_secs)
    };
    let hello_time = seconds("hello_time", section.hello_time, defaults::DEFAULT_HELLO_TIME)?;
    let max_age = seconds("max_age", section.max_age, defaults::DEFAULT_MAX_AGE)?;
    let forward_delay =
        seconds("forward_delay", section.forward_delay, defaults::DEFAULT_FORWARD_DELAY)?;
    let tx_hold_count =
        number(&key("tx_hold_count"), section.tx_hold_count, defaults::DEFAULT_TX_HOLD_COUNT)?;
    if section.port.is_empty() {
        return Err(ConfigError::invalid(
            key("port"),
            "a bridge needs at least one [[host.bridge.port]]",
        ));
    }
    let mut ports = Vec::with_capacity(section.port.len());
    for (index, port) in section.port.into_iter().enumerate() {
        let port_key = |name: &str| format!("{prefix}.port[{index}].{name}");
        interface_name(&port_key("name"), &port.name)?;
        if port.name == section.name {
            return Err(ConfigError::invalid(port_key("name"), "is the bridge itself"));
        }
        if ports.iter().any(|other: &StpPort| other.name == port.name) {
            return Err(ConfigError::invalid(
                port_key("name"),
                format!("port {:?} is listed twice", port.name),
            ));
        }
        let point_to_point = match port.point_to_point {
            None => PointToPoint::Auto,
            Some(PointToPointSetting::Fixed(true)) => PointToPoint::Yes,
            Some(PointToPointSetting::Fixed(false)) => PointToPoint::No,
            Some(PointToPointSetting::Named(text)) if text == "auto" => PointToPoint::Auto,
            Some(PointToPointSetting::Named(text)) => {
                return Err(ConfigError::invalid(
                    port_key("point_to_point"),
                    format!("{text:?} is not \"auto\", true or false"),
                ))
            }
        };
        ports.push(StpPort {
            number: u16::try_from(index + 1).map_err(|_| {
                ConfigError::invalid(port_key("name"), "too many ports on one bridge")
            })?,
            priority: number(
                &port_key("priority"),
                port.priority,
                defaults::DEFAULT_PORT_PRIORITY,
            )?,
            path_cost: port
                .path_cost
                .map(|cost| number(&port_key("path_cost"), Some(cost), 0))
                .transpose()?,
            edge: port.edge.unwrap_or(false),
            auto_edge: port.auto_edge.unwrap_or(true),
            bpdu_guard: port.bpdu_guard.unwrap_or(false),
            root_guard: port.root_guard.unwrap_or(false),
            point_to_point,
            name: port.name,
        });
    }
    let bridge = StpBridge {
        name: section.name,
        protocol,
        priority,
        hello_time,
        max_age,
        forward_delay,
        tx_hold_count,
        ports,
    };
    // The core's own checks (ranges, steps, timer relations), with a
    // placeholder MAC and the default costs; renamed to the file's keys.
    let speeds = vec![None; bridge.ports.len()];
    stp::Config::try_from(bridge.params([0x02, 0, 0, 0, 0, 1], &speeds)).map_err(|err| {
        let field = match err.field.strip_prefix("ports") {
            Some(rest) => format!("port{rest}"),
            None => err.field,
        };
        ConfigError::invalid(format!("{prefix}.{field}"), err.reason)
    })?;
    Ok(bridge)
}

/// An integer key: `default` when absent, else converted to `T` or an
/// error naming the key.
fn number<T: TryFrom<i64>>(key: &str, value: Option<i64>, default: T) -> Result<T, ConfigError> {
    match value {
        None => Ok(default),
        Some(value) => T::try_from(value)
            .map_err(|_| ConfigError::invalid(key, format!("{value} is out of range"))),
    }
}

fn interface_name(key: &str, name: &str) -> Result<(), ConfigError> {
    if name.is_empty()
        || name.len() > MAX_INTERFACE_NAME
        || name == "."
        || name == ".."
        || name.chars().any(|c| c == '/' || c == ':' || c.is_whitespace())
    {
        return Err(ConfigError::invalid(key, format!("{name:?} is not a valid interface name")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Vec<StpBridge>, ConfigError> {
        #[derive(Deserialize)]
        struct Wrapper {
            bridge: Vec<BridgeSection>,
        }
        let wrapper: Wrapper = toml::from_str(text).expect("toml");
        bridges(wrapper.bridge)
    }

    fn key_of(result: Result<Vec<StpBridge>, ConfigError>) -> String {
        match result {
            Err(ConfigError::Invalid { key, .. }) => key,
            other => panic!("expected an invalid key, got {other:?}"),
        }
    }

    #[test]
    fn defaults_and_mapping() {
        let bridges = parse(
            "[[bridge]]\nname = \"br0\"\nprotocol = \"stp\"\npriority = 4096\n\
             [[bridge.port]]\nname = \"eth0\"\n\
             [[bridge.port]]\nname = \"eth1\"\npath_cost = 7\nedge = true\npoint_to_point = false\n",
        )
        .unwrap();
        let bridge = &bridges[0];
        assert_eq!(bridge.protocol, Protocol::Stp);
        assert_eq!(bridge.priority, 4096);
        assert_eq!(bridge.forward_delay, Duration::from_secs(15));
        assert_eq!(bridge.ports[1].number, 2);
        assert_eq!(bridge.ports[1].point_to_point, PointToPoint::No);
        let params = bridge.params([2, 0, 0, 0, 0, 9], &[Some(10_000), None]);
        assert_eq!(params.ports[0].path_cost, 2, "kernel-compatible STP cost for 10G");
        assert_eq!(params.ports[1].path_cost, 7);
        assert!(params.ports[1].admin_edge);
        let rstp = StpBridge { protocol: Protocol::Rstp, ..bridge.clone() };
        assert_eq!(rstp.params([2, 0, 0, 0, 0, 9], &[Some(10_000)]).ports[0].path_cost, 2000);
    }

    #[test]
    fn errors_name_the_key() {
        let one = |extra: &str| format!("[[bridge]]\nname = \"br0\"\n{extra}");
        assert_eq!(
            key_of(parse(&one(
                "[[bridge.port]]\nname = \"a\"\n[[bridge.port]]\nname = \"b\"\npriority = 7\n"
            ))),
            "host.bridge[0].port[1].priority"
        );
        assert_eq!(
            key_of(parse(&one("priority = 100\n[[bridge.port]]\nname = \"a\"\n"))),
            "host.bridge[0].priority"
        );
        assert_eq!(
            key_of(parse(&one("protocol = \"mstp\"\n[[bridge.port]]\nname = \"a\"\n"))),
            "host.bridge[0].protocol"
        );
        assert_eq!(
            key_of(parse(&one("max_age = 40\n[[bridge.port]]\nname = \"a\"\n"))),
            "host.bridge[0].max_age"
        );
        assert_eq!(
            key_of(parse(&one("hello_time = -1\n[[bridge.port]]\nname = \"a\"\n"))),
            "host.bridge[0].hello_time"
        );
        assert_eq!(key_of(parse(&one(""))), "host.bridge[0].port");
        assert_eq!(
            key_of(parse(&one("[[bridge.port]]\nname = \"a\"\npoint_to_point = \"maybe\"\n"))),
            "host.bridge[0].port[0].point_to_point"
        );
        assert_eq!(
            key_of(parse(&one("[[bridge.port]]\nname = \"a\"\n[[bridge.port]]\nname = \"a\"\n"))),
            "host.bridge[0].port[1].name"
        );
        assert_eq!(
            key_of(parse(&one("[[bridge.port]]\nname = \"a\"\npath_cost = 0\n"))),
            "host.bridge[0].port[0].path_cost"
        );
        let twice = format!(
            "{}{}",
            one("[[bridge.port]]\nname = \"a\"\n"),
            one("[[bridge.port]]\nname = \"b\"\n")
        );
        assert_eq!(key_of(parse(&twice)), "host.bridge[1].name");
    }
}
