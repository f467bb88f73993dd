//! The scenario's topology as data: nodes, bridges, cables, addresses (SCENARIO.md).
//!
//! Naming: node `N` lives in namespace `P-N`. In node A the interface towards node B is
//! named after B (in swout1: `swout2`, `host1`, `host2`, `user`); the balancers' host-side
//! ports are `bal1-ext` / `bal1-int`; endpoints use `eth0` (servers, users) or `ext` /
//! `int` (balancers). The bridge inside a switch namespace carries the switch's name
//! (`swout1` in `P-swout1`), so every bridge in the lab has a unique name.

use anyhow::{bail, Result};

/// Every node of the scenario, in creation order.
pub const NODES: [&str; 11] = [
    "user", "user2", "swout1", "swout2", "host1", "host2", "bal1", "bal2", "serv1", "serv2",
    "serv3",
];

/// The nodes that may run a halb daemon: the hosts (any halb component, or `--daemon`) and
/// the switches (halb's STP of their bridge).
pub const DAEMON_NODES: [&str; 4] = ["swout1", "swout2", "host1", "host2"];

/// The virtual IP held by the VRRP master, and its service port.
pub const VIP: &str = "172.16.1.254";
pub const VIP_CIDR: &str = "172.16.1.254/24";
pub const SERVICE_PORT: u16 = 8000;
pub const VRID: u8 = 12;
pub const VNI: u32 = 42;
pub const VXLAN_PORT: u16 = 4789;
pub const VXLAN_DEV: &str = "vxlan42";
/// MTU of the internal subnet so that bridged frames fit the VXLAN tunnel.
pub const INTERNAL_MTU: u32 = 1450;
/// Path cost of every STP port (explicit so the prediction does not depend on veth speed).
pub const PORT_COST: u32 = 100;

/// A Linux bridge of the lab.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bridge {
    pub name: &'static str,
    pub node: &'static str,
    /// Part of the STP-protected external network.
    pub stp: bool,
    /// Fixed MAC so the bridge id is reproducible.
    pub mac: &'static str,
    pub priority: u16,
    /// Address held by the bridge itself (the VXLAN underlay address of a host).
    pub addr: Option<&'static str>,
}

pub const BRIDGES: [Bridge; 6] = [
    Bridge {
        name: "swout1",
        node: "swout1",
        stp: true,
        mac: "02:4c:41:00:00:01",
        priority: 32768,
        addr: None,
    },
    Bridge {
        name: "swout2",
        node: "swout2",
        stp: true,
        mac: "02:4c:41:00:00:02",
        priority: 4096,
        addr: None,
    },
    Bridge {
        name: "vswout1",
        node: "host1",
        stp: true,
        mac: "02:4c:41:00:00:03",
        priority: 32768,
        addr: Some("172.16.1.150/24"),
    },
    Bridge {
        name: "vswout2",
        node: "host2",
        stp: true,
        mac: "02:4c:41:00:00:04",
        priority: 32768,
        addr: Some("172.16.1.151/24"),
    },
    Bridge {
        name: "vswin1",
        node: "host1",
        stp: false,
        mac: "02:4c:41:00:00:05",
        priority: 32768,
        addr: None,
    },
    Bridge {
        name: "vswin2",
        node: "host2",
        stp: false,
        mac: "02:4c:41:00:00:06",
        priority: 32768,
        addr: None,
    },
];

/// The bridge expected to become STP root.
pub const ROOT_BRIDGE: &str = "swout2";

/// One end of a cable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct End {
    pub node: &'static str,
    pub ifname: &'static str,
    /// The bridge this end is enslaved to, if any.
    pub bridge: Option<&'static str>,
}

/// A veth pair between two namespaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cable {
    pub a: End,
    pub b: End,
    /// Internal subnet cable (MTU [`INTERNAL_MTU`] on both ends).
    pub internal: bool,
}

const fn end(node: &'static str, ifname: &'static str, bridge: Option<&'static str>) -> End {
    End { node, ifname, bridge }
}

const fn ext(a: End, b: End) -> Cable {
    Cable { a, b, internal: false }
}

const fn int(a: End, b: End) -> Cable {
    Cable { a, b, internal: true }
}

pub const CABLES: [Cable; 14] = [
    ext(end("swout1", "swout2", Some("swout1")), end("swout2", "swout1", Some("swout2"))),
    ext(end("swout1", "host1", Some("swout1")), end("host1", "swout1", Some("vswout1"))),
    ext(end("swout1", "host2", Some("swout1")), end("host2", "swout1", Some("vswout2"))),
    ext(end("swout2", "host1", Some("swout2")), end("host1", "swout2", Some("vswout1"))),
    ext(end("swout2", "host2", Some("swout2")), end("host2", "swout2", Some("vswout2"))),
    ext(end("user", "eth0", None), end("swout1", "user", Some("swout1"))),
    ext(end("user2", "eth0", None), end("swout2", "user2", Some("swout2"))),
    ext(end("bal1", "ext", None), end("host1", "bal1-ext", Some("vswout1"))),
    int(end("bal1", "int", None), end("host1", "bal1-int", Some("vswin1"))),
    int(end("serv1", "eth0", None), end("host1", "serv1", Some("vswin1"))),
    int(end("serv2", "eth0", None), end("host1", "serv2", Some("vswin1"))),
    ext(end("bal2", "ext", None), end("host2", "bal2-ext", Some("vswout2"))),
    int(end("bal2", "int", None), end("host2", "bal2-int", Some("vswin2"))),
    int(end("serv3", "eth0", None), end("host2", "serv3", Some("vswin2"))),
];

/// An address on an endpoint interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Address {
    pub node: &'static str,
    pub ifname: &'static str,
    pub cidr: &'static str,
}

impl Address {
    #[must_use]
    pub fn ip(&self) -> &'static str {
        self.cidr.split('/').next().unwrap_or(self.cidr)
    }
}

pub const ADDRESSES: [Address; 9] = [
    Address { node: "user", ifname: "eth0", cidr: "172.16.1.100/24" },
    Address { node: "user2", ifname: "eth0", cidr: "172.16.1.101/24" },
    Address { node: "bal1", ifname: "ext", cidr: "172.16.1.250/24" },
    Address { node: "bal1", ifname: "int", cidr: "10.0.0.250/24" },
    Address { node: "bal2", ifname: "ext", cidr: "172.16.1.251/24" },
    Address { node: "bal2", ifname: "int", cidr: "10.0.0.251/24" },
    Address { node: "serv1", ifname: "eth0", cidr: "10.0.0.1/24" },
    Address { node: "serv2", ifname: "eth0", cidr: "10.0.0.2/24" },
    Address { node: "serv3", ifname: "eth0", cidr: "10.0.0.3/24" },
];

/// The kernel VXLAN tunnel end on a host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vtep {
    pub node: &'static str,
    pub local: &'static str,
    pub remote: &'static str,
    /// External bridge holding the underlay address.
    pub underlay: &'static str,
    /// Internal bridge the VXLAN device is enslaved to.
    pub bridge: &'static str,
}

pub const VTEPS: [Vtep; 2] = [
    Vtep {
        node: "host1",
        local: "172.16.1.150",
        remote: "172.16.1.151",
        underlay: "vswout1",
        bridge: "vswin1",
    },
    Vtep {
        node: "host2",
        local: "172.16.1.151",
        remote: "172.16.1.150",
        underlay: "vswout2",
        bridge: "vswin2",
    },
];

/// A balancer and where it sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Balancer {
    pub name: &'static str,
    pub host: &'static str,
    pub priority: u8,
    pub ext_ip: &'static str,
    pub int_ip: &'static str,
}

pub const BALANCERS: [Balancer; 2] = [
    Balancer {
        name: "bal1",
        host: "host1",
        priority: 150,
        ext_ip: "172.16.1.250",
        int_ip: "10.0.0.250",
    },
    Balancer {
        name: "bal2",
        host: "host2",
        priority: 100,
        ext_ip: "172.16.1.251",
        int_ip: "10.0.0.251",
    },
];

/// Web servers: (node, address).
pub const SERVERS: [(&str, &str); 3] =
    [("serv1", "10.0.0.1"), ("serv2", "10.0.0.2"), ("serv3", "10.0.0.3")];

/// Hosts (VXLAN endpoints, where the halb daemon runs).
pub const HOSTS: [&str; 2] = ["host1", "host2"];

#[must_use]
pub fn bridge(name: &str) -> Option<&'static Bridge> {
    BRIDGES.iter().find(|b| b.name == name)
}

pub fn stp_bridges() -> impl Iterator<Item = &'static Bridge> {
    BRIDGES.iter().filter(|b| b.stp)
}

#[must_use]
pub fn is_node(name: &str) -> bool {
    NODES.contains(&name)
}

#[must_use]
pub fn balancer(name: &str) -> Option<&'static Balancer> {
    BALANCERS.iter().find(|b| b.name == name)
}

/// The ports of a bridge: (interface name, cable index if the port is a cable end).
#[must_use]
pub fn bridge_ports(bridge: &str) -> Vec<(&'static str, Option<usize>)> {
    let mut ports: Vec<(&'static str, Option<usize>)> = Vec::new();
    for (i, c) in CABLES.iter().enumerate() {
        for e in [c.a, c.b] {
            if e.bridge == Some(bridge) {
                ports.push((e.ifname, Some(i)));
            }
        }
    }
    for v in &VTEPS {
        if v.bridge == bridge {
            ports.push((VXLAN_DEV, None));
        }
    }
    ports
}

impl End {
    /// Whether `name` designates this end: its node, its bridge, or `node:ifname`.
    fn matches(&self, name: &str) -> bool {
        name == self.node
            || self.bridge == Some(name)
            || name.split_once(':').is_some_and(|(n, i)| n == self.node && i == self.ifname)
    }
}

impl Cable {
    #[must_use]
    pub fn label(&self) -> String {
        format!("{}:{} <-> {}:{}", self.a.node, self.a.ifname, self.b.node, self.b.ifname)
    }

    /// A short human name: the bridges (or nodes) at both ends, e.g. `swout1-vswout1`.
    #[must_use]
    pub fn short(&self) -> String {
        let side = |e: &End| e.bridge.unwrap_or(e.node);
        format!("{}-{}", side(&self.a), side(&self.b))
    }

    #[must_use]
    pub fn ends(&self) -> [End; 2] {
        [self.a, self.b]
    }
}

/// Finds the cable between `a` and `b`. Each name may be a node (`host1`), a bridge
/// (`vswout1`) or `node:ifname` (`bal1:ext`).
pub fn resolve_cable(a: &str, b: &str) -> Result<usize> {
    let hits: Vec<usize> = CABLES
        .iter()
        .enumerate()
        .filter(|(_, c)| (c.a.matches(a) && c.b.matches(b)) || (c.a.matches(b) && c.b.matches(a)))
        .map(|(i, _)| i)
        .collect();
    match hits.as_slice() {
        [one] => Ok(*one),
        [] => bail!(
            "there is no cable between {a:?} and {b:?}; cables: {}",
            CABLES.iter().map(Cable::short).collect::<Vec<_>>().join(", ")
        ),
        many => bail!(
            "{a:?}-{b:?} is ambiguous ({}); name an end as node:ifname, e.g. bal1:ext",
            many.iter().map(|&i| CABLES[i].label()).collect::<Vec<_>>().join("; ")
        ),
    }
}

/// Cables whose both ends are STP bridge ports (inter-switch links).
#[must_use]
pub fn is_inter_switch(c: &Cable) -> bool {
    let stp = |e: &End| e.bridge.and_then(bridge).is_some_and(|b| b.stp);
    stp(&c.a) && stp(&c.b)
}

/// Validates a lab prefix: it becomes part of namespace names, paths and pin names.
pub fn check_prefix(prefix: &str) -> Result<()> {
    let ok_chars = prefix.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    let starts = prefix.chars().next().is_some_and(|c| c.is_ascii_alphanumeric());
    if prefix.is_empty() || prefix.len() > 16 || !ok_chars || !starts {
        bail!("invalid prefix {prefix:?}: use 1-16 characters [A-Za-z0-9_-], starting with a letter or digit");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interface_names_fit_and_are_unique_per_node() {
        for node in NODES {
            let mut names: Vec<&str> = CABLES
                .iter()
                .flat_map(Cable::ends)
                .filter(|e| e.node == node)
                .map(|e| e.ifname)
                .collect();
            names.extend(BRIDGES.iter().filter(|b| b.node == node).map(|b| b.name));
            names.extend(VTEPS.iter().filter(|v| v.node == node).map(|_| VXLAN_DEV));
            for n in &names {
                assert!(n.len() <= 15, "{n} too long");
            }
            let before = names.len();
            names.sort_unstable();
            names.dedup();
            assert_eq!(before, names.len(), "duplicate interface name in {node}");
        }
    }

    #[test]
    fn five_external_links_and_ports() {
        assert_eq!(CABLES.iter().filter(|c| is_inter_switch(c)).count(), 5);
        let ports: Vec<&str> = bridge_ports("swout1").iter().map(|p| p.0).collect();
        assert_eq!(ports, ["swout2", "host1", "host2", "user"]);
        let ports: Vec<&str> = bridge_ports("vswout1").iter().map(|p| p.0).collect();
        assert_eq!(ports, ["swout1", "swout2", "bal1-ext"]);
        let ports: Vec<&str> = bridge_ports("vswin1").iter().map(|p| p.0).collect();
        assert_eq!(ports, ["bal1-int", "serv1", "serv2", "vxlan42"]);
    }

    #[test]
    fn resolves_cables_by_node_bridge_or_interface() {
        assert_eq!(CABLES[resolve_cable("swout1", "swout2").unwrap()].short(), "swout1-swout2");
        assert_eq!(resolve_cable("swout2", "swout1").unwrap(), 0);
        assert_eq!(
            CABLES[resolve_cable("swout1", "vswout1").unwrap()].label(),
            "swout1:host1 <-> host1:swout1"
        );
        assert_eq!(resolve_cable("host1", "swout1").unwrap(), 1);
        assert_eq!(CABLES[resolve_cable("bal1", "vswout1").unwrap()].a.ifname, "ext");
        assert_eq!(CABLES[resolve_cable("bal1:int", "host1").unwrap()].b.ifname, "bal1-int");
        assert!(resolve_cable("bal1", "host1").unwrap_err().to_string().contains("ambiguous"));
        assert!(resolve_cable("user", "swout2").unwrap_err().to_string().contains("no cable"));
        assert!(resolve_cable("nope", "swout2").is_err());
    }

    #[test]
    fn prefix_validation() {
        assert!(check_prefix("halb").is_ok());
        assert!(check_prefix("hlt-classic").is_ok());
        for bad in ["", "-x", "a/b", "..", "a b", "abcdefghijklmnopq"] {
            assert!(check_prefix(bad).is_err(), "{bad:?} accepted");
        }
    }
}
