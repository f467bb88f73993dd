//! `lab fail|heal link A B | bridge BR | node N` and `lab stop node N`. What is failed is
//! kept in the run dir (`failed`), so `lab status` shows it and heals compose (healing a
//! link whose bridge is still down leaves that end down).
//!
//! A node fault acts on the processes that carry the node's roles
//! ([`services::processes_of`]): for a balancer with halb VRRP that includes its host's
//! daemon, which holds the instance. `fail` kills them as a crash would (SIGKILL: no
//! priority-0 advert, the VIP stays on the interface, the daemon's pins stay until its
//! restart); `stop` terminates them gracefully (SIGTERM, VRRP first: a master resigns with
//! priority 0). `heal node N` stops what is left of them and starts them all again.
//!
//! The daemon holds every halb role of its host: a balancer's VRRP and proxy, the host's
//! VXLAN. So `fail node bal1` with halb's proxy (or VRRP) on bal1 kills host1's daemon, and
//! with it bal1's VRRP and proxy and, if halb's, host1's VXLAN tunnel (its programs detach
//! with the daemon's file descriptors; the tunnel port stays until the restart replaces it).

use std::collections::BTreeSet;
use std::fmt;

use anyhow::{bail, Context, Result};

use super::daemon;
use super::plan::{Component, Impl};
use super::rundir::{Lab, LabConfig};
use super::services::{self, Kill};
use super::sys;
use super::topo::{self, CABLES};

const STATE: &str = "failed";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Index into [`CABLES`].
    Link(usize),
    Bridge(&'static str),
    Node(&'static str),
}

impl Fault {
    pub fn link(a: &str, b: &str) -> Result<Fault> {
        Ok(Fault::Link(topo::resolve_cable(a, b)?))
    }

    pub fn bridge(name: &str) -> Result<Fault> {
        match topo::bridge(name) {
            Some(b) => Ok(Fault::Bridge(b.name)),
            None => bail!(
                "no bridge {name:?} in the lab (bridges: {})",
                topo::BRIDGES.iter().map(|b| b.name).collect::<Vec<_>>().join(", ")
            ),
        }
    }

    pub fn node(name: &str) -> Result<Fault> {
        match topo::NODES.iter().find(|n| **n == name) {
            Some(n) => Ok(Fault::Node(n)),
            None => bail!("no node {name:?} in the lab (nodes: {})", topo::NODES.join(", ")),
        }
    }

    fn to_line(&self) -> String {
        match self {
            Fault::Link(i) => format!("link {}", CABLES[*i].label()),
            Fault::Bridge(b) => format!("bridge {b}"),
            Fault::Node(n) => format!("node {n}"),
        }
    }

    fn parse(line: &str) -> Option<Fault> {
        let (kind, rest) = line.split_once(' ')?;
        match kind {
            "link" => CABLES.iter().position(|c| c.label() == rest).map(Fault::Link),
            "bridge" => Fault::bridge(rest).ok(),
            "node" => Fault::node(rest).ok(),
            _ => None,
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::Link(i) => write!(f, "link {} ({})", CABLES[*i].short(), CABLES[*i].label()),
            Fault::Bridge(b) => write!(f, "bridge {b}"),
            Fault::Node(n) => write!(f, "node {n}"),
        }
    }
}

#[must_use]
pub fn failed(lab: &Lab) -> Vec<Fault> {
    lab.read_lines(STATE).iter().filter_map(|l| Fault::parse(l)).collect()
}

fn save(lab: &Lab, faults: &[Fault]) -> Result<()> {
    let lines: Vec<String> = faults.iter().map(Fault::to_line).collect();
    lab.write_lines(STATE, &lines)
}

/// Bridge ports that must be disabled given the faults: ends of failed cables, every port
/// of a failed bridge, and the far ends of its cables (they lose carrier).
#[must_use]
pub fn inactive_ports(faults: &[Fault]) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    let mut add_cable = |c: &topo::Cable| {
        for e in c.ends() {
            if let Some(b) = e.bridge {
                out.insert((b.to_string(), e.ifname.to_string()));
            }
        }
    };
    for f in faults {
        match f {
            Fault::Link(i) => add_cable(&CABLES[*i]),
            Fault::Bridge(b) => {
                for (_, cable) in topo::bridge_ports(b) {
                    if let Some(i) = cable {
                        add_cable(&CABLES[i]);
                    }
                }
            }
            Fault::Node(_) => {}
        }
    }
    out
}

/// The interface behind a bridge port of the topology: the VXLAN port of an internal
/// bridge is the kernel `vxlan42` device or halb's tunnel port, by plan. `None` when halb's
/// tunnel port does not exist (its daemon is down and never created it).
fn port_ifname(
    lab: &Lab,
    config: &LabConfig,
    node: &str,
    port: &'static str,
) -> Option<&'static str> {
    if port != topo::VXLAN_DEV || config.stack.get(Component::Vxlan, node) == Impl::Classic {
        return Some(port);
    }
    let ifname = daemon::TUNNEL_PORT;
    sys::ip_ns(&lab.ns(node), &["link", "show", "dev", ifname]).is_ok().then_some(ifname)
}

/// Sets every port of bridge `name` down or up, skipping ports in `keep` (cables that stay
/// failed).
fn set_bridge_ports(
    lab: &Lab,
    config: &LabConfig,
    name: &str,
    up: bool,
    keep: &[usize],
) -> Result<()> {
    let br = topo::bridge(name).context("unknown bridge")?;
    for (port, cable) in topo::bridge_ports(name) {
        if cable.is_some_and(|c| keep.contains(&c)) {
            continue;
        }
        if let Some(ifname) = port_ifname(lab, config, br.node, port) {
            set_link(lab, br.node, ifname, up)?;
        }
    }
    Ok(())
}

fn set_link(lab: &Lab, node: &str, ifname: &str, up: bool) -> Result<()> {
    sys::ip_ns(&lab.ns(node), &["link", "set", "dev", ifname, if up { "up" } else { "down" }])
        .map(|_| ())
}

/// Applies a fault; a node's processes crash (SIGKILL). Failing what is already failed is a
/// no-op with a note.
pub fn fail(lab: &Lab, fault: &Fault) -> Result<()> {
    fail_with(lab, fault, Kill::Crash)
}

/// Same, choosing how a node's processes stop (`lab fail` crashes, `lab stop` is graceful;
/// links and bridges ignore `kill`).
pub fn fail_with(lab: &Lab, fault: &Fault, kill: Kill) -> Result<()> {
    let config = lab.config()?;
    let mut current = failed(lab);
    if current.contains(fault) {
        println!("{fault} is already failed");
        return Ok(());
    }
    match fault {
        Fault::Link(i) => {
            for e in CABLES[*i].ends() {
                set_link(lab, e.node, e.ifname, false)?;
            }
        }
        Fault::Bridge(name) => {
            let br = topo::bridge(name).context("unknown bridge")?;
            set_bridge_ports(lab, &config, name, false, &[])?;
            set_link(lab, br.node, name, false)?;
        }
        Fault::Node(node) => {
            if services::processes_of(&config, node)?.is_empty() {
                bail!("node {node} runs no lab process to kill; to cut it off use `lab fail link` or `lab fail bridge`");
            }
            let stopped = services::stop_roles(lab, &config, node, kill)?;
            let how = match kill {
                Kill::Crash => "killed (SIGKILL)",
                Kill::Graceful => "stopped (SIGTERM)",
            };
            println!(
                "  {how}: {}",
                if stopped.is_empty() {
                    "nothing was running".to_string()
                } else {
                    stopped.join(", ")
                }
            );
        }
    }
    current.push(fault.clone());
    save(lab, &current)?;
    println!("{} {fault}", if kill == Kill::Graceful { "stopped" } else { "failed" });
    Ok(())
}

/// Undoes a fault (also when it was not recorded, so a half-applied fault can be healed).
pub fn heal(lab: &Lab, fault: &Fault) -> Result<()> {
    let config = lab.config()?;
    let mut current = failed(lab);
    current.retain(|f| f != fault);
    let down_bridges: Vec<&str> = current
        .iter()
        .filter_map(|f| if let Fault::Bridge(b) = f { Some(*b) } else { None })
        .collect();
    let down_cables: Vec<usize> = current
        .iter()
        .filter_map(|f| if let Fault::Link(i) = f { Some(*i) } else { None })
        .collect();
    match fault {
        Fault::Link(i) => {
            for e in CABLES[*i].ends() {
                // An end on a bridge that is still failed stays down until that heals.
                if e.bridge.is_some_and(|b| down_bridges.contains(&b)) {
                    continue;
                }
                set_link(lab, e.node, e.ifname, true)?;
            }
        }
        Fault::Bridge(name) => {
            let br = topo::bridge(name).context("unknown bridge")?;
            set_link(lab, br.node, name, true)?;
            set_bridge_ports(lab, &config, name, true, &down_cables)?;
        }
        Fault::Node(node) => {
            // Stop what is left first so a heal after a partial failure starts cleanly
            // (keepalived's VRRP child, a crashed daemon's pins).
            services::stop_roles(lab, &config, node, Kill::Graceful)?;
            services::start_roles(lab, &config, node)?;
        }
    }
    save(lab, &current)?;
    println!("healed {fault}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_lines_round_trip() {
        for f in [
            Fault::link("bal1:ext", "host1").unwrap(),
            Fault::bridge("vswin2").unwrap(),
            Fault::node("serv2").unwrap(),
        ] {
            assert_eq!(Fault::parse(&f.to_line()), Some(f));
        }
        assert!(Fault::bridge("br0").is_err());
        assert!(Fault::node("serv9").is_err());
        assert_eq!(Fault::parse("link nowhere"), None);
    }

    #[test]
    fn inactive_ports_of_a_failed_bridge_include_far_ends() {
        let s = inactive_ports(&[Fault::bridge("vswout1").unwrap()]);
        let want: Vec<(String, String)> = [
            ("swout1", "host1"),
            ("swout2", "host1"),
            ("vswout1", "bal1-ext"),
            ("vswout1", "swout1"),
            ("vswout1", "swout2"),
        ]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
        assert_eq!(s.into_iter().collect::<Vec<_>>(), want);
        let s = inactive_ports(&[
            Fault::link("swout1", "swout2").unwrap(),
            Fault::node("bal1").unwrap(),
        ]);
        assert_eq!(s.len(), 2);
    }
}
