//! The daemon's side of the VRRP fast path (ebpf `vrrp_advert`): writes the
//! instance's entry of `VRRP_CONFIG`, reads the master record the program
//! keeps in `VRRP_MASTERS`, and its counters, all through the pinned maps.

use std::{
    collections::BTreeMap,
    net::Ipv4Addr,
    path::PathBuf,
    time::{Duration, Instant},
};

use aya::maps::{HashMap, Map, MapData, PerCpuArray};
use halb_common::{
    names::{MAP_VRRP_CONFIG, MAP_VRRP_DROPS, MAP_VRRP_MASTERS, MAP_VRRP_VERDICTS},
    vrrp::{VrrpDropReason, VrrpInstanceConfig, VrrpMasterInfo, VrrpVerdict},
    TrafficCounter,
};

use crate::vrrp::{Advertisement, Auth, Version};

/// The fast path of one VRID on one balancer instance.
pub struct FastPath {
    pin_dir: PathBuf,
    vrid: u8,
    /// `last_seen_ns` of the last master record fed to the machine.
    replayed_ns: u64,
}

impl FastPath {
    #[must_use]
    pub fn new(pin_dir: PathBuf, vrid: u8) -> Self {
        Self { pin_dir, vrid, replayed_ns: 0 }
    }

    fn map(&self, name: &str) -> Result<MapData, aya::maps::MapError> {
        MapData::from_pin(self.pin_dir.join(name))
    }

    /// Tells the program to validate this VRID as `version` and to ignore
    /// adverts from `own` (ours, looping back).
    pub fn configure(&self, version: Version, own: Ipv4Addr) -> Result<(), aya::maps::MapError> {
        let mut config: HashMap<MapData, u32, VrrpInstanceConfig> =
            HashMap::try_from(Map::HashMap(self.map(MAP_VRRP_CONFIG)?))?;
        let entry =
            VrrpInstanceConfig { version: version.number(), _pad: [0; 3], own_addr: own.octets() };
        config.insert(u32::from(self.vrid), entry, 0)?;
        // A record left from an earlier run would be replayed as news.
        let mut masters: HashMap<MapData, u32, VrrpMasterInfo> =
            HashMap::try_from(Map::HashMap(self.map(MAP_VRRP_MASTERS)?))?;
        let _ = masters.remove(&u32::from(self.vrid));
        Ok(())
    }

    /// Removes this VRID from the program's tables (instance stopped).
    pub fn forget(&self) {
        for name in [MAP_VRRP_CONFIG, MAP_VRRP_MASTERS] {
            if let Ok(data) = self.map(name) {
                if name == MAP_VRRP_CONFIG {
                    if let Ok(mut map) =
                        HashMap::<MapData, u32, VrrpInstanceConfig>::try_from(Map::HashMap(data))
                    {
                        let _ = map.remove(&u32::from(self.vrid));
                    }
                } else if let Ok(mut map) =
                    HashMap::<MapData, u32, VrrpMasterInfo>::try_from(Map::HashMap(data))
                {
                    let _ = map.remove(&u32::from(self.vrid));
                }
            }
        }
    }

    /// The master record, if the program saw a valid advert since the last
    /// call: when (as an `Instant`), from whom, and the advert it stands for
    /// (addresses left empty for the caller to fill).
    pub fn unseen_advert(
        &mut self,
        version: Version,
    ) -> Option<(Instant, Ipv4Addr, Advertisement)> {
        let data = self.map(MAP_VRRP_MASTERS).ok()?;
        let masters: HashMap<MapData, u32, VrrpMasterInfo> =
            HashMap::try_from(Map::HashMap(data)).ok()?;
        let info = masters.get(&u32::from(self.vrid), 0).ok()?;
        if info.last_seen_ns <= self.replayed_ns || info.version != version.number() {
            return None;
        }
        self.replayed_ns = info.last_seen_ns;
        let age = Duration::from_nanos(monotonic_ns().saturating_sub(info.last_seen_ns));
        let seen_at = Instant::now().checked_sub(age).unwrap_or_else(Instant::now);
        let advert = Advertisement {
            version,
            vrid: self.vrid,
            priority: info.priority,
            interval: Duration::from_millis(u64::from(info.interval_cs) * 10),
            addresses: Vec::new(),
            auth: Auth::None,
        };
        Some((seen_at, Ipv4Addr::from(info.master_addr), advert))
    }

    /// Verdict and drop counters of the program (all VRIDs of the
    /// interface's instance), summed over CPUs.
    #[must_use]
    pub fn counters(&self) -> BTreeMap<String, u64> {
        let mut counters = BTreeMap::new();
        let mut read = |map: &str, names: &mut dyn Iterator<Item = (u32, String)>| {
            let Ok(data) = self.map(map) else { return };
            let Ok(array) =
                PerCpuArray::<MapData, TrafficCounter>::try_from(Map::PerCpuArray(data))
            else {
                return;
            };
            for (index, name) in names {
                if let Ok(values) = array.get(&index, 0) {
                    counters.insert(name, values.iter().map(|counter| counter.packets).sum());
                }
            }
        };
        read(
            MAP_VRRP_VERDICTS,
            &mut VrrpVerdict::ALL
                .iter()
                .map(|verdict| (*verdict as u32, verdict.name().to_owned())),
        );
        read(
            MAP_VRRP_DROPS,
            &mut VrrpDropReason::ALL
                .iter()
                .map(|reason| (*reason as u32, format!("drop_{}", reason.name()))),
        );
        counters
    }
}

/// `CLOCK_MONOTONIC` in nanoseconds: the clock of `bpf_ktime_get_ns` and of
/// `std::time::Instant` on Linux.
fn monotonic_ns() -> u64 {
    // SAFETY: clock_gettime writes the zeroed timespec.
    let mut now: libc::timespec = unsafe { std::mem::zeroed() };
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &raw mut now) };
    u64::try_from(now.tv_sec).unwrap_or(0) * 1_000_000_000 + u64::try_from(now.tv_nsec).unwrap_or(0)
}
