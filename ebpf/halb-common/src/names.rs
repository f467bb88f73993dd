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

/// Every map the daemon pins, in pin order.
pub const PINNED_MAPS: [&str; 6] = [
    MAP_PORT_TRAFFIC,
    MAP_PORT_MALFORMED,
    MAP_VRRP_CONFIG,
    MAP_VRRP_MASTERS,
    MAP_VRRP_DROPS,
    MAP_VRRP_VERDICTS,
];

/// Upper bound on (interface, class) entries per map: 64 interfaces per
/// daemon times every class.
pub const PORT_MAP_ENTRIES: u32 = 64 * 8;
