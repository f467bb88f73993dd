//! `lab up`: namespaces, bridges, veth cables, VXLAN, addresses, services; then wait until
//! the lab is healthy. The topology is [`topo`]'s tables, built with
//! [`crate::harness::topology`]; nothing is created in the root namespace: every veth is
//! created inside a lab namespace with its peer sent straight to the other one. A failed
//! build is removed by `lab down`'s teardown (the lab outlives this process).

use std::time::Duration;

use anyhow::{bail, Context, Result};

use super::plan::{Component, Impl};
use super::rundir::{Lab, LabConfig};
use super::sys::{self, ip_ns};
use super::{configs, down, health, services, topo};
use crate::harness::topology;
use crate::progress;

const LOCK_WAIT: Duration = Duration::from_mins(10);

const TOOLS: [&str; 8] =
    ["ip", "bridge", "nginx", "keepalived", "haproxy", "tcpdump", "ping", "grep"];

fn check_tools() -> Result<()> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs: Vec<std::path::PathBuf> = std::env::split_paths(&path).collect();
    // Debian keeps daemons in sbin, which a non-login PATH may lack.
    dirs.extend(["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(std::path::PathBuf::from));
    let missing: Vec<&str> =
        TOOLS.iter().copied().filter(|t| !dirs.iter().any(|d| d.join(t).is_file())).collect();
    if !missing.is_empty() {
        bail!("missing tools: {}; run `cargo xtask setup`", missing.join(", "));
    }
    Ok(())
}

pub fn up(lab: &Lab, config: &LabConfig) -> Result<()> {
    sys::require_root()?;
    if topo::DAEMON_NODES.iter().any(|h| config.runs_daemon(h)) {
        crate::daemon_build::build(crate::daemon_build::Profile::Debug, "lab up")?;
    }
    check_tools()?;
    let lock = lab.lock(LOCK_WAIT)?;
    let existing = lab.existing_namespaces();
    if lab.dir.exists() || !existing.is_empty() {
        bail!(
            "lab {:?} is already up (run dir {} or namespaces {}); run `cargo xtask lab down --prefix {}` first",
            lab.prefix,
            lab.dir.display(),
            if existing.is_empty() { "-".to_string() } else { existing.join(" ") },
            lab.prefix
        );
    }
    let (hello, max_age, fwd) = config.timers.seconds();
    let daemons: Vec<&str> =
        topo::DAEMON_NODES.iter().copied().filter(|h| config.runs_daemon(h)).collect();
    println!(
        "lab {}: {} (STP timers {}: hello {hello}s, max age {max_age}s, forward delay {fwd}s{}; {}){}",
        lab.prefix,
        config.stack,
        config.timers.name(),
        if topo::stp_bridges().any(|b| config.stack.get(Component::Stp, b.name) == Impl::Halb) {
            format!("; halb's bridges speak {}", config.stp_protocol_note())
        } else {
            String::new()
        },
        config.vrrp,
        if daemons.is_empty() { String::new() } else { format!(", halb daemon on {}", daemons.join("/")) }
    );
    lab.create_dirs()?;
    lab.save_config(config)?;
    if let Err(e) = build(lab, config) {
        let cleanup = down::teardown(lab, &lock);
        let e = e.context(format!(
            "lab {} could not be built; what was created has been removed",
            lab.prefix
        ));
        return Err(match cleanup {
            Ok(()) => e,
            Err(c) => e.context(format!("and the clean-up failed too: {c:#}")),
        });
    }
    let bound = config.timers.settle_bound();
    println!(
        "{}",
        progress::phase_line(
            3,
            PHASES,
            &format!("waiting until healthy (up to {}s)", bound.as_secs())
        )
    );
    println!("waiting for STP to converge, bal1 to hold the VIP and user to get an answer (up to {}s) ...", bound.as_secs());
    let took = health::wait_healthy(lab, bound).with_context(|| {
        format!(
            "lab {p} is up but not healthy; it is left running for inspection (`cargo xtask lab status --prefix {p}`, logs in {}); `cargo xtask lab down --prefix {p}` removes it",
            lab.dir.join("logs").display(),
            p = lab.prefix
        )
    })?;
    println!(
        "lab {} is up and healthy after {:.1}s; try `cargo xtask lab status --prefix {}`",
        lab.prefix,
        took.as_secs_f64(),
        lab.prefix
    );
    Ok(())
}

/// Phases of `lab up`: topology, services, waiting until healthy.
const PHASES: usize = 3;

fn build(lab: &Lab, config: &LabConfig) -> Result<()> {
    println!("{}", progress::phase_line(1, PHASES, "topology"));
    create_namespaces(lab)?;
    create_bridges(lab, config)?;
    create_cables(lab)?;
    create_vteps(lab, config)?;
    addresses_and_links_up(lab, config)?;
    println!("{}", progress::phase_line(2, PHASES, "services"));
    start_services(lab, config)
}

fn create_namespaces(lab: &Lab) -> Result<()> {
    for node in topo::NODES {
        topology::add_namespace(&lab.ns(node))?;
    }
    Ok(())
}

fn create_bridges(lab: &Lab, config: &LabConfig) -> Result<()> {
    let (hello, max_age, fwd) = config.timers.seconds();
    for br in &topo::BRIDGES {
        let mut settings: Vec<String> = vec!["mcast_snooping".into(), "0".into()];
        let kernel_stp = br.stp && config.stack.get(Component::Stp, br.name) == Impl::Classic;
        if kernel_stp {
            settings.extend([
                "stp_state".to_string(),
                "1".into(),
                "priority".into(),
                br.priority.to_string(),
                "hello_time".into(),
                (hello * 100).to_string(),
                "max_age".into(),
                (max_age * 100).to_string(),
                "forward_delay".into(),
                (fwd * 100).to_string(),
            ]);
        } else {
            // Not an STP bridge, or halb's: kernel STP off, the daemon on the bridge's node
            // runs the tree (`[[host.bridge]]` with the priority, timers and port costs above).
            settings.extend(["stp_state".to_string(), "0".into()]);
        }
        topology::add_bridge(&lab.ns(br.node), br.name, Some(br.mac), &settings)?;
    }
    Ok(())
}

/// Cables in table order: the order fixes the bridge port numbers (and port ids).
fn create_cables(lab: &Lab) -> Result<()> {
    for cable in &topo::CABLES {
        let (a, b) = (cable.a, cable.b);
        let (ns_a, ns_b) = (lab.ns(a.node), lab.ns(b.node));
        topology::Veth {
            ns: &ns_a,
            name: a.ifname,
            peer: b.ifname,
            peer_ns: Some(&ns_b),
            ..Default::default()
        }
        .create()
        .with_context(|| format!("creating cable {}", cable.label()))?;
        for e in cable.ends() {
            let ns = lab.ns(e.node);
            if cable.internal {
                ip_ns(
                    &ns,
                    &["link", "set", "dev", e.ifname, "mtu", &topo::INTERNAL_MTU.to_string()],
                )?;
            }
            if let Some(br) = e.bridge.and_then(topo::bridge) {
                topology::attach(&ns, e.ifname, br.name)?;
                if br.stp {
                    sys::run(
                        "bridge",
                        &[
                            "-n",
                            &ns,
                            "link",
                            "set",
                            "dev",
                            e.ifname,
                            "cost",
                            &topo::PORT_COST.to_string(),
                        ],
                    )?;
                }
            }
        }
    }
    Ok(())
}

fn create_vteps(lab: &Lab, config: &LabConfig) -> Result<()> {
    for v in &topo::VTEPS {
        let ns = lab.ns(v.node);
        match config.stack.get(Component::Vxlan, v.node) {
            Impl::Classic => {
                ip_ns(
                    &ns,
                    &[
                        "link",
                        "add",
                        "name",
                        topo::VXLAN_DEV,
                        "mtu",
                        &topo::INTERNAL_MTU.to_string(),
                        "type",
                        "vxlan",
                        "id",
                        &topo::VNI.to_string(),
                        "dstport",
                        &topo::VXLAN_PORT.to_string(),
                        "local",
                        v.local,
                        "remote",
                        v.remote,
                        "dev",
                        v.underlay,
                    ],
                )
                .with_context(|| format!("creating {} on {}", topo::VXLAN_DEV, v.node))?;
                topology::attach(&ns, topo::VXLAN_DEV, v.bridge)?;
            }
            // No device: the host's daemon creates its tunnel port (`daemon::TUNNEL_PORT`)
            // in the internal bridge when it starts (`[host.vxlan]`).
            Impl::Halb => {}
        }
    }
    Ok(())
}

fn addresses_and_links_up(lab: &Lab, config: &LabConfig) -> Result<()> {
    for br in &topo::BRIDGES {
        if let Some(addr) = br.addr {
            topology::add_address(&lab.ns(br.node), addr, br.name)?;
        }
    }
    for a in &topo::ADDRESSES {
        topology::add_address(&lab.ns(a.node), a.cidr, a.ifname)?;
    }
    for br in &topo::BRIDGES {
        topology::set_up(&lab.ns(br.node), br.name)?;
    }
    for cable in &topo::CABLES {
        for e in cable.ends() {
            topology::set_up(&lab.ns(e.node), e.ifname)?;
        }
    }
    for v in &topo::VTEPS {
        if config.stack.get(Component::Vxlan, v.node) == Impl::Classic {
            topology::set_up(&lab.ns(v.node), topo::VXLAN_DEV)?;
        }
    }
    Ok(())
}

fn start_services(lab: &Lab, config: &LabConfig) -> Result<()> {
    configs::write_configs(lab, config)?;
    for node in topo::NODES {
        let started = services::start_node(lab, config, node)?;
        if !started.is_empty() {
            let names: Vec<&str> = started.iter().map(|s| s.name()).collect();
            println!("  {node}: started {}", names.join(", "));
        }
    }
    Ok(())
}
