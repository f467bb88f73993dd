//! Keeps the running proxies in line with the config: starts new ones,
//! stops removed ones, swaps server lists in place when only servers
//! changed (no restart, no lost request), restarts on any other change.
//! With `proxy_steering`, attaches the balancer's `SK_LOOKUP` program first
//! (a kernel without it leaves the proxy listening as configured) and
//! hands the proxy its steering plan; a change of plan is a restart.

use std::collections::BTreeMap;

use halb_common::steering::STEERING_MAX_FRONTENDS;

use super::{handover_state::Inherited, proxy_host::ProxyHost, Daemon};
use crate::{
    config::Balancer,
    datapath::steering::SteeringMaps,
    proxy::ProxySection,
    steering::{self, SteeringPlan},
    vrrp::State,
};

impl Daemon {
    pub(super) async fn sync_proxies(&mut self) {
        let wanted: BTreeMap<String, Balancer> = self
            .config
            .balancers
            .iter()
            .filter(|balancer| balancer.proxy.is_some())
            .map(|balancer| (balancer.name.clone(), balancer.clone()))
            .collect();
        let removed: Vec<String> =
            self.proxies.keys().filter(|name| !wanted.contains_key(*name)).cloned().collect();
        for name in removed {
            if let Some(host) = self.proxies.remove(&name) {
                host.stop().await;
            }
            self.release_steering(&name);
        }
        for (name, balancer) in wanted {
            let Some((section, config)) = balancer.proxy.clone() else { continue };
            let steering = self.steering_for(&balancer, &config);
            if let Some(host) = self.proxies.get_mut(&name) {
                let same_setup = host.admin_bind == balancer.admin_bind
                    && host.threads == balancer.proxy_threads
                    && host.steering.as_ref().map(|s| &s.plan) == steering.as_ref().map(|s| &s.0);
                if same_setup && host.section == section {
                    continue;
                }
                if same_setup && without_servers(&host.section) == without_servers(&section) {
                    let mut failed = false;
                    for backend in &config.backends {
                        if let Err(err) =
                            host.update_servers(&backend.name, backend.servers.clone())
                        {
                            tracing::error!(balancer = %name, backend = %backend.name, %err, "server list not updated");
                            failed = true;
                        }
                    }
                    if !failed {
                        tracing::info!(balancer = %name, "server lists updated without restart");
                        host.section = section;
                        continue;
                    }
                }
                if let Some(host) = self.proxies.remove(&name) {
                    self.retire_proxy(
                        &name,
                        host,
                        &section,
                        balancer.admin_bind,
                        steering.is_some(),
                    )
                    .await;
                }
            }
            // Never fall back to the daemon's own namespace.
            let netns = match crate::netns::Netns::open(&balancer.netns) {
                Ok(netns) => netns,
                Err(err) => {
                    tracing::error!(balancer = %name, %err, "proxy not started");
                    continue;
                }
            };
            self.proxy_generation += 1;
            let inherited = self.takeover.proxies.remove(&name).unwrap_or_default();
            let start = |steering| {
                ProxyHost::start(
                    &name,
                    Some(&netns),
                    section.clone(),
                    config.clone(),
                    balancer.admin_bind,
                    balancer.proxy_threads,
                    self.proxy_generation,
                    steering,
                    &inherited,
                )
            };
            let started = match start(steering).await {
                // Steering must never keep a proxy down: without it, the
                // listeners bind as configured.
                Err(err) if err.is_steering() => {
                    tracing::warn!(balancer = %name, %err, "VIP steering failed; proxy starts without it");
                    let started = start(None).await;
                    self.release_steering(&name);
                    started
                }
                started => started,
            };
            match started {
                Ok(host) => {
                    if host.steering.is_some() {
                        self.write_current_ownership(&name);
                    }
                    self.proxies.insert(name, host);
                }
                Err(err) => tracing::error!(%err, "proxy not started"),
            }
        }
    }
}

impl Daemon {
    /// Retires a proxy whose settings changed: its replacement takes over
    /// the listeners whose frontend kept its name and address, so no
    /// connection is refused meanwhile, and the old one drains in the
    /// background; a socket not passed on must be closed before the
    /// replacement binds its address again, so then it stops first.
    async fn retire_proxy(
        &mut self,
        name: &str,
        host: ProxyHost,
        section: &ProxySection,
        admin_bind: Option<std::net::SocketAddr>,
        steered: bool,
    ) {
        let inherited = reusable_listeners(&host, section, admin_bind, steered);
        tracing::info!(balancer = %name, reused = inherited.listeners.len(), "proxy settings changed: restarting it");
        let all_reused = inherited.listeners.len() == host.section.frontend.len()
            && (host.admin_bind.is_none() || inherited.admin.is_some());
        self.takeover.proxies.insert(name.to_owned(), inherited);
        if all_reused {
            tokio::spawn(host.drain_and_stop(self.config.drain_timeout));
        } else {
            host.stop().await;
        }
    }
}

impl Daemon {
    /// The steering plan and tables of a balancer's proxy, with the program
    /// attached to its namespace; `None` when steering is off or cannot run
    /// here (detached then, so nothing steers to a stale socket).
    fn steering_for(
        &mut self,
        balancer: &Balancer,
        config: &crate::proxy::Config,
    ) -> Option<(SteeringPlan, SteeringMaps)> {
        if !balancer.proxy_steering {
            self.release_steering(&balancer.name);
            return None;
        }
        let netns = self.namespaces.get(&balancer.netns)?;
        let Some(datapath) = self.instances.get_mut(&balancer.name) else {
            tracing::warn!(balancer = %balancer.name, "no datapath instance: VIP steering off");
            return None;
        };
        if let Err(err) = datapath.attach_steering(netns) {
            tracing::warn!(balancer = %balancer.name, %err, "VIP steering off (kernel without SK_LOOKUP?); listeners bind as configured");
            return None;
        }
        let vips: Vec<_> = balancer
            .vrrp
            .iter()
            .flat_map(|instance| instance.virtual_addresses.iter().map(|(address, _)| *address))
            .collect();
        let plan = steering::plan(&config.frontends, &vips, STEERING_MAX_FRONTENDS);
        if config.frontends.len() > STEERING_MAX_FRONTENDS as usize {
            tracing::warn!(balancer = %balancer.name, steered = STEERING_MAX_FRONTENDS, frontends = config.frontends.len(), "more frontends than steering slots: the others are not steered");
        }
        Some((plan, SteeringMaps::new(&self.config.instance_pin_dir(&balancer.name))))
    }

    /// Detaches a balancer's steering program, if attached.
    pub(super) fn release_steering(&mut self, balancer: &str) {
        if let Some(datapath) = self.instances.get_mut(balancer) {
            if let Err(err) = datapath.detach_steering() {
                tracing::warn!(%balancer, %err, "cannot detach VIP steering");
            }
        }
    }

    /// Writes the ownership of a balancer's VIPs from its running VRRP
    /// instances (a proxy (re)started after they took their state).
    fn write_current_ownership(&self, balancer: &str) {
        let maps = SteeringMaps::new(&self.config.instance_pin_dir(balancer));
        for driver in self.vrrp.values().filter(|driver| driver.balancer == balancer) {
            let owned = driver.report().state == State::Master.to_string();
            for (address, _) in &driver.config.virtual_addresses {
                if let Err(err) = maps.set_owned(*address, owned) {
                    tracing::debug!(%balancer, %address, %err, "steering ownership not written");
                }
            }
        }
    }
}

/// The listening sockets of `host` a proxy restarted with `section` can
/// serve on as they are: frontends with the same name and `bind`, the
/// admin listener if its address stayed, and only if steering stayed on or
/// off (it decides where a VIP's listener binds).
fn reusable_listeners(
    host: &ProxyHost,
    section: &ProxySection,
    admin_bind: Option<std::net::SocketAddr>,
    steered: bool,
) -> Inherited {
    if host.steering.is_some() != steered {
        return Inherited::default();
    }
    let (frontends, admin) = match host.listeners() {
        Ok(listeners) => listeners,
        Err(err) => {
            tracing::warn!(balancer = %host.balancer, %err, "listeners not reused: the restarted proxy binds anew");
            return Inherited::default();
        }
    };
    let kept = |name: &str| {
        let old = host.section.frontend.iter().find(|f| f.name == name);
        let new = section.frontend.iter().find(|f| f.name == name);
        matches!((old, new), (Some(old), Some(new)) if old.bind == new.bind)
    };
    Inherited {
        listeners: frontends
            .into_iter()
            .filter(|(name, _)| kept(name))
            .map(|(name, fd)| (name, std::net::TcpListener::from(fd)))
            .collect(),
        admin: admin.filter(|_| host.admin_bind == admin_bind).map(std::net::TcpListener::from),
    }
}

/// The section with every backend's server list emptied.
fn without_servers(section: &ProxySection) -> ProxySection {
    let mut copy = section.clone();
    for backend in &mut copy.backend {
        backend.server.clear();
    }
    copy
}
