//! The daemon's VXLAN: builds the tunnel from `[host.vxlan]`, keeps the
//! programs' maps in line with the config, ages the forwarding table, and
//! reports for `halb vxlan fdb|stats`.
//!
//! Start (and a reload that adds `[host.vxlan]` or changes its plumbing:
//! underlay, bridge, tunnel port, namespace): create the veth tunnel port
//! ([`super::vxlan_tunnel`]), write the maps, attach `vxlan_decap` at TC
//! ingress of the underlay and `vxlan_encap` at TC egress of the tunnel
//! port and TC ingress of its peer (TCX, in the host's datapath instance). A reload that
//! changes only VNI, local address, remotes, static FDB entries, TTL, MTU
//! or ageing rewrites the maps in place: nothing is detached or recreated,
//! traffic keeps flowing.
//!
//! STP: the underlay is the external bridge; encapsulated frames are sent
//! with `bpf_redirect_neigh` on the bridge device, so the bridge forwards
//! them by its FDB through ports in FORWARDING state only. Until halb runs
//! STP itself, the kernel's port states decide, as they do for any frame
//! the host sends.

use std::time::Duration;

use aya::programs::TcAttachType;
use tokio::sync::watch;

use super::{vxlan_host::VxlanHost, vxlan_tunnel, Daemon};
use crate::{
    config::{vxlan::Vxlan, HOST_INSTANCE},
    datapath::{
        attach::{interface_index, InterfaceIndexError},
        pins, DatapathError,
    },
    netns::{with_netns, Netns, NetnsError},
    vxlan::{fdb, FdbRow, Tables, TablesError, VxlanReport},
};
use halb_common::{
    names::{PROG_VXLAN_DECAP, PROG_VXLAN_ENCAP},
    vxlan::VxlanConfig,
};

/// Why the VXLAN tunnel did not start; each message is the failing piece's own.
#[derive(Debug, thiserror::Error)]
pub(super) enum VxlanStartError {
    #[error(transparent)]
    Netns(#[from] NetnsError),
    #[error(transparent)]
    Datapath(#[from] DatapathError),
    #[error(transparent)]
    Tunnel(#[from] vxlan_tunnel::TunnelError),
    #[error("{what}: {cause}")]
    Interface { what: String, cause: InterfaceIndexError },
    #[error(transparent)]
    Tables(#[from] TablesError),
}

impl Daemon {
    /// Makes the tunnel match `[host.vxlan]` (see the module docs).
    pub(super) async fn sync_vxlan(&mut self) {
        let wanted = self
            .config
            .host
            .as_ref()
            .and_then(|host| host.vxlan.clone().map(|vxlan| (vxlan, host.netns.clone())));
        let keep = match (&self.vxlan, &wanted) {
            (Some(running), Some((config, netns))) => {
                running.config.same_plumbing(config) && running.netns_name == *netns
            }
            (None, _) => true,
            (Some(_), None) => false,
        };
        if !keep {
            self.stop_vxlan().await;
        }
        let Some((config, netns)) = wanted else { return };
        if self.vxlan.is_none() {
            match self.start_vxlan(&config, netns).await {
                Ok(host) => self.vxlan = Some(host),
                Err(err) => {
                    tracing::error!(%err, "vxlan tunnel not started");
                    return;
                }
            }
        }
        if let Some(host) = &mut self.vxlan {
            host.error = apply(host, &config).err().map(|err| err.to_string());
            if let Some(err) = &host.error {
                tracing::error!(%err, "vxlan maps not updated");
            } else {
                tracing::info!(vni = config.vni, remotes = ?config.remotes, "vxlan tables written");
            }
            host.config = config.clone();
            host.wanted.send_replace(config);
        }
    }

    async fn start_vxlan(
        &mut self,
        config: &Vxlan,
        netns_name: Option<String>,
    ) -> Result<VxlanHost, VxlanStartError> {
        let netns = netns_name.as_deref().map(Netns::open).transpose()?;
        self.ensure_instance(HOST_INSTANCE)?;
        let handle = vxlan_tunnel::handle(netns.as_ref())?;
        vxlan_tunnel::create(&handle, netns.as_ref(), config, self.takeover.taking_over).await?;
        let indexes = with_netns(netns.as_ref(), || {
            let index = |what: String, name: &str| {
                interface_index(name).map_err(|cause| VxlanStartError::Interface { what, cause })
            };
            Ok::<_, VxlanStartError>((
                index(format!("underlay {}", config.underlay), &config.underlay)?,
                index(config.tunnel_port.clone(), &config.tunnel_port)?,
                index(config.tunnel_peer.clone(), &config.tunnel_peer)?,
            ))
        })?;
        let (underlay_ifindex, tunnel_ifindex, peer_ifindex) = match indexes {
            Ok(indexes) => indexes,
            Err(err) => {
                let _ = vxlan_tunnel::delete(&handle, &config.tunnel_port).await;
                return Err(err);
            }
        };
        let pin_dir = self.config.instance_pin_dir(HOST_INSTANCE);
        let (wanted, wanted_rx) = watch::channel(config.clone());
        let ageing = tokio::spawn(age_fdb(Tables::new(&pin_dir), wanted_rx));
        let host = VxlanHost {
            config: config.clone(),
            netns_name,
            netns,
            pin_dir,
            underlay_ifindex,
            tunnel_ifindex,
            peer_ifindex,
            wanted,
            ageing,
            error: None,
        };
        // Tables first: the programs must find a configuration when they
        // see their first frame.
        if let Err(err) = apply(&host, config) {
            self.abandon_vxlan(host, &handle).await;
            return Err(err.into());
        }
        let datapath = self.instances.get_mut(HOST_INSTANCE).expect("loaded above");
        for (program, interface, direction) in attach_points(config) {
            if let Err(err) = datapath.attach_program_at(
                program,
                &host.point(interface),
                host.netns.as_ref(),
                direction,
            ) {
                self.abandon_vxlan(host, &handle).await;
                return Err(err.into());
            }
        }
        tracing::info!(
            vni = config.vni,
            local = %config.local,
            underlay = %config.underlay,
            port = %config.tunnel_port,
            bridge = %config.bridge,
            "vxlan tunnel up"
        );
        Ok(host)
    }

    /// Undoes a half-started tunnel.
    async fn abandon_vxlan(&mut self, host: VxlanHost, handle: &rtnetlink::Handle) {
        self.detach_vxlan(&host);
        host.ageing.abort();
        let _ = Tables::new(&host.pin_dir).write_config(&VxlanConfig::default());
        let _ = vxlan_tunnel::delete(handle, &host.config.tunnel_port).await;
    }

    fn detach_vxlan(&mut self, host: &VxlanHost) {
        if let Some(datapath) = self.instances.get_mut(HOST_INSTANCE) {
            for (program, interface, _) in attach_points(&host.config).into_iter().rev() {
                if let Err(err) = datapath.detach_program(program, &host.point(interface)) {
                    tracing::warn!(%err, program, "cannot detach");
                }
            }
        }
    }

    /// Detaches the programs, clears the configuration and deletes the
    /// tunnel port.
    pub(super) async fn stop_vxlan(&mut self) {
        let Some(host) = self.vxlan.take() else { return };
        self.detach_vxlan(&host);
        host.ageing.abort();
        let _ = Tables::new(&host.pin_dir).write_config(&VxlanConfig::default());
        match vxlan_tunnel::handle(host.netns.as_ref()) {
            Ok(handle) => {
                if let Err(err) = vxlan_tunnel::delete(&handle, &host.config.tunnel_port).await {
                    tracing::warn!(%err, "tunnel port not deleted");
                }
            }
            Err(err) => tracing::warn!(%err, "tunnel port not deleted"),
        }
        // The host instance stays loaded only if it has other ports.
        if self.instances.get(HOST_INSTANCE).is_some_and(|datapath| datapath.ports().is_empty()) {
            self.instances.remove(HOST_INSTANCE);
            if let Err(err) = pins::remove_pins(&self.config.instance_pin_dir(HOST_INSTANCE)) {
                tracing::warn!(%err, "cannot remove pins");
            }
        }
        tracing::info!(port = %host.config.tunnel_port, "vxlan tunnel down");
    }

    /// What `halb vxlan fdb|stats` shows; `None` without `[host.vxlan]`.
    pub(super) fn vxlan_report(&self) -> Option<VxlanReport> {
        let wanted = self.config.host.as_ref()?.vxlan.as_ref()?;
        let Some(host) = &self.vxlan else {
            return Some(VxlanReport {
                node: self.config.node.clone(),
                state: "not running (see the daemon's log)".to_owned(),
                ..report_of(wanted)
            });
        };
        let tables = Tables::new(&host.pin_dir);
        let now = fdb::monotonic_ns();
        let mut report = VxlanReport {
            node: self.config.node.clone(),
            state: host.error.clone().unwrap_or_else(|| "running".to_owned()),
            ..report_of(&host.config)
        };
        match tables.fdb() {
            Ok(entries) => {
                report.fdb = entries
                    .iter()
                    .map(|(mac, entry)| FdbRow {
                        mac: mac.to_string(),
                        vtep: entry.vtep.into(),
                        kind: if fdb::age(entry, now).is_some() { "learned" } else { "static" }
                            .to_owned(),
                        age_secs: fdb::age(entry, now).map(|age| age.as_secs_f64()),
                    })
                    .collect();
            }
            Err(err) => report.state = err.to_string(),
        }
        match tables.counters() {
            Ok((counters, drops)) => {
                report.counters = counters;
                report.drops = drops;
            }
            Err(err) => report.state = err.to_string(),
        }
        Some(report)
    }
}

/// Where the programs go: decapsulation at the underlay's ingress,
/// encapsulation at the tunnel port's egress (the bridge's frames) and at
/// its peer's ingress (frames that crossed the veth).
fn attach_points(config: &Vxlan) -> [(&'static str, &String, TcAttachType); 3] {
    [
        (PROG_VXLAN_DECAP, &config.underlay, TcAttachType::Ingress),
        (PROG_VXLAN_ENCAP, &config.tunnel_port, TcAttachType::Egress),
        (PROG_VXLAN_ENCAP, &config.tunnel_peer, TcAttachType::Ingress),
    ]
}

fn report_of(config: &Vxlan) -> VxlanReport {
    VxlanReport {
        vni: config.vni,
        local: Some(config.local),
        underlay: config.underlay.clone(),
        bridge: config.bridge.clone(),
        tunnel_port: config.tunnel_port.clone(),
        remotes: config.remotes.clone(),
        mtu: config.mtu,
        ttl: config.ttl,
        ageing_secs: config.ageing.as_secs(),
        ..VxlanReport::default()
    }
}

/// Writes remotes, then the configuration that makes them valid, then the
/// static FDB entries (and drops entries the config no longer allows).
fn apply(host: &VxlanHost, config: &Vxlan) -> Result<(), TablesError> {
    let tables = Tables::new(&host.pin_dir);
    tables.write_remotes(&config.remotes)?;
    tables.write_config(&VxlanConfig {
        vni: config.vni,
        local: config.local.octets(),
        underlay_ifindex: host.underlay_ifindex,
        tunnel_ifindex: host.tunnel_ifindex,
        peer_ifindex: host.peer_ifindex,
        remote_count: u32::try_from(config.remotes.len()).unwrap_or(0),
        mtu: config.mtu,
        ttl: config.ttl,
        learning: 1,
    })?;
    sync_fdb(&tables, config)
}

fn sync_fdb(tables: &Tables, config: &Vxlan) -> Result<(), TablesError> {
    let current = tables.fdb()?;
    let plan = fdb::plan(
        &current,
        &config.static_fdb,
        &config.remotes,
        config.ageing,
        fdb::monotonic_ns(),
    );
    for mac in &plan.remove {
        tables.fdb_remove(*mac)?;
    }
    for (mac, entry) in plan.insert {
        tables.fdb_insert(mac, entry)?;
    }
    if !plan.remove.is_empty() {
        tracing::debug!(removed = plan.remove.len(), "vxlan fdb entries aged out or removed");
    }
    Ok(())
}

/// Ages learned entries out, checking ten times per ageing period (at
/// least every 30 s, at most every second).
async fn age_fdb(tables: Tables, mut wanted: watch::Receiver<Vxlan>) {
    loop {
        let period =
            (wanted.borrow().ageing / 10).clamp(Duration::from_secs(1), Duration::from_secs(30));
        tokio::select! {
            () = tokio::time::sleep(period) => {}
            changed = wanted.changed() => if changed.is_err() { return },
        }
        let config = wanted.borrow().clone();
        if let Err(err) = sync_fdb(&tables, &config) {
            tracing::warn!(%err, "vxlan fdb ageing failed");
        }
    }
}
