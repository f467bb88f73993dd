//! Building blocks of every lab topology: network namespaces, Linux bridges, veth cables,
//! addresses, and [`Namespaces`], the guard that removes the namespaces it created (and with
//! them their bridges and veths) in reverse order. The scenario lab (`lab up`), the proxy
//! bench and the VXLAN bench each keep their own topology as data and build it with these.
//!
//! Nothing here touches the root namespace: every command runs as `ip -n NS` (or inside
//! `NS`), and a veth is created inside one namespace with its peer sent straight to another.

use anyhow::{Context as _, Result};

use crate::lab::sys::{self, ip_ns, Proc};

/// Creates namespace `ns` with loopback up and IPv6 off (no DAD, MLD or router
/// solicitations cluttering captures and bridges).
pub fn add_namespace(ns: &str) -> Result<()> {
    sys::ip(&["netns", "add", ns])?;
    ip_ns(ns, &["link", "set", "dev", "lo", "up"])?;
    sys::ns_exec(
        ns,
        "sysctl",
        &["-q", "-w", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"],
    )?;
    Ok(())
}

/// Removes namespace `ns` after killing what still runs inside it (the caller stopped what
/// it started; this is what is left, e.g. a client whose parent a timeout killed).
pub fn remove_namespace(ns: &str) -> Result<()> {
    for pid in sys::netns_pids(ns) {
        if let Some(p) = Proc::of_pid(pid) {
            let _ = p.kill();
        }
    }
    sys::ip(&["netns", "del", ns]).map(|_| ())
}

/// A Linux bridge `name` in `ns` (down): its MAC if given, then `settings` of the bridge
/// type (`stp_state 1`, `priority 4096`, ...).
pub fn add_bridge(ns: &str, name: &str, mac: Option<&str>, settings: &[String]) -> Result<()> {
    let mut args = vec!["link", "add", "name", name];
    if let Some(mac) = mac {
        args.extend(["address", mac]);
    }
    args.extend(["type", "bridge"]);
    args.extend(settings.iter().map(String::as_str));
    ip_ns(ns, &args).with_context(|| format!("creating bridge {name} in {ns}")).map(|_| ())
}

/// A veth cable: `name` in `ns`, its peer `peer` in `peer_ns` (or in `ns` too).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Veth<'a> {
    pub ns: &'a str,
    pub name: &'a str,
    /// A fixed MAC of `name`.
    pub address: Option<&'a str>,
    pub mtu: Option<u32>,
    pub peer: &'a str,
    pub peer_mtu: Option<u32>,
    /// Where the peer goes; `None`: it stays in `ns`.
    pub peer_ns: Option<&'a str>,
}

impl Veth<'_> {
    /// The `ip -n NS` arguments that create it.
    #[must_use]
    pub fn args(&self) -> Vec<String> {
        let mut args: Vec<String> =
            vec!["link".into(), "add".into(), "name".into(), self.name.into()];
        if let Some(address) = self.address {
            args.extend(["address".into(), address.into()]);
        }
        if let Some(mtu) = self.mtu {
            args.extend(["mtu".into(), mtu.to_string()]);
        }
        args.extend(["type".into(), "veth".into(), "peer".into(), "name".into(), self.peer.into()]);
        if let Some(mtu) = self.peer_mtu {
            args.extend(["mtu".into(), mtu.to_string()]);
        }
        if let Some(ns) = self.peer_ns {
            args.extend(["netns".into(), ns.into()]);
        }
        args
    }

    pub fn create(&self) -> Result<()> {
        let args = self.args();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        ip_ns(self.ns, &args)
            .with_context(|| {
                format!(
                    "creating veth {}:{} - {}:{}",
                    self.ns,
                    self.name,
                    self.peer_ns.unwrap_or(self.ns),
                    self.peer
                )
            })
            .map(|_| ())
    }
}

/// `dev` in `ns` becomes a port of `bridge` (its state unchanged).
pub fn attach(ns: &str, dev: &str, bridge: &str) -> Result<()> {
    ip_ns(ns, &["link", "set", "dev", dev, "master", bridge]).map(|_| ())
}

/// `dev` in `ns` becomes a port of `bridge` and goes up.
pub fn attach_up(ns: &str, dev: &str, bridge: &str) -> Result<()> {
    ip_ns(ns, &["link", "set", "dev", dev, "master", bridge, "up"]).map(|_| ())
}

/// Address `cidr` on `dev` in `ns`.
pub fn add_address(ns: &str, cidr: &str, dev: &str) -> Result<()> {
    ip_ns(ns, &["addr", "add", cidr, "dev", dev]).map(|_| ())
}

/// `dev` in `ns` goes up.
pub fn set_up(ns: &str, dev: &str) -> Result<()> {
    ip_ns(ns, &["link", "set", "dev", dev, "up"]).map(|_| ())
}

/// One node's cable to a switch: `dev` in namespace `ns`, its peer `port` a port of the
/// switch's bridge, with address `cidr` on `dev` when given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SwitchPort<'a> {
    pub ns: &'a str,
    pub dev: &'a str,
    pub port: &'a str,
    pub cidr: Option<&'a str>,
}

impl SwitchPort<'_> {
    /// Cables the node to `bridge` in `switch_ns`: the veth, the port on the bridge and up,
    /// the node's address, its end up.
    pub fn connect(&self, switch_ns: &str, bridge: &str) -> Result<()> {
        let cable = Veth {
            ns: self.ns,
            name: self.dev,
            peer: self.port,
            peer_ns: Some(switch_ns),
            ..Veth::default()
        };
        cable.create()?;
        attach_up(switch_ns, self.port, bridge)?;
        if let Some(cidr) = self.cidr {
            add_address(self.ns, cidr, self.dev)?;
        }
        set_up(self.ns, self.dev)
    }
}

/// A switch: bridge `bridge` (up, default settings) in `switch_ns` with every node of
/// `nodes` cabled to it. The namespaces exist already.
pub fn add_switch(switch_ns: &str, bridge: &str, nodes: &[SwitchPort<'_>]) -> Result<()> {
    add_bridge(switch_ns, bridge, None, &[])?;
    set_up(switch_ns, bridge)?;
    for node in nodes {
        node.connect(switch_ns, bridge)?;
    }
    Ok(())
}

/// The namespaces one run created; dropping the guard removes them in reverse order
/// ([`remove_namespace`]), and with them every bridge and veth inside.
#[derive(Debug, Default)]
pub struct Namespaces {
    created: Vec<String>,
}

impl Namespaces {
    /// Creates `ns` ([`add_namespace`]) and takes charge of removing it.
    pub fn add(&mut self, ns: &str) -> Result<()> {
        add_namespace(ns)?;
        self.created.push(ns.to_string());
        Ok(())
    }

    #[must_use]
    pub fn contains(&self, ns: &str) -> bool {
        self.created.iter().any(|n| n == ns)
    }

    /// Removes every namespace created so far, newest first; reports what fails and goes on.
    pub fn remove_all(&mut self) {
        // Whatever runs in any of them goes first: a process may have sockets in several.
        for ns in &self.created {
            for pid in sys::netns_pids(ns) {
                if let Some(p) = Proc::of_pid(pid) {
                    let _ = p.kill();
                }
            }
        }
        for ns in self.created.drain(..).rev() {
            if let Err(e) = remove_namespace(&ns) {
                eprintln!("{e:#}");
            }
        }
    }
}

impl Drop for Namespaces {
    fn drop(&mut self) {
        self.remove_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn veth_arguments() {
        let cable =
            Veth { ns: "p-h0", name: "up0", peer: "p0", peer_ns: Some("p-sw"), ..Veth::default() };
        assert_eq!(
            cable.args(),
            ["link", "add", "name", "up0", "type", "veth", "peer", "name", "p0", "netns", "p-sw"]
        );
        let end = Veth {
            ns: "p-e0",
            name: "eth0",
            address: Some("02:00:00:00:00:01"),
            mtu: Some(1450),
            peer: "e0",
            peer_mtu: Some(1450),
            peer_ns: Some("p-h0"),
        };
        assert_eq!(
            end.args().join(" "),
            "link add name eth0 address 02:00:00:00:00:01 mtu 1450 type veth peer name e0 mtu 1450 netns p-h0"
        );
    }
}
