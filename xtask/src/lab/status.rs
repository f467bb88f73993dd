//! `lab status`: namespaces, processes, STP port states and roles, VRRP master, each
//! balancer's proxy and server states, each host's VXLAN tunnel, faults.
//! Read-only, so it takes no lock and can run while `lab check` works.

use anyhow::Result;

use super::check;
use super::daemon;
use super::faults;
use super::kernel;
use super::plan::{Component, Impl};
use super::reports;
use super::rundir::Lab;
use super::stp;
use super::sys;
use super::topo;
use super::vrrp;

#[expect(clippy::too_many_lines, reason = "one report, printed section by section")]
pub fn status(lab: &Lab) -> Result<()> {
    let existing = lab.existing_namespaces();
    let config = lab.config().ok();
    println!("lab {} ({})", lab.prefix, lab.dir.display());
    match &config {
        Some(c) => println!(
            "  stack: {}; STP timers {}{}; {}; halb daemon: {}",
            c.stack,
            c.timers.name(),
            if topo::stp_bridges().any(|b| c.stack.get(Component::Stp, b.name) == Impl::Halb) {
                format!("; halb's bridges speak {}", c.stp_protocol_note())
            } else {
                String::new()
            },
            c.vrrp,
            {
                let hosts: Vec<&str> =
                    topo::DAEMON_NODES.iter().copied().filter(|h| c.runs_daemon(h)).collect();
                if hosts.is_empty() {
                    "no".to_string()
                } else {
                    hosts.join(", ")
                }
            }
        ),
        None => println!("  not up (no run dir)"),
    }
    let missing: Vec<String> =
        topo::NODES.iter().map(|n| lab.ns(n)).filter(|ns| !existing.contains(ns)).collect();
    println!(
        "namespaces: {}/{} present{}",
        existing.len(),
        topo::NODES.len(),
        if missing.is_empty() {
            String::new()
        } else {
            format!("; missing: {}", missing.join(" "))
        }
    );
    if existing.is_empty() {
        return Ok(());
    }
    println!("processes:");
    for (node, service, p) in lab.recorded() {
        println!(
            "  {node:<6} {service:<11} pid {:<8} {}",
            p.pid,
            if p.alive() { "running" } else { "DEAD" }
        );
    }
    println!("STP:");
    for br in topo::stp_bridges() {
        if !existing.contains(&lab.ns(br.node)) {
            continue;
        }
        match kernel::read_bridge(lab, br) {
            Ok(b) => {
                let root = if b.root_id == b.id {
                    "root bridge".to_string()
                } else {
                    format!("root {}", stp::format_bridge_id(b.root_id))
                };
                println!(
                    "  {} id {} ({root}, cost {}; {})",
                    b.name,
                    stp::format_bridge_id(b.id),
                    b.root_cost,
                    b.by
                );
                for p in &b.ports {
                    println!(
                        "    {:<9} port {:#06x} cost {:<4} {:<10} {}",
                        p.name,
                        p.id,
                        p.cost,
                        b.role(p),
                        p.state.name()
                    );
                }
            }
            Err(e) => println!("  {}: {e:#}", br.name),
        }
    }
    let holders = kernel::vip_holders(lab);
    println!(
        "VRRP: VIP {} held by {}",
        topo::VIP,
        if holders.is_empty() { "nobody".to_string() } else { holders.join(" and ") }
    );
    if let Some(c) = &config {
        for v in vrrp::summaries(lab, c) {
            println!(
                "  {:<5} {}: {}, {} transitions{}",
                v.balancer,
                v.runs,
                v.state,
                v.transitions,
                v.last.map(|l| format!("; last: {l}")).unwrap_or_default()
            );
        }
    }
    if let Some(c) = &config {
        println!("L7 proxy:");
        for bal in &topo::BALANCERS {
            let runs = match c.stack.get(Component::Proxy, bal.name) {
                Impl::Classic => "haproxy".to_string(),
                Impl::Halb => format!("halb ({}'s daemon)", bal.host),
            };
            let halb = c.stack.get(Component::Proxy, bal.name) == Impl::Halb;
            if halb && !lab.recorded_proc(bal.host, "halb").is_some_and(sys::Proc::alive) {
                println!("  {:<5} {runs}: not running ({}'s daemon is down)", bal.name, bal.host);
                continue;
            }
            let servers = match check::proxy_servers(lab, c, bal.name) {
                Ok(m) if m.is_empty() => "no servers".to_string(),
                Ok(m) => m.iter().map(|(s, st)| format!("{s} {st}")).collect::<Vec<_>>().join(", "),
                Err(e) => format!("unreadable: {e:#}"),
            };
            println!("  {:<5} {runs}: {servers}", bal.name);
        }
        println!("VXLAN:");
        for host in topo::HOSTS {
            match c.stack.get(Component::Vxlan, host) {
                Impl::Classic => {
                    let state =
                        sys::ip_ns(&lab.ns(host), &["-o", "link", "show", "dev", topo::VXLAN_DEV])
                            .map_or_else(
                                |_| "missing".to_string(),
                                |out| {
                                    if out.contains(",UP") || out.contains("<UP") {
                                        "up".to_string()
                                    } else {
                                        "down".to_string()
                                    }
                                },
                            );
                    println!("  {host:<5} kernel {}: {state}", topo::VXLAN_DEV);
                }
                Impl::Halb => {
                    let state = if lab.recorded_proc(host, "halb").is_some_and(sys::Proc::alive) {
                        reports::vxlan_summary(lab, host)
                            .map_or_else(|e| format!("unreadable: {e:#}"), |v| v.to_string())
                    } else {
                        format!("not running ({host}'s daemon is down)")
                    };
                    println!("  {host:<5} halb {} ({host}'s daemon): {state}", daemon::TUNNEL_PORT);
                }
            }
        }
    }
    let failed = faults::failed(lab);
    if failed.is_empty() {
        println!("failed: nothing");
    } else {
        println!("failed:");
        for f in failed {
            println!("  {f}");
        }
    }
    Ok(())
}
