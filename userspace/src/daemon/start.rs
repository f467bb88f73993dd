//! Start-up, status, reload and shutdown of the datapath side of the daemon.
//!
//! The daemon runs one datapath instance per network namespace it serves
//! (`host`, and one per balancer): interface indexes, the keys of the
//! counters, are only unique inside a namespace.

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    path::PathBuf,
    time::{SystemTime, UNIX_EPOCH},
};

use halb_common::names::PROG_PORT_CLASSIFIER;

use super::{Daemon, DaemonError};
use crate::{
    config::{self, AttachPoint, Config, Overrides},
    control::{self, DaemonStatus, PortStatus, ProgramStatus},
    datapath::{counters, pins, Datapath},
    netns::Netns,
};

impl Daemon {
    /// Checks the environment, loads one datapath instance per namespace,
    /// attaches it to every configured interface and pins its maps. On any
    /// error, whatever was done is undone before returning.
    pub fn start(
        config: Config,
        config_path: PathBuf,
        overrides: Overrides,
    ) -> Result<Self, DaemonError> {
        pins::check_bpffs(&config.bpffs)?;
        let socket = config.socket_path();
        if control::daemon_alive(&socket) {
            return Err(DaemonError::AlreadyRunning { node: config.node.clone(), socket });
        }
        let namespaces = open_namespaces(&config)?;
        let pin_dir = config.pin_dir();
        if pin_dir.exists() {
            tracing::warn!(
                pin_dir = %pin_dir.display(),
                "removing pins left by a daemon that did not stop cleanly"
            );
            pins::remove_node_pins(&pin_dir)?;
        }
        let mut daemon = Self::idle(
            config,
            config_path,
            overrides,
            namespaces,
            super::handover_state::Takeover::default(),
        );
        let points = daemon.config.attach_points();
        if let Err(err) = daemon.attach_points(&points) {
            daemon.release();
            return Err(err);
        }
        Ok(daemon)
    }

    /// A daemon with nothing loaded or running yet.
    pub(super) fn idle(
        config: Config,
        config_path: PathBuf,
        overrides: Overrides,
        namespaces: HashMap<String, Netns>,
        takeover: super::handover_state::Takeover,
    ) -> Self {
        let started_unix_secs =
            SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_secs());
        Self {
            config,
            config_path,
            overrides,
            instances: BTreeMap::new(),
            namespaces,
            vrrp: BTreeMap::new(),
            vxlan: None,
            stp: BTreeMap::new(),
            proxies: BTreeMap::new(),
            proxy_generation: 0,
            started_unix_secs,
            binary: std::env::current_exe().unwrap_or_else(|_| PathBuf::from("halb")),
            status_listener: None,
            takeover,
        }
    }

    /// Attaches `points`, loading and pinning instances that do not exist
    /// yet. Stops at the first error (the caller undoes).
    pub(super) fn attach_points(&mut self, points: &[AttachPoint]) -> Result<(), DaemonError> {
        for point in points {
            self.ensure_instance(&point.instance)?;
            let netns = point.netns.as_ref().map(|name| &self.namespaces[name]);
            let datapath = self.instances.get_mut(&point.instance).expect("inserted above");
            datapath.attach(point, netns)?;
        }
        Ok(())
    }

    /// Loads the datapath instance `instance` and pins its maps, unless it is loaded.
    pub(super) fn ensure_instance(
        &mut self,
        instance: &str,
    ) -> Result<(), crate::datapath::DatapathError> {
        if !self.instances.contains_key(instance) {
            let dir = self.config.instance_pin_dir(instance);
            let datapath = Datapath::load_pinned(self.config.log_level, &dir)?;
            tracing::info!(instance, pin_dir = %dir.display(), "datapath loaded, maps pinned");
            self.instances.insert(instance.to_owned(), datapath);
        }
        Ok(())
    }

    #[must_use]
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// What the daemon does now, with live counters from its pins.
    #[must_use]
    pub fn status(&self) -> DaemonStatus {
        let order = self.config.attach_points();
        let mut ports = Vec::new();
        let mut programs = Vec::new();
        let mut pinned_maps = Vec::new();
        for (instance, datapath) in &self.instances {
            let dir = self.config.instance_pin_dir(instance);
            let counters = counters::read_pinned(&dir).unwrap_or_else(|err| {
                tracing::warn!(%instance, %err, "cannot read counters");
                counters::CounterTable::new()
            });
            let id = datapath
                .classifier()
                .ok()
                .and_then(|program| program.info().ok())
                .map_or(0, |info| info.id());
            programs.push(ProgramStatus {
                name: PROG_PORT_CLASSIFIER.to_owned(),
                instance: instance.clone(),
                id,
                attach: "tcx ingress".to_owned(),
            });
            pinned_maps.extend(
                halb_common::names::PINNED_MAPS
                    .iter()
                    .map(|map| pins::map_pin_path(&dir, map).display().to_string()),
            );
            ports.extend(
                datapath.ports().iter().filter(|port| port.program == PROG_PORT_CLASSIFIER).map(
                    |port| PortStatus {
                        role: port.point.role.clone(),
                        instance: instance.clone(),
                        netns: port.point.netns.clone(),
                        interface: port.point.interface.clone(),
                        ifindex: port.ifindex,
                        program: PROG_PORT_CLASSIFIER.to_owned(),
                        program_id: id,
                        counters: counters.get(&port.ifindex).cloned().unwrap_or_default(),
                    },
                ),
            );
        }
        ports.sort_by_key(|port| {
            order.iter().position(|point| {
                point.instance == port.instance && point.interface == port.interface
            })
        });
        let steering = self
            .proxies
            .iter()
            .filter_map(|(balancer, host)| {
                let program_id = self
                    .instances
                    .get(balancer)
                    .and_then(Datapath::steering_program_id)
                    .unwrap_or(0);
                Some(host.steering.as_ref()?.balancer_report(balancer, program_id))
            })
            .collect();
        DaemonStatus {
            node: self.config.node.clone(),
            pid: std::process::id(),
            config: self.config_path.display().to_string(),
            started_unix_secs: self.started_unix_secs,
            pin_dir: self.config.pin_dir().display().to_string(),
            pinned_maps,
            programs,
            ports,
            steering,
        }
    }

    /// Re-reads the config file and applies interface changes: attaches to
    /// new interfaces (loading instances for new balancers), detaches from
    /// removed ones (unloading instances left without interfaces). Keys that
    /// need a restart (`node`, `bpffs`, `run_dir`, `log_level`, `status_bind`) are refused and
    /// nothing changes.
    pub fn reload(&mut self) -> Result<(Vec<String>, Vec<String>), DaemonError> {
        let new = config::load(&self.config_path)?.with_overrides(&self.overrides);
        for (key, same) in [
            ("daemon.node", new.node == self.config.node),
            ("daemon.bpffs", new.bpffs == self.config.bpffs),
            ("daemon.run_dir", new.run_dir == self.config.run_dir),
            ("daemon.log_level", new.log_level == self.config.log_level),
            ("daemon.status_bind", new.status_bind == self.config.status_bind),
        ] {
            if !same {
                return Err(DaemonError::RestartNeeded { key });
            }
        }
        let old_points: HashSet<AttachPoint> = self.config.attach_points().into_iter().collect();
        let new_points = new.attach_points();
        let new_set: HashSet<&AttachPoint> = new_points.iter().collect();
        let added: Vec<_> =
            new_points.iter().filter(|point| !old_points.contains(point)).cloned().collect();
        let removed: Vec<_> =
            old_points.iter().filter(|point| !new_set.contains(point)).cloned().collect();

        // Open what the new config needs, keep what both use.
        let mut namespaces = open_namespaces(&new)?;
        for (name, netns) in self.namespaces.drain() {
            namespaces.entry(name).or_insert(netns);
        }
        self.namespaces = namespaces;
        let instances_before: HashSet<String> = self.instances.keys().cloned().collect();

        // Attach first: if an added interface fails, undo the additions and
        // keep running on the old config.
        if let Err(err) = self.attach_points(&added) {
            for point in &added {
                if let Some(datapath) = self.instances.get_mut(&point.instance) {
                    let _ = datapath.detach(point);
                }
            }
            self.drop_instances(|name, _| !instances_before.contains(name));
            return Err(err);
        }
        for point in &removed {
            if let Some(datapath) = self.instances.get_mut(&point.instance) {
                datapath.detach(point)?;
            }
        }
        self.drop_instances(|_, datapath| datapath.ports().is_empty());
        let used: HashSet<String> = new_points.iter().filter_map(|p| p.netns.clone()).collect();
        self.namespaces.retain(|name, _| used.contains(name));
        self.config = new;
        let describe = |points: &[AttachPoint]| {
            points.iter().map(|point| format!("{} {}", point.role, point.interface)).collect()
        };
        Ok((describe(&added), describe(&removed)))
    }

    /// Unloads the instances `doomed` selects: detach, unpin, drop.
    fn drop_instances(&mut self, doomed: impl Fn(&str, &Datapath) -> bool) {
        let names: Vec<String> = self
            .instances
            .iter()
            .filter(|(name, datapath)| doomed(name, datapath))
            .map(|(name, _)| name.clone())
            .collect();
        for name in names {
            if let Some(mut datapath) = self.instances.remove(&name) {
                let _ = datapath.detach_all();
            }
            if let Err(err) = pins::remove_pins(&self.config.instance_pin_dir(&name)) {
                tracing::warn!(instance = %name, %err, "cannot remove pins");
            }
            tracing::info!(instance = %name, "datapath instance unloaded");
        }
    }

    /// Detaches every program and removes the pins; after a takeover that
    /// failed, or a handover that succeeded, leaves both to the other
    /// process.
    pub fn shutdown(mut self) -> Result<(), DaemonError> {
        if self.takeover.taking_over || self.takeover.handed_over {
            self.abandon_takeover();
            tracing::info!(node = %self.config.node, "datapath left to the other daemon");
            return Ok(());
        }
        let mut first_error = None;
        for datapath in self.instances.values_mut() {
            if let Err(err) = datapath.detach_all() {
                first_error.get_or_insert(DaemonError::from(err));
            }
        }
        self.instances.clear();
        if let Err(err) = pins::remove_node_pins(&self.config.pin_dir()) {
            first_error.get_or_insert(err.into());
        }
        tracing::info!(node = %self.config.node, "datapath detached, pins removed");
        first_error.map_or(Ok(()), Err)
    }

    /// Best-effort undo after a failed start.
    fn release(&mut self) {
        for datapath in self.instances.values_mut() {
            let _ = datapath.detach_all();
        }
        self.instances.clear();
        let _ = pins::remove_node_pins(&self.config.pin_dir());
    }

    /// The datapath instances (for the eBPF log forwarder).
    pub(super) fn instances_mut(&mut self) -> impl Iterator<Item = (&String, &mut Datapath)> {
        self.instances.iter_mut()
    }
}

/// Opens every named namespace of the config, so a missing one fails
/// before anything is loaded.
pub(super) fn open_namespaces(config: &Config) -> Result<HashMap<String, Netns>, DaemonError> {
    let mut namespaces = HashMap::new();
    for point in config.attach_points() {
        if let Some(name) = point.netns {
            if let std::collections::hash_map::Entry::Vacant(slot) = namespaces.entry(name) {
                let netns = Netns::open(slot.key())?;
                slot.insert(netns);
            }
        }
    }
    Ok(namespaces)
}
