//! Every map of the datapath, in one place. Names match
//! `halb_common::names`; the daemon pins them under
//! `/sys/fs/bpf/halb/<node>/`.

use aya_ebpf::{
    btf_maps::{HashMap, PerCpuArray, PerCpuHashMap},
    macros::btf_map,
};
use halb_common::{
    names::PORT_MAP_ENTRIES,
    vrrp::{VrrpDropReason, VrrpInstanceConfig, VrrpMasterInfo, VrrpVerdict, VRRP_MAX_INSTANCES},
    PortClassKey, TrafficCounter,
};

/// Packets and bytes per (ingress interface, frame class).
#[btf_map]
pub static PORT_TRAFFIC: PerCpuHashMap<
    PortClassKey,
    TrafficCounter,
    { PORT_MAP_ENTRIES as usize },
> = PerCpuHashMap::new();

/// Packets and bytes per (ingress interface, malformed reason).
#[btf_map]
pub static PORT_MALFORMED: PerCpuHashMap<
    PortClassKey,
    TrafficCounter,
    { PORT_MAP_ENTRIES as usize },
> = PerCpuHashMap::new();

/// Adds one packet of `bytes` to `map[key]` on this CPU.
#[inline(always)]
pub fn count(
    map: &PerCpuHashMap<PortClassKey, TrafficCounter, { PORT_MAP_ENTRIES as usize }>,
    key: PortClassKey,
    bytes: u32,
) {
    if let Some(counter) = map.get_ptr_mut(key) {
        // SAFETY: the pointer comes from a successful lookup in a per-CPU
        // map, so it is valid and only this CPU writes it now.
        unsafe {
            (*counter).packets += 1;
            (*counter).bytes += u64::from(bytes);
        }
    } else {
        let first = TrafficCounter { packets: 1, bytes: u64::from(bytes) };
        // A full map loses the count; nothing better can be done in-kernel,
        // and the map is sized for 64 interfaces times every class.
        let _ = map.insert(key, first, 0);
    }
}

/// VRID -> what the daemon configured for it (written by userspace).
#[btf_map]
pub static VRRP_CONFIG: HashMap<u32, VrrpInstanceConfig, { VRRP_MAX_INSTANCES as usize }> =
    HashMap::new();

/// VRID -> the master as last seen on the wire (written by `vrrp_advert`).
#[btf_map]
pub static VRRP_MASTERS: HashMap<u32, VrrpMasterInfo, { VRRP_MAX_INSTANCES as usize }> =
    HashMap::new();

/// Drops of the VRRP fast path, indexed by `VrrpDropReason`.
#[btf_map]
pub static VRRP_DROPS: PerCpuArray<TrafficCounter, { VrrpDropReason::ALL.len() }> =
    PerCpuArray::new();

/// Verdicts of the VRRP fast path, indexed by `VrrpVerdict`.
#[btf_map]
pub static VRRP_VERDICTS: PerCpuArray<TrafficCounter, { VrrpVerdict::ALL.len() }> =
    PerCpuArray::new();

/// Adds one packet of `bytes` to slot `index` of a per-CPU counter array.
#[inline(always)]
pub fn count_slot<const N: usize>(map: &PerCpuArray<TrafficCounter, N>, index: u32, bytes: u32) {
    if let Some(counter) = map.get_ptr_mut(index) {
        // SAFETY: a per-CPU array slot of this CPU, valid for the program's run.
        unsafe {
            (*counter).packets += 1;
            (*counter).bytes += u64::from(bytes);
        }
    }
}
