//! Keeps the running proxies in line with the config: starts new ones,
//! stops removed ones, swaps server lists in place when only servers
//! changed (no restart, no lost request), restarts on any other change.

use std::collections::BTreeMap;

use super::{proxy_host::ProxyHost, Daemon};
use crate::{config::Balancer, proxy::ProxySection};

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
        }
        for (name, balancer) in wanted {
            let Some((section, config)) = balancer.proxy.clone() else { continue };
            if let Some(host) = self.proxies.get_mut(&name) {
                let same_setup = host.admin_bind == balancer.admin_bind
                    && host.threads == balancer.proxy_threads;
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
                    tracing::info!(balancer = %name, "proxy settings changed: restarting it");
                    host.stop().await;
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
            match ProxyHost::start(
                &name,
                Some(&netns),
                section,
                config,
                balancer.admin_bind,
                balancer.proxy_threads,
                self.proxy_generation,
            )
            .await
            {
                Ok(host) => {
                    self.proxies.insert(name, host);
                }
                Err(err) => tracing::error!(%err, "proxy not started"),
            }
        }
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
