//! The processes of the lab: nginx on the servers, keepalived and haproxy on the balancers,
//! and halb on the hosts (with `--daemon`, or where a halb component runs: a balancer's halb
//! VRRP lives in its host's daemon). Their configs are in the run dir ([`super::configs`]);
//! every process runs in the foreground inside its namespace (halb: from the root
//! namespace, see [`daemon`]), detached, output in `logs/`, PID recorded in `pids/`.
//!
//! A node's *roles* may live in another node's process: [`processes_of`] says which, and
//! [`stop_roles`] stops them as a crash (SIGKILL) or gracefully (SIGTERM, VRRP first).

use std::time::Duration;

use anyhow::{bail, Context, Result};

use super::daemon;
use super::plan::{Component, Impl};
use super::rundir::{Lab, LabConfig};
use super::sys::{self, Proc};
use super::topo;

/// Binaries whose leftovers in a lab namespace may be killed when a node is failed.
pub const BINARIES: [&str; 4] = ["nginx", "keepalived", "haproxy", "halb"];

/// How a node's processes are stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kill {
    /// SIGKILL, as a crash: no priority-0 advert, the VIP and pins stay where they are.
    Crash,
    /// SIGTERM (5 s, then SIGKILL), VRRP speakers first: a master resigns with priority 0.
    Graceful,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Nginx,
    Keepalived,
    Haproxy,
    Halb,
}

impl Service {
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Service::Nginx => "nginx",
            Service::Keepalived => "keepalived",
            Service::Haproxy => "haproxy",
            Service::Halb => "halb",
        }
    }
}

/// The services that run on `node` under `config`. This is where a halb implementation of
/// a balancer's component gets its one match arm: it runs in the host's daemon instead.
pub fn services_of(config: &LabConfig, node: &str) -> Result<Vec<Service>> {
    let mut out = Vec::new();
    if topo::SERVERS.iter().any(|(s, _)| *s == node) {
        out.push(Service::Nginx);
    }
    if topo::balancer(node).is_some() {
        match config.stack.get(Component::Vrrp, node) {
            Impl::Classic => out.push(Service::Keepalived),
            // The instance is a `[[balancer.vrrp]]` block of the host's daemon.
            Impl::Halb => {}
        }
        match config.stack.get(Component::Proxy, node) {
            Impl::Classic => out.push(Service::Haproxy),
            // The proxy is the balancer's `[balancer.proxy]` in the host's daemon.
            Impl::Halb => {}
        }
    }
    if config.runs_daemon(node) {
        out.push(Service::Halb);
    }
    Ok(out)
}

/// Every process that carries `node`'s roles, as (node it is recorded under, service): the
/// node's own services, plus its host's halb daemon when the node is a balancer whose VRRP
/// or proxy is halb's (the daemon holds both; stopping the balancer stops the daemon, and
/// with it every halb role of that host). The VRRP speaker comes first (a graceful stop
/// resigns before the proxy goes away).
pub fn processes_of(config: &LabConfig, node: &str) -> Result<Vec<(&'static str, Service)>> {
    let name = topo::NODES
        .iter()
        .copied()
        .find(|n| *n == node)
        .with_context(|| format!("no node {node:?} in the lab"))?;
    let mut out: Vec<(&'static str, Service)> =
        services_of(config, name)?.into_iter().map(|s| (name, s)).collect();
    if let Some(bal) = topo::balancer(name) {
        let in_daemon = [Component::Vrrp, Component::Proxy]
            .into_iter()
            .any(|c| config.stack.get(c, name) == Impl::Halb);
        if in_daemon {
            out.push((bal.host, Service::Halb));
        }
    }
    let speaks_vrrp = |node: &str, s: Service| match s {
        Service::Keepalived => true,
        Service::Halb => topo::BALANCERS
            .iter()
            .any(|b| b.host == node && config.stack.get(Component::Vrrp, b.name) == Impl::Halb),
        Service::Nginx | Service::Haproxy => false,
    };
    out.sort_by_key(|(n, s)| !speaks_vrrp(n, *s));
    Ok(out)
}

fn argv(lab: &Lab, node: &str, service: Service) -> Result<Vec<String>> {
    let d = lab.node_dir(node);
    let p = |name: &str| d.join(name).display().to_string();
    let v = match service {
        Service::Nginx => vec![
            "nginx".into(),
            "-p".into(),
            p(""),
            "-c".into(),
            p("nginx.conf"),
            "-e".into(),
            p("error.log"),
        ],
        Service::Keepalived => vec![
            "keepalived".into(),
            "-P".into(),
            "-l".into(),
            "-D".into(),
            "-n".into(),
            "-G".into(),
            "-f".into(),
            p("keepalived.conf"),
            "-p".into(),
            p("keepalived.pid"),
            "-r".into(),
            p("keepalived-vrrp.pid"),
            "-c".into(),
            p("keepalived-checkers.pid"),
        ],
        Service::Haproxy => vec!["haproxy".into(), "-db".into(), "-f".into(), p("haproxy.cfg")],
        Service::Halb => daemon::argv(lab, node)?,
    };
    Ok(v)
}

/// Starts one service and records its PID.
pub fn start(lab: &Lab, node: &str, service: Service) -> Result<Proc> {
    if let Some(p) = lab.recorded_proc(node, service.name()) {
        if p.alive() {
            bail!("{} already runs on {node} (pid {})", service.name(), p.pid);
        }
    }
    let log = lab.log(node, service.name());
    // halb enters the host's namespace itself (`[host] netns`): under `ip netns exec` it
    // would see a fresh /sys without the bpffs mount its pins go to.
    let ns = (service != Service::Halb).then(|| lab.ns(node));
    let proc = sys::spawn_logged(ns.as_deref(), &argv(lab, node, service)?, &log)?;
    lab.record(node, service.name(), proc)?;
    // Catch immediate failures (bad config, port in use) here rather than in a health wait.
    std::thread::sleep(Duration::from_millis(150));
    if !proc.alive() {
        bail!("{} on {node} exited at once:\n{}", service.name(), sys::tail(&log, 15));
    }
    if service == Service::Halb {
        daemon::wait_ready(lab, node, proc)?;
    }
    Ok(proc)
}

pub fn start_node(lab: &Lab, config: &LabConfig, node: &str) -> Result<Vec<Service>> {
    let services = services_of(config, node)?;
    for &s in &services {
        start(lab, node, s).with_context(|| format!("starting {} on {node}", s.name()))?;
    }
    Ok(services)
}

/// Stops every process of `node`'s roles ([`processes_of`]); returns what was running.
///
/// A crash SIGKILLs the lab binaries left in the namespaces first (keepalived's VRRP child:
/// it has a parent-death signal and would resign gracefully if its parent died first), then
/// the recorded processes. A graceful stop terminates the recorded processes in order (VRRP
/// first), then whatever is left.
pub fn stop_roles(lab: &Lab, config: &LabConfig, node: &str, kill: Kill) -> Result<Vec<String>> {
    let procs = processes_of(config, node)?;
    let mut running = Vec::new();
    if kill == Kill::Crash {
        // Freeze everything first, then kill children before parents. Killed first, a
        // parent would let its children react (nginx respawns a worker; keepalived's VRRP
        // child gets its parent-death SIGTERM, and once its process group is orphaned the
        // kernel continues it, so it would resign with priority 0). A frozen parent cannot
        // respawn the child killed under it.
        let mut recorded: Vec<Proc> = Vec::new();
        for (n, service) in &procs {
            if let Some(p) = lab.recorded_proc(n, service.name()).filter(|p| p.alive()) {
                recorded.push(p);
                running.push(format!("{} on {n}", service.name()));
            }
        }
        let mut spaces: Vec<&str> = procs.iter().map(|(n, _)| *n).collect();
        spaces.dedup();
        let mut children: Vec<Proc> = Vec::new();
        for n in spaces {
            for pid in sys::netns_pids(&lab.ns(n)) {
                if BINARIES.contains(&sys::comm(pid).as_str()) {
                    if let Some(p) = Proc::of_pid(pid).filter(|p| !recorded.contains(p)) {
                        children.push(p);
                    }
                }
            }
        }
        for p in children.iter().chain(&recorded) {
            p.freeze();
        }
        for p in children.iter().chain(&recorded) {
            p.kill().with_context(|| format!("killing pid {}", p.pid))?;
        }
        for (n, service) in &procs {
            lab.forget(n, service.name());
        }
        return Ok(running);
    }
    for (n, service) in &procs {
        if let Some(p) = lab.recorded_proc(n, service.name()).filter(|p| p.alive()) {
            p.terminate(Duration::from_secs(5))
                .with_context(|| format!("stopping {} on {n}", service.name()))?;
            running.push(format!("{} on {n}", service.name()));
        }
        lab.forget(n, service.name());
    }
    let mut nodes: Vec<&str> = procs.iter().map(|(n, _)| *n).collect();
    nodes.dedup();
    for n in nodes {
        stop_node(lab, n)?;
    }
    Ok(running)
}

/// Starts every process of `node`'s roles that does not run.
pub fn start_roles(lab: &Lab, config: &LabConfig, node: &str) -> Result<Vec<String>> {
    let mut started = Vec::new();
    for (n, service) in processes_of(config, node)? {
        if lab.recorded_proc(n, service.name()).is_some_and(Proc::alive) {
            continue;
        }
        start(lab, n, service).with_context(|| format!("starting {} on {n}", service.name()))?;
        started.push(format!("{} on {n}", service.name()));
    }
    Ok(started)
}

/// Stops the recorded processes of `node` (SIGTERM, 5 s, SIGKILL), then any lab binary left
/// in its namespace (keepalived's VRRP child if its parent had to be killed).
pub fn stop_node(lab: &Lab, node: &str) -> Result<Vec<String>> {
    let mut stopped = Vec::new();
    for (n, service, p) in lab.recorded() {
        if n == node {
            p.terminate(Duration::from_secs(5))
                .with_context(|| format!("stopping {service} on {node}"))?;
            lab.forget(node, &service);
            stopped.push(service);
        }
    }
    let ns = lab.ns(node);
    for pid in sys::netns_pids(&ns) {
        if BINARIES.contains(&sys::comm(pid).as_str()) {
            if let Some(p) = Proc::of_pid(pid) {
                p.terminate(Duration::from_secs(5))?;
            }
        }
    }
    if topo::DAEMON_NODES.contains(&node) {
        daemon::remove_pins(lab, node);
    }
    Ok(stopped)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::plan::{Stack, StackSpec, StpTimers};

    #[test]
    fn services_per_node() {
        let mut config = LabConfig::new(Stack::classic(), StpTimers::Fast, false);
        assert_eq!(services_of(&config, "serv3").unwrap(), [Service::Nginx]);
        assert_eq!(services_of(&config, "bal1").unwrap(), [Service::Keepalived, Service::Haproxy]);
        assert!(services_of(&config, "host1").unwrap().is_empty());
        assert!(services_of(&config, "swout1").unwrap().is_empty());
        config.daemon = true;
        assert_eq!(services_of(&config, "host2").unwrap(), [Service::Halb]);
    }

    #[test]
    fn halb_proxy_moves_the_balancers_proxy_into_its_hosts_daemon() {
        let stack = Stack::parse(&StackSpec {
            proxy: Some("bal1=halb,bal2=haproxy"),
            ..StackSpec::default()
        })
        .unwrap();
        let config = LabConfig::new(stack, StpTimers::Fast, false);
        assert_eq!(services_of(&config, "bal1").unwrap(), [Service::Keepalived]);
        assert_eq!(services_of(&config, "bal2").unwrap(), [Service::Keepalived, Service::Haproxy]);
        assert_eq!(services_of(&config, "host1").unwrap(), [Service::Halb]);
        assert!(services_of(&config, "host2").unwrap().is_empty());
        // keepalived resigns first, then the daemon holding the proxy goes.
        assert_eq!(
            processes_of(&config, "bal1").unwrap(),
            [("bal1", Service::Keepalived), ("host1", Service::Halb)]
        );
        // Everything on halb: bal1's roles are all in host1's daemon.
        let stack = Stack::parse(&StackSpec {
            stack: Some(crate::lab::plan::StackKind::Halb),
            stp: Some("kernel"),
            ..StackSpec::default()
        })
        .unwrap();
        let config = LabConfig::new(stack, StpTimers::Fast, false);
        assert!(services_of(&config, "bal2").unwrap().is_empty());
        assert_eq!(processes_of(&config, "bal2").unwrap(), [("host2", Service::Halb)]);
        assert_eq!(processes_of(&config, "host1").unwrap(), [("host1", Service::Halb)]);
        // halb VXLAN alone: the daemon is the host's; the balancer keeps its classic tools.
        let stack =
            Stack::parse(&StackSpec { vxlan: Some("host2=halb"), ..StackSpec::default() }).unwrap();
        let config = LabConfig::new(stack, StpTimers::Fast, false);
        assert_eq!(services_of(&config, "host2").unwrap(), [Service::Halb]);
        assert_eq!(
            processes_of(&config, "bal2").unwrap(),
            [("bal2", Service::Keepalived), ("bal2", Service::Haproxy)]
        );
    }

    #[test]
    fn halb_vrrp_moves_the_balancers_vrrp_into_its_hosts_daemon() {
        let stack = Stack::parse(&StackSpec {
            vrrp: Some("bal1=halb,bal2=keepalived"),
            ..StackSpec::default()
        })
        .unwrap();
        let config = LabConfig::new(stack, StpTimers::Fast, false);
        assert_eq!(services_of(&config, "bal1").unwrap(), [Service::Haproxy]);
        assert_eq!(services_of(&config, "host1").unwrap(), [Service::Halb]);
        assert!(services_of(&config, "host2").unwrap().is_empty());
        assert_eq!(
            processes_of(&config, "bal1").unwrap(),
            [("host1", Service::Halb), ("bal1", Service::Haproxy)]
        );
        assert_eq!(
            processes_of(&config, "bal2").unwrap(),
            [("bal2", Service::Keepalived), ("bal2", Service::Haproxy)]
        );
        assert_eq!(processes_of(&config, "host1").unwrap(), [("host1", Service::Halb)]);
        assert!(processes_of(&config, "host2").unwrap().is_empty());
        assert!(processes_of(&config, "bal9").is_err());
    }
}
