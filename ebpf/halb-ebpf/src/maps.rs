//! Every map of the datapath, in one place. Names match
//! `halb_common::names`; the daemon pins them under
//! `/sys/fs/bpf/halb/<node>/`.

use aya_ebpf::{btf_maps::PerCpuHashMap, macros::btf_map};
use halb_common::{names::PORT_MAP_ENTRIES, PortClassKey, TrafficCounter};

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
