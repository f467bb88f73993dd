//! The daemon's side of the `stp_port_*` programs: writes each port's state
//! to `STP_PORT_STATE` and reads `STP_PORT_COUNTERS`, through the pinned
//! maps of the host's datapath instance.

use std::path::{Path, PathBuf};

use aya::maps::{HashMap, Map, MapData, MapError, PerCpuHashMap};
use halb_common::{
    names::{MAP_STP_PORT_COUNTERS, MAP_STP_PORT_STATE},
    stp::{StpPortCounters, StpPortEntry, StpState},
};

use crate::{control::stp::DatapathCounters, datapath::pins::map_pin_path, stp::PortState};

#[derive(Debug, thiserror::Error)]
#[error("map {map}: {cause}")]
pub struct MapAccessError {
    map: &'static str,
    cause: MapError,
}

/// The STP maps of one datapath instance.
#[derive(Clone, Debug)]
pub struct PortMaps {
    pin_dir: PathBuf,
}

/// The map's value for a protocol state.
#[must_use]
pub fn map_state(state: PortState) -> StpState {
    match state {
        PortState::Disabled => StpState::Disabled,
        PortState::Blocking => StpState::Blocking,
        PortState::Listening => StpState::Listening,
        PortState::Discarding => StpState::Discarding,
        PortState::Learning => StpState::Learning,
        PortState::Forwarding => StpState::Forwarding,
    }
}

impl PortMaps {
    #[must_use]
    pub fn new(pin_dir: &Path) -> Self {
        PortMaps { pin_dir: pin_dir.to_owned() }
    }

    fn states(&self) -> Result<HashMap<MapData, u32, StpPortEntry>, MapAccessError> {
        let error = |cause| MapAccessError { map: MAP_STP_PORT_STATE, cause };
        let data =
            MapData::from_pin(map_pin_path(&self.pin_dir, MAP_STP_PORT_STATE)).map_err(error)?;
        HashMap::try_from(Map::HashMap(data)).map_err(error)
    }

    /// Sets the state the programs enforce on port `ifindex`.
    pub fn set_state(
        &self,
        ifindex: u32,
        bridge_ifindex: u32,
        state: PortState,
    ) -> Result<(), MapAccessError> {
        let entry = StpPortEntry { state: map_state(state) as u32, bridge_ifindex };
        self.states()?
            .insert(ifindex, entry, 0)
            .map_err(|cause| MapAccessError { map: MAP_STP_PORT_STATE, cause })
    }

    /// Forgets a port (the programs then discard on it, if still attached).
    pub fn remove(&self, ifindex: u32) -> Result<(), MapAccessError> {
        match self.states()?.remove(&ifindex) {
            Ok(()) => Ok(()),
            Err(MapError::SyscallError(err))
                if err.io_error.raw_os_error() == Some(libc::ENOENT) =>
            {
                Ok(())
            }
            Err(cause) => Err(MapAccessError { map: MAP_STP_PORT_STATE, cause }),
        }
    }

    /// The programs' counters of port `ifindex`, summed over CPUs; `None`
    /// before the first packet or when the map cannot be read.
    #[must_use]
    pub fn counters(&self, ifindex: u32) -> Option<DatapathCounters> {
        let data = MapData::from_pin(map_pin_path(&self.pin_dir, MAP_STP_PORT_COUNTERS)).ok()?;
        let map: PerCpuHashMap<MapData, u32, StpPortCounters> =
            PerCpuHashMap::try_from(Map::PerCpuHashMap(data)).ok()?;
        let values = map.get(&ifindex, 0).ok()?;
        let total = values.iter().fold(StpPortCounters::default(), StpPortCounters::plus);
        Some(total.into())
    }
}
