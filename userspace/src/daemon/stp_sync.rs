//! The daemon's STP: one [`StpDriver`] per `[[host.bridge]]`, with the
//! `stp_port_in` / `stp_port_out` programs attached (TCX ingress and
//! egress, in the host's datapath instance) to every port of it.
//!
//! Start (and a reload that adds a bridge or changes anything of one):
//! forget stale map entries of the ports, attach both programs (so every
//! port discards from here on), then spawn the driver, which takes the
//! bridge over from the kernel. Stop (removed or changed bridge, daemon
//! shutdown): stop the driver, detach the programs, forget the ports' map
//! entries. Bridges a reload does not change keep running untouched.

use std::{collections::BTreeMap, time::Duration};

use aya::programs::TcAttachType;
use halb_common::names::{PROG_STP_PORT_IN, PROG_STP_PORT_OUT};

use super::{
    stp_driver::{StpDriver, StpDriverError},
    stp_maps::{MapAccessError, PortMaps},
    stp_report::{self, Snapshot},
    Daemon,
};
use crate::{
    config::{stp::StpBridge, AttachPoint, HOST_INSTANCE},
    control::stp::StpReport,
    datapath::{
        attach::{interface_index, InterfaceIndexError},
        pins, DatapathError,
    },
    netns::{with_netns, Netns, NetnsError},
};

/// Why a bridge was not started (logged; the bridge shows as not running).
#[derive(Debug, thiserror::Error)]
pub(super) enum StpStartError {
    #[error(transparent)]
    Netns(#[from] NetnsError),
    #[error(transparent)]
    Datapath(#[from] DatapathError),
    #[error("port {port}: {cause}")]
    Port { port: String, cause: InterfaceIndexError },
    #[error(transparent)]
    Map(#[from] MapAccessError),
    #[error(transparent)]
    Driver(#[from] StpDriverError),
}

/// How long a stopping bridge may take (restoring the kernel's STP).
const STP_STOP_TIMEOUT: Duration = Duration::from_secs(2);

/// The attach point of one STP port; the role names the bridge, so it
/// never equals a classifier or VXLAN point on the same interface.
fn point(netns: Option<&String>, bridge: &str, port: &str) -> AttachPoint {
    AttachPoint {
        instance: HOST_INSTANCE.to_owned(),
        role: format!("host stp {bridge}"),
        netns: netns.cloned(),
        interface: port.to_owned(),
    }
}

impl Daemon {
    /// Makes the running bridges match `[[host.bridge]]` (module docs).
    pub(super) async fn sync_stp(&mut self) {
        let (wanted, netns): (BTreeMap<String, StpBridge>, Option<String>) = match &self.config.host
        {
            Some(host) => (
                host.bridges.iter().map(|bridge| (bridge.name.clone(), bridge.clone())).collect(),
                host.netns.clone(),
            ),
            None => (BTreeMap::new(), None),
        };
        let stale: Vec<String> = self
            .stp
            .iter()
            .filter(|(name, driver)| {
                wanted.get(*name).is_none_or(|config| *config != driver.config)
                    || driver.netns != netns
            })
            .map(|(name, _)| name.clone())
            .collect();
        for name in stale {
            self.stop_stp_bridge(&name).await;
        }
        for (name, config) in wanted {
            if self.stp.contains_key(&name) {
                continue;
            }
            match self.start_stp_bridge(&config, netns.clone()) {
                Ok(driver) => {
                    self.stp.insert(name, driver);
                }
                Err(err) => tracing::error!(bridge = %name, %err, "stp bridge not started"),
            }
        }
    }

    fn start_stp_bridge(
        &mut self,
        config: &StpBridge,
        netns_name: Option<String>,
    ) -> Result<StpDriver, StpStartError> {
        let netns = netns_name.as_deref().map(Netns::open).transpose()?;
        self.ensure_instance(HOST_INSTANCE)?;
        let maps = PortMaps::new(&self.config.instance_pin_dir(HOST_INSTANCE));
        let ifindexes = with_netns(netns.as_ref(), || {
            (config.ports.iter())
                .map(|port| {
                    interface_index(&port.name)
                        .map_err(|cause| StpStartError::Port { port: port.name.clone(), cause })
                })
                .collect::<Result<Vec<_>, _>>()
        })??;
        // An entry left by an earlier bridge must not open a port early; a
        // bridge resumed from a daemon handing over keeps its entries.
        let resume = self.takeover.stp.remove(&config.name);
        if resume.is_none() {
            for ifindex in &ifindexes {
                maps.remove(*ifindex)?;
            }
        }
        let datapath = self.instances.get_mut(HOST_INSTANCE).expect("loaded above");
        let mut attached = Vec::new();
        let mut failure = None;
        'ports: for port in &config.ports {
            let point = point(netns_name.as_ref(), &config.name, &port.name);
            for (program, direction) in [
                (PROG_STP_PORT_IN, TcAttachType::Ingress),
                (PROG_STP_PORT_OUT, TcAttachType::Egress),
            ] {
                match datapath.attach_program_at(program, &point, netns.as_ref(), direction) {
                    Ok(_) => attached.push((program, point.clone())),
                    Err(err) => {
                        failure = Some(err);
                        break 'ports;
                    }
                }
            }
        }
        let spawned = match failure {
            Some(err) => Err(StpStartError::from(err)),
            None => {
                StpDriver::spawn(config.clone(), netns_name, netns.as_ref(), maps.clone(), resume)
                    .map_err(StpStartError::from)
            }
        };
        if spawned.is_err() {
            for (program, point) in &attached {
                if let Err(err) = datapath.detach_program(program, point) {
                    tracing::warn!(%err, program, "cannot detach");
                }
            }
            for ifindex in &ifindexes {
                let _ = maps.remove(*ifindex);
            }
        }
        spawned
    }

    async fn stop_stp_bridge(&mut self, name: &str) {
        let Some(driver) = self.stp.remove(name) else { return };
        let (config, netns) = (driver.config.clone(), driver.netns.clone());
        driver.stop(STP_STOP_TIMEOUT).await;
        let maps = PortMaps::new(&self.config.instance_pin_dir(HOST_INSTANCE));
        if let Some(datapath) = self.instances.get_mut(HOST_INSTANCE) {
            for port in &config.ports {
                let point = point(netns.as_ref(), &config.name, &port.name);
                let ifindex = datapath
                    .ports()
                    .iter()
                    .find(|attached| attached.point == point)
                    .map(|attached| attached.ifindex);
                for program in [PROG_STP_PORT_IN, PROG_STP_PORT_OUT] {
                    if let Err(err) = datapath.detach_program(program, &point) {
                        tracing::warn!(bridge = %config.name, port = %port.name, %err, program, "cannot detach");
                    }
                }
                if let Some(ifindex) = ifindex {
                    if let Err(err) = maps.remove(ifindex) {
                        tracing::warn!(bridge = %config.name, port = %port.name, %err, "map entry not removed");
                    }
                }
            }
        }
        // The host instance stays loaded only if it has other ports.
        if self.instances.get(HOST_INSTANCE).is_some_and(|datapath| datapath.ports().is_empty())
            && self.vxlan.is_none()
        {
            self.instances.remove(HOST_INSTANCE);
            if let Err(err) = pins::remove_pins(&self.config.instance_pin_dir(HOST_INSTANCE)) {
                tracing::warn!(%err, "cannot remove pins");
            }
        }
        tracing::info!(bridge = %config.name, "stp bridge released");
    }

    /// Stops every bridge (daemon shutdown).
    pub(super) async fn stop_stp(&mut self) {
        let names: Vec<String> = self.stp.keys().cloned().collect();
        for name in names {
            self.stop_stp_bridge(&name).await;
        }
    }

    /// What `halb stp show` prints: every configured bridge, running or not.
    pub(super) fn stp_reports(&self) -> Vec<StpReport> {
        let configured = self.config.host.iter().flat_map(|host| host.bridges.iter());
        configured
            .map(|bridge| {
                if let Some(driver) = self.stp.get(&bridge.name) {
                    return driver.report();
                }
                let snapshot = Snapshot {
                    state: "not running (see the daemon's log)".to_owned(),
                    ..Snapshot::starting()
                };
                stp_report::report(&bridge.name, &snapshot, std::time::Instant::now(), |_| None)
            })
            .collect()
    }
}
