//! Every map of the datapath, in one place. Names match
//! `halb_common::names`; the daemon pins them under
//! `/sys/fs/bpf/halb/<node>/`.

use aya_ebpf::{
    btf_maps::{Array, HashMap, PerCpuArray, PerCpuHashMap, SockMap},
    macros::btf_map,
};
use halb_common::forward::{
    ForwardEntry, ForwardOutcome, ForwardPeer, FORWARD_MAX_PEERS, FORWARD_MAX_VIPS,
};
use halb_common::steering::{
    SteeringCounters, SteeringKey, STEERING_MAX_FRONTENDS, STEERING_MAX_KEYS, STEERING_MAX_VIPS,
};
use halb_common::stp::{StpPortCounters, StpPortEntry, STP_MAX_PORTS};
use halb_common::{
    names::PORT_MAP_ENTRIES,
    vrrp::{VrrpDropReason, VrrpInstanceConfig, VrrpMasterInfo, VrrpVerdict, VRRP_MAX_INSTANCES},
    vxlan::{
        VxlanConfig, VxlanDropReason, VxlanEvent, VxlanFdbEntry, VxlanMac, VxlanRemote,
        VXLAN_FDB_ENTRIES, VXLAN_MAX_REMOTES,
    },
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

/// VXLAN: slot 0 holds what the daemon configured (VNI, local VTEP,
/// underlay and tunnel ifindexes, MTU, TTL); written by userspace. A map
/// rather than load-time globals: one object serves the host namespace and
/// a reload changes these without reloading programs.
#[btf_map]
pub static VXLAN_CONFIG: Array<VxlanConfig, 1> = Array::new();

/// VXLAN: the remote VTEPs (flood list), slots `0..remote_count`.
#[btf_map]
pub static VXLAN_REMOTES: Array<VxlanRemote, { VXLAN_MAX_REMOTES as usize }> = Array::new();

/// VXLAN: remote VTEP address -> slot; decapsulation accepts only these.
#[btf_map]
pub static VXLAN_REMOTE_SET: HashMap<[u8; 4], u32, { VXLAN_MAX_REMOTES as usize }> = HashMap::new();

/// VXLAN: inner MAC -> remote VTEP (static from the daemon, learned by
/// `vxlan_decap`, aged out by the daemon).
#[btf_map]
pub static VXLAN_FDB: HashMap<VxlanMac, VxlanFdbEntry, { VXLAN_FDB_ENTRIES as usize }> =
    HashMap::new();

/// VXLAN: encapsulated / decapsulated / flooded / learned, by `VxlanEvent`.
#[btf_map]
pub static VXLAN_STATS: PerCpuArray<TrafficCounter, { VxlanEvent::ALL.len() }> = PerCpuArray::new();

/// VXLAN: drops by `VxlanDropReason`.
#[btf_map]
pub static VXLAN_DROPS: PerCpuArray<TrafficCounter, { VxlanDropReason::ALL.len() }> =
    PerCpuArray::new();

/// STP: port ifindex -> the state the daemon's STP driver set (written by
/// userspace; a missing entry is discarding).
#[btf_map]
pub static STP_PORT_STATE: HashMap<u32, StpPortEntry, { STP_MAX_PORTS as usize }> = HashMap::new();

/// STP: port ifindex -> packets by verdict of `stp_port_in` / `stp_port_out`.
#[btf_map]
pub static STP_PORT_COUNTERS: PerCpuHashMap<u32, StpPortCounters, { STP_MAX_PORTS as usize }> =
    PerCpuHashMap::new();

/// Steering: (destination address, port, protocol) -> frontend slot
/// (written by the daemon from the proxy config; address 0.0.0.0 is a
/// `*:PORT` frontend's "any local address").
#[btf_map]
pub static STEERING_FRONTENDS: HashMap<SteeringKey, u32, { STEERING_MAX_KEYS as usize }> =
    HashMap::new();

/// Steering: frontend slot -> the proxy's listening socket (inserted by the
/// daemon; the kernel removes a socket when it is closed).
#[btf_map]
pub static STEERING_SOCKETS: SockMap<{ STEERING_MAX_FRONTENDS as usize }> = SockMap::new();

/// Steering: VRRP virtual address -> 1 owned / 0 not owned (written by the
/// daemon's VRRP drivers: MASTER owns). Addresses without an entry are not
/// VIPs and are always owned.
#[btf_map]
pub static STEERING_OWNERSHIP: HashMap<[u8; 4], u32, { STEERING_MAX_VIPS as usize }> =
    HashMap::new();

/// Steering: per-CPU outcome counters, indexed by frontend slot.
#[btf_map]
pub static STEERING_COUNTERS: PerCpuArray<SteeringCounters, { STEERING_MAX_FRONTENDS as usize }> =
    PerCpuArray::new();

/// Forwarding: VRRP virtual address -> what to do with its stray segments
/// and ARP requests (written by the daemon's VRRP drivers).
#[btf_map]
pub static FORWARD_VIPS: HashMap<[u8; 4], ForwardEntry, { FORWARD_MAX_VIPS as usize }> =
    HashMap::new();

/// Forwarding: MACs of the halb peers a handoff was exchanged with; their
/// frames are never forwarded (written by the daemon).
#[btf_map]
pub static FORWARD_PEERS: HashMap<ForwardPeer, u32, { FORWARD_MAX_PEERS as usize }> =
    HashMap::new();

/// Forwarding: outcomes of `segment_forward`, indexed by `ForwardOutcome`.
#[btf_map]
pub static FORWARD_COUNTERS: PerCpuArray<TrafficCounter, { ForwardOutcome::ALL.len() }> =
    PerCpuArray::new();
