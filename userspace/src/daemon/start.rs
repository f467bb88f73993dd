//! Start-up, reload and shutdown of the datapath side of the daemon.

use std::{
    collections::{HashMap, HashSet},
    path::PathBuf,
    time::{SystemTime, UNIX_EPOCH},
};

use halb_common::names::PROG_PORT_CLASSIFIER;

use super::{Daemon, DaemonError};
use crate::{
    config::{self, AttachPoint, Config},
    control::{self, DaemonStatus, PortStatus, ProgramStatus},
    datapath::{counters, pins, Datapath},
    netns::Netns,
};

impl Daemon {
    /// Checks the environment, loads the datapath, attaches it to every
    /// configured interface and pins its maps. On any error, whatever was
    /// done is undone before returning.
    pub fn start(config: Config, config_path: PathBuf) -> Result<Self, DaemonError> {
        pins::check_bpffs(&config.bpffs)?;
        let socket = config.socket_path();
        if control::daemon_alive(&socket) {
            return Err(DaemonError::AlreadyRunning {
                node: config.node.clone(),
                socket,
            });
        }
        let namespaces = open_namespaces(&config)?;
        let pin_dir = config.pin_dir();
        if pin_dir.exists() {
            tracing::warn!(
                pin_dir = %pin_dir.display(),
                "removing pins left by a daemon that did not stop cleanly"
            );
            pins::remove_pins(&pin_dir)?;
        }
        let datapath = Datapath::load(config.log_level)?;
        let started_unix_secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_secs());
        let mut daemon = Self {
            config,
            config_path,
            datapath,
            namespaces,
            pinned: Vec::new(),
            started_unix_secs,
        };
        if let Err(err) = daemon.attach_and_pin() {
            daemon.release();
            return Err(err);
        }
        Ok(daemon)
    }

    fn attach_and_pin(&mut self) -> Result<(), DaemonError> {
        for point in self.config.attach_points() {
            let netns = point.netns.as_ref().map(|name| &self.namespaces[name]);
            self.datapath.attach(&point, netns)?;
        }
        self.pinned = pins::pin_maps(self.datapath.ebpf(), &self.config.pin_dir())?;
        tracing::info!(
            pin_dir = %self.config.pin_dir().display(),
            maps = self.pinned.len(),
            "maps pinned"
        );
        Ok(())
    }

    #[must_use]
    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn datapath_mut(&mut self) -> &mut Datapath {
        &mut self.datapath
    }

    /// What the daemon does now, with live counters from its pins.
    #[must_use]
    pub fn status(&self) -> DaemonStatus {
        let counters = counters::read_pinned(&self.config.pin_dir()).unwrap_or_else(|err| {
            tracing::warn!(%err, "cannot read counters");
            counters::CounterTable::new()
        });
        let program_id = self
            .datapath
            .classifier()
            .ok()
            .and_then(|program| program.info().ok())
            .map_or(0, |info| info.id());
        let ports = self
            .datapath
            .ports()
            .iter()
            .map(|port| PortStatus {
                role: port.point.role.clone(),
                netns: port.point.netns.clone(),
                interface: port.point.interface.clone(),
                ifindex: port.ifindex,
                netns_cookie: port.netns_cookie,
                program: PROG_PORT_CLASSIFIER.to_owned(),
                counters: counters
                    .get(&(port.netns_cookie, port.ifindex))
                    .cloned()
                    .unwrap_or_default(),
            })
            .collect();
        DaemonStatus {
            node: self.config.node.clone(),
            pid: std::process::id(),
            config: self.config_path.display().to_string(),
            started_unix_secs: self.started_unix_secs,
            pin_dir: self.config.pin_dir().display().to_string(),
            pinned_maps: self
                .pinned
                .iter()
                .map(|path| path.display().to_string())
                .collect(),
            programs: vec![ProgramStatus {
                name: PROG_PORT_CLASSIFIER.to_owned(),
                id: program_id,
                attach: "tcx ingress".to_owned(),
            }],
            ports,
        }
    }

    /// Re-reads the config file and applies interface changes: attaches to
    /// new interfaces, detaches from removed ones. Keys that need a restart
    /// (node, bpffs, run_dir) are refused and nothing changes.
    pub fn reload(&mut self) -> Result<(Vec<String>, Vec<String>), DaemonError> {
        let new = config::load(&self.config_path)?;
        for (key, same) in [
            ("daemon.node", new.node == self.config.node),
            ("daemon.bpffs", new.bpffs == self.config.bpffs),
            ("daemon.run_dir", new.run_dir == self.config.run_dir),
        ] {
            if !same {
                return Err(DaemonError::Reload(format!(
                    "config key `{key}` changed; it takes a restart"
                )));
            }
        }
        let new_namespaces = open_namespaces(&new)?;
        let old_points: HashSet<AttachPoint> = self.config.attach_points().into_iter().collect();
        let new_points = new.attach_points();
        let added: Vec<_> = new_points
            .iter()
            .filter(|point| !old_points.contains(point))
            .cloned()
            .collect();
        let new_set: HashSet<&AttachPoint> = new_points.iter().collect();
        let removed: Vec<_> = old_points
            .iter()
            .filter(|point| !new_set.contains(point))
            .cloned()
            .collect();
        // Attach first: if an added interface fails, undo the additions and
        // keep running on the old config.
        let mut done = Vec::new();
        for point in &added {
            let netns = point.netns.as_ref().map(|name| &new_namespaces[name]);
            if let Err(err) = self.datapath.attach(point, netns) {
                for undo in &done {
                    let _ = self.datapath.detach(undo);
                }
                return Err(err.into());
            }
            done.push(point.clone());
        }
        for point in &removed {
            self.datapath.detach(point)?;
        }
        self.namespaces = new_namespaces;
        self.config = new;
        let describe = |points: &[AttachPoint]| {
            points
                .iter()
                .map(|point| format!("{} {}", point.role, point.interface))
                .collect()
        };
        Ok((describe(&added), describe(&removed)))
    }

    /// Detaches every program and removes the pins.
    pub fn shutdown(mut self) -> Result<(), DaemonError> {
        let detached = self.datapath.detach_all();
        let unpinned = pins::remove_pins(&self.config.pin_dir());
        tracing::info!(node = %self.config.node, "datapath detached, pins removed");
        detached?;
        unpinned?;
        Ok(())
    }

    /// Best-effort undo after a failed start.
    fn release(&mut self) {
        let _ = self.datapath.detach_all();
        let _ = pins::remove_pins(&self.config.pin_dir());
    }
}

/// Opens every named namespace of the config, so a missing one fails the
/// start before anything is loaded.
fn open_namespaces(config: &Config) -> Result<HashMap<String, Netns>, DaemonError> {
    let mut namespaces = HashMap::new();
    for point in config.attach_points() {
        if let Some(name) = point.netns {
            if !namespaces.contains_key(&name) {
                let netns = Netns::open(&name)?;
                namespaces.insert(name, netns);
            }
        }
    }
    Ok(namespaces)
}
