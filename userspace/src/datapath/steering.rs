//! VIP steering in the datapath: loading the `SK_LOOKUP` program and
//! attaching it to a balancer's network namespace ([`Datapath`]), and its
//! tables reached through the instance's pins ([`SteeringMaps`]): the
//! frontend keys and listening sockets the daemon fills from a
//! [`SteeringPlan`], VIP ownership the VRRP drivers write, and the
//! counters.
//!
//! `SK_LOOKUP` links are owned by their file descriptor, like TCX links: if
//! the daemon dies, the kernel detaches the program.

use std::{
    collections::BTreeSet,
    net::Ipv4Addr,
    os::fd::AsRawFd,
    path::{Path, PathBuf},
};

use aya::maps::{HashMap, Map, MapData, MapError, PerCpuArray, SockMap};
use aya::programs::SkLookup;
use halb_common::{
    names::{
        MAP_STEERING_COUNTERS, MAP_STEERING_FRONTENDS, MAP_STEERING_OWNERSHIP,
        MAP_STEERING_SOCKETS, PROG_VIP_STEERING,
    },
    steering::{SteeringCounters, SteeringKey, NOT_OWNED, OWNED, STEERING_MAX_FRONTENDS},
};

use super::{Datapath, DatapathError};
use crate::{netns::Netns, steering::SteeringPlan};

/// `BPF_NOEXIST`: insert only if the key is absent.
const BPF_NOEXIST: u64 = 1;
/// `BPF_EXIST`: update only if the key is present.
const BPF_EXIST: u64 = 2;

impl Datapath {
    /// Loads (once) and attaches `vip_steering` to `netns`; attached
    /// already is fine. Fails on a kernel without `SK_LOOKUP` (< 5.9).
    pub fn attach_steering(&mut self, netns: &Netns) -> Result<(), DatapathError> {
        if self.steering_link.is_some() {
            return Ok(());
        }
        let name = PROG_VIP_STEERING;
        let program = self.load_steering()?;
        let link =
            program.attach(netns.file()).map_err(|cause| DatapathError::Program { name, cause })?;
        self.steering_link = Some(link);
        tracing::info!(netns = %netns.name(), program = name, "attached at sk_lookup");
        Ok(())
    }

    /// Loads `vip_steering` into the kernel (once), not attached: e.g. for
    /// `BPF_PROG_TEST_RUN`.
    pub fn load_steering(&mut self) -> Result<&mut SkLookup, DatapathError> {
        let name = PROG_VIP_STEERING;
        let program = sk_lookup_mut(self.ebpf_mut())?;
        if program.fd().is_err() {
            program.load().map_err(|cause| DatapathError::Program { name, cause })?;
        }
        Ok(program)
    }

    /// Detaches `vip_steering`; not attached is fine.
    pub fn detach_steering(&mut self) -> Result<(), DatapathError> {
        let Some(link) = self.steering_link.take() else { return Ok(()) };
        let name = PROG_VIP_STEERING;
        sk_lookup_mut(self.ebpf_mut())?
            .detach(link)
            .map_err(|cause| DatapathError::Program { name, cause })?;
        tracing::info!(program = name, "detached from sk_lookup");
        Ok(())
    }

    /// The kernel id of the attached steering program.
    #[must_use]
    pub fn steering_program_id(&self) -> Option<u32> {
        self.steering_link.as_ref()?;
        let program: &SkLookup = self.ebpf().program(PROG_VIP_STEERING)?.try_into().ok()?;
        program.info().ok().map(|info| info.id())
    }
}

fn sk_lookup_mut(ebpf: &mut aya::Ebpf) -> Result<&mut SkLookup, DatapathError> {
    let name = PROG_VIP_STEERING;
    ebpf.program_mut(name)
        .ok_or(DatapathError::MissingProgram(name))?
        .try_into()
        .map_err(|cause| DatapathError::Program { name, cause })
}

/// The steering tables of one datapath instance, through its pins.
#[derive(Clone, Debug)]
pub struct SteeringMaps {
    pin_dir: PathBuf,
}

impl SteeringMaps {
    #[must_use]
    pub fn new(pin_dir: &Path) -> Self {
        Self { pin_dir: pin_dir.to_owned() }
    }

    fn map(&self, name: &str) -> Result<MapData, DatapathError> {
        MapData::from_pin(self.pin_dir.join(name))
            .map_err(|cause| DatapathError::Map { map: name.to_owned(), cause })
    }

    fn frontends(&self) -> Result<HashMap<MapData, SteeringKey, u32>, DatapathError> {
        let data = self.map(MAP_STEERING_FRONTENDS)?;
        HashMap::try_from(Map::HashMap(data)).map_err(map_error(MAP_STEERING_FRONTENDS))
    }

    fn ownership(&self) -> Result<HashMap<MapData, [u8; 4], u32>, DatapathError> {
        let data = self.map(MAP_STEERING_OWNERSHIP)?;
        HashMap::try_from(Map::HashMap(data)).map_err(map_error(MAP_STEERING_OWNERSHIP))
    }

    fn sockets(&self) -> Result<SockMap<MapData>, DatapathError> {
        let data = self.map(MAP_STEERING_SOCKETS)?;
        SockMap::try_from(Map::SockMap(data)).map_err(map_error(MAP_STEERING_SOCKETS))
    }

    fn counters(&self) -> Result<PerCpuArray<MapData, SteeringCounters>, DatapathError> {
        let data = self.map(MAP_STEERING_COUNTERS)?;
        PerCpuArray::try_from(Map::PerCpuArray(data)).map_err(map_error(MAP_STEERING_COUNTERS))
    }

    /// Makes the tables say what `plan` says: its keys only, no sockets
    /// (the caller inserts the new listeners), counters from zero, and an
    /// ownership entry for each of its VIPs: new ones not owned, existing
    /// ones as the VRRP driver last wrote them; others removed.
    pub fn apply(&self, plan: &SteeringPlan) -> Result<(), DatapathError> {
        let mut frontends = self.frontends()?;
        let wanted: BTreeSet<SteeringKey> = plan
            .frontends
            .iter()
            .flat_map(|f| f.keys.iter().map(|key| SteeringKey::tcp(key.ip().octets(), key.port())))
            .collect();
        let stale: Vec<SteeringKey> =
            frontends.keys().filter_map(Result::ok).filter(|key| !wanted.contains(key)).collect();
        for key in stale {
            frontends.remove(&key).map_err(map_error(MAP_STEERING_FRONTENDS))?;
        }
        for frontend in &plan.frontends {
            for key in &frontend.keys {
                let key = SteeringKey::tcp(key.ip().octets(), key.port());
                frontends
                    .insert(key, frontend.slot, 0)
                    .map_err(map_error(MAP_STEERING_FRONTENDS))?;
            }
        }
        self.clear_sockets()?;
        let mut counters = self.counters()?;
        let cpus = aya::util::nr_cpus().map_err(|(_, cause)| DatapathError::Io {
            path: PathBuf::from("/sys/devices/system/cpu/possible"),
            cause,
        })?;
        for slot in 0..STEERING_MAX_FRONTENDS {
            let zero = aya::maps::PerCpuValues::try_from(vec![SteeringCounters::default(); cpus])
                .map_err(|cause| DatapathError::Io { path: self.pin_dir.clone(), cause })?;
            counters.set(slot, zero, 0).map_err(map_error(MAP_STEERING_COUNTERS))?;
        }
        let mut ownership = self.ownership()?;
        let vips: BTreeSet<[u8; 4]> = plan.vips.iter().map(Ipv4Addr::octets).collect();
        let stale: Vec<[u8; 4]> =
            ownership.keys().filter_map(Result::ok).filter(|vip| !vips.contains(vip)).collect();
        for vip in stale {
            ownership.remove(&vip).map_err(map_error(MAP_STEERING_OWNERSHIP))?;
        }
        for vip in vips {
            match ownership.insert(vip, NOT_OWNED, BPF_NOEXIST) {
                Ok(()) => {}
                Err(MapError::SyscallError(err))
                    if err.io_error.raw_os_error() == Some(libc::EEXIST) => {}
                Err(cause) => return Err(map_error(MAP_STEERING_OWNERSHIP)(cause)),
            }
        }
        Ok(())
    }

    /// Puts `listener` in `slot`: from now on its frontend's connections go to it.
    pub fn set_socket(&self, slot: u32, listener: &impl AsRawFd) -> Result<(), DatapathError> {
        self.sockets()?.set(slot, listener, 0).map_err(map_error(MAP_STEERING_SOCKETS))
    }

    /// Empties every socket slot (connections fall back to the normal lookup).
    pub fn clear_sockets(&self) -> Result<(), DatapathError> {
        let mut sockets = self.sockets()?;
        for slot in 0..STEERING_MAX_FRONTENDS {
            match sockets.clear_index(&slot) {
                Ok(()) => {}
                // An empty slot answers EINVAL (sock_map_delete_elem).
                Err(MapError::SyscallError(err))
                    if matches!(err.io_error.raw_os_error(), Some(libc::EINVAL | libc::ENOENT)) => {
                }
                Err(cause) => return Err(map_error(MAP_STEERING_SOCKETS)(cause)),
            }
        }
        Ok(())
    }

    /// Records whether this balancer owns `vip` (a VRRP driver's state).
    /// Only an existing entry changes: [`Self::apply`] decides which
    /// addresses are VIPs.
    pub fn set_owned(&self, vip: Ipv4Addr, owned: bool) -> Result<(), DatapathError> {
        let value = if owned { OWNED } else { NOT_OWNED };
        self.ownership()?
            .insert(vip.octets(), value, BPF_EXIST)
            .map_err(map_error(MAP_STEERING_OWNERSHIP))
    }

    /// Every ownership entry, by address.
    pub fn owned(&self) -> Result<Vec<(Ipv4Addr, bool)>, DatapathError> {
        let ownership = self.ownership()?;
        let mut entries = Vec::new();
        for entry in &ownership {
            let (vip, value) = entry.map_err(map_error(MAP_STEERING_OWNERSHIP))?;
            entries.push((Ipv4Addr::from(vip), value != NOT_OWNED));
        }
        entries.sort();
        Ok(entries)
    }

    /// The counters of `slot`, summed over CPUs.
    pub fn slot_counters(&self, slot: u32) -> Result<SteeringCounters, DatapathError> {
        let values = self.counters()?.get(&slot, 0).map_err(map_error(MAP_STEERING_COUNTERS))?;
        Ok(values.iter().fold(SteeringCounters::default(), |sum, cpu| SteeringCounters {
            steered: sum.steered + cpu.steered,
            no_socket: sum.no_socket + cpu.no_socket,
            refused: sum.refused + cpu.refused,
            assign_failed: sum.assign_failed + cpu.assign_failed,
        }))
    }
}

fn map_error(map: &'static str) -> impl Fn(MapError) -> DatapathError {
    move |cause| DatapathError::Map { map: map.to_owned(), cause }
}
