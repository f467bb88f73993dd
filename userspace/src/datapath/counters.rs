//! Reading the classifier's per-CPU counters, summed over CPUs, from the
//! object in memory or from the daemon's pins.

use std::{
    borrow::Borrow,
    collections::{BTreeMap, HashMap},
    path::Path,
};

use aya::maps::{Map, MapData, PerCpuHashMap};
use halb_common::{
    names::{MAP_PORT_MALFORMED, MAP_PORT_TRAFFIC},
    FrameClass, MalformedReason, PortClassKey, TrafficCounter,
};
use serde::{Deserialize, Serialize};

use super::{pins::map_pin_path, DatapathError};

/// Packets and bytes, summed over CPUs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counter {
    pub packets: u64,
    pub bytes: u64,
}

/// Everything counted on one interface.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortCounters {
    /// By frame class name (`bpdu`, `vrrp`, ...).
    pub traffic: BTreeMap<String, Counter>,
    /// By malformed reason name (`truncated_ipv4`, ...).
    pub malformed: BTreeMap<String, Counter>,
}

/// Counters of every interface of one datapath instance, by ifindex.
pub type CounterTable = HashMap<u32, PortCounters>;

/// Reads both maps from a loaded object.
pub fn read_loaded(ebpf: &aya::Ebpf) -> Result<CounterTable, DatapathError> {
    let traffic = ebpf.map(MAP_PORT_TRAFFIC).ok_or(DatapathError::MissingMap(MAP_PORT_TRAFFIC))?;
    let malformed =
        ebpf.map(MAP_PORT_MALFORMED).ok_or(DatapathError::MissingMap(MAP_PORT_MALFORMED))?;
    let mut table = CounterTable::new();
    merge(&mut table, MAP_PORT_TRAFFIC, traffic, true)?;
    merge(&mut table, MAP_PORT_MALFORMED, malformed, false)?;
    Ok(table)
}

/// Reads both maps from their pins under `pin_dir`.
pub fn read_pinned(pin_dir: &Path) -> Result<CounterTable, DatapathError> {
    let open = |name: &str| {
        MapData::from_pin(map_pin_path(pin_dir, name))
            .map(Map::PerCpuHashMap)
            .map_err(|cause| DatapathError::Map { map: name.to_owned(), cause })
    };
    let mut table = CounterTable::new();
    merge(&mut table, MAP_PORT_TRAFFIC, &open(MAP_PORT_TRAFFIC)?, true)?;
    merge(&mut table, MAP_PORT_MALFORMED, &open(MAP_PORT_MALFORMED)?, false)?;
    Ok(table)
}

fn merge(
    table: &mut CounterTable,
    name: &str,
    map: &Map,
    traffic: bool,
) -> Result<(), DatapathError> {
    let map_error = |cause| DatapathError::Map { map: name.to_owned(), cause };
    let per_cpu: PerCpuHashMap<&MapData, PortClassKey, TrafficCounter> =
        PerCpuHashMap::try_from(map).map_err(map_error)?;
    sum_into(table, &per_cpu, traffic).map_err(map_error)
}

fn sum_into<T: Borrow<MapData>>(
    table: &mut CounterTable,
    map: &PerCpuHashMap<T, PortClassKey, TrafficCounter>,
    traffic: bool,
) -> Result<(), aya::maps::MapError> {
    for entry in map {
        let (key, values) = entry?;
        let total = values.iter().fold(Counter::default(), |sum, cpu| Counter {
            packets: sum.packets + cpu.packets,
            bytes: sum.bytes + cpu.bytes,
        });
        let port = table.entry(key.ifindex).or_default();
        let (bucket, name) = if traffic {
            let name = FrameClass::from_u32(key.class).map_or("unknown", FrameClass::name);
            (&mut port.traffic, name)
        } else {
            let name =
                MalformedReason::from_u32(key.class).map_or("unknown", MalformedReason::name);
            (&mut port.malformed, name)
        };
        let slot = bucket.entry(name.to_owned()).or_default();
        slot.packets += total.packets;
        slot.bytes += total.bytes;
    }
    Ok(())
}
