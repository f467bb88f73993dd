//! Names of the eBPF programs and maps, as they appear in the object file,
//! in bpftool and under the daemon's bpffs pin directory.

/// TC ingress classifier attached to every datapath interface.
pub const PROG_PORT_CLASSIFIER: &str = "port_classifier";

/// Per-CPU hash map: [`crate::PortClassKey`] -> [`crate::TrafficCounter`].
pub const MAP_PORT_TRAFFIC: &str = "PORT_TRAFFIC";

/// Per-CPU hash map: [`crate::PortClassKey`] (class = a
/// [`crate::MalformedReason`]) -> [`crate::TrafficCounter`].
pub const MAP_PORT_MALFORMED: &str = "PORT_MALFORMED";

/// TC ingress program on a balancer's VRRP interface: the advert fast path.
pub const PROG_VRRP_ADVERT: &str = "vrrp_advert";

/// Hash map: VRID (u32) -> [`crate::vrrp::VrrpInstanceConfig`], written by the daemon.
pub const MAP_VRRP_CONFIG: &str = "VRRP_CONFIG";

/// Hash map: VRID (u32) -> [`crate::vrrp::VrrpMasterInfo`], written by the program.
pub const MAP_VRRP_MASTERS: &str = "VRRP_MASTERS";

/// Per-CPU array: [`crate::vrrp::VrrpDropReason`] -> [`crate::TrafficCounter`].
pub const MAP_VRRP_DROPS: &str = "VRRP_DROPS";

/// Per-CPU array: [`crate::vrrp::VrrpVerdict`] -> [`crate::TrafficCounter`].
pub const MAP_VRRP_VERDICTS: &str = "VRRP_VERDICTS";

/// TC ingress program on the VXLAN tunnel port's peer: encapsulation.
pub const PROG_VXLAN_ENCAP: &str = "vxlan_encap";

/// TC ingress program on the VXLAN underlay device: decapsulation.
pub const PROG_VXLAN_DECAP: &str = "vxlan_decap";

/// Array, one slot: [`crate::vxlan::VxlanConfig`], written by the daemon.
pub const MAP_VXLAN_CONFIG: &str = "VXLAN_CONFIG";

/// Array: slot -> [`crate::vxlan::VxlanRemote`], the flood list.
pub const MAP_VXLAN_REMOTES: &str = "VXLAN_REMOTES";

/// Hash map: remote VTEP address ([u8; 4]) -> slot: who may send to us.
pub const MAP_VXLAN_REMOTE_SET: &str = "VXLAN_REMOTE_SET";

/// Hash map: [`crate::vxlan::VxlanMac`] -> [`crate::vxlan::VxlanFdbEntry`].
pub const MAP_VXLAN_FDB: &str = "VXLAN_FDB";

/// Per-CPU array: [`crate::vxlan::VxlanEvent`] -> [`crate::TrafficCounter`].
pub const MAP_VXLAN_STATS: &str = "VXLAN_STATS";

/// Per-CPU array: [`crate::vxlan::VxlanDropReason`] -> [`crate::TrafficCounter`].
pub const MAP_VXLAN_DROPS: &str = "VXLAN_DROPS";

/// TC ingress program on every port of an STP-managed bridge.
pub const PROG_STP_PORT_IN: &str = "stp_port_in";

/// TC egress program on every port of an STP-managed bridge.
pub const PROG_STP_PORT_OUT: &str = "stp_port_out";

/// Hash map: port ifindex (u32) -> [`crate::stp::StpPortEntry`], written by the daemon.
pub const MAP_STP_PORT_STATE: &str = "STP_PORT_STATE";

/// Per-CPU hash map: port ifindex (u32) -> [`crate::stp::StpPortCounters`].
pub const MAP_STP_PORT_COUNTERS: &str = "STP_PORT_COUNTERS";

/// `SK_LOOKUP` program attached to a balancer's network namespace: steers
/// new TCP connections for every frontend address into the proxy's socket.
pub const PROG_VIP_STEERING: &str = "vip_steering";

/// Hash map: [`crate::steering::SteeringKey`] -> frontend slot (u32), written by the daemon.
pub const MAP_STEERING_FRONTENDS: &str = "STEERING_FRONTENDS";

/// Sockmap: frontend slot (u32) -> the frontend's listening socket.
pub const MAP_STEERING_SOCKETS: &str = "STEERING_SOCKETS";

/// Hash map: VRRP virtual address ([u8; 4]) -> 1 owned / 0 not, written by the daemon.
pub const MAP_STEERING_OWNERSHIP: &str = "STEERING_OWNERSHIP";

/// Per-CPU array: frontend slot -> [`crate::steering::SteeringCounters`].
pub const MAP_STEERING_COUNTERS: &str = "STEERING_COUNTERS";

/// TC ingress program on a balancer's VRRP interfaces: forwards segments of
/// connections the previous master still holds, silences ARP while draining.
pub const PROG_SEGMENT_FORWARD: &str = "segment_forward";

/// Hash map: VRRP virtual address ([u8; 4]) -> [`crate::forward::ForwardEntry`], written by the daemon.
pub const MAP_FORWARD_VIPS: &str = "FORWARD_VIPS";

/// Hash map: [`crate::forward::ForwardPeer`] (a halb peer's MAC) -> 1, written by the daemon.
pub const MAP_FORWARD_PEERS: &str = "FORWARD_PEERS";

/// Per-CPU array: [`crate::forward::ForwardOutcome`] -> [`crate::TrafficCounter`].
pub const MAP_FORWARD_COUNTERS: &str = "FORWARD_COUNTERS";

/// Every map the daemon pins, in pin order.
pub const PINNED_MAPS: [&str; 21] = [
    MAP_PORT_TRAFFIC,
    MAP_PORT_MALFORMED,
    MAP_VRRP_CONFIG,
    MAP_VRRP_MASTERS,
    MAP_VRRP_DROPS,
    MAP_VRRP_VERDICTS,
    MAP_VXLAN_CONFIG,
    MAP_VXLAN_REMOTES,
    MAP_VXLAN_REMOTE_SET,
    MAP_VXLAN_FDB,
    MAP_VXLAN_STATS,
    MAP_VXLAN_DROPS,
    MAP_STP_PORT_STATE,
    MAP_STP_PORT_COUNTERS,
    MAP_STEERING_FRONTENDS,
    MAP_STEERING_SOCKETS,
    MAP_STEERING_OWNERSHIP,
    MAP_STEERING_COUNTERS,
    MAP_FORWARD_VIPS,
    MAP_FORWARD_PEERS,
    MAP_FORWARD_COUNTERS,
];

/// Upper bound on (interface, class) entries per map: 64 interfaces per
/// daemon times every class.
pub const PORT_MAP_ENTRIES: u32 = 64 * 8;
