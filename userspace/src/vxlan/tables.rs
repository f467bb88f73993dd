//! The VXLAN programs' maps, opened from the daemon's pins
//! (`<bpffs>/halb/<node>/host/VXLAN_*`): configuration, remote VTEPs, the
//! forwarding table and the counters.
//!
//! Writes are ordered so the programs never see a half-applied change:
//! remote slots before the count that makes them valid, the membership set
//! after the slots.

use std::{
    collections::BTreeMap,
    net::Ipv4Addr,
    path::{Path, PathBuf},
};

use aya::maps::{Array, HashMap, Map, MapData, MapError, PerCpuArray};
use halb_common::{
    names::{
        MAP_VXLAN_CONFIG, MAP_VXLAN_DROPS, MAP_VXLAN_FDB, MAP_VXLAN_REMOTES, MAP_VXLAN_REMOTE_SET,
        MAP_VXLAN_STATS,
    },
    vxlan::{
        VxlanConfig, VxlanDropReason, VxlanEvent, VxlanFdbEntry, VxlanMac, VxlanRemote,
        VXLAN_MAX_REMOTES,
    },
    TrafficCounter,
};

use super::fdb::Mac;
use crate::datapath::counters::Counter;

#[derive(Debug, thiserror::Error)]
pub enum TablesError {
    #[error("VXLAN map {map} ({path}): {cause}")]
    Map { map: &'static str, path: PathBuf, cause: MapError },
    #[error("{count} remote VTEPs; at most {VXLAN_MAX_REMOTES} are supported")]
    TooManyRemotes { count: usize },
}

/// Counters by name, summed over CPUs.
pub type CounterMap = BTreeMap<String, Counter>;

/// The VXLAN maps of one datapath instance.
pub struct Tables {
    dir: PathBuf,
}

impl Tables {
    /// The maps pinned under `dir` (checked on first use).
    #[must_use]
    pub fn new(dir: &Path) -> Self {
        Self { dir: dir.to_owned() }
    }

    fn open(&self, map: &'static str) -> Result<MapData, TablesError> {
        let path = self.dir.join(map);
        MapData::from_pin(&path).map_err(|cause| TablesError::Map { map, path, cause })
    }

    fn error(&self, map: &'static str) -> impl Fn(MapError) -> TablesError + '_ {
        move |cause| TablesError::Map { map, path: self.dir.join(map), cause }
    }

    pub fn config(&self) -> Result<VxlanConfig, TablesError> {
        let array: Array<MapData, VxlanConfig> =
            Array::try_from(Map::Array(self.open(MAP_VXLAN_CONFIG)?))
                .map_err(self.error(MAP_VXLAN_CONFIG))?;
        array.get(&0, 0).map_err(self.error(MAP_VXLAN_CONFIG))
    }

    pub fn write_config(&self, config: &VxlanConfig) -> Result<(), TablesError> {
        let mut array: Array<MapData, VxlanConfig> =
            Array::try_from(Map::Array(self.open(MAP_VXLAN_CONFIG)?))
                .map_err(self.error(MAP_VXLAN_CONFIG))?;
        array.set(0, config, 0).map_err(self.error(MAP_VXLAN_CONFIG))
    }

    /// Writes the remote slots and the membership set; the caller then
    /// writes the config with `remote_count = remotes.len()`.
    pub fn write_remotes(&self, remotes: &[Ipv4Addr]) -> Result<(), TablesError> {
        if remotes.len() > VXLAN_MAX_REMOTES as usize {
            return Err(TablesError::TooManyRemotes { count: remotes.len() });
        }
        let mut slots: Array<MapData, VxlanRemote> =
            Array::try_from(Map::Array(self.open(MAP_VXLAN_REMOTES)?))
                .map_err(self.error(MAP_VXLAN_REMOTES))?;
        for slot in 0..VXLAN_MAX_REMOTES {
            let addr = remotes.get(slot as usize).map_or([0; 4], Ipv4Addr::octets);
            slots.set(slot, VxlanRemote { addr }, 0).map_err(self.error(MAP_VXLAN_REMOTES))?;
        }
        let mut set: HashMap<MapData, [u8; 4], u32> =
            HashMap::try_from(Map::HashMap(self.open(MAP_VXLAN_REMOTE_SET)?))
                .map_err(self.error(MAP_VXLAN_REMOTE_SET))?;
        let present: Vec<[u8; 4]> = set.keys().filter_map(Result::ok).collect();
        for addr in present {
            if !remotes.contains(&Ipv4Addr::from(addr)) {
                set.remove(&addr).map_err(self.error(MAP_VXLAN_REMOTE_SET))?;
            }
        }
        for (slot, remote) in (0u32..).zip(remotes) {
            set.insert(remote.octets(), slot, 0).map_err(self.error(MAP_VXLAN_REMOTE_SET))?;
        }
        Ok(())
    }

    fn fdb_map(&self) -> Result<HashMap<MapData, VxlanMac, VxlanFdbEntry>, TablesError> {
        HashMap::try_from(Map::HashMap(self.open(MAP_VXLAN_FDB)?))
            .map_err(self.error(MAP_VXLAN_FDB))
    }

    /// Every forwarding entry.
    pub fn fdb(&self) -> Result<BTreeMap<Mac, VxlanFdbEntry>, TablesError> {
        let map = self.fdb_map()?;
        let mut entries = BTreeMap::new();
        for item in &map {
            let (key, entry) = item.map_err(self.error(MAP_VXLAN_FDB))?;
            entries.insert(Mac(key.addr), entry);
        }
        Ok(entries)
    }

    pub fn fdb_insert(&self, mac: Mac, entry: VxlanFdbEntry) -> Result<(), TablesError> {
        self.fdb_map()?.insert(mac.key(), entry, 0).map_err(self.error(MAP_VXLAN_FDB))
    }

    /// Removes an entry; absent is fine.
    pub fn fdb_remove(&self, mac: Mac) -> Result<(), TablesError> {
        match self.fdb_map()?.remove(&mac.key()) {
            Ok(()) | Err(MapError::KeyNotFound) => Ok(()),
            Err(MapError::SyscallError(err))
                if err.io_error.raw_os_error() == Some(libc::ENOENT) =>
            {
                Ok(())
            }
            Err(cause) => Err(self.error(MAP_VXLAN_FDB)(cause)),
        }
    }

    /// Events and drops by name, summed over CPUs.
    pub fn counters(&self) -> Result<(CounterMap, CounterMap), TablesError> {
        let events = self.sum(
            MAP_VXLAN_STATS,
            VxlanEvent::ALL.iter().map(|event| (*event as u32, event.name())),
        )?;
        let drops = self.sum(
            MAP_VXLAN_DROPS,
            VxlanDropReason::ALL.iter().map(|reason| (*reason as u32, reason.name())),
        )?;
        Ok((events, drops))
    }

    fn sum(
        &self,
        map: &'static str,
        slots: impl Iterator<Item = (u32, &'static str)>,
    ) -> Result<BTreeMap<String, Counter>, TablesError> {
        let array: PerCpuArray<MapData, TrafficCounter> =
            PerCpuArray::try_from(Map::PerCpuArray(self.open(map)?)).map_err(self.error(map))?;
        let mut sums = BTreeMap::new();
        for (index, name) in slots {
            let values = array.get(&index, 0).map_err(self.error(map))?;
            let total = values.iter().fold(Counter::default(), |sum, cpu| Counter {
                packets: sum.packets + cpu.packets,
                bytes: sum.bytes + cpu.bytes,
            });
            sums.insert(name.to_owned(), total);
        }
        Ok(sums)
    }
}
